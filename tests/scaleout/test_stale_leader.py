"""A leader paused past its lease (SIGSTOP) posts no card once another replica took over: every new post is
claimed under the leader's epoch in the database before the Slack call (bot/leader.py: EffectClaims).

Two in-process replicas on one database (SQLite and a real PostgreSQL), a lease clock the test moves, and a
loopback Slack recorder per replica; the assertions count the proposal cards Slack received.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from bot.clock import FixedClock
from bot.leader import EffectClaims, LeaseLost
from tests.scaleout.inprocess import TTL, cards, close, two_replicas
from tests.scaleout.inprocess import scan as _scan

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]


@pytest.fixture
def world(open_store):
    clock = FixedClock(1_795_000_000.0)
    a, b = two_replicas(open_store, clock)
    yield clock, a, b
    close(a, b)


def test_paused_leader_posts_nothing_after_another_took_over(world):
    clock, a, b = world
    a.slack.go.set()  # no pause inside the Slack call in this test
    assert a.lease.tick()
    (p,) = _scan(a, ["203.0.113.10"])
    clock.advance(TTL + 1)  # replica-a is stopped (SIGSTOP) between its scan and posting
    assert b.lease.tick() and b.lease.epoch == 2
    with pytest.raises(LeaseLost, match="epoch 1 is stale"):
        a.poll_posting()  # replica-a wakes up and goes on posting: refused before the Slack call
    assert cards(a.slack, b.slack) == Counter()
    assert b.poll_posting() == 1
    assert cards(a.slack, b.slack) == Counter({p.id: 1})
    assert cards(a.slack) == Counter()


def test_leader_paused_in_the_middle_of_posting_makes_one_card_each(world):
    clock, a, b = world
    assert a.lease.tick()
    first, second = _scan(a, ["203.0.113.11", "203.0.113.12"])
    outcome: list[BaseException | int] = []

    def a_polls() -> None:
        try:
            outcome.append(a.poll_posting())
        except LeaseLost as exc:
            outcome.append(exc)

    thread = threading.Thread(target=a_polls)
    thread.start()
    assert a.slack.entered.wait(20)  # replica-a's first card is on its way to Slack; then it is stopped
    clock.advance(TTL + 1)
    assert b.lease.tick()
    assert b.poll_posting() == 1  # the card replica-a had claimed is left to it; the other is posted here
    a.slack.go.set()  # replica-a wakes: its card in flight arrives, its next one is refused
    thread.join(20)
    assert isinstance(outcome[0], LeaseLost)
    assert b.poll_posting() == 0  # nothing left to post: replica-a's card was recorded
    assert cards(a.slack, b.slack) == Counter({first.id: 1, second.id: 1})
    assert sum(cards(a.slack).values()) == 1


def test_queue_next_on_another_replica_skips_a_card_being_posted(world):
    clock, a, b = world
    a.slack.go.set()
    (p,) = _scan(b, ["203.0.113.13"])  # no lease held: any replica may answer `queue next`
    claims = EffectClaims(a.state, clock)
    assert claims.claim(f"card:{p.id}")  # replica-a is posting it right now
    assert b.poster.post_next(5) == (0, 1)
    claims.release(f"card:{p.id}")
    assert b.poster.post_next(5) == (1, 0)
    assert a.poster.post_next(5) == (0, 0)
    assert cards(a.slack, b.slack) == Counter({p.id: 1})


def test_claim_of_a_replica_that_died_mid_post_is_taken_over_after_its_ttl(world):
    clock, a, b = world
    (p,) = _scan(b, ["203.0.113.14"])
    assert EffectClaims(a.state, clock).claim(f"card:{p.id}")  # then replica-a is killed -9
    assert b.poster.post_next(5)[0] == 0
    clock.advance(301)
    assert b.poster.post_next(5)[0] == 1
    assert cards(a.slack, b.slack) == Counter({p.id: 1})

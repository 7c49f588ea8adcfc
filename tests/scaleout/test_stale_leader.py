"""A leader paused past its lease (SIGSTOP) posts no card once another replica took over: every new post is
claimed under the leader's epoch in the database before the Slack call (bot/leader.py: EffectClaims).

Two in-process replicas on one database (SQLite and a real PostgreSQL), a lease clock the test moves, and a
loopback Slack recorder per replica; the assertions count the proposal cards Slack received.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from contextlib import nullcontext
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.approvals import ApprovalStore
from bot.clock import FixedClock
from bot.core.grouping import group_alerts
from bot.core.proposal import Proposal, proposal_id
from bot.database import PostgresDatabase
from bot.leader import EffectClaims, LeaderLease, LeaseLost
from bot.slack.poster import Poster
from bot.state import StateStore
from tests.conftest import make_alert
from tests.slack.recorder import SlackRecorder

pytestmark = pytest.mark.integration
CHANNEL = "C0SECOPS"
TTL = 30.0


class GatedRecorder(SlackRecorder):
    """Holds its first ``chat.postMessage`` until :attr:`go` is set: the replica is paused mid-post."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.go = threading.Event(), threading.Event()

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage" and not self.entered.is_set():
            self.entered.set()
            assert self.go.wait(20), "the test never released the paused replica"
        return super()._answer(method, body)


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request, tmp_path):
    """Opens another connection (another replica) to one database."""
    if request.param == "sqlite":
        return lambda: StateStore(tmp_path / "state.db")
    url = request.getfixturevalue("pg_url")
    return lambda: StateStore(database=PostgresDatabase(url, max_size=8))


class Replica:
    def __init__(self, store: StateStore, name: str, clock: FixedClock, slack: SlackRecorder) -> None:
        self.state, self.slack = store, slack
        self.lease = LeaderLease(store, name, clock, ttl=TTL)
        client = WebClient(token=f"xoxb-{name}", base_url=slack.url, timeout=10)
        self.poster = Poster(client, CHANNEL, store, ApprovalStore(store), clock)

    def poll_posting(self) -> int:
        """What the poller does after a scan, fenced by this replica's epoch (bot/slack/server.py)."""
        with self.lease.leading():
            return self.poster.post_new([])


@pytest.fixture
def world(open_store):
    clock = FixedClock(1_795_000_000.0)
    slack_a, slack_b = GatedRecorder(), SlackRecorder()
    slack_b._ts = itertools.count(1000)  # distinct message ts from the other "Slack"
    a = Replica(open_store(), "replica-a", clock, slack_a)
    b = Replica(open_store(), "replica-b", clock, slack_b)
    yield clock, a, b
    slack_a.go.set()
    slack_a.close()
    slack_b.close()


def _scan(replica: Replica, ips: list[str]) -> list[Proposal]:
    """New proposals stored by the leader's scan (fenced like every write of its poll)."""
    out = []
    with replica.lease.leading() if replica.lease.is_leader else nullcontext():
        for ip in ips:
            (group,) = group_alerts([make_alert(srcip=ip, level=10)], min_level=0)
            p = Proposal(id=proposal_id(group), group=group, action="propose", fixer="playbook", reason="r")
            replica.state.add_proposal(p, now=1_795_000_000.0)
            out.append(p)
    return out


def cards(*slacks: SlackRecorder) -> Counter[str]:
    """Proposal cards (messages with an Approve button) per proposal id, over every replica's Slack."""
    out: Counter[str] = Counter()
    for slack in slacks:
        for body in slack.calls("chat.postMessage"):
            for block in body.get("blocks") or []:
                for el in block.get("elements", []):
                    if el.get("action_id") == "approve":
                        out[json.loads(el["value"])["p"]] += 1
    return out


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

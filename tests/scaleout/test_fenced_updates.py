"""A leader paused past its lease makes no in-place update or thread note once another replica took over:
folds, revisions, resumed publications, the digest's counts and inventory problems' counts are fenced by
its epoch before their first Slack call (bot/leader.py: EffectClaims.fence), like new posts.

Two in-process replicas on one database (SQLite and a real PostgreSQL), one Slack recorder each; every test
also lets the new leader make the same effect, so the stale leader's silence is not an empty setup.
"""

from __future__ import annotations

import threading

import pytest

from bot.clock import FixedClock
from bot.core.checks import Check, GuardReport
from bot.leader import LeaseLost
from bot.publishing import PublishResult
from bot.service import ActionResult
from tests.scaleout.inprocess import NOW, TTL, Replica, close, scan, two_replicas

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]


@pytest.fixture
def world(open_store):
    clock = FixedClock(NOW)
    a, b = two_replicas(open_store, clock)
    yield clock, a, b
    close(a, b)


def _posted_then_paused(clock: FixedClock, a: Replica, b: Replica, ip: str):
    """replica-a leads and posts a card, then is paused past its lease; replica-b takes over."""
    a.slack.go.set()
    assert a.lease.tick()
    (p,) = scan(a, [ip])
    assert a.poll_posting() == 1
    start = len(a.slack.requests)
    clock.advance(TTL + 1)
    assert b.lease.tick() and not a.lease.is_leader
    return p, start


def _methods(calls) -> list[str]:
    return [method for method, _ in calls if method.startswith("chat.")]


def test_stale_leader_folds_nothing_into_its_card(world):
    clock, a, b = world
    p, start = _posted_then_paused(clock, a, b, "203.0.113.20")
    repeat = p.model_copy(update={"id": "repeat-1", "folded_into": p.id})
    with pytest.raises(LeaseLost), a.lease.leading():
        a.poster.show_folds([repeat])  # its scan folded the repeat before the pause; it wakes to show it
    assert a.slack.since(start) == []
    with b.lease.leading():
        b.poster.show_folds([repeat])
    assert _methods((m, body) for m, body, _ in b.slack.requests) == ["chat.update", "chat.postMessage"]


def test_stale_leader_posts_no_revision(world):
    clock, a, b = world
    p, start = _posted_then_paused(clock, a, b, "203.0.113.21")
    revised = p.model_copy(update={"revision": 2, "diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"})
    with pytest.raises(LeaseLost), a.lease.leading():
        a.poster.show_revision(revised, "", note="a better candidate")
    assert a.slack.since(start) == []
    with b.lease.leading():
        b.poster.show_revision(revised, "", note="a better candidate")
    assert _methods((m, body) for m, body, _ in b.slack.requests)[:2] == ["chat.update", "chat.postMessage"]


def test_stale_leader_shows_no_resumed_publication(world):
    clock, a, b = world
    p, start = _posted_then_paused(clock, a, b, "203.0.113.22")
    pr = PublishResult(ok=True, branch="secops/x", pr_url="https://github.example/pull/7", pr_number=7)
    resumed = ActionResult("published", p, "published", approvers=("UALICE",), publish=pr)
    with pytest.raises(LeaseLost), a.lease.leading():
        a.poster.show_decisions([resumed])
    assert a.slack.since(start) == []
    with b.lease.leading():
        b.poster.show_decisions([resumed])
    assert _methods((m, body) for m, body, _ in b.slack.requests) == ["chat.update", "chat.postMessage"]


def test_stale_leader_leaves_the_digest_counts_to_the_new_leader(open_store):
    clock = FixedClock(NOW)
    a, b = two_replicas(open_store, clock, per_poll=1)
    try:
        a.slack.go.set()
        assert a.lease.tick()
        scan(a, ["203.0.113.23", "203.0.113.24", "203.0.113.25"])
        assert a.poll_posting() == 1  # one card, and the digest: 2 more held back
        start = len(a.slack.requests)
        clock.advance(TTL + 1)
        assert b.lease.tick()
        assert b.poll_posting() == 1  # the next card; the digest now says 1
        with pytest.raises(LeaseLost):
            a.poll_posting()
        assert a.slack.since(start) == []
        (update,) = b.slack.calls("chat.update")
        assert update["text"].startswith("1 more proposal held back")
    finally:
        close(a, b)


def _blocked(a: Replica, server: str, ips: list[str]) -> None:
    """Blocked proposals held behind one inventory problem (the listed config of ``server``)."""
    path = f"clusters/prod/{server}/ingress.yaml"
    guard = GuardReport(
        passed=False, checks=(Check(name="kind", passed=False, detail=f"{path}: a Deployment"),)
    )
    for p in scan(a, ips, action="blocked", guard=guard, files=(path,)):
        assert p.action == "blocked"


def test_leader_paused_posting_one_problem_updates_no_other_after_waking(world):
    clock, a, b = world
    assert a.lease.tick()
    _blocked(a, "web-03", ["198.51.100.1", "198.51.100.2"])
    a.slack.arm("none")
    assert a.poll_posting() == 1  # the web-03 problem (2 held)
    _blocked(a, "web-03", ["198.51.100.3"])  # its count changes: an update is due
    _blocked(a, "web-04", ["198.51.100.4", "198.51.100.5", "198.51.100.6", "198.51.100.7"])
    a.slack.arm("chat.postMessage")
    start = len(a.slack.requests)
    outcome: list[BaseException | int] = []

    def a_polls() -> None:
        try:
            outcome.append(a.poll_posting())
        except LeaseLost as exc:
            outcome.append(exc)

    thread = threading.Thread(target=a_polls)
    thread.start()
    assert a.slack.entered.wait(20)  # replica-a is posting web-04's problem (most held first); then stopped
    clock.advance(TTL + 1)
    assert b.lease.tick()
    assert b.poll_posting() == 0  # web-04 is left to replica-a's post in flight; web-03's count updated
    a.slack.go.set()
    thread.join(20)
    assert isinstance(outcome[0], LeaseLost)
    assert _methods(a.slack.since(start)) == ["chat.postMessage"]  # the post in flight, no update after it
    (update,) = b.slack.calls("chat.update")
    assert "3 proposals held" in update["text"]

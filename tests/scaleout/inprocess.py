"""Two in-process replicas on one database (SQLite or a real PostgreSQL), each with its own Slack recorder.

The lease clock is the test's (``FixedClock``): advancing it past the lease is a pause (SIGSTOP) of the
replica that held it. A :class:`GatedRecorder` holds one Slack call so that a replica is paused mid-call.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from contextlib import nullcontext
from typing import Any

from slack_sdk import WebClient

from bot.approvals import ApprovalStore
from bot.clock import FixedClock
from bot.core.grouping import group_alerts
from bot.core.proposal import Proposal, proposal_id
from bot.leader import LeaderLease
from bot.slack.poster import Poster
from bot.state import StateStore
from tests.conftest import make_alert
from tests.slack.recorder import SlackRecorder

CHANNEL = "C0SECOPS"
TTL = 30.0
NOW = 1_795_000_000.0


class GatedRecorder(SlackRecorder):
    """Holds the first call of the armed method until :attr:`go` is set: the replica is paused mid-call."""

    def __init__(self, method: str | None = "chat.postMessage") -> None:
        super().__init__()
        self.method = method
        self.entered, self.go = threading.Event(), threading.Event()

    def arm(self, method: str) -> None:
        self.method = method
        self.entered.clear()
        self.go.clear()

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == self.method and not self.entered.is_set():
            self.entered.set()
            assert self.go.wait(20), "the test never released the paused replica"
        return super()._answer(method, body)

    def since(self, start: int) -> list[tuple[str, dict[str, Any]]]:
        """Every call (method, body) after the first ``start`` ones."""
        with self._lock:
            return [(m, b) for m, b, _ in self.requests[start:]]


class Replica:
    def __init__(
        self, store: StateStore, name: str, clock: FixedClock, slack: SlackRecorder, **poster: Any
    ) -> None:
        self.state, self.slack = store, slack
        self.lease = LeaderLease(store, name, clock, ttl=TTL)
        client = WebClient(token=f"xoxb-{name}", base_url=slack.url, timeout=10)
        self.poster = Poster(client, CHANNEL, store, ApprovalStore(store), clock, **poster)

    def poll_posting(self) -> int:
        """What the poller does after a scan, fenced by this replica's epoch (bot/slack/server.py)."""
        with self.lease.leading():
            return self.poster.post_new([])


def two_replicas(open_store: Any, clock: FixedClock, **poster: Any) -> tuple[Replica, Replica]:
    """replica-a (its Slack gated) and replica-b (its own message ts) on one database."""
    slack_a, slack_b = GatedRecorder(), SlackRecorder()
    slack_b._ts = itertools.count(1000)  # distinct message ts from the other "Slack"
    a = Replica(open_store(), "replica-a", clock, slack_a, **poster)
    b = Replica(open_store(), "replica-b", clock, slack_b, **poster)
    return a, b


def close(a: Replica, b: Replica) -> None:
    assert isinstance(a.slack, GatedRecorder)
    a.slack.go.set()
    a.slack.close()
    b.slack.close()


def scan(replica: Replica, ips: list[str], **fields: Any) -> list[Proposal]:
    """New proposals stored by the leader's scan (fenced like every write of its poll)."""
    out = []
    with replica.lease.leading() if replica.lease.is_leader else nullcontext():
        for ip in ips:
            (group,) = group_alerts([make_alert(srcip=ip, level=10)], min_level=0)
            p = Proposal(
                id=proposal_id(group),
                group=group,
                fixer="playbook",
                reason="r",
                **({"action": "propose"} | fields),
            )
            replica.state.add_proposal(p, now=NOW)
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

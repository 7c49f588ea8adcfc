"""GitHub webhooks on several replicas (HTTP mode): a merge has one effect however it arrives.

Two replicas on one database (SQLite and a real PostgreSQL), each with its own syncer, a loopback GitHub and
one shared audit chain: the same delivery to both, a redelivery, and a webhook racing the leader's sync pass
give one ``pr_merged`` record and one thread note; a failed sync forgets its delivery so a redelivery retries;
keeping an open pull request fresh is left to the leader.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from bot.audit_db import DatabaseAuditLog
from bot.database import PostgresDatabase
from bot.leader import LeaderLease
from bot.state import StateStore
from bot.sync import Syncer
from bot.webhook import signature_of, webhook_handler
from tests.publish_fixtures import World, bare_remote
from tests.test_sync import RecordingNotifier, _pulls, publish
from tests.tools.github_server import GitHubServer
from tools.github import PullRequestInfo

pytestmark = pytest.mark.integration
SECRET = "whsec-replicas-1234"


class MeetingPulls:
    """GitHub's pull requests, where ``get`` returns only once ``parties`` callers have read the pull request:
    every replica has seen it open-and-merged before any of them records it (the race, made certain)."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self.inner, self.barrier = inner, barrier

    def get(self, number: int) -> PullRequestInfo:
        info = self.inner.get(number)
        self.barrier.wait(20)
        return info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, tmp_path, inventory):
    """The publish World, its state on the backend; ``open_store()`` opens another replica's connection."""
    w = World(tmp_path, bare_remote(tmp_path), inventory)
    if request.param == "sqlite":
        w.open_store = lambda: StateStore(tmp_path / "data" / "state.db")
    else:
        url = request.getfixturevalue("pg_url")
        w.open_store = lambda: StateStore(database=PostgresDatabase(url, max_size=8))
        w.state = w.open_store()
    return w


class Replica:
    def __init__(self, world: World, gh: GitHubServer, notes: RecordingNotifier, pulls: Any = None) -> None:
        self.state = world.open_store()
        self.audit = DatabaseAuditLog(self.state, world.clock)
        self.syncer = Syncer(
            pulls=pulls or _pulls(gh),
            builder=world.builder(),
            state=self.state,
            audit=self.audit,
            clock=world.clock,
            notifier=notes,
        )
        self.handle = webhook_handler(SECRET, self.syncer, self.state, world.clock, run=lambda fn: fn())


def deliver(replica: Replica, number: int, guid: str) -> tuple[int, str]:
    body = json.dumps({"action": "closed", "pull_request": {"number": number, "merged": True}}).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": guid,
        "X-Hub-Signature-256": signature_of(body, SECRET),
    }
    return replica.handle(headers, body)


def merged_records(replica: Replica) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, replica.audit.lines()) if r["event"] == "pr_merged"]


def test_same_delivery_to_two_replicas_is_synced_once(world):
    with GitHubServer() as gh:
        p, result = publish(world, gh)
        gh.merge(result.pr_number, "carol")
        notes = RecordingNotifier()
        a, b = Replica(world, gh, notes), Replica(world, gh, notes)
        assert deliver(a, result.pr_number, "72d3162e-cc78-11e3-81ab-4c9367dc0958")[0] == 202
        gets = len([r for r in gh.requests if r.method == "GET"])
        assert deliver(b, result.pr_number, "72d3162e-cc78-11e3-81ab-4c9367dc0958") == (
            200,
            "delivery already handled (by this or another replica); nothing done",
        )
        assert len([r for r in gh.requests if r.method == "GET"]) == gets  # replica b asked GitHub nothing
    assert notes.notes == [(p.id, f"Merged by carol: {result.pr_url}")]
    assert len(merged_records(b)) == 1 and b.state.get(p.id).status == "merged"


def test_webhook_racing_the_leaders_sync_pass_records_the_merge_once(world):
    with GitHubServer() as gh:
        p, result = publish(world, gh)
        gh.merge(result.pr_number, "carol")
        notes = RecordingNotifier()
        meet = threading.Barrier(2)
        leader = Replica(world, gh, notes, MeetingPulls(_pulls(gh), meet))
        standby = Replica(world, gh, notes, MeetingPulls(_pulls(gh), meet))
        reports = []
        passes = threading.Thread(target=lambda: reports.append(leader.syncer.sync()))
        passes.start()
        status, _ = deliver(standby, result.pr_number, "0b6a1b3e-0000-4000-8000-000000000001")
        passes.join(30)
    assert status == 202 and not meet.broken
    assert notes.notes == [(p.id, f"Merged by carol: {result.pr_url}")]
    assert len(merged_records(leader)) == 1
    assert leader.audit.verify()[0].ok
    assert world.state.unindexed_outcomes()[0]["by"] == "carol"


def test_failed_webhook_sync_is_retried_by_a_redelivery_to_another_replica(world):
    with GitHubServer() as gh:
        p, result = publish(world, gh)
        gh.merge(result.pr_number, "carol")
        notes = RecordingNotifier()
        a, b = Replica(world, gh, notes), Replica(world, gh, notes)
        gh.fail_next["GET /pulls/N"] = 502
        guid = "5c1e0d2a-1111-4000-8000-000000000002"
        assert deliver(a, result.pr_number, guid)[0] == 202  # answered; its sync then failed
        assert notes.notes == [] and a.state.get(p.id).status == "published"
        assert deliver(b, result.pr_number, guid)[0] == 202  # GitHub's "Redeliver"
    assert notes.notes == [(p.id, f"Merged by carol: {result.pr_url}")]
    assert len(merged_records(a)) == 1


def test_standby_replica_leaves_an_open_pull_request_to_the_leader(world):
    with GitHubServer() as gh:
        _, result = publish(world, gh)
        notes = RecordingNotifier()
        standby = Replica(world, gh, notes)
        LeaderLease(world.open_store(), "replica-a", world.clock, ttl=30).tick()
        lease = LeaderLease(standby.state, "replica-b", world.clock, ttl=30)
        assert not lease.tick()
        writes = len(gh.writes())
        report = standby.syncer.on_pull_request(result.pr_number, lease=lease)
        assert (report.checked, report.deferred, report.rebased, report.closed) == (1, 1, 0, 0)
        assert len(gh.writes()) == writes and standby.syncer.on_push(lease=lease) is None
    assert notes.notes == []

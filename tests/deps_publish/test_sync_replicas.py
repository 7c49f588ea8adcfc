"""Application repositories' bot pull requests on several replicas: a merge or close has one effect however it
arrives (two replicas, a redelivery, a webhook racing the leader's pass), on SQLite and a real PostgreSQL; a
webhook of an application repository never reaches the GitOps pull request of the same number; writing to the
repository is the leader's, fenced by its epoch."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from bot.audit_db import DatabaseAuditLog
from bot.database import PostgresDatabase
from bot.dependency_sync import AppPullSync
from bot.leader import LeaderLease, LeaseLost
from bot.state import StateStore
from bot.sync import Syncer, SyncReport
from bot.webhook import signature_of, webhook_handler
from tests.conftest import git
from tests.deps_publish.conftest import DepWorld, Notes, app_remote, human_commit, published
from tests.publish_fixtures import FAKE_TOKEN, World, bare_remote
from tests.tools.github_server import GitHubServer
from tools.github import GitHubPulls, PullRequestInfo, github_client

pytestmark = pytest.mark.integration
SECRET = "whsec-app-replicas-5678"


class MeetingPulls:
    """``get`` returns only once ``parties`` callers read the pull request: every replica saw it merged before any
    records it (the race, made certain)."""

    def __init__(self, inner: Any, barrier: threading.Barrier) -> None:
        self.inner, self.barrier = inner, barrier

    def get(self, number: int) -> PullRequestInfo:
        info = self.inner.get(number)
        self.barrier.wait(20)
        return info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(params=["sqlite", "postgres"])
def world(request, tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    w = DepWorld(tmp_path, work, bare, osv, gh)
    if request.param == "sqlite":
        w.open_store = lambda: StateStore(tmp_path / "data" / "state.db")
    else:
        url = request.getfixturevalue("pg_url")
        w.open_store = lambda: StateStore(database=PostgresDatabase(url, max_size=8))
        w.state = w.open_store()
    return w


class Replica:
    """One replica: its own database connection, the shared audit chain, a syncer with the app half."""

    def __init__(
        self, world: DepWorld, gitops: World, gitops_gh: GitHubServer, notes: Notes, meet=None
    ) -> None:
        self.state = world.open_store()
        self.audit = DatabaseAuditLog(self.state, world.clock)
        publisher = world.publisher()
        publisher.state, publisher.audit = self.state, self.audit
        if meet is not None:
            inner = publisher.pulls_for
            publisher.pulls_for = lambda app: MeetingPulls(inner(app), meet)
        self.apps = AppPullSync(publisher, notifier=notes)
        self.syncer = Syncer(
            pulls=GitHubPulls(github_client(FAKE_TOKEN, gitops_gh.url, timeout=5), "acme/gitops"),
            builder=gitops.builder(),
            state=self.state,
            audit=self.audit,
            clock=world.clock,
            notifier=notes,
            apps=self.apps,
        )
        self.handle = webhook_handler(SECRET, self.syncer, self.state, world.clock, run=lambda fn: fn())


@pytest.fixture
def gitops(tmp_path, inventory):
    with GitHubServer() as server:
        yield World(tmp_path / "gitops", bare_remote(tmp_path / "gitops"), inventory), server


def deliver(replica: Replica, number: int, guid: str, repository: str = "acme/billing") -> tuple[int, str]:
    body = json.dumps(
        {"action": "closed", "pull_request": {"number": number}, "repository": {"full_name": repository}}
    ).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": guid,
        "X-Hub-Signature-256": signature_of(body, SECRET),
    }
    return replica.handle(headers, body)


def records(replica: Replica, event: str) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, replica.audit.lines()) if r["event"] == event]


def merged_note(result) -> str:
    return (
        "Merged by carol: Jinja2 2.10 → 2.10.1 in billing; later reports of this advisory at 2.10.1 or above "
        f"are covered. {result.pr_url}"
    )


def test_same_app_delivery_to_two_replicas_is_learned_once(world, gh, gitops):
    p, result = published(world)
    gh.merge(result.pr_number, "carol")
    notes = Notes()
    a, b = Replica(world, *gitops, notes), Replica(world, *gitops, notes)
    guid = "7d3a1c2e-cc78-11e3-81ab-4c9367dc0958"
    assert deliver(a, 1, guid) == (202, "pull request acme/billing#1 queued for sync")
    gets = len([r for r in gh.requests if r.method == "GET"])
    assert deliver(b, 1, guid) == (200, "delivery already handled (by this or another replica); nothing done")
    assert len([r for r in gh.requests if r.method == "GET"]) == gets
    assert notes.notes == [(p.id, merged_note(result))]
    assert len(records(b, "pr_merged")) == 1 and b.state.get(p.id).status == "merged"


def test_app_webhook_racing_the_leaders_sync_pass_learns_the_merge_once(world, gh, gitops):
    p, result = published(world)
    gh.merge(result.pr_number, "carol")
    notes = Notes()
    meet = threading.Barrier(2)
    leader, standby = Replica(world, *gitops, notes, meet), Replica(world, *gitops, notes, meet)
    reports = []
    passes = threading.Thread(target=lambda: reports.append(leader.syncer.sync()))
    passes.start()
    status, _ = deliver(standby, 1, "0c6a1b3e-0000-4000-8000-000000000011")
    passes.join(60)
    assert status == 202 and not meet.broken
    assert notes.notes == [(p.id, merged_note(result))]
    assert len(records(leader, "pr_merged")) == 1 and leader.audit.verify()[0].ok
    assert world.open_store().outcome(p.id)["by"] == "carol"


def test_failed_app_sync_is_retried_by_a_redelivery_to_another_replica(world, gh, gitops):
    p, result = published(world)
    gh.close_by(result.pr_number, "dave", "Not this quarter.")
    notes = Notes()
    a, b = Replica(world, *gitops, notes), Replica(world, *gitops, notes)
    gh.fail_next["GET /pulls/N"] = 502
    guid = "6d1e0d2a-1111-4000-8000-000000000012"
    assert deliver(a, 1, guid)[0] == 202  # answered; its sync then failed and forgot the delivery
    assert notes.notes == [] and a.state.get(p.id).status == "published"
    assert deliver(b, 1, guid)[0] == 202  # GitHub's "Redeliver"
    assert len(notes.notes) == 1 and notes.notes[0][1].startswith(
        'Pull request closed without merge by dave: "Not'
    )
    assert len(records(a, "pr_closed")) == 1 and a.state.get(p.id).status == "rejected"


def test_standby_replica_leaves_an_open_app_pull_request_to_the_leader(world, gh, gitops):
    _, result = published(world)
    human_commit(world.work, "requirements.txt", (world.work / "requirements.txt").read_text() + "# x\n")
    standby = Replica(world, *gitops, Notes())
    LeaderLease(world.open_store(), "replica-a", world.clock, ttl=30).tick()
    lease = LeaderLease(standby.state, "replica-b", world.clock, ttl=30)
    assert not lease.tick()
    writes = len(gh.writes())
    report = standby.syncer.on_app_pull_request("acme/billing", 1, lease=lease)
    assert (report.checked, report.deferred, report.rebased) == (1, 1, 0)
    assert len(gh.writes()) == writes


def test_leader_that_lost_its_lease_pushes_no_remake(world, gh, gitops):
    _, result = published(world)
    tip = git("rev-parse", result.branch, cwd=world.bare).strip()
    human_commit(world.work, "requirements.txt", (world.work / "requirements.txt").read_text() + "# x\n")
    stale = Replica(world, *gitops, Notes())
    lease = LeaderLease(stale.state, "replica-a", world.clock, ttl=30)
    assert lease.tick()
    world.clock.advance(31)  # paused past its lease; another replica takes over
    assert LeaderLease(world.open_store(), "replica-b", world.clock, ttl=30).tick()
    writes = len(gh.writes())
    with pytest.raises(LeaseLost), lease.leading():
        stale.apps.sync(SyncReport())
    assert git("rev-parse", result.branch, cwd=world.bare).strip() == tip
    assert len(gh.writes()) == writes


def test_app_delivery_never_reaches_the_gitops_pull_request_of_the_same_number(world, gh, gitops):
    from tests.test_sync import publish as publish_gitops

    gworld, ggh = gitops
    gworld.state = world.open_store()
    gp, gresult = publish_gitops(gworld, ggh)
    p, result = published(world)
    assert gresult.pr_number == result.pr_number == 1
    ggh.merge(1, "erin")  # the GitOps PR #1 is merged too, but this delivery is the app repository's
    gh.merge(1, "carol")
    notes = Notes()
    replica = Replica(world, *gitops, notes)
    assert deliver(replica, 1, "1a2b3c4d-0000-4000-8000-000000000013")[0] == 202
    assert notes.notes == [(p.id, merged_note(result))]
    assert replica.state.get(gp.id).status == "published"  # untouched: the GitOps sync pass learns it

"""Publishing after approval, against a real bare git remote (and a loopback GitHub for pull requests)."""

from __future__ import annotations

import pytest

from bot.publisher import LocalPublisher
from tests.conftest import git
from tests.publish_fixtures import (
    INGRESS,
    World,
    approval,
    bare_remote,
    human_commit,
    remote_branches,
    remote_file,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path, inventory) -> World:
    return World(tmp_path, bare_remote(tmp_path), inventory)


def local(world: World) -> LocalPublisher:
    return LocalPublisher(world.builder(), state=world.state, audit=world.audit, clock=world.clock)


def test_local_publish_pushes_a_bot_branch_with_the_change(world):
    p = world.proposal()
    result = local(world).publish(p, approval(p))
    assert result.ok and result.branch == f"secops/91-240-118-172-{p.id}-r1"
    assert "91.240.118.172/32" in remote_file(world.bare, result.branch, INGRESS)
    assert "91.240.118.172" not in remote_file(world.bare, "main", INGRESS)
    assert remote_branches(world.bare) == sorted(["main", result.branch])


def test_local_publish_commit_names_alerts_proposal_and_audit_hash(world):
    p = world.proposal()
    result = local(world).publish(p, approval(p))
    msg = git("log", "-1", "--format=%an <%ae>%n%B", result.branch, cwd=world.bare)
    assert msg.startswith("secops-bot <secops-bot@example.com>\nsecops: block 91.240.118.172 on web-01")
    assert f"Proposal: {p.id}" in msg and "Rules: 31103 (SQL injection attempt.)" in msg
    assert "Approved-by: U0ALICE" in msg and "Audit-Hash: " in msg


def test_local_publish_twice_reuses_the_branch(world):
    p = world.proposal()
    first = local(world).publish(p, approval(p))
    second = local(world).publish(p, approval(p))
    assert second.ok and second.reused and second.branch == first.branch and second.commit == first.commit
    assert git("rev-list", "--count", first.branch, cwd=world.bare).strip() == "2"


def test_local_publish_reapplies_ops_on_the_latest_main(world):
    p = world.proposal()
    text = remote_file(world.bare, "main", INGRESS) + "# a comment added upstream\n"
    head = human_commit(world.tmp, INGRESS, text)
    result = local(world).publish(p, approval(p))
    assert git("rev-parse", f"{result.branch}~1", cwd=world.bare).strip() == head
    assert remote_file(world.bare, result.branch, INGRESS).endswith("# a comment added upstream\n")


def test_local_publish_stale_file_failing_the_guard_pushes_nothing(world):
    p = world.proposal()
    # Someone turned the file into a Deployment meanwhile: the re-run guard must refuse.
    text = remote_file(world.bare, "main", INGRESS).replace("kind: ConfigMap", "kind: Deployment")
    human_commit(world.tmp, INGRESS, text)
    result = local(world).publish(p, approval(p))
    assert not result.ok and "fails the guard" in result.message and "not a ConfigMap" in result.message
    assert remote_branches(world.bare) == ["main"]
    assert world.state.get_publication(p.id, 1) is None


def test_local_publish_already_applied_upstream_pushes_nothing(world):
    p = world.proposal()
    old = remote_file(world.bare, "main", INGRESS)
    human_commit(world.tmp, INGRESS, old.replace('block-cidrs: "', 'block-cidrs: "91.240.118.172/32,'))
    result = local(world).publish(p, approval(p))
    assert not result.ok and result.message.startswith("the default branch main already contains")
    assert remote_branches(world.bare) == ["main"]


def test_local_publish_refuses_an_approval_of_another_revision(world):
    p = world.proposal()
    stale = approval(p).model_copy(update={"revision_hash": "0" * 16})
    result = local(world).publish(p, stale)
    assert not result.ok and "approve the current revision" in result.message
    assert remote_branches(world.bare) == ["main"]


def test_local_publish_records_the_publication_and_audits_it(world):
    p = world.proposal()
    result = local(world).publish(p, approval(p))
    pub = world.state.get_publication(p.id, 1)
    assert pub is not None and (pub.branch, pub.commit, pub.status) == (
        result.branch,
        result.commit,
        "pushed",
    )
    assert world.state.get(p.id).status == "published"
    events = [line for line in world.audit.path.read_text().splitlines() if '"event":"publish"' in line]
    assert len(events) == 1 and result.commit in events[0]

"""Publishing after approval, against a real bare git remote (and a loopback GitHub for pull requests)."""

from __future__ import annotations

import base64
import logging

import pytest

from bot.publisher import GitHubPublisher, LocalPublisher
from bot.state import StateStore
from tests.conftest import git
from tests.publish_fixtures import (
    FAKE_TOKEN,
    INGRESS,
    World,
    approval,
    human_commit,
    remote_branches,
    remote_file,
)
from tests.tools.github_server import GitHubServer
from tools.github import GitHubPulls, github_client

pytestmark = pytest.mark.integration


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


# --- GitHub pull requests (loopback REST API) ------------------------------------------------------------


def github(world: World, gh: GitHubServer, **kw) -> GitHubPublisher:
    pulls = GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops")
    return GitHubPublisher(
        world.builder(), pulls, state=world.state, audit=world.audit, clock=world.clock, **kw
    )


def test_github_publish_opens_a_pr_with_the_right_body(world, gh):
    p = world.proposal()
    result = github(world, gh).publish(p, approval(p))
    assert result.ok and result.pr_number == 1 and result.pr_url == f"{gh.url}/acme/gitops/pull/1"
    assert result.message == f"Pull request opened: {result.pr_url}"
    pr = gh.repo.pulls[1]
    assert (pr["head_ref"], pr["base_ref"], pr["draft"]) == (result.branch, "main", False)
    assert pr["title"] == f"secops: block 91.240.118.172 on web-01 ({p.id} r1)"
    body = pr["body"]
    assert "| 31103 | SQL injection attempt. |" in body and "**MITRE ATT&CK:** T1190" in body
    assert "```diff\n--- a/clusters/prod/web-01/ingress-nginx-controller.yaml" in body
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,91.240.118.172/32"' in body
    assert "- ✓ `files_in_inventory`: only configs listed for web-01" in body
    assert "**Reviewer:** no reviewer configured" in body
    assert "**Approved by:** U0ALICE at 2026-11-18T" in body
    assert "[Slack thread](https://example.slack.com/archives/C1/p1795000000000100)" in body
    assert f"<!-- secops-bot proposal={p.id} revision=1 -->" in body
    assert pr["labels"] == ["secops-bot", "severity:high"]


def test_github_publish_draft_and_owner_reviewers_when_configured(world, gh):
    p = world.proposal()
    github(world, gh, draft=True, reviewers={"team-shop": ("alice", "@acme/shop")}).publish(p, approval(p))
    pr = gh.repo.pulls[1]
    assert pr["draft"] is True and pr["reviewers"] == ["alice"] and pr["teams"] == ["shop"]


def test_github_publish_twice_reuses_branch_and_pr(world, gh):
    p = world.proposal()
    first = github(world, gh).publish(p, approval(p))
    second = github(world, gh).publish(p, approval(p))
    assert second.ok and second.reused and (second.pr_url, second.branch) == (first.pr_url, first.branch)
    assert len(gh.repo.pulls) == 1


def test_github_publish_retry_after_crash_between_push_and_pr_opens_one_pr(world, gh):
    p = world.proposal()
    gh.fail_next["POST /pulls"] = 502  # the process "dies" after the push, before the PR exists
    failed = github(world, gh).publish(p, approval(p))
    assert not failed.ok and "GitHub refused to open the pull request: HTTP 502" in failed.message
    assert failed.message.startswith("GitHub refused")
    retried = github(world, gh).publish(p, approval(p))
    assert retried.ok and retried.pr_number == 1 and len(gh.repo.pulls) == 1
    assert [r.path for r in gh.writes() if r.path.endswith("/pulls")] == ["/repos/acme/gitops/pulls"] * 2


def test_github_publish_after_lost_state_finds_the_open_pr(world, gh, tmp_path):
    p = world.proposal()
    github(world, gh).publish(p, approval(p))
    world.state = StateStore(tmp_path / "fresh.db")  # the PR was opened but never recorded
    again = github(world, gh).publish(p, approval(p))
    assert again.ok and again.reused and again.pr_number == 1 and len(gh.repo.pulls) == 1


def test_github_publish_never_merges_approves_or_enables_auto_merge(world, gh):
    p = world.proposal()
    github(world, gh, reviewers={"team-shop": ("alice",)}).publish(p, approval(p))
    github(world, gh).publish(p, approval(p))
    sent = [f"{r.method} {r.path}" for r in gh.requests]
    assert all(r.authorized for r in gh.requests)
    assert not [s for s in sent if "/merge" in s or "/reviews" in s or "graphql" in s or s.startswith("PUT")]
    assert "auto_merge" not in gh.all_text() and "enablePullRequestAutoMerge" not in gh.all_text()


def test_github_publish_stale_file_opens_no_pr(world, gh):
    p = world.proposal()
    text = remote_file(world.bare, "main", INGRESS).replace("kind: ConfigMap", "kind: Secret")
    human_commit(world.tmp, INGRESS, text)
    result = github(world, gh).publish(p, approval(p))
    assert not result.ok and gh.writes() == [] and remote_branches(world.bare) == ["main"]


def test_token_never_appears_in_any_recorded_output(world, gh, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    world.token = FAKE_TOKEN
    p = world.proposal()
    ok = github(world, gh).publish(p, approval(p))
    # An HTTPS remote that refuses the connection: the error text must not carry the token either.
    https = GitHubPublisher(
        world.builder("https://127.0.0.1:9/acme/gitops.git"),
        GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops"),
        state=StateStore(tmp_path / "other.db"),
        audit=world.audit,
        clock=world.clock,
    )
    failed = https.publish(p, approval(p))
    assert ok.ok and not failed.ok and "could not fetch" in failed.message
    clone_config = (world.tmp / "data" / "gitops-clone" / ".git" / "config").read_text()
    recorded = "\n".join(
        [caplog.text, gh.all_text(), world.audit.path.read_text(), ok.message, failed.message, clone_config]
    )
    basic = base64.b64encode(f"x-access-token:{FAKE_TOKEN}".encode()).decode()
    assert FAKE_TOKEN not in recorded and basic not in recorded and "https://127.0.0.1:9" in clone_config


def test_pr_body_renders_hostile_alert_text_inert(world, gh):
    p = world.proposal()
    hostile = "@octocat [click](https://evil.example) <img src=x> ```\n" + FAKE_TOKEN
    group = p.group.model_copy(update={"rule_descriptions": {"31103": hostile}})
    p = p.model_copy(update={"group": group})
    github(world, gh).publish(p, approval(p))
    row = next(line for line in gh.repo.pulls[1]["body"].splitlines() if line.startswith("| 31103"))
    assert row == (
        "| 31103 | @\u200boctocat \\[click\\](https:\u200b//evil.example) \\<img src=x\\> \\`\\`\\` \\*\\*\\* |"
    )

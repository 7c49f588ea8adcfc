"""Sync: outcomes of the bot's pull requests, and conflict-free rebases, on a real remote and loopback GitHub."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main
from bot.publisher import GitHubPublisher
from bot.sync import Syncer
from tests.conftest import FIXTURES, git
from tests.publish_fixtures import (
    FAKE_TOKEN,
    INGRESS,
    World,
    approval,
    human_commit,
    merge_branch,
    remote_file,
)
from tests.tools.github_server import GitHubServer
from tools.github import GitHubPulls, github_client

pytestmark = pytest.mark.integration


class RecordingNotifier:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    def thread_note(self, proposal_id: str, text: str) -> None:
        self.notes.append((proposal_id, text))


def _pulls(gh: GitHubServer) -> GitHubPulls:
    return GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops")


def publish(world: World, gh: GitHubServer, srcip: str = "91.240.118.172"):
    p = world.proposal(srcip=srcip)
    pub = GitHubPublisher(
        world.builder(), _pulls(gh), state=world.state, audit=world.audit, clock=world.clock
    )
    result = pub.publish(p, approval(p))
    assert result.ok, result.message
    return p, result


def syncer(world: World, gh: GitHubServer, notifier: RecordingNotifier) -> Syncer:
    return Syncer(
        pulls=_pulls(gh),
        builder=world.builder(),
        state=world.state,
        audit=world.audit,
        clock=world.clock,
        notifier=notifier,
    )


def test_merged_pr_is_recorded_and_the_thread_says_who(world, gh):
    p, result = publish(world, gh)
    gh.merge(result.pr_number, "alice")
    notes = RecordingNotifier()
    report = syncer(world, gh, notes).sync()
    assert (report.checked, report.merged) == (1, 1)
    assert notes.notes == [(p.id, f"Merged by alice: {result.pr_url}")]
    assert world.state.get(p.id).status == "merged"
    assert world.state.unindexed_outcomes()[0] | {"at": 0} == {
        "fix_id": p.id, "outcome": "merged", "pr_url": result.pr_url, "reason": "", "by": "alice", "at": 0,
    }  # fmt: skip
    assert syncer(world, gh, notes).sync().checked == 0  # no longer watched


def test_closed_pr_is_rejected_in_review_with_the_closers_comment(world, gh):
    p, result = publish(world, gh)
    gh.close_by(result.pr_number, "bob", "Customer VPN egress, do not block.")
    notes = RecordingNotifier()
    assert syncer(world, gh, notes).sync().rejected == 1
    assert notes.notes == [
        (
            p.id,
            'Pull request closed without merge by bob: "Customer VPN egress, do not block.". '
            f"Recorded as rejected in review. {result.pr_url}",
        )
    ]
    (row,) = world.state.unindexed_outcomes()
    assert (row["outcome"], row["by"], row["reason"]) == (
        "rejected",
        "bob",
        "Customer VPN egress, do not block.",
    )


def test_two_prs_on_one_file_stay_conflict_free_after_one_merges(world, gh):
    a, first = publish(world, gh, "91.240.118.172")
    b, second = publish(world, gh, "45.155.205.99")
    merged_head = merge_branch(world.tmp, first.branch)
    gh.merge(first.pr_number, "alice")
    notes = RecordingNotifier()
    report = syncer(world, gh, notes).sync()
    assert (report.merged, report.rebased) == (1, 1)
    # The second branch now sits on the new main and carries both addresses: it merges cleanly.
    assert git("rev-parse", f"{second.branch}~1", cwd=world.bare).strip() == merged_head
    text = remote_file(world.bare, second.branch, INGRESS)
    assert "91.240.118.172/32" in text and "45.155.205.99/32" in text
    merge_branch(world.tmp, second.branch)
    assert remote_file(world.bare, "main", INGRESS) == text
    comments = gh.repo.comments[second.pr_number]
    assert comments[0]["body"].startswith("main changed the same file, so the bot re-applied")
    assert notes.notes[-1][0] == b.id and "force-pushed its own branch" in notes.notes[-1][1]
    assert world.state.get_publication(b.id, 1).status == "open"


def test_untouched_pr_is_left_alone(world, gh):
    _, result = publish(world, gh)
    before = git("rev-parse", result.branch, cwd=world.bare)
    human_commit(world.tmp, "README.md", "unrelated\n")
    writes = len(gh.writes())
    report = syncer(world, gh, RecordingNotifier()).sync()
    assert (report.checked, report.rebased, report.closed) == (1, 0, 0)
    assert git("rev-parse", result.branch, cwd=world.bare) == before and len(gh.writes()) == writes


def test_pr_whose_ops_no_longer_apply_is_closed_with_a_comment(world, gh):
    p, result = publish(world, gh)
    old = remote_file(world.bare, "main", INGRESS)
    human_commit(world.tmp, INGRESS, old.replace('block-cidrs: "', 'block-cidrs: "91.240.118.172/32,'))
    notes = RecordingNotifier()
    assert syncer(world, gh, notes).sync().closed == 1
    assert gh.repo.pulls[result.pr_number]["state"] == "closed"
    body = gh.repo.comments[result.pr_number][0]["body"]
    assert body.startswith("Closing: main already contains this change (the address is already blocked).")
    assert world.state.get_publication(p.id, 1).status == "obsolete"
    assert world.state.unindexed_outcomes() == ()  # obsolete is neither merged nor rejected


def test_branch_with_a_human_commit_is_not_overwritten(world, gh):
    _, result = publish(world, gh)
    work = world.tmp / "upstream"
    git("fetch", "-q", "origin", f"{result.branch}:{result.branch}", cwd=work)
    git("checkout", "-q", result.branch, cwd=work)
    (work / "NOTE.md").write_text("human\n")
    git("add", "NOTE.md", cwd=work)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "human", cwd=work)
    git("push", "-q", "origin", result.branch, cwd=work)
    human = git("rev-parse", "HEAD", cwd=work)
    old = remote_file(world.bare, "main", INGRESS)
    human_commit(world.tmp, INGRESS, old + "# upstream edit\n")
    gh.set_mergeable_state(result.pr_number, "dirty")
    syncer(world, gh, RecordingNotifier()).sync()
    assert git("rev-parse", result.branch, cwd=world.bare) == human


def test_cli_sync_records_a_merge_and_prints_the_summary(world, gh):
    p, result = publish(world, gh)
    gh.merge(result.pr_number, "alice")
    out, err = io.StringIO(), io.StringIO()
    env = {
        "GITHUB_REPOSITORY": "acme/gitops",
        "GITHUB_TOKEN": FAKE_TOKEN,
        "GITHUB_API_URL": gh.url,
        "SECOPS_GIT_REMOTE_URL": str(world.bare),
        "SECOPS_GIT_AUTHOR_EMAIL": "secops-bot@example.com",
    }
    code = main(
        ["--data-dir", str(world.tmp / "data"), "sync", "--cmdb", str(FIXTURES / "cmdb.yaml")],
        out=out, err=err, env=env, clock=world.clock,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    assert out.getvalue() == (
        f"{p.id}: Merged by alice: {result.pr_url}\n"
        "Checked 1 open bot pull request(s): 1 merged, 0 closed without merge, 0 rebased, 0 closed as obsolete.\n"
    )
    assert FAKE_TOKEN not in out.getvalue() + err.getvalue()


def test_cli_sync_with_slack_configured_tells_the_proposal_thread(world, gh):
    from bot.approvals import ApprovalStore
    from tests.slack.recorder import SlackRecorder

    p, result = publish(world, gh)
    ApprovalStore(world.state).save_message(p.id, "C0SECOPS", "1795000000.000001")
    gh.merge(result.pr_number, "alice")
    slack = SlackRecorder()
    env = {
        "GITHUB_REPOSITORY": "acme/gitops", "GITHUB_TOKEN": FAKE_TOKEN, "GITHUB_API_URL": gh.url,
        "SECOPS_GIT_REMOTE_URL": str(world.bare), "SLACK_BOT_TOKEN": "xoxb-1-2-SyncBotToken",
        "SLACK_API_URL": slack.url, "SECOPS_SLACK_CHANNEL": "C0SECOPS",
    }  # fmt: skip
    try:
        code = main(
            ["--data-dir", str(world.tmp / "data"), "sync", "--cmdb", str(FIXTURES / "cmdb.yaml")],
            out=io.StringIO(), err=io.StringIO(), env=env, clock=world.clock,
        )  # fmt: skip
        (note,) = [c for c in slack.calls("chat.postMessage") if c.get("thread_ts") == "1795000000.000001"]
        (update,) = slack.calls("chat.update")
    finally:
        slack.close()
    assert code == 0
    assert note["text"] == f"Merged by alice: {result.pr_url}" and note["channel"] == "C0SECOPS"
    assert update["ts"] == "1795000000.000001" and f"Merged by alice: {result.pr_url}" in json.dumps(update)
    assert world.state.get(p.id).status == "merged"


def test_cli_sync_without_github_says_what_to_set(tmp_path):
    out = io.StringIO()
    assert main(["--data-dir", str(tmp_path), "sync"], out=out, err=io.StringIO(), env={}) == 0
    assert out.getvalue().startswith("Nothing to sync: set GITHUB_REPOSITORY and GITHUB_TOKEN")


class FullDiskSyncer:
    """A syncer whose passes fail on the bot's own storage until ``fixed``."""

    def __init__(self) -> None:
        self.fixed = False

    def sync(self):
        from bot.core.errors import AuditError
        from bot.sync import SyncReport

        if not self.fixed:
            raise AuditError("cannot write /data/audit.jsonl: No space left on device")
        return SyncReport()


def test_sync_loop_outlives_a_full_disk_and_reports_it_until_a_pass_succeeds():
    import threading
    import time

    from bot.slack.server import Health
    from bot.sync import start_sync_loop

    syncer, health, stop = FullDiskSyncer(), Health(), threading.Event()
    thread = start_sync_loop(syncer, 0.01, stop, health=health)
    try:
        deadline = time.monotonic() + 10
        while "sync" not in health.errors() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert health.errors() == {
            "sync": "AuditError: cannot write /data/audit.jsonl: No space left on device"
        }
        syncer.fixed = True
        while health.errors() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert health.errors() == {} and thread.is_alive()
    finally:
        stop.set()
        thread.join(5)

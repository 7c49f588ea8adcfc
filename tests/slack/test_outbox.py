"""The publication outbox: an approval committed before a crash is published exactly once afterwards."""

from __future__ import annotations

import json

import pytest

from tests.conftest import git
from tests.slack.conftest import ALICE, runtime_for

WEB = "91.240.118.172"
RESUMED = (
    ":arrows_counterclockwise: Publication of revision 1 was interrupted (the bot stopped after the approval) "
    "and has now been completed: branch {branch}"
)


def _approved_then_crashed(slack) -> str:
    """Alice's vote is committed (the claim) but the process died before publishing: what a crash leaves."""
    p = slack.proposal_of(WEB)
    vote = slack.service.approvals.vote(p.id, p.revision_hash, ALICE, 1, slack.clock.now())
    assert vote.outcome == "claimed"
    return p.id


def test_interrupted_approval_is_published_on_the_next_start(slack):
    slack.scan()
    pid = _approved_then_crashed(slack)
    slack.runtime.stop()
    restarted = runtime_for(slack.runtime.settings, slack.clock, http=True)
    try:
        restarted.poller.run_once()  # the first thing a started poller does
        (branch,) = slack.bot_branches()
        assert restarted.state.get(pid).status == "published"
        assert RESUMED.format(branch=branch) in slack.thread(restarted.service.approvals.message_for(pid).ts)
        restarted.poller.run_once()
        assert slack.bot_branches() == [branch]
    finally:
        restarted.stop()


def test_next_click_after_an_interrupted_publish_finishes_it(slack):
    slack.scan()
    pid = _approved_then_crashed(slack)
    ts = slack.ts_of(WEB)
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), ALICE, ts)
    note = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "interrupted" in b["text"]
    )
    (branch,) = slack.bot_branches()
    assert note["text"] == RESUMED.format(branch=branch)
    assert "already" not in json.dumps(slack.recorder.calls("chat.postEphemeral"))
    entry = slack.service.approvals.outbox_entry(pid, slack.proposal_of(WEB).revision_hash)
    assert (entry.state, entry.attempts, entry.approvers) == ("done", 1, (ALICE,))


def test_publish_failure_returns_to_pending_and_the_outbox_keeps_the_error(slack):
    slack.scan()
    p = slack.proposal_of(WEB)
    git("update-ref", "-d", "refs/heads/main", cwd=slack.remote)  # the remote lost its default branch
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), ALICE, slack.ts_of(WEB))
    slack.recorder.wait_for("chat.postMessage", lambda b: "Publishing failed" in b.get("text", ""))
    entry = slack.service.approvals.outbox_entry(p.id, p.revision_hash)
    assert (entry.state, entry.attempts) == ("failed", 1) and entry.last_error
    assert slack.service.state.get(p.id).status == "pending"
    assert slack.service.resume_publications() == []  # a failed entry waits for a new approval


def test_resume_skips_a_revision_already_being_published(slack):
    slack.scan()
    p = slack.proposal_of(WEB)
    _approved_then_crashed(slack)
    service = slack.service
    assert service._hold((p.id, p.revision_hash), wait=False)  # a click is publishing it right now
    assert service.resume_publications() == [] and slack.bot_branches() == []
    service._release((p.id, p.revision_hash))
    (result,) = service.resume_publications()
    assert result.kind == "published" and len(slack.bot_branches()) == 1


class FullDiskOnce:
    """A publisher whose first attempt hits a full disk (the bot's own storage), then works."""

    def __init__(self, real) -> None:
        self.real = real
        self.failed = False

    def publish(self, proposal, approval):
        from bot.core.errors import AuditError

        if not self.failed:
            self.failed = True
            raise AuditError("cannot write /data/audit.jsonl: No space left on device")
        return self.real.publish(proposal, approval)


def test_full_disk_during_publish_keeps_the_approval_queued_for_the_next_pass(slack):
    from bot.core.errors import AuditError

    slack.scan()
    pid = _approved_then_crashed(slack)
    slack.service.publisher = FullDiskOnce(slack.service.publisher)
    with pytest.raises(AuditError):
        slack.service.resume_publications()
    assert slack.service.state.get(pid).status == "approved" and slack.bot_branches() == []
    (result,) = slack.service.resume_publications()  # the next pass, once there is room again
    assert result.kind == "published" and len(slack.bot_branches()) == 1


def test_click_during_shutdown_changes_nothing_and_says_so(slack):
    slack.scan()
    assert slack.service.drain(timeout=1)
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), ALICE, slack.ts_of(WEB))
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == ALICE)
    assert eph["text"] == "secops-bot is restarting, so nothing happened. Click again in a minute."
    assert (
        slack.service.state.get(slack.proposal_of(WEB).id).status == "pending" and slack.bot_branches() == []
    )

"""Blocks that expire, through the real Bolt pipeline: `keep` in a thread, and a lifted block's card approved
like any other (a fake clock moves the ban time on)."""

from __future__ import annotations

import json

from bot.expiry import DAY_S, ExpiryJob, record_merged
from tests.conftest import git
from tests.publish_fixtures import merge_branch
from tests.slack.conftest import ALICE, MALLORY

WEB = "91.240.118.172"
INGRESS = "clusters/prod/web-01/ingress-nginx-controller.yaml"


def test_keep_in_the_thread_says_the_block_never_expires(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(ALICE, "keep", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Kept" in b["text"]
    )
    assert reply["text"] == (
        "Kept: the entries this proposal adds will never expire once merged; the bot will not propose lifting them."
    )


def test_keep_from_a_non_approver_is_refused(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(MALLORY, "keep", ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert eph["thread_ts"] == ts
    assert slack.service.state.get_meta(f"keep:{slack.proposal_of(WEB).id}") is None


def test_expired_block_is_lifted_through_the_approve_flow(slack, tmp_path):
    slack.scan()
    block = slack.proposal_of(WEB)
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), ALICE, slack.ts_of(WEB))
    merge_branch(tmp_path, slack.published_branch(block.id))  # people merged the bot's branch
    state = slack.service.state
    record_merged(state, block, pr_number=12, now=slack.clock.now(), ban_days=30)
    slack.clock.advance(30 * DAY_S)
    builder = slack.service.publisher.builder
    (removal,) = ExpiryJob(state=state, builder=builder, audit=slack.service.audit, clock=slack.clock).run()
    assert removal.reason == f"Block of {WEB}/32 expired after 30 days (added by PR #12)"
    slack.runtime.poster.post_new([removal])  # the next poll posts it
    card = slack.recorder.wait_for(
        "chat.postMessage", lambda b: "thread_ts" not in b and removal.id in json.dumps(b.get("blocks", []))
    )
    slack.click(
        "approve", slack.approve_value(card), ALICE, slack.service.approvals.message_for(removal.id).ts
    )
    branch = slack.published_branch(removal.id)
    diff = git("diff", "main", branch, cwd=slack.remote)
    assert f'-  block-cidrs: "198.51.100.23/32,192.0.2.0/24,{WEB}/32"' in diff
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24"' in diff

"""Blocks that expire, through the real Bolt pipeline: `keep` in a thread, and a lifted block's card approved
like any other (a fake clock moves the ban time on)."""

from __future__ import annotations

import itertools
import json
import time

from bot.expiry import DAY_S, ExpiryJob, record_merged
from tests.conftest import git
from tests.publish_fixtures import merge_branch
from tests.slack.conftest import ALICE, CHANNEL, MALLORY

WEB = "91.240.118.172"
INGRESS = "clusters/prod/web-01/ingress-nginx-controller.yaml"
_ids = itertools.count(1)


def _scan(slack):
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"))


def _say(slack, user: str, text: str, ts: str) -> None:
    n = next(_ids)
    slack.event(
        {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "channel": CHANNEL,
         "ts": f"1795000300.{n:06d}", "thread_ts": ts},
        event_id=f"EvExp{n}",
    )  # fmt: skip


def _published(slack, proposal_id: str) -> str:
    deadline = time.monotonic() + 20
    while slack.service.state.get(proposal_id).status != "published":
        assert time.monotonic() < deadline, slack.service.state.get(proposal_id).status
        time.sleep(0.05)
    branches = git("branch", "--list", "secops/*", cwd=slack.remote).split()
    return next(b for b in branches if b.endswith(f"{proposal_id}-r1") or proposal_id[2:] in b)


def test_keep_in_the_thread_says_the_block_never_expires(slack):
    _scan(slack)
    ts = slack.ts_of(WEB)
    _say(slack, ALICE, "keep", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Kept" in b["text"]
    )
    assert reply["text"] == (
        "Kept: the entries this proposal adds will never expire once merged; the bot will not propose lifting them."
    )


def test_keep_from_a_non_approver_is_refused(slack):
    _scan(slack)
    ts = slack.ts_of(WEB)
    _say(slack, MALLORY, "keep", ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert eph["thread_ts"] == ts
    assert slack.service.state.get_meta(f"keep:{slack.proposal_of(WEB).id}") is None


def test_expired_block_is_lifted_through_the_approve_flow(slack, tmp_path):
    _scan(slack)
    block = slack.proposal_of(WEB)
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), ALICE, slack.ts_of(WEB))
    merge_branch(tmp_path, _published(slack, block.id))  # people merged the bot's branch
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
    branch = _published(slack, removal.id)
    diff = git("diff", "main", branch, cwd=slack.remote)
    assert f'-  block-cidrs: "198.51.100.23/32,192.0.2.0/24,{WEB}/32"' in diff
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24"' in diff

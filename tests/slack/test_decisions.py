"""Approve/Reject rules: approvers only, the exact revision, exactly one publish, reasons kept."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import git
from tests.slack.conftest import ALICE, BOB, CAROL, MALLORY, start

WEB = "91.240.118.172"


def _attacker_returns(slack, count: int, minute: int) -> None:
    """The web attacker's first ``count`` alerts again, over an hour later (a new group, the same fix)."""
    docs = [json.loads(line) for line in slack.alerts.read_text().splitlines()[:count]]
    for i, doc in enumerate(docs):
        doc["timestamp"] = f"2026-11-20T10:{minute + i:02d}:00.000+0000"
        doc["id"] = f"again-{minute}-{i}"
    with slack.alerts.open("a") as f:
        f.writelines(json.dumps(d) + "\n" for d in docs)


def test_unauthorized_approve_gets_an_ephemeral_and_nothing_happens(slack):
    slack.scan()
    value = slack.approve_value(slack.message_of(WEB))
    status, _ = slack.click("approve", value, MALLORY, slack.ts_of(WEB))
    assert status == 200
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert (
        eph["text"]
        == "You are not an approver for secops-bot proposals, so nothing happened. Ask a SOC lead."
    )
    assert slack.recorder.calls("chat.update") == []
    assert slack.bot_branches() == []
    assert slack.service.state.get(slack.proposal_of(WEB).id).status == "pending"
    audit = (slack.runtime.settings.audit_path).read_text()
    assert '"event":"approval_refused"' in audit and MALLORY in audit


def test_user_group_member_may_approve(slack):
    slack.scan()
    slack.click("approve", slack.approve_value(slack.message_of(WEB)), CAROL, slack.ts_of(WEB))
    slack.recorder.wait_for("chat.update", lambda b: f"Approved by <@{CAROL}>" in json.dumps(b["blocks"]))
    assert len(slack.bot_branches()) == 1


def test_double_click_and_slack_retry_publish_once(slack):
    slack.scan()
    value, ts = slack.approve_value(slack.message_of(WEB)), slack.ts_of(WEB)
    slack.click("approve", value, ALICE, ts)
    slack.click("approve", value, ALICE, ts)
    slack.click(
        "approve",
        value,
        ALICE,
        ts,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )
    assert len(slack.bot_branches()) == 1
    audit = slack.runtime.settings.audit_path.read_text().splitlines()
    assert sum('"event":"publish"' in line for line in audit) == 1


def test_two_approvers_at_once_publish_once(slack):
    slack.scan()
    value, ts = slack.approve_value(slack.message_of(WEB)), slack.ts_of(WEB)
    threads = [
        threading.Thread(target=slack.click, args=("approve", value, u, ts)) for u in (ALICE, BOB, CAROL)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )
    assert len(slack.bot_branches()) == 1
    published = [
        c
        for c in slack.recorder.calls("chat.postMessage")
        if ":white_check_mark: Approved by" in c.get("text", "")
    ]
    assert len(published) == 1


def test_stale_revision_is_refused_after_a_thread_revision(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    old_value = slack.approve_value(slack.message_of(WEB))
    # A /25: with the attacker's /32, a /24 would exceed the proposal's 256-address budget.
    slack.event(
        {"type": "app_mention", "user": BOB, "text": "<@UBOT> also block 45.155.205.0/25", "channel": "C0SECOPS",
         "ts": "1795000100.000001", "thread_ts": ts},
        event_id="Ev1",
    )  # fmt: skip
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    new_value = next(
        el["value"]
        for b in update["blocks"]
        for el in b.get("elements", [])
        if el.get("action_id") == "approve"
    )
    assert json.loads(new_value)["r"] == 2 and new_value != old_value
    assert "45.155.205.0/25" in json.dumps(update["blocks"])
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Revision 2" in b["text"]
    )
    assert "Earlier revisions can no longer be approved" in reply["text"]
    slack.click("approve", old_value, ALICE, ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == ALICE)
    assert eph["text"].startswith("This button belongs to an earlier revision; revision 2 is current.")
    assert slack.bot_branches() == []
    slack.click("approve", new_value, ALICE, ts)
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )
    (branch,) = slack.bot_branches()
    assert branch.endswith("-r2")
    assert "45.155.205.0/25" in git("diff", "main", branch, cwd=slack.remote)


def test_thread_instruction_widening_past_the_guard_is_blocked(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.event(
        {"type": "app_mention", "user": BOB, "text": "<@UBOT> use /16", "channel": "C0SECOPS",
         "ts": "1795000100.000002", "thread_ts": ts},
        event_id="Ev2",
    )  # fmt: skip
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Not adopted" in b["text"]
    )
    # Not adopted (issue 12): the card keeps revision 1 and its Approve button.
    assert "the guard blocked the change" in reply["text"] and "wider than /24" in reply["text"]
    assert slack.recorder.calls("chat.update") == []


def test_unknown_thread_instruction_gets_help_and_retried_events_run_once(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    event = {"type": "app_mention", "user": BOB, "text": "<@UBOT> please make it better", "channel": "C0SECOPS",
             "ts": "1795000100.000003", "thread_ts": ts}  # fmt: skip
    slack.event(event, event_id="Ev3")
    slack.event(
        event, event_id="Ev3", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "I understand" in b["text"]
    )
    slack.command("status")  # a later request: the retry has been handled by now
    helps = [c for c in slack.recorder.calls("chat.postMessage") if "I understand" in c.get("text", "")]
    assert len(helps) == 1


def test_reject_opens_a_modal_and_records_the_reason(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.click("reject", slack.approve_value(slack.message_of(WEB)), BOB, ts)
    opened = slack.recorder.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == "reject_modal" and view["blocks"][1]["block_id"] == "reason"
    status, body = slack.submit_reject(view, BOB, "   ")
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    status, _ = slack.submit_reject(view, BOB, "Shared CDN egress <!channel>, blocking it hurts customers")
    update = slack.recorder.wait_for("chat.update", lambda b: "Rejected by" in json.dumps(b["blocks"]))
    text = json.dumps(update["blocks"])
    assert (
        f"Rejected by <@{BOB}>" in text
        and "&lt;!channel&gt;" in text
        and '"action_id": "approve"' not in text
    )
    pid = slack.proposal_of(WEB).id
    assert slack.service.state.get(pid).status == "rejected"
    audit = slack.runtime.settings.audit_path.read_text()
    assert '"event":"rejection"' in audit and "Shared CDN egress" in audit


def test_reject_by_a_non_approver_opens_nothing(slack):
    slack.scan()
    slack.click("reject", slack.approve_value(slack.message_of(WEB)), MALLORY, slack.ts_of(WEB))
    slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert slack.recorder.calls("views.open") == []


@pytest.fixture
def two_approvals(tmp_path, bare_remote):
    yield from start(tmp_path, bare_remote, {"SECOPS_APPROVALS_REQUIRED": "2"})


def test_two_distinct_approvals_are_required_when_configured(two_approvals):
    slack = two_approvals
    slack.scan()
    value, ts = slack.approve_value(slack.message_of(WEB)), slack.ts_of(WEB)
    slack.click("approve", value, ALICE, ts)
    slack.recorder.wait_for("chat.update", lambda b: "1 more approver(s) needed" in json.dumps(b["blocks"]))
    slack.click("approve", value, ALICE, ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == ALICE)
    assert eph["text"] == "Your approval was already recorded."
    assert slack.bot_branches() == []
    slack.click("approve", value, BOB, ts)
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )
    assert len(slack.bot_branches()) == 1


def test_expired_proposal_must_be_refreshed(slack):
    slack.scan()
    value, ts = slack.approve_value(slack.message_of(WEB)), slack.ts_of(WEB)
    slack.clock.advance(25 * 3600)
    slack.click("approve", value, ALICE, ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == ALICE)
    assert eph["text"].startswith("This proposal has expired.")
    slack.event(
        {"type": "app_mention", "user": ALICE, "text": "<@UBOT> refresh", "channel": "C0SECOPS",
         "ts": "1795000100.000004", "thread_ts": ts},
        event_id="Ev4",
    )  # fmt: skip
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    fresh = slack.approve_value(update)
    slack.click("approve", fresh, ALICE, ts)
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )


def test_rejected_fix_is_not_proposed_again_for_that_attacker(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.click("reject", slack.approve_value(slack.message_of(WEB)), BOB, ts)
    view = slack.recorder.wait_for("views.open")["view"]
    slack.submit_reject(view, BOB, "CDN egress shared with customers")
    slack.recorder.wait_for("chat.update", lambda b: "Rejected by" in json.dumps(b["blocks"]))
    # The same attacker comes back an hour later against the same servers.
    _attacker_returns(slack, 4, minute=30)
    before = len(slack.posted())
    slack.command("")
    summary = slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done: 0"))
    assert (
        summary["text"] == "Scan done: 0 new proposal(s), 0 escalation(s), 1 suppressed, 0 malformed line(s)."
    )
    assert len(slack.posted()) == before
    repeat = next(
        s.proposal
        for s in slack.service.state.list()
        if s.proposal.group.attacker == WEB and s.proposal.action == "suppressed"
    )
    assert "CDN egress shared with customers" in repeat.reason and BOB in repeat.reason


def test_repeat_of_a_pending_proposal_updates_its_message_instead_of_posting_again(slack):
    slack.scan()
    ts = slack.ts_of(WEB)
    _attacker_returns(slack, 2, minute=40)
    before = len(slack.posted())
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done: 0"))
    assert len(slack.posted()) == before
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    assert " 6 alerts, <!date^" in json.dumps(update["blocks"])
    note = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "folded" in b["text"]
    )
    assert (
        note["text"] == ":repeat: 2 more alert(s) from the same attack, folded into this proposal (6 in all)."
    )

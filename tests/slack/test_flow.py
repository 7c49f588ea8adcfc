"""The whole flow through the real Bolt pipeline: scan → post → approve → update → publish (bare git remote)."""

from __future__ import annotations

import io
import json

from bot.cli import main
from tests.conftest import git
from tests.slack.conftest import ALICE, BOB, CHANNEL


def _scan(slack):
    status, body = slack.command("")
    assert status == 200
    assert json.loads(body)["text"] == "Scanning new alerts…"
    return slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"))


def test_scan_posts_one_message_per_proposal_and_answers_ephemerally(slack):
    summary = _scan(slack)
    assert (
        summary["text"] == "Scan done: 4 new proposal(s), 4 escalation(s), 1 suppressed, 2 malformed line(s)."
    )
    assert summary["response_type"] == "ephemeral"
    posted = slack.posted()
    assert len(posted) == 8  # 3 propose + 1 blocked + 4 escalations; suppressed is not posted
    assert all(m["channel"] == CHANNEL for m in posted)
    web = slack.message_of("91.240.118.172")
    header = web["blocks"][0]["text"]["text"]
    assert header == (
        ":large_orange_circle: *Block 91.240.118.172/32 on web-01, web-02* · HIGH · 4 alerts, "
        "<!date^1795165200^{time}|09:00>-<!date^1795165560^{time}|09:06>"
    )
    text = json.dumps(web["blocks"])
    assert 'block-cidrs: \\"198.51.100.23/32,192.0.2.0/24,91.240.118.172/32\\"' in text
    assert "checks passed (all in the thread)" in text and "`addresses_safe`" not in text
    assert "Reviewer: no reviewer configured" in text
    # the evidence is the first thread reply
    ts = slack.ts_of("91.240.118.172")
    thread = slack.recorder.wait_for("chat.postMessage", lambda b: b.get("thread_ts") == ts)
    assert thread["text"].startswith("*Evidence* for `p-")
    assert "Alert ids: " in thread["text"]
    assert ":white_check_mark: `addresses_safe`" in thread["text"]


def test_blocked_and_escalated_messages_have_no_approve_button(slack):
    _scan(slack)
    blocked = slack.message_of("80.94.95.115")
    assert "Approve" not in json.dumps(blocked["blocks"])
    assert "Blocked by the guard; cannot be approved." in json.dumps(blocked["blocks"])
    escalation = slack.message_of("10.20.3.44")
    assert escalation["blocks"][0]["text"]["text"].startswith(":rotating_light: Needs a human")
    assert '"approve"' not in json.dumps(escalation["blocks"])


def test_approve_updates_the_message_and_pushes_a_branch_to_the_remote(slack):
    _scan(slack)
    web = slack.message_of("91.240.118.172")
    ts = slack.ts_of("91.240.118.172")
    status, _ = slack.click("approve", slack.approve_value(web), ALICE, ts)
    assert status == 200
    update = slack.recorder.wait_for(
        "chat.update", lambda b: "pushed, no pull request" in json.dumps(b.get("blocks", []))
    )
    assert update["ts"] == ts and update["channel"] == CHANNEL
    blocks = json.dumps(update["blocks"])
    assert f"Approved by <@{ALICE}>" in blocks and '"action_id": "approve"' not in blocks
    note = slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and ":white_check_mark: Approved by" in b["text"],
    )
    branch = note["text"].split("Branch `")[1].split("`")[0]
    assert branch.startswith("secops/") and branch.endswith("-r1")
    assert branch in git("branch", "--list", "secops/*", cwd=slack.remote)
    diff = git("diff", "main", branch, cwd=slack.remote)
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,91.240.118.172/32"' in diff
    assert slack.service.state.get(json.loads(slack.approve_value(web))["p"]).status == "published"
    # every decision on the way is in one intact hash chain
    out, err = io.StringIO(), io.StringIO()
    data_dir = str(slack.runtime.settings.data_dir)
    assert main(["--data-dir", data_dir, "audit", "verify"], out=out, err=err, env={}) == 0, err.getvalue()
    events = [
        json.loads(line)["event"] for line in slack.runtime.settings.audit_path.read_text().splitlines()
    ]
    assert {"proposal", "guard", "scan", "approval", "publish"} <= set(events)


def test_bob_after_alice_changes_nothing(slack):
    _scan(slack)
    web = slack.message_of("91.240.118.172")
    ts = slack.ts_of("91.240.118.172")
    slack.click("approve", slack.approve_value(web), ALICE, ts)
    slack.recorder.wait_for(
        "chat.update", lambda b: "pushed, no pull request" in json.dumps(b.get("blocks", []))
    )
    slack.click("approve", slack.approve_value(web), BOB, ts)
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == BOB)
    assert eph["text"] == "This proposal is already published; nothing changed."


def test_merge_note_from_sync_lands_in_the_thread_and_on_the_message(slack):
    _scan(slack)
    web = slack.message_of("91.240.118.172")
    ts = slack.ts_of("91.240.118.172")
    slack.click("approve", slack.approve_value(web), ALICE, ts)
    slack.recorder.wait_for(
        "chat.update", lambda b: "pushed, no pull request" in json.dumps(b.get("blocks", []))
    )
    pid = json.loads(slack.approve_value(web))["p"]
    slack.runtime.poster.thread_note(
        pid, "Merged by octocat <!channel>: https://github.example/acme/gitops/pull/7"
    )
    update = slack.recorder.wait_for("chat.update", lambda b: "Merged by octocat" in json.dumps(b["blocks"]))
    text = json.dumps(update["blocks"])
    assert (
        "&lt;!channel&gt;" in text
        and "pushed, no pull request" in text
        and '"action_id": "approve"' not in text
    )
    note = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Merged by" in b["text"]
    )
    assert note["text"].startswith("Merged by octocat")


def test_slack_outage_during_a_poll_loses_nothing(slack):
    slack.recorder.fail["chat.postMessage"] = "service_unavailable"
    slack.runtime.poller.run_once()
    stored = slack.service.state.list()
    posted = [s for s in stored if slack.service.approvals.message_for(s.proposal.id)]
    assert len(stored) == 9 and posted == []  # decided and stored, but nothing reached the channel
    del slack.recorder.fail["chat.postMessage"]
    slack.runtime.poller.run_once()  # no new alerts; the unposted proposals are posted now
    posted = [s for s in stored if slack.service.approvals.message_for(s.proposal.id)]
    assert len(posted) == 8  # all but the suppressed one
    assert slack.ts_of("91.240.118.172")

"""App Home: pending proposals with links, the last decisions, today's counts."""

from __future__ import annotations

import json

from tests.slack.conftest import ALICE, BOB


def test_app_home_shows_pending_decisions_and_counts(slack):
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"))
    web = "91.240.118.172"
    slack.click("approve", slack.approve_value(slack.message_of(web)), ALICE, slack.ts_of(web))
    slack.recorder.wait_for(
        "chat.update", lambda b: "pushed, no pull request" in json.dumps(b.get("blocks", []))
    )
    slack.event(
        {"type": "app_home_opened", "user": BOB, "tab": "home", "channel": "D0BOB"}, event_id="EvHome"
    )
    view = slack.recorder.wait_for("views.publish")
    assert view["user_id"] == BOB
    text = json.dumps(view["view"], ensure_ascii=False)
    assert view["view"]["type"] == "home"
    assert "Waiting for approval (2)" in text
    assert "https://example.slack.com/archives/C0SECOPS/p" in text
    assert f"<@{ALICE}> approved · Block 91.240.118.172/32 on web-01, web-02" in text
    assert f"<@{ALICE}> opened the PR for · Block 91.240.118.172/32" in text
    assert "*Alerts:* 19" in text and "*Approvals:* 1" in text and "*Escalations:* 4" in text
    assert "*Suppressed repeats:* 1" in text
    assert "Mean time first alert" in text

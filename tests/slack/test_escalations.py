"""Escalation buttons through the real Bolt pipeline: Acknowledge, Assign to me, Mute 24 h."""

from __future__ import annotations

import json

from tests.slack.conftest import ALICE, BOB, MALLORY


def _escalation(slack) -> dict:
    """The first escalation card posted to the channel that has an attacker address."""
    return next(m for m in slack.posted() if m["text"].endswith("(escalation)") and "10.20.3.44" in m["text"])


def _value(message: dict, action_id: str) -> str:
    return next(
        el["value"]
        for b in message["blocks"]
        for el in b.get("elements", [])
        if el.get("action_id") == action_id
    )


def _ts(slack, message: dict) -> str:
    ref = slack.service.approvals.message_for(json.loads(_value(message, "esc_ack"))["p"])
    return ref.ts


def _audit_events(slack) -> list[str]:
    return [json.loads(line)["event"] for line in slack.runtime.settings.audit_path.read_text().splitlines()]


def test_escalation_card_has_severity_owner_and_buttons(slack):
    slack.scan()
    card = _escalation(slack)
    assert (
        card["blocks"][0]["text"]["text"]
        == ":rotating_light: Needs a human · HIGH · 10.20.3.44 on bastion-01"
    )
    assert card["blocks"][2]["text"]["text"] == "*Owner:* `bastion-01` team-platform"
    actions = [el["action_id"] for b in card["blocks"] for el in b.get("elements", []) if "action_id" in el]
    assert actions == ["esc_ack", "esc_assign", "esc_mute"]


def test_acknowledge_shows_who_on_the_card_and_is_audited(slack):
    slack.scan()
    card = _escalation(slack)
    ts = _ts(slack, card)
    slack.click("esc_ack", _value(card, "esc_ack"), BOB, ts)
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    assert update["blocks"][1]["text"]["text"].startswith(f":eyes: Acknowledged by <@{BOB}> <!date^")
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Acknowledged" in b["text"]
    )
    assert reply["text"].startswith(f":eyes: Acknowledged by <@{BOB}>")
    assert "escalation_acknowledged" in _audit_events(slack)


def test_assign_to_me_by_anyone_in_the_channel(slack):
    slack.scan()
    card = _escalation(slack)
    ts = _ts(slack, card)
    slack.click("esc_assign", _value(card, "esc_assign"), MALLORY, ts)
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    assert update["blocks"][1]["text"]["text"].startswith(f":bust_in_silhouette: Assigned to <@{MALLORY}>")
    assert "escalation_assigned" in _audit_events(slack)


def test_mute_by_a_non_approver_is_refused(slack):
    slack.scan()
    card = _escalation(slack)
    slack.click("esc_mute", _value(card, "esc_mute"), MALLORY, _ts(slack, card))
    eph = slack.recorder.wait_for("chat.postEphemeral", lambda b: b["user"] == MALLORY)
    assert eph["text"] == (
        "Only approvers can mute: a mute hides alerts for 24 hours. Acknowledge or assign it instead."
    )
    assert slack.recorder.calls("chat.update") == []
    assert "escalation_refused" in _audit_events(slack)


def _again(slack, alert_ids: list[str], hour: int) -> None:
    """The escalation's alerts again, ``hour`` hours later with new ids (a new group of the same rule+host)."""
    docs = []
    for line in slack.alerts.read_text().splitlines():
        try:
            docs.append(json.loads(line))
        except ValueError:
            continue  # the demo file's malformed lines
    again = []
    for i, doc in enumerate(d for d in docs if d.get("id") in alert_ids):
        doc["timestamp"] = f"2026-11-2{hour}T10:{i:02d}:00.000+0000"
        doc["id"] = f"again-{hour}-{i}"
        again.append(doc)
    with slack.alerts.open("a") as f:
        f.writelines(json.dumps(d) + "\n" for d in again)


def test_mute_hides_the_same_rule_on_the_same_host_for_24_hours(slack):
    slack.scan()
    card = _escalation(slack)
    pid = json.loads(_value(card, "esc_mute"))["p"]
    ts = _ts(slack, card)
    slack.click("esc_mute", _value(card, "esc_mute"), ALICE, ts)
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    assert update["blocks"][1]["text"]["text"].startswith(f":mute: Muted by <@{ALICE}>")
    assert "esc_mute" not in json.dumps(update["blocks"])
    before = len(slack.posted())
    _again(slack, list(slack.service.state.get(pid).proposal.group.alert_ids), hour=2)
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done: 0"))
    assert len(slack.posted()) == before
    assert [s.proposal.id for s in slack.service.state.list("muted")] != []
    slack.clock.advance(24 * 3600 + 1)
    _again(slack, list(slack.service.state.get(pid).proposal.group.alert_ids), hour=4)
    slack.command("")
    slack.recorder.wait_for("respond", lambda b: "1 escalation(s)" in b.get("text", ""))


def test_app_home_lists_escalations_and_sorts_by_severity(slack):
    slack.scan()
    card = _escalation(slack)
    slack.click("esc_assign", _value(card, "esc_assign"), BOB, _ts(slack, card))
    slack.recorder.wait_for("chat.update")
    slack.event(
        {"type": "app_home_opened", "user": BOB, "tab": "home", "channel": "D0BOB"}, event_id="EvHome2"
    )
    view = slack.recorder.wait_for("views.publish")["view"]
    texts = [b["text"]["text"] for b in view["blocks"] if "text" in b]
    assert "Escalations (4)" in texts
    assert any("10.20.3.44" in t and f"Assigned to <@{BOB}>" in t for t in texts)
    waiting = texts[texts.index("Waiting for approval (3)") + 1 : texts.index("Escalations (4)")]
    levels = ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    ranks = [next(i for i, w in enumerate(levels) if f"*{w}*" in t) for t in waiting]
    assert ranks == sorted(ranks) and "https://example.slack.com/archives/" in waiting[0]

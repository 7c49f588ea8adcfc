"""Block Kit limits with a large proposal, and the full diff going to the thread."""

from __future__ import annotations

import json

from bot import messages
from bot.core.grouping import group_alerts
from bot.core.guard import Check, GuardReport
from bot.core.proposal import Proposal, Review
from bot.slack import blocks as kit
from tests.conftest import make_alert


def _large() -> Proposal:
    alerts = [
        make_alert(rule_id=str(31000 + i), agent=f"web-{i:02d}", log="x" * 400, alert_id=f"a{i}")
        for i in range(60)
    ]
    (group,) = group_alerts(alerts)
    diff = "".join(f"+  block-cidrs: '45.155.{i}.0/24' <&> ```\n" for i in range(400))
    checks = tuple(Check(name=f"check_{i}", passed=i % 2 == 0, detail="d" * 400) for i in range(12))
    return Proposal(
        id="p-0123456789",
        group=group,
        action="propose",
        fixer="playbook:block-web-attacker",
        operations=tuple(
            {"op": "add_cidr", "file": f"f{i}.yaml", "key": "k", "value": "1.2.3.4/32"} for i in range(40)
        ),
        files=tuple(f"clusters/prod/web-{i:02d}/ingress-nginx-controller.yaml" for i in range(40)),
        diff=diff,
        guard=GuardReport(passed=True, checks=checks),
        reason="r" * 5000,
        review=Review(verdict="approve", model="gemma3:12b", reason="q" * 2000),
        notes=tuple("similar to PR #12 (0.87)" for _ in range(30)),
    )


def _check_limits(blocks):
    assert len(blocks) <= kit.MAX_BLOCKS
    for b in blocks:
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= kit.MAX_HEADER
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= kit.MAX_SECTION
        if b["type"] == "context":
            assert all(len(e["text"]) <= kit.MAX_SECTION for e in b["elements"])
        for el in b.get("elements", []):
            if el.get("type") == "button":
                assert len(el["value"]) <= kit.MAX_BUTTON_VALUE
                if "confirm" in el:
                    assert len(el["confirm"]["text"]["text"]) <= 300


def test_large_proposal_stays_within_block_kit_limits():
    p = _large()
    text, blocks = kit.proposal_blocks(p)
    _check_limits(blocks)
    assert any("Diff truncated here" in json.dumps(b) for b in blocks)
    _check_limits(kit.escalation_blocks(p.model_copy(update={"action": "escalate"}))[1])
    _check_limits(
        kit.home_view(
            [(p, None)] * 40,
            [],
            {"alerts": 1, "proposals": 1, "approvals": 0, "rejections": 0, "escalations": 0},
            None,
        )["blocks"]
    )


def test_full_diff_goes_to_the_thread_in_chunks_that_fit():
    p = _large()
    chunks = kit.diff_chunks(p.diff)
    assert len(chunks) > 1 and all(len(c) <= 3000 for c in chunks)
    joined = "".join(c.removeprefix("```").removesuffix("```") for c in chunks)
    assert joined.count("45.155.") == 400
    assert "```" not in joined and "&lt;&amp;&gt;" in joined


def test_approve_confirm_dialog_summarises_the_change():
    p = _large().model_copy(
        update={"operations": ({"op": "add_cidr", "file": "f", "key": "k", "value": "91.240.118.172/32"},)}
    )
    _, blocks = kit.proposal_blocks(p)
    approve = next(el for b in blocks for el in b.get("elements", []) if el.get("action_id") == "approve")
    assert approve["confirm"]["text"]["text"].startswith("Block 91.240.118.172/32 on web-00, web-01")
    assert json.loads(approve["value"]) == {"p": p.id, "r": 1, "h": p.revision_hash}


T0 = 1_700_000_460.0  # 22:21 UTC


def _card(**update) -> Proposal:
    alerts = [
        make_alert(agent=agent, level=12, ts=T0 + 60 * i, alert_id=f"a{i}")
        for i, agent in enumerate(["web-01", "web-02", "web-01", "web-02", "web-01"][: update.pop("n", 5)])
    ]
    (group,) = group_alerts(alerts)
    checks = tuple(
        Check(name=f"check_{i}", passed=i != 3 or update.get("blocked", False) is False, detail="ok")
        for i in range(13)
    )
    base = Proposal(
        id="p-0123456789",
        group=group,
        action="blocked" if update.pop("blocked", False) else "propose",
        fixer="playbook:block-web-attacker",
        operations=tuple(
            {"op": "add_cidr", "file": f"{h}.yaml", "key": "k", "value": "91.240.118.172/32"}
            for h in ("web-01", "web-02")
        ),
        files=("clusters/prod/web-01/ingress.yaml", "clusters/prod/web-02/ingress.yaml"),
        diff="-  block-cidrs: ''\n+  block-cidrs: '91.240.118.172/32'\n",
        guard=GuardReport(passed=True, checks=checks),
        review=Review(verdict="approve", model="gemma3:12b", reason="Blocks only the attacker."),
    )
    return base.model_copy(update=update)


def _texts(blocks) -> list[str]:
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        for el in b.get("elements", []):
            if "text" in el and isinstance(el["text"], str):
                out.append(el["text"])
    return out


def test_card_first_line_says_the_action_and_the_risk():
    text, blocks = kit.proposal_blocks(_card())
    assert _texts(blocks)[0] == (
        ":red_circle: *Block 91.240.118.172/32 on web-01, web-02* · CRITICAL · 5 alerts, "
        "<!date^1700000460^{time}|22:21>-<!date^1700000700^{time}|22:25>"
    )
    assert text == "Block 91.240.118.172/32 on web-01, web-02 · CRITICAL · 5 alerts (propose, r1)"


def test_card_guard_is_one_line_and_the_full_list_goes_to_the_thread():
    p = _card()
    texts = _texts(kit.proposal_blocks(p)[1])
    assert ":white_check_mark: Guard: 13/13 checks passed (all in the thread)" in texts
    assert not any("check_0" in t for t in texts)
    thread = kit.evidence_text(p)
    assert "*Guard checks* (revision 1):" in thread and thread.count(":white_check_mark: `check_") == 13


def test_card_guard_line_lists_the_failing_checks_when_blocked():
    p = _card(blocked=True, reason="the guard refuses")
    p = p.model_copy(update={"guard": p.guard.model_copy(update={"passed": False})})
    texts = _texts(kit.proposal_blocks(p)[1])
    assert ":x: Guard: 12/13 checks passed · failed: `check_3` ok" in texts
    assert texts[0].startswith(":no_entry: Blocked · :red_circle: *Block 91.240.118.172/32")
    assert not any(
        el.get("action_id") == "approve" for b in kit.proposal_blocks(p)[1] for el in b.get("elements", [])
    )


def test_card_order_keeps_approve_near_the_top():
    blocks = kit.proposal_blocks(_card())[1]
    kinds = [b["type"] for b in blocks]
    assert kinds == ["section", "context", "section", "context", "actions", "context"]
    assert _texts(blocks)[1] == ":speech_balloon: Reviewer `gemma3:12b`: *APPROVE*. Blocks only the attacker."


def test_card_reviewer_reject_is_a_warning_and_the_confirm_repeats_it():
    p = _card(review=Review(verdict="reject", model="gemma3:12b", reason="web-02 is the load balancer"))
    blocks = kit.proposal_blocks(p)[1]
    assert blocks[1] == kit.section(
        ":warning: *Reviewer `gemma3:12b` says REJECT.* web-02 is the load balancer"
    )
    approve = next(el for b in blocks for el in b.get("elements", []) if el.get("action_id") == "approve")
    assert "style" not in approve
    assert approve["confirm"]["text"]["text"] == (
        "The reviewer gemma3:12b says REJECT: web-02 is the load balancer. Approve anyway? "
        "Block 91.240.118.172/32 on web-01, web-02 (2 file(s))"
    )


def test_card_says_what_a_revision_changed_and_who_asked():
    p = _card(revision=2, revision_note="dropped web-02", revised_by="UALICE")
    assert ":pencil2: Revision 2: dropped web-02 (asked by <@UALICE>)" in _texts(kit.proposal_blocks(p)[1])


def test_card_status_goes_to_the_top_after_approval_and_names_the_pr():
    from bot.publishing import PublishResult

    publish = PublishResult(ok=True, branch="b", pr_url="https://github.com/o/r/pull/12", pr_number=12)
    blocks = kit.proposal_blocks(
        _card(),
        status="published",
        decision=":white_check_mark: Approved by <@UALICE> 10:42",
        publish=publish,
    )[1]
    assert _texts(blocks)[0] == (
        ":white_check_mark: Approved by <@UALICE> 10:42 · <https://github.com/o/r/pull/12|PR #12> opened"
    )
    assert "ublished" not in json.dumps(blocks)
    assert not any(b["type"] == "actions" for b in blocks)


def test_card_long_diff_shows_fifteen_lines_and_points_to_the_thread():
    diff = "".join(f"+  block-cidrs: '45.155.{i}.0/24'\n" for i in range(40))
    blocks = kit.proposal_blocks(_card(diff=diff))[1]
    shown = next(t for t in _texts(blocks) if t.startswith("```"))
    assert shown.count("45.155.") == 15
    assert messages.slack_diff_truncated() in _texts(blocks)


def test_human_duration_reads_like_people_talk():
    assert [kit.human_duration(s) for s in (45, 240, 7500, 3 * 86400, 165600)] == [
        "45 s", "4 min", "2 h 5 min", "3 d", "1 d 22 h",
    ]  # fmt: skip


def test_triage_order_puts_severity_first_then_age():
    medium = _card(id="p-medium").model_copy()
    medium = medium.model_copy(update={"group": medium.group.model_copy(update={"max_level": 7})})
    old, new = _card(id="p-old"), _card(id="p-new")
    ordered = kit.triage_order([(medium, 1.0), (new, 30.0), (old, 20.0)])
    assert [p.id for p, _ in ordered] == ["p-old", "p-new", "p-medium"]

"""Block Kit limits with a large proposal, and the full diff going to the thread."""

from __future__ import annotations

import json

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
    assert approve["confirm"]["text"]["text"].startswith("Block 91.240.118.172/32 in 40 file(s):")
    assert json.loads(approve["value"]) == {"p": p.id, "r": 1, "h": p.revision_hash}

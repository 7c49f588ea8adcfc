"""Every message type, built by the bot's own builders from the shipped fixtures (no hand-written JSON).

The demo alerts are scanned with the GitOps fixture and the CMDB, as ``make demo`` does; the proposals that
come out (a proposal, a blocked change, escalations) are rendered by ``bot/slack/blocks.py`` exactly as they
are posted, and the decided states (approved, rejected, a revision) go through the same builders with the
texts of ``bot/messages.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.slack_preview.layout import Message

#: Just after the demo alerts (2026-11-20 09:00-09:30 UTC): proposals are fresh, nothing reads as expired.
NOW = 1_795_170_000.0
APPROVER = "U0ALICE"
REVIEWER = "U0BOB"


def scan_fixtures(root: Path, work: Path) -> list[Any]:
    """The proposals of one scan of ``fixtures/alerts/demo-alerts.json`` (state and audit log in ``work``)."""
    from agents.playbooks import load_catalog
    from bot.audit_log import AuditLog
    from bot.clock import FixedClock
    from bot.pipeline import Scanner, Since
    from bot.state import StateStore
    from tools.cmdb import load_inventory

    clock = FixedClock(NOW)
    scanner = Scanner(
        inventory=load_inventory(root / "fixtures" / "cmdb.yaml"),
        repo_root=root / "fixtures" / "gitops",
        catalog=load_catalog(),
        state=StateStore(work / "state.db"),
        audit=AuditLog(work / "audit.jsonl", clock),
        clock=clock,
    )
    report = scanner.scan_file(root / "fixtures" / "alerts" / "demo-alerts.json", Since(mode="all"))
    return [scanner, *report.proposals]


def _first(proposals: list[Any], action: str) -> Any:
    for p in proposals:
        if p.action == action:
            return p
    raise LookupError(f"the demo alerts produced no {action!r} proposal")


def build_samples(root: Path, work: Path) -> list[Message]:
    """proposal, blocked, escalation, approved, rejected, revision, digest and App Home, in that order."""
    from bot import messages
    from bot.core.instructions import apply_instruction, parse_instruction
    from bot.publishing import PublishResult
    from bot.slack import blocks as kit

    scanner, *proposals = scan_fixtures(root, work)
    propose = _first(proposals, "propose")
    blocked = _first(proposals, "blocked")
    escalate = _first(proposals, "escalate")
    at = kit.date_token(NOW + 600, "{time}")
    out: list[Message] = []

    text, blocks = kit.proposal_blocks(propose)
    out.append(Message("proposal", blocks, text, thread=(kit.evidence_text(propose),)))
    text, blocks = kit.proposal_blocks(blocked)
    out.append(Message("blocked", blocks, text))
    text, blocks = kit.escalation_blocks(escalate)
    out.append(Message("escalation", blocks, text))

    publish = PublishResult(
        ok=True,
        branch=f"secops-bot/{propose.id}-r{propose.revision}",
        pr_url="https://github.com/example/gitops/pull/12",
        pr_number=12,
    )
    decision = messages.slack_approved(f"<@{APPROVER}>", at)
    text, blocks = kit.proposal_blocks(propose, status="published", decision=decision, publish=publish)
    out.append(Message("approved", blocks, text))

    ssh = next((p for p in proposals if p.action == "propose" and p is not propose), propose)
    decision = messages.slack_rejected(REVIEWER, at, kit.esc("Our own scanner; allow-listed instead.", 800))
    text, blocks = kit.proposal_blocks(ssh, status="rejected", decision=decision)
    out.append(Message("rejected", blocks, text))

    ask = "use /24"
    ops = apply_instruction(parse_instruction(ask), ssh.operations, ssh.group.attacker)
    revised = scanner.revise(ssh, ops, messages.revision_note(APPROVER, ask))
    if not revised.revised_by:
        revised = revised.model_copy(update={"revised_by": APPROVER})
    text, blocks = kit.proposal_blocks(
        revised, status="pending" if revised.action == "propose" else "blocked"
    )
    head = messages.slack_revision(revised.revision, APPROVER, revised.action)
    out.append(Message("revision", blocks, text, thread=(head, *kit.diff_chunks(revised.diff)[:1])))

    out.append(_digest())
    out.append(_home(kit, proposals, decided={propose.id: propose, ssh.id: ssh}))
    return out


def _home(kit: Any, proposals: list[Any], decided: dict[str, Any]) -> Message:
    """App Home: what is still open after the approval and the rejection above, in triage order."""
    link = "https://example.slack.com/archives/C0SECOPS/p1795170000000100"
    waited = [(p, NOW - 60 * i) for i, p in enumerate(proposals)]
    queue = [p for p, _ in kit.triage_order(waited)]
    pending = [(p, link) for p in queue if p.action == "propose" and p.id not in decided]
    escalations = [(p, link, "") for p in queue if p.action == "escalate"]
    (approved_id, rejected_id) = decided
    decisions = [
        {"at": NOW + 660, "kind": "rejected", "proposal_id": rejected_id, "user": REVIEWER},
        {"at": NOW + 600, "kind": "approved", "proposal_id": approved_id, "user": APPROVER},
    ]
    counts = {
        "alerts": float(sum(p.group.alert_count for p in proposals)),
        "proposals": float(len(proposals)),
        "approvals": 1.0,
        "rejections": 1.0,
        "escalations": float(len(escalations)),
        "mean_time_to_approval_s": 720.0,
    }
    home = kit.home_view(pending, decisions, counts, NOW, escalations=escalations, decided=decided)
    return Message("app-home", home["blocks"], home=True)


def _digest() -> Message:
    """The flood-control digest, as in the issue's example (37 held back: 12 blocked, 25 escalations)."""
    try:
        from bot.slack.digest import digest_blocks
    except ImportError:  # a tree without flood control: the picture says so instead of failing the rest
        note = "_No digest builder (bot/slack/digest.py) in this tree: nothing to draw._"
        return Message("digest", [{"type": "section", "text": {"type": "mrkdwn", "text": note}}], note)
    text, blocks = digest_blocks({"propose": 0, "blocked": 12, "escalate": 25})
    return Message("digest", blocks, text)

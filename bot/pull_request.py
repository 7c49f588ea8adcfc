"""What a bot change says about itself: commit message, pull request title, body and labels.

Everything that came from an alert is attacker-written: it is flattened with :func:`plain` (control
characters, redaction, length) and escaped for Markdown so it cannot mention people, link, or break out of
the diff block. The hidden marker ties a pull request back to its proposal and revision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot import messages
from bot.clock import iso
from bot.core.guard import GuardReport
from bot.core.proposal import Proposal
from bot.core.redact import redact
from bot.core.sanitize import plain
from bot.publishing import Approval

BOT_LABEL = "secops-bot"
MARKER = "<!-- secops-bot"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def severity(level: int) -> str:
    """Wazuh level (0-15) as a label word: 12+ critical, 10+ high, 7+ medium, else low."""
    if level >= 12:
        return "critical"
    if level >= 10:
        return "high"
    if level >= 7:
        return "medium"
    return "low"


def labels(proposal: Proposal) -> list[str]:
    return [BOT_LABEL, f"severity:{severity(proposal.group.max_level)}"]


def md(text: str, limit: int = 300) -> str:
    """Hostile text as inert Markdown: one line, no markup, no @-mentions, no autolinks."""
    out = _MD_SPECIAL.sub(r"\\\1", plain(text, limit))
    out = out.replace("@", "@\u200b")
    return out.replace("://", ":\u200b//")


def marker(proposal_id: str, revision: int) -> str:
    return f"{MARKER} proposal={proposal_id} revision={revision} -->"


def subject_of(proposal: Proposal) -> str:
    return plain(proposal.group.subject, 60)


def title(proposal: Proposal) -> str:
    targets = [plain(t, 40) for t in proposal.group.targets[:3]]
    if proposal.group.is_findings:
        bumps = [o for o in proposal.operations if o.get("op") == "set_image"]
        change = (
            f"{plain(str(bumps[0].get('expect', '')), 80)} → {plain(str(bumps[0].get('value', '')), 80)}"
            if bumps
            else subject_of(proposal)
        )
        return messages.pr_title_findings(
            proposal.group.family or "", change, targets, proposal.id, proposal.revision
        )[:250]
    return messages.pr_title(subject_of(proposal), targets, proposal.id, proposal.revision)[:250]


def commit_message(proposal: Proposal, approval: Approval, audit_hash: str) -> str:
    """Subject line, the alerts it answers, and trailers that tie the commit to the audit log."""
    g = proposal.group
    rules = ", ".join(
        f"{plain(r, 20)} ({plain(g.rule_descriptions.get(r, ''), 80)})" for r in g.rule_ids[:10]
    )
    lines = [
        title(proposal),
        "",
        (
            f"{g.alert_count} finding(s) on {subject_of(proposal)} in {', '.join(plain(t, 40) for t in g.targets)}."
            if g.is_findings
            else f"{g.alert_count} alert(s) from {subject_of(proposal)} on {', '.join(plain(t, 40) for t in g.targets)}."
        ),
        f"Rules: {rules}",
        f"Alert ids: {', '.join(plain(a, 40) for a in g.alert_ids[:10])}",
        "",
        f"Proposal: {proposal.id}",
        f"Revision: {proposal.revision} ({proposal.revision_hash})",
        f"Approved-by: {', '.join(plain(a, 40) for a in approval.approvers)}",
        f"Audit-Hash: {audit_hash}",
    ]
    return redact("\n".join(lines)) + "\n"


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def body(
    proposal: Proposal,
    approval: Approval,
    diff: str,
    guard: GuardReport,
    audit_hash: str,
    *,
    max_diff_chars: int = 30000,
) -> str:
    """The pull request body: alerts, MITRE ids, the diff, guard checks, reviewer verdict, approver, thread."""
    g = proposal.group
    window = ""
    if g.first_ts is not None and g.last_ts is not None:
        window = f" between {iso(g.first_ts)} and {iso(g.last_ts)}"
    rule_rows = [f"| {md(r, 20)} | {md(g.rule_descriptions.get(r, ''), 120)} |" for r in g.rule_ids[:20]]
    shown = diff if len(diff) <= max_diff_chars else diff[:max_diff_chars] + "\n… (diff truncated)\n"
    fence = _fence(shown)
    review = proposal.review
    verdict = (
        f"{review.verdict} ({md(review.model, 60)}): {md(review.reason, 500)}"
        if review is not None and review.verdict != "none"
        else "no reviewer configured"
    )
    thread = f"[Slack thread]({approval.thread_url})" if approval.thread_url else "no Slack thread"
    intro = (
        _findings_intro(proposal)
        if g.is_findings
        else [
            f"## Block {md(g.subject, 60)}",
            "",
            f"{g.alert_count} alert(s), max level {g.max_level} ({severity(g.max_level)}), "
            f"on {', '.join(md(t, 40) for t in g.targets)}{window}.",
            "",
            "| Rule | Description |",
            "| --- | --- |",
            *rule_rows,
            "",
            f"**MITRE ATT&CK:** {', '.join(md(m, 20) for m in g.mitre) or 'none'}",
            "",
        ]
    )
    parts = [
        *intro,
        "### Change",
        "",
        f"{fence}diff",
        shown.rstrip("\n"),
        fence,
        "",
        "### Guard checks (re-run on the latest default branch)",
        "",
        *_checks(guard),
        "",
        f"**Reviewer:** {verdict}",
        "",
        f"**Approved by:** {approvers(approval)} at {iso(approval.approved_at)} · {thread}",
        "",
        f"Proposal `{proposal.id}` revision {proposal.revision} (`{proposal.revision_hash}`), "
        f"audit hash `{audit_hash}`.",
        "",
        "_Opened by secops-bot. The bot never merges, never approves and never enables auto-merge: a human "
        "reviews and merges._",
        "",
        marker(proposal.id, proposal.revision),
    ]
    return redact("\n".join(parts)) + "\n"


def _findings_intro(proposal: Proposal) -> list[str]:
    """A finding group's heading, its evidence (per set_image: the findings it fixes, the report and why this
    version) and its findings table (hostile text as inert Markdown)."""
    g = proposal.group
    out = [
        f"## {md(messages.pr_findings_heading(g.family or '', g.subject), 120)}",
        "",
        f"{g.alert_count} finding(s), most severe {severity(g.max_level)}, on "
        f"{', '.join(md(t, 60) for t in g.targets) or 'no listed workload'}.",
        "",
    ]
    for op in proposal.operations:
        if op.get("op") != "set_image":
            continue
        ev = op.get("evidence") if isinstance(op.get("evidence"), dict) else {}
        ids = ", ".join(md(str(i), 40) for i in (ev or {}).get("findings", ())[:30])
        out += [
            f"**{md(str(op.get('workload', '')), 80)}** `{md(str(op.get('target', '')), 80)}`: "
            f"`{md(str(op.get('expect', '')), 120)}` → `{md(str(op.get('value', '')), 120)}`",
            f"- fixes: {ids or 'none'}",
            f"- evidence: {md(str((ev or {}).get('report', '')), 200)}: {md(str((ev or {}).get('reason', '')), 300)}",
            "",
        ]
    out += [
        "| Finding | Severity | Package | Installed | Fixed | Title |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in g.findings[:50]:
        out.append(
            f"| {md(f.id, 40)} | {md(f.severity, 10)} | {md(f.package, 60)} | {md(f.installed, 40)} | "
            f"{md(f.fixed, 60)} | {md(f.title, 120)} |"
        )
    if len(g.findings) > 50:
        out.append(f"| … {len(g.findings) - 50} more | | | | | |")
    out.append("")
    return out


def approvers(approval: Approval) -> str:
    """The approvers as people know them: Slack display name and id ("alice (U0ALICE)"), else the id."""
    names = approval.approver_names
    shown = []
    for i, user in enumerate(approval.approvers):
        name = names[i] if i < len(names) else ""
        shown.append(f"{md(name, 60)} ({md(user, 40)})" if name.strip() else md(user, 40))
    return ", ".join(shown)


def _checks(guard: GuardReport) -> Sequence[str]:
    return [f"- {'✓' if c.passed else '✗'} `{plain(c.name, 60)}`: {md(c.detail, 300)}" for c in guard.checks]

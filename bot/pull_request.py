"""What a bot change says about itself: commit message, pull request title, body and labels.

Everything that came from an alert is attacker-written: it is flattened with :func:`plain` (control
characters, redaction, length) and escaped for Markdown so it cannot mention people, link, or break out of
the diff block. The hidden marker ties a pull request back to its proposal and revision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot import messages
from bot.clock import iso
from bot.core.guard import GuardReport
from bot.core.operations.policies import PolicyProof, actions
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
    policy = _policy_op(proposal)
    if policy is not None:
        return _policy_title(proposal, policy)[:250]
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
    proofs: Mapping[str, PolicyProof] | None = None,
) -> str:
    """The pull request body: alerts, MITRE ids, the diff, guard checks, reviewer verdict, approver, thread.

    A policy proposal shows the policy, its proof and its impact preview instead: ``proofs`` (per file) are
    the ones computed when the branch was built on the latest default branch.
    """
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
    policy_op = _policy_op(proposal)
    intro = (
        _policy_intro(proposal, policy_op, (proofs or {}).get(str(policy_op.get("file", ""))))
        if policy_op is not None
        else _findings_intro(proposal)
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
        *_change_and_approval(shown, fence, guard, approval, thread, proposal, audit_hash, verdict),
    ]
    return redact("\n".join(parts)) + "\n"


def _change_and_approval(
    shown: str,
    fence: str,
    guard: GuardReport,
    approval: Approval,
    thread: str,
    proposal: Proposal,
    audit_hash: str,
    verdict: str | None = None,
) -> list[str]:
    """The diff, the guard checks, the reviewer's verdict (GitOps only), who approved and the marker: the end
    of every pull request body."""
    return [
        f"{fence}diff",
        shown.rstrip("\n"),
        fence,
        "",
        "### Guard checks (re-run on the latest default branch)",
        "",
        *_checks(guard),
        "",
        *([f"**Reviewer:** {verdict}", ""] if verdict is not None else []),
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


# --- policies (add_policy, set_policy_mode): the policy, its proof, its impact ---------------------------


def _policy_op(proposal: Proposal) -> dict[str, Any] | None:
    """The proposal's one policy operation, if it is a policy proposal."""
    return next((o for o in proposal.operations if o.get("op") in ("add_policy", "set_policy_mode")), None)


def _policy_name(op: Mapping[str, Any]) -> str:
    if op.get("op") == "set_policy_mode":
        return str(op.get("policy", ""))
    policy = op.get("policy")
    meta = policy.get("metadata") if isinstance(policy, dict) else None
    return str(meta.get("name", "")) if isinstance(meta, dict) else ""


def _policy_title(proposal: Proposal, op: Mapping[str, Any]) -> str:
    name = plain(_policy_name(op), 80)
    if op.get("op") == "set_policy_mode":
        return messages.pr_title_set_policy_mode(
            name,
            plain(str(op.get("expect", "")), 20),
            plain(str(op.get("value", "")), 20),
            proposal.id,
            proposal.revision,
        )
    folder = str(op.get("file", "")).rpartition("/")[0]
    return messages.pr_title_add_policy(name, plain(folder, 80), proposal.id, proposal.revision)


def _policy_intro(proposal: Proposal, op: Mapping[str, Any], proof: PolicyProof | None) -> list[str]:
    """Heading, what the policy answers, the policy itself (add_policy) or the promotion's evidence, the
    proof table and the impact preview. Everything from findings, the fixer or the repository is hostile."""
    name = md(_policy_name(op), 80)
    g = proposal.group
    evidence = op.get("evidence") if isinstance(op.get("evidence"), dict) else {}
    if op.get("op") == "set_policy_mode":
        before, after = md(str(op.get("expect", "")), 20), md(str(op.get("value", "")), 20)
        return [
            f"## {messages.pr_heading_set_policy_mode(name, before, after)}",
            "",
            f"`{md(str(op.get('file', '')), 200)}`: only the failure action changes.",
            "",
            messages.pr_promotion_evidence(md(proof.promotion, 700) if proof is not None else ""),
            "",
        ]
    ids = [md(str(i), 40) for i in ((evidence or {}).get("findings") or g.rule_ids)[:20]]
    resources = [md(str(r), 80) for r in ((evidence or {}).get("resources") or ())[:10]]
    out = [
        f"## {messages.pr_heading_add_policy(name)}",
        "",
        messages.pr_policy_answers(g.alert_count, ids, resources),
        "",
        *_policy_document(op),
        "",
        messages.PR_PROOF_HEADING,
        "",
    ]
    if proof is None:
        out += [messages.PR_PROOF_MISSING, ""]
    else:
        rows = [
            (
                md(r.source, 20),
                md(r.resource, 160),
                md(r.expected, 20),
                f"{'✓' if r.ok else '✗'} {md(r.actual, 20)}",
            )
            for r in proof.rows
        ]
        out += [
            messages.pr_proof_summary(proof.passed, len(proof.rows)),
            "",
            messages.proof_table(rows),
            "",
            messages.PR_IMPACT_HEADING,
            "",
            messages.impact_preview(
                proof.flagged_count,
                proof.namespaces,
                [md(f, 80) for f in proof.flagged],
                proof.manifests,
                proof.unsupported,
            ),
            "",
        ]
    if g.findings:
        out += [
            messages.PR_POLICY_FINDINGS_HEADING,
            "",
            "| Finding | Severity | Resource | Title |",
            "| --- | --- | --- | --- |",
        ]
        for f in g.findings[:30]:
            where = f.workload_ref if f.workload else f.target
            out.append(f"| {md(f.id, 40)} | {md(f.severity, 10)} | {md(where, 80)} | {md(f.title, 120)} |")
        if len(g.findings) > 30:
            out.append(f"| … {len(g.findings) - 30} more | | | |")
        out.append("")
    return out


def _policy_document(op: Mapping[str, Any]) -> list[str]:
    """The new policy in a few lines: name, kind, template, file, failure action and each rule."""
    policy = op.get("policy") if isinstance(op.get("policy"), dict) else {}
    assert isinstance(policy, dict)
    spec = policy.get("spec") if isinstance(policy.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    out = [
        messages.pr_policy_document(
            md(_policy_name(op), 80),
            md(str(policy.get("kind", "")), 40),
            md(str(op.get("template", "")), 60),
            md(str(op.get("file", "")), 200),
            [md(a, 20) for a in actions(policy)],
        )
    ]
    for rule in (spec.get("rules") or [])[:10]:
        if not isinstance(rule, dict):
            continue
        validate = rule.get("validate") if isinstance(rule.get("validate"), dict) else {}
        kinds = sorted(set(_kinds(rule.get("match"))))
        out.append(
            messages.pr_policy_rule(
                md(str(rule.get("name", "")), 60),
                [md(k, 40) for k in kinds[:8]],
                md(str((validate or {}).get("message", "")), 200),
            )
        )
    return out


def _kinds(match: Any) -> list[str]:
    """Every resource kind a rule's ``match`` names (``resources.kinds`` under ``any``/``all`` or directly)."""
    if isinstance(match, list):
        return [k for m in match for k in _kinds(m)]
    if not isinstance(match, dict):
        return []
    out = (
        [str(k) for k in (match.get("resources") or {}).get("kinds") or []]
        if isinstance(match.get("resources"), dict)
        else []
    )
    for key in ("any", "all"):
        out += _kinds(match.get(key))
    return out


# --- dependency bumps (bump_dependency, issue 18): the application repository's pull request ------------------


DEPENDENCY_LABEL = "dependencies"


def dependency_op(proposal: Proposal) -> dict[str, Any] | None:
    """The proposal's one ``bump_dependency`` operation, if it is a dependency bump."""
    return next((o for o in proposal.operations if o.get("op") == "bump_dependency"), None)


def _bump_words(op: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        plain(str(op.get("package", "")), 100),
        plain(str(op.get("from", "")), 60),
        plain(str(op.get("to", "")), 60),
        plain(str(op.get("app_repo", "")), 100),
    )


def dependency_title(proposal: Proposal, op: Mapping[str, Any]) -> str:
    package, old, new, app = _bump_words(op)
    return messages.pr_title_dependency(package, old, new, app, proposal.id, proposal.revision)[:250]


def dependency_labels(proposal: Proposal) -> list[str]:
    return [BOT_LABEL, DEPENDENCY_LABEL, f"severity:{severity(proposal.group.max_level)}"]


def dependency_commit_message(
    proposal: Proposal, approval: Approval, op: Mapping[str, Any], audit_hash: str, *, remade: bool = False
) -> str:
    """Subject, the advisories, and the trailers that tie the commit to the proposal and the audit log.

    ``remade``: the bump made again on a newer default branch (bot/dependency_sync.py): the tests line says
    where they ran, never that they ran on this commit."""
    ids = [plain(str(i), 60) for i in op.get("advisories", ())[:20]]
    evidence = op.get("evidence") or {}
    tests = plain(str(evidence.get("tests", "")), 300)
    if remade:
        tests = messages.dep_commit_tests_remade(tests, plain(str(evidence.get("base", "")), 40))
    lines = [
        dependency_title(proposal, op),
        "",
        f"Fixes: {', '.join(ids)}",
        tests,
        "",
        f"Proposal: {proposal.id}",
        f"Revision: {proposal.revision} ({proposal.revision_hash})",
        f"Approved-by: {', '.join(plain(a, 40) for a in approval.approvers)}",
        f"Audit-Hash: {audit_hash}",
    ]
    return redact("\n".join(lines)) + "\n"


def dependency_body(
    proposal: Proposal,
    approval: Approval,
    op: Mapping[str, Any],
    *,
    diff: str,
    guard: GuardReport,
    audit_line: str,
    transitive: Sequence[str],
    tool: str,
    base: str,
    audit_hash: str,
    max_diff_chars: int = 30000,
    remade: bool = False,
) -> str:
    """The pull request body of a dependency bump: the advisories, from → to, the transitive changes, the audit
    and test results, the diff, every guard check, who approved. Advisory text, test names and tool output are
    hostile: inert Markdown only."""
    package, old, new, app = _bump_words(op)
    evidence = op.get("evidence") if isinstance(op.get("evidence"), dict) else {}
    assert isinstance(evidence, dict)
    wanted = {str(i) for i in op.get("advisories", ())}
    rows = []
    for f in proposal.group.findings[:50]:
        if wanted and f.id not in wanted and not (set(f.aliases.split()) & wanted):
            continue
        rows.append(
            f"| {md(f.id, 60)} | {md(' '.join(f.aliases.split()[:3]), 120)} | {md(f.severity, 12)} | "
            f"{md(f.installed, 40)} | {md(f.fixed, 80)} | {md(f.title, 160)} |"
        )
    shown = diff if len(diff) <= max_diff_chars else diff[:max_diff_chars] + "\n… (diff truncated)\n"
    fence = _fence(shown)
    failures = [md(str(n), 200) for n in (evidence.get("new_failures") or ())[:20]]
    thread = f"[Slack thread]({approval.thread_url})" if approval.thread_url else "no Slack thread"
    parts = [
        f"## {md(messages.pr_heading_dependency(package, old, new, app), 300)}",
        "",
        messages.pr_dependency_advisories(len(rows)),
        "",
        "| Advisory | Aliases | Severity | Installed | Fixed | Title |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"**Version:** `{md(old, 60)}` → `{md(new, 60)}`",
        "",
        messages.pr_dependency_transitive([md(c, 120) for c in transitive[:30]]),
        "",
        messages.pr_dependency_audit(md(audit_line, 400)),
        "",
        (messages.pr_dependency_tests_remade if remade else messages.pr_dependency_tests)(
            md(str(evidence.get("tests", "")), 600), str(evidence.get("base", "")), base
        ),
        *(["", messages.pr_dependency_new_failures(failures)] if failures else []),
        *(
            ["", f"**{messages.dep_tests_regressed(True)}**"]
            if evidence.get("tests_regressed") is True
            else []
        ),
        "",
        messages.pr_dependency_tool(md(tool, 40), md(str(op.get("ecosystem", "")), 20)),
        "",
        "### Change",
        "",
        *_change_and_approval(shown, fence, guard, approval, thread, proposal, audit_hash),
    ]
    return redact("\n".join(parts)) + "\n"

"""Block Kit for proposals, escalations, the App Home and the reject modal, within Slack's limits.

Limits enforced here (and tested with a large proposal): at most 50 blocks a message, 3,000 characters per
section text, 150 per header, 2,000 per button value, 300 per confirm-dialog text. Every piece of alert
text goes through :func:`bot.core.sanitize.slack_escape` so it renders as text, never as mentions or links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot import messages
from bot.core.findings import severity_rank
from bot.core.image_refs import parse_image
from bot.core.proposal import Proposal
from bot.core.sanitize import code_safe, plain, slack_escape
from bot.publishing import PublishResult

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON_VALUE = 2000
DIFF_IN_MESSAGE = 1200  # characters; and at most DIFF_LINES_IN_MESSAGE lines
DIFF_LINES_IN_MESSAGE = 15  # keeps Approve on a phone's first screen; the full diff goes to the thread

Block = dict[str, Any]


def esc(text: str, limit: int = 500) -> str:
    """Hostile text as safe, single-line mrkdwn (a ``` in it cannot open a code block)."""
    return code_safe(slack_escape(plain(text, limit)))


def code(text: str, limit: int = 300) -> str:
    """Hostile text inside an inline code span: a backtick in it could close the span, so it is replaced."""
    return "`" + esc(text, limit).replace("`", "\u02cb") + "`"


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _fit(text, MAX_SECTION)}}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": _fit(text, MAX_HEADER), "emoji": True}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(text, MAX_SECTION)}]}


def date_token(ts: float | None, fmt: str = "{date_short_pretty} {time}") -> str:
    """A Slack date that renders in each reader's time zone, with a UTC fallback."""
    if ts is None:
        return "unknown time"
    from datetime import UTC, datetime

    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(ts)}^{fmt}|{fallback}>"


def severity(level: int) -> tuple[str, str]:
    if level >= 12:
        return ":red_circle:", "CRITICAL"
    if level >= 10:
        return ":large_orange_circle:", "HIGH"
    if level >= 7:
        return ":large_yellow_circle:", "MEDIUM"
    return ":white_circle:", "LOW"


def button_value(p: Proposal) -> str:
    value = json.dumps({"p": p.id, "r": p.revision, "h": p.revision_hash}, separators=(",", ":"))
    assert len(value) <= MAX_BUTTON_VALUE
    return value


def code_block(diff: str, limit: int = DIFF_IN_MESSAGE) -> tuple[str, bool]:
    """The diff as an escaped code block, truncated to ``limit`` characters; True when truncated."""
    body = slack_escape(code_safe(diff))
    lines = body.splitlines()
    truncated = len(body) > limit or len(lines) > DIFF_LINES_IN_MESSAGE
    if truncated:
        body = "\n".join(lines[:DIFF_LINES_IN_MESSAGE])
        if len(body) > limit:
            body = body[:limit].rsplit("\n", 1)[0]
        body += "\n…"
    return f"```{body}```", truncated


def title(p: Proposal) -> str:
    """The one-line headline of a proposal: severity, attacker → targets (App Home, status, modals)."""
    g = p.group
    emoji, sev = severity(g.max_level)
    targets = ", ".join(g.targets) or "?"
    who = g.attacker or (f"{g.subject} on" if g.is_findings else f"{g.family or '?'} on")
    arrow = "→" if g.attacker else ""
    return plain(f"{emoji} {sev} · {who} {arrow} {targets}".replace("  ", " "), MAX_HEADER)


def _listed(items: Sequence[str], shown: int) -> str:
    head = ", ".join(items[:shown])
    return head + (f" +{len(items) - shown} more" if len(items) > shown else "")


def action_words(p: Proposal) -> str:
    """What Approve does, in words: "Block 91.240.118.172/32 on web-01, web-02" (plain, not escaped)."""
    g = p.group
    left_open = {u.target for u in p.unfixed}
    targets = _listed([t for t in g.targets if t not in left_open] or list(g.targets), 4) or "?"
    adds = list(dict.fromkeys(str(o.get("value", "")) for o in p.operations if o.get("op") == "add_cidr"))
    removes = list(
        dict.fromkeys(str(o.get("value", "")) for o in p.operations if o.get("op") == "remove_cidr")
    )
    bumps = [o for o in p.operations if o.get("op") == "set_image"]
    if bumps:
        return image_action_words(p, bumps)
    dependency = _dependency_op(p)
    if dependency is not None:
        return dependency_action_words(dependency)
    policies = [o for o in p.operations if o.get("op") in ("add_policy", "set_policy_mode")]
    if policies:
        return policy_action_words(policies[0])
    if g.is_findings and not p.operations:
        return messages.card_action_findings(g.subject, g.family or "?", targets)
    if adds:
        return messages.card_action_block(_listed(adds, 3), targets)
    if removes:
        return messages.card_action_unblock(_listed(removes, 3), targets)
    if p.files:
        return messages.card_action_change(len(p.files), targets)
    return messages.card_action_none(g.subject, targets)


def image_action_words(p: Proposal, bumps: Sequence[Mapping[str, Any]]) -> str:
    """ "Bump shop-web web nginx:1.16 → 1.16.1 (fixes CVE-2019-20367 HIGH and 3 more)" (plain, not escaped)."""
    where = _listed(
        list(
            dict.fromkeys(
                f"{str(o.get('workload', '?')).split('/')[-1]} {str(o.get('target', '')).split(':', 1)[-1]}"
                for o in bumps
            )
        ),
        3,
    )
    first = bumps[0]
    old, new = str(first.get("expect", "?")), str(first.get("value", "?"))
    new_ref, old_ref = parse_image(new), parse_image(old)
    if new_ref is not None and old_ref is not None and new_ref.name == old_ref.name:
        # the same repository: only the version is news ("nginx:1.16 → 1.16.1")
        new = "@".join(part for part in (new_ref.tag, new_ref.digest[:19]) if part)
    evidence = first.get("evidence") if isinstance(first.get("evidence"), Mapping) else {}
    fixed = [str(i) for i in (evidence or {}).get("findings", ())]
    severities = {f.id: f.severity for f in p.group.findings}
    top = min(fixed, key=lambda i: (severity_rank(severities.get(i, "UNKNOWN")), i)) if fixed else ""
    return messages.card_action_bump(where, old, new, top, severities.get(top, ""), max(0, len(fixed) - 1))


# --- dependency bumps (bump_dependency, issue 18) --------------------------------------------------------------


def _dependency_op(p: Proposal) -> Mapping[str, Any] | None:
    return next((o for o in p.operations if o.get("op") == "bump_dependency"), None)


def dependency_action_words(op: Mapping[str, Any]) -> str:
    """ "Bump urllib3 1.26.5 → 1.26.18 in shop-api (fixes GHSA-…, PYSEC-…)" (plain, not escaped)."""
    ids = [str(i) for i in op.get("advisories", ())]
    return messages.card_action_dependency(
        str(op.get("package", "?")),
        str(op.get("from", "?")),
        str(op.get("to", "?")),
        str(op.get("app_repo", "?")),
        ids,
    )


def dependency_lines(p: Proposal) -> list[str]:
    """The bump's evidence on the card: the tests line and the audit line (escaped: test names are hostile)."""
    op = _dependency_op(p)
    evidence = op.get("evidence") if op is not None and isinstance(op.get("evidence"), Mapping) else None
    if not evidence:
        return []
    lines = []
    if evidence.get("tests"):
        lines.append(f":test_tube: {esc(str(evidence['tests']), 600)}")
    if evidence.get("audit"):
        lines.append(f":mag: {esc(str(evidence['audit']), 400)}")
    return lines


def policy_action_words(op: Mapping[str, Any]) -> str:
    """ "Add policy disallow-privileged (Audit) in clusters/prod/policies" / "Enforce policy X (Audit → Enforce)"."""
    if op.get("op") == "set_policy_mode":
        return messages.card_action_enforce_policy(
            str(op.get("policy", "?")), str(op.get("expect", "Audit")), str(op.get("value", "Enforce"))
        )
    policy = op.get("policy") if isinstance(op.get("policy"), Mapping) else {}
    meta = (
        policy.get("metadata")
        if isinstance(policy, Mapping) and isinstance(policy.get("metadata"), Mapping)
        else {}
    )
    name = str((meta or {}).get("name", "")) or str(op.get("template", "?"))
    folder = str(op.get("file", "")).rsplit("/", 1)[0]
    return messages.card_action_add_policy(name, folder)


def _clock(ts: float | None) -> str:
    if ts is None:
        return "?"
    from datetime import UTC, datetime

    return f"<!date^{int(ts)}^{{time}}|{datetime.fromtimestamp(ts, UTC).strftime('%H:%M')}>"


def risk_words(p: Proposal) -> str:
    """Severity word, alert count and window: "CRITICAL · 5 alerts, 10:01-10:03" (mrkdwn, date tokens)."""
    g = p.group
    window = ""
    if g.first_ts is not None:
        window = f", {_clock(g.first_ts)}"
        if g.last_ts is not None and int(g.last_ts) // 60 != int(g.first_ts) // 60:
            window += f"-{_clock(g.last_ts)}"
    if g.is_findings:
        return f"{severity(g.max_level)[1]} · {messages.card_finding_count(g.alert_count, g.family or '')}"
    return f"{severity(g.max_level)[1]} · {messages.card_alert_count(g.alert_count)}{window}"


def headline(p: Proposal) -> str:
    """The card's first line: the action in words, then the risk."""
    emoji = severity(p.group.max_level)[0]
    line = f"{emoji} *{esc(action_words(p), 300)}* · {risk_words(p)}"
    return messages.card_guard_blocked_headline(line) if p.action == "blocked" else line


def _facts(p: Proposal) -> str:
    """The small print under the buttons: rules, MITRE ids, fixer and proposal id."""
    g = p.group
    rules = "; ".join(
        f"{code(rid, 20)} {esc(desc, 80)}" for rid, desc in list(g.rule_descriptions.items())[:4]
    )
    if len(g.rule_descriptions) > 4:
        rules += f" … (+{len(g.rule_descriptions) - 4})"
    line = f"*Rules:* {rules}"
    if g.mitre:
        line += " · *MITRE:* " + ", ".join(esc(m, 20) for m in g.mitre[:6])
    return line + f" · *Fixer:* {code(p.fixer, 80)} · `{p.id}` r{p.revision}"


def guard_line(p: Proposal) -> str:
    """The guard as one line: "13/13 checks passed", or the count and the failing checks."""
    if p.guard is None or not p.guard.checks:
        return messages.card_guard_not_run()
    checks = p.guard.checks
    passed = sum(1 for c in checks if c.passed)
    failed = [f"{code(c.name, 60)} {esc(c.detail, 200)}" for c in checks if not c.passed]
    if not failed and p.guard.passed:
        return messages.card_guard_passed(passed, len(checks))
    return messages.card_guard_failed(passed, len(checks), failed)


def guard_list(p: Proposal) -> str:
    """Every guard check, one per line (the first thread reply)."""
    if p.guard is None:
        return ""
    return "\n".join(
        f"{':white_check_mark:' if c.passed else ':x:'} `{c.name}` {esc(c.detail, 160)}"
        for c in p.guard.checks
    )


def _reviewer_disagrees(p: Proposal) -> bool:
    return p.review is not None and p.review.verdict == "reject"


def _review_line(p: Proposal) -> str:
    if p.review is None or not p.review.model:
        return messages.slack_no_reviewer()
    if _reviewer_disagrees(p):
        return messages.card_reviewer_disagrees(code(p.review.model, 60), esc(p.review.reason, 300))
    verdict = {"approve": "APPROVE", "reject": "REJECT", "none": "no verdict"}[p.review.verdict]
    return messages.slack_review(code(p.review.model, 60), verdict, esc(p.review.reason, 300))


_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")


def _user(user: str) -> str:
    """A Slack user id as a mention; anything else as inert text."""
    return f"<@{user}>" if _USER_ID.match(user) else esc(user, 40)


def _revision_line(p: Proposal) -> str | None:
    if not p.revision_note:
        return None
    by = _user(p.revised_by) if p.revised_by else None
    return messages.card_revision(p.revision, esc(p.revision_note, 300), by)


def status_line(decision: str | None, publish: PublishResult | None) -> str | None:
    """The decision at the top of a decided card: "Approved by @alice 10:42 · PR #12 opened"."""
    parts = [decision] if decision else []
    if publish is not None and publish.ok:
        if publish.pr_url:
            parts.append(messages.card_pr_opened(publish.pr_number, publish.pr_url))
        else:
            parts.append(messages.card_branch_pushed(code(publish.branch, 200)))
    return " · ".join(parts) or None


def proposal_blocks(
    p: Proposal,
    *,
    status: str = "pending",
    decision: str | None = None,
    publish: PublishResult | None = None,
) -> tuple[str, list[Block]]:
    """The channel message for a proposal (``propose`` or ``blocked``): fallback text and blocks.

    Order, so that Approve stays on a phone's first screen: status (once decided), what Approve does and
    the risk, the reviewer, what this revision changed, a short diff, the guard in one line, the targets
    left open, the buttons; rules and ids last, in small print.
    """
    blocks: list[Block] = []
    top = status_line(decision, publish)
    if top:
        blocks.append(section(top))
    blocks.append(section(headline(p)))
    blocks.append(section(_review_line(p)) if _reviewer_disagrees(p) else context(_review_line(p)))
    revision = _revision_line(p)
    if revision:
        blocks.append(context(revision))
    if p.diff:
        diff, truncated = code_block(p.diff)
        blocks.append(section(diff))
        if truncated:
            blocks.append(context(messages.slack_diff_truncated()))
    evidence_lines = dependency_lines(p)
    if evidence_lines:
        blocks.append(section("\n".join(evidence_lines)))
    blocks.append(context(guard_line(p)))
    if p.proof:  # a policy's proof: what the engine answered on each fixture and the finding's resources
        blocks.append(proof_block(p.proof))
    if p.unfixed:  # targets this change leaves open, with the reason
        lines = [f"{code(u.target, 60)} {esc(u.reason, 300)}" for u in p.unfixed]
        blocks.append(section(messages.slack_unfixed(lines)))
    if p.action == "blocked":
        blocks.append(section(messages.slack_blocked(esc(p.reason, 1500))))
    if p.action == "propose" and status == "pending":
        blocks.append(_buttons(p))
    shown = {
        str(v) for o in p.operations if isinstance(o.get("evidence"), Mapping) for v in o["evidence"].values()
    }
    notes = [
        f":card_index_dividers: {esc(n, 200)}" for n in p.notes[:3] if not (evidence_lines and n in shown)
    ]
    blocks.append(context("\n".join([_facts(p), *notes])))
    risk = f"{severity(p.group.max_level)[1]} · {messages.card_alert_count(p.group.alert_count)}"
    text = f"{action_words(p)} · {risk}"
    if p.group.attacker and p.group.attacker not in text:
        text += f" · {p.group.attacker}"
    text = slack_escape(plain(f"{text} ({p.action}, r{p.revision})", 600))  # the fallback is mrkdwn too
    return text, blocks[:MAX_BLOCKS]


# --- policies: the proof table on the card (issue 14) -------------------------------------------------------

PROOF_ROWS_ON_CARD = 8
PROOF_RESOURCE_WIDTH = 52


def _cell(text: str, width: int) -> str:
    text = plain(text, 200)
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def proof_block(rows: Sequence[tuple[str, str, str, str]]) -> Block:
    """The proof as a readable table: a monospace block of fixture, resource, expected and the engine's answer
    (✓ when it is the expected one), the first rows only; every cell is hostile text, escaped."""
    shown = rows[:PROOF_ROWS_ON_CARD]
    width = min(PROOF_RESOURCE_WIDTH, max(len("resource"), *(len(plain(r[1], 200)) for r in shown)))
    lines = [f"{'fixture':<10}  {'resource':<{width}}  {'expected':<8}  engine"]
    for source, resource, expected, actual in shown:
        mark = "✓" if actual == expected else "✗"
        lines.append(
            f"{_cell(source, 10)}  {_cell(resource, width)}  {_cell(expected, 8)}  {mark} {plain(actual, 20)}"
        )
    body = slack_escape(code_safe("\n".join(lines)))
    return section(f"{messages.slack_proof_heading(len(rows), len(shown))}\n```{body}```")


def _buttons(p: Proposal) -> Block:
    value = button_value(p)
    summary = f"{action_words(p)} ({len(p.files)} file(s))"
    if _reviewer_disagrees(p) and p.review is not None:
        summary = messages.card_confirm_despite_reviewer(p.review.model, p.review.reason) + " " + summary
    approve: Block = {
        "type": "button",
        "action_id": "approve",
        "text": {"type": "plain_text", "text": "Approve"},
        "value": value,
        "confirm": {
            "title": {"type": "plain_text", "text": "Open a pull request?"},
            "text": {"type": "mrkdwn", "text": _fit(slack_escape(plain(summary, 600)), 300)},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        },
    }
    if not _reviewer_disagrees(p):
        approve["style"] = "primary"  # no green button under a reviewer's REJECT
    return {
        "type": "actions",
        "block_id": f"decide:{p.id}:r{p.revision}",
        "elements": [
            approve,
            {
                "type": "button",
                "action_id": "reject",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": value,
            },
        ],
    }


def escalation_blocks(
    p: Proposal,
    owners: Mapping[str, str | None] | None = None,
    decisions: Sequence[Mapping[str, Any]] = (),
) -> tuple[str, list[Block]]:
    """An escalation: a human must look. Severity, the host owners, what people did, and buttons to act.

    ``owners``: host → owner from the inventory (None: the host has no owner there). ``decisions``: this
    escalation's acknowledgements, assignments and mutes, oldest first; each shows as a status line on top.
    """
    g = p.group
    sev = severity(g.max_level)[1]
    title = plain(
        f":rotating_light: Needs a human · {sev} · {g.attacker or g.family or '?'} on "
        f"{', '.join(g.targets) or '?'}",
        MAX_HEADER,
    )
    blocks: list[Block] = [header(title)]
    status = [escalation_status(d) for d in decisions]
    if status:
        blocks.append(section("\n".join(status[-5:])))
    blocks.append(section(f"*Why:* {esc(p.reason, 1500)}"))
    if owners is not None:
        blocks.append(section(owner_line(g.targets, owners)))
    blocks.append(context(f"{risk_words(p)} · {_facts(p)}"))
    blocks.append(context(messages.slack_evidence_in_thread()))
    muted = any(d.get("kind") == "muted" for d in decisions)
    blocks.append(_escalation_buttons(p, muted))
    return slack_escape(f"{title} (escalation)"), blocks[:MAX_BLOCKS]


def owner_line(targets: Sequence[str], owners: Mapping[str, str | None]) -> str:
    """Who owns each host, from the inventory."""
    parts = []
    for t in targets[:8]:
        owner = owners.get(t)
        parts.append(f"{code(t, 60)} {esc(owner, 80) if owner else messages.esc_no_owner()}")
    return messages.esc_owners("; ".join(parts))


def escalation_status(d: Mapping[str, Any]) -> str:
    """One decision on an escalation as a status line ("Acknowledged by @alice 10:42")."""
    who, at = _user(str(d.get("user", ""))), date_token(d.get("at"), "{time}")
    kind = d.get("kind")
    if kind == "acknowledged":
        return messages.esc_acknowledged(who, at)
    if kind == "assigned":
        return messages.esc_assigned(who, at)
    detail = d.get("detail") or {}
    pairs = ", ".join(f"{code(r, 20)} on {code(h, 60)}" for r, h in detail.get("pairs", [])[:6])
    return messages.esc_muted(who, at, pairs, date_token(detail.get("until")))


def _escalation_buttons(p: Proposal, muted: bool) -> Block:
    value = json.dumps({"p": p.id}, separators=(",", ":"))
    elements: list[Block] = [
        {
            "type": "button",
            "action_id": "esc_ack",
            "style": "primary",
            "text": {"type": "plain_text", "text": "Acknowledge"},
            "value": value,
        },
        {
            "type": "button",
            "action_id": "esc_assign",
            "text": {"type": "plain_text", "text": "Assign to me"},
            "value": value,
        },
    ]
    if not muted:
        rules = ", ".join(p.group.rule_ids[:4])
        hosts = ", ".join(p.group.targets[:4])
        elements.append(
            {
                "type": "button",
                "action_id": "esc_mute",
                "text": {"type": "plain_text", "text": "Mute 24 h"},
                "value": value,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Mute for 24 hours?"},
                    "text": {
                        "type": "mrkdwn",
                        "text": _fit(slack_escape(plain(messages.esc_mute_confirm(rules, hosts), 600)), 300),
                    },
                    "confirm": {"type": "plain_text", "text": "Mute"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        )
    return {"type": "actions", "block_id": f"escalation:{p.id}", "elements": elements}


def evidence_text(p: Proposal) -> str:
    """The first thread reply: a few sanitised log lines, the alert ids, and every guard check (for a group of
    scanner findings: every finding, most severe first, with its package and fixed version)."""
    g = p.group
    if g.is_findings:
        return findings_text(p)
    lines = [f"*Evidence* for `{p.id}` ({g.alert_count} alert(s)):"]
    for s in g.samples:
        lines.append(
            f"• {code(s.rule_id, 20)} lvl {s.level} {date_token(s.ts, '{time}')}: {code(s.log, 300)}"
        )
    ids = ", ".join(esc(a, 40) for a in g.alert_ids[:20])
    lines.append(f"Alert ids: {ids}" + (" …" if len(g.alert_ids) > 20 else ""))
    evidence = _fit("\n".join(lines), 1800 if p.guard else MAX_SECTION)
    if p.guard is None or not p.guard.checks:
        return evidence
    return evidence + "\n" + _fit(messages.card_guard_list(p.revision) + "\n" + guard_list(p), 2000)


def findings_text(p: Proposal) -> str:
    """The thread's list of a finding group's CVEs (or checks): id, severity, package installed → fixed."""
    g = p.group
    fixed_by = {str(i) for o in p.operations for i in (o.get("evidence") or {}).get("findings", ())}
    lines = [messages.thread_findings_header(p.id, g.alert_count, esc(g.subject, 200))]
    for f in g.findings[:40]:
        mark = ":white_check_mark: " if f.id in fixed_by else ""
        pkg = (
            f" {code(f.package, 60)} {esc(f.installed, 40)} → {esc(f.fixed or '–', 60)}" if f.package else ""
        )
        lines.append(f"• {mark}{code(f.id, 40)} {esc(f.severity, 10)}{pkg} {esc(f.title, 120)}")
    if len(g.findings) > 40:
        lines.append(messages.thread_findings_more(len(g.findings) - 40))
    if g.reports:
        lines.append(messages.thread_findings_reports(", ".join(esc(r, 120) for r in g.reports[:5])))
    evidence = _fit("\n".join(lines), 2400 if p.guard else MAX_SECTION)
    if p.guard is None or not p.guard.checks:
        return evidence
    return evidence + "\n" + _fit(messages.card_guard_list(p.revision) + "\n" + guard_list(p), 1500)


def diff_chunks(diff: str, size: int = 2800) -> list[str]:
    """The full diff as code-block messages small enough for Slack."""
    body = slack_escape(code_safe(diff))
    chunks: list[str] = []
    current = ""
    for line in body.splitlines(keepends=True):
        if len(current) + len(line) > size and current:
            chunks.append(current)
            current = ""
        current += line[:size]
    if current:
        chunks.append(current)
    return [f"```{c}```" for c in chunks]


def reject_modal(p: Proposal, channel: str, ts: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "reject_modal",
        "private_metadata": json.dumps({"p": p.id, "h": p.revision_hash, "c": channel, "t": ts}),
        "title": {"type": "plain_text", "text": "Reject proposal"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Reject `{p.id}` r{p.revision}: {esc(title(p), 140)}"),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why? (kept so the same fix is not proposed again)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def human_duration(seconds: float) -> str:
    """A duration as people say it: "45 s", "4 min", "2 h 5 min", "3 d", "1 d 22 h"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def message_link(channel: str, ts: str) -> str:
    """A message's address, without asking Slack: https://slack.com/archives/<channel>/p<ts without dot>."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def triage_order(items: Sequence[tuple[Proposal, float]]) -> list[tuple[Proposal, float]]:
    """Highest severity first (the Wazuh level), then the oldest first (it has waited longest)."""
    return sorted(items, key=lambda item: (-item[0].group.max_level, item[1], item[0].id))


def _queue_line(p: Proposal, link: str | None, note: str = "") -> str:
    g = p.group
    emoji, sev = severity(g.max_level)
    attacker = code(g.attacker, 60) if g.attacker else esc(g.family or "?", 60)
    targets = ", ".join(code(t, 40) for t in g.targets[:4]) + (" …" if len(g.targets) > 4 else "")
    where = f"<{link}|open>" if link else messages.home_not_posted()
    line = f"{emoji} *{sev}* · {attacker} → {targets or '?'} · {esc(action_words(p), 200)} · {where}"
    return line + (f" · {note}" if note else "")


def decision_line(d: Mapping[str, Any], p: Proposal | None) -> str:
    """One recent decision: when, who, what, on which proposal."""
    what = esc(action_words(p), 160) if p is not None else f"`{esc(str(d.get('proposal_id', '')), 40)}`"
    kind = str(d.get("kind", ""))
    verb = messages.home_decision_verb(kind)
    return f"{date_token(d.get('at'))} · {_user(str(d.get('user', '')))} {verb} · {what}"


def home_view(
    pending: Sequence[tuple[Proposal, str | None]],
    decisions: Sequence[dict[str, Any]],
    counts: dict[str, float],
    last_poll: float | None,
    escalations: Sequence[tuple[Proposal, str | None, str]] = (),
    decided: Mapping[str, Proposal] | None = None,
    pending_total: int | None = None,
    escalations_total: int | None = None,
) -> dict[str, Any]:
    """App Home as a triage queue: pending proposals and open escalations (callers sort them, see
    :func:`triage_order`), each with attacker, targets and a link; the last decisions; today's counts.

    ``escalations``: (proposal, link, status note such as "assigned to @alice"). ``decided``: the
    proposals the decisions are about, by id, so a decision says what was decided. ``*_total``: how many
    there are when the caller passes only the first ones.
    """
    n_pending = len(pending) if pending_total is None else pending_total
    n_escalations = len(escalations) if escalations_total is None else escalations_total
    blocks: list[Block] = [header("secops-bot"), context(f"*Last poll:* {date_token(last_poll)}")]
    blocks.append(header(messages.home_pending_header(n_pending)))
    if not pending:
        blocks.append(section(messages.slack_nothing_pending()))
    for p, link in list(pending)[:12]:
        blocks.append(section(_queue_line(p, link)))
    if n_pending > 12:
        blocks.append(context(messages.home_more(n_pending - 12)))
    blocks.append(header(messages.home_escalations_header(n_escalations)))
    if not escalations:
        blocks.append(section(messages.home_no_escalations()))
    for p, link, note in list(escalations)[:8]:
        blocks.append(section(_queue_line(p, link, note)))
    if n_escalations > 8:
        blocks.append(context(messages.home_more(n_escalations - 8)))
    blocks.append(header("Last decisions"))
    if not decisions:
        blocks.append(section(messages.slack_no_decisions()))
    lines = [decision_line(d, (decided or {}).get(str(d.get("proposal_id")))) for d in list(decisions)[:10]]
    if lines:
        blocks.append(section("\n".join(lines)))
    mtta = counts.get("mean_time_to_approval_s", -1.0)
    mtta_text = "n/a" if mtta < 0 else human_duration(mtta)
    blocks.append(header("Today"))
    blocks.append(
        section(
            f"*Alerts:* {int(counts['alerts'])} · *Proposals:* {int(counts['proposals'])} · "
            f"*Approvals:* {int(counts['approvals'])} · *Rejections:* {int(counts['rejections'])} · "
            f"*Escalations:* {int(counts['escalations'])} · *Suppressed repeats:* {int(counts.get('suppressed', 0))} · "
            f"*Mean time first alert → approval:* {mtta_text}"
        )
    )
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}

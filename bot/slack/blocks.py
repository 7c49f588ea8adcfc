"""Block Kit for proposals, escalations, the App Home and the reject modal, within Slack's limits.

Limits enforced here (and tested with a large proposal): at most 50 blocks a message, 3,000 characters per
section text, 150 per header, 2,000 per button value, 300 per confirm-dialog text. Every piece of alert
text goes through :func:`bot.core.sanitize.slack_escape` so it renders as text, never as mentions or links.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot import messages
from bot.core.proposal import Proposal
from bot.core.sanitize import code_safe, plain, slack_escape
from bot.publishing import PublishResult

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON_VALUE = 2000
DIFF_IN_MESSAGE = 2400

Block = dict[str, Any]


def esc(text: str, limit: int = 500) -> str:
    """Hostile text as safe, single-line mrkdwn."""
    return slack_escape(plain(text, limit))


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
    truncated = len(body) > limit
    if truncated:
        body = body[:limit].rsplit("\n", 1)[0] + "\n…"
    return f"```{body}```", truncated


def title(p: Proposal) -> str:
    """The one-line headline of a proposal: severity, attacker → targets."""
    g = p.group
    emoji, sev = severity(g.max_level)
    targets = ", ".join(g.targets) or "?"
    who = g.attacker or f"{g.family or '?'} on"
    arrow = "→" if g.attacker else ""
    return plain(f"{emoji} {sev} · {who} {arrow} {targets}".replace("  ", " "), MAX_HEADER)


def _facts(p: Proposal) -> str:
    g = p.group
    rules = "; ".join(
        f"{code(rid, 20)} {esc(desc, 120)}" for rid, desc in list(g.rule_descriptions.items())[:8]
    )
    if len(g.rule_descriptions) > 8:
        rules += f" … (+{len(g.rule_descriptions) - 8})"
    lines = [
        f"*Alerts:* {g.alert_count} · *Level:* {g.max_level} · *Window:* {date_token(g.first_ts)} → "
        f"{date_token(g.last_ts, '{time}')}",
        f"*Rules:* {rules}",
    ]
    if g.mitre:
        lines.append("*MITRE:* " + ", ".join(esc(m, 20) for m in g.mitre[:10]))
    lines.append(f"*Fixer:* {code(p.fixer, 80)} · *Proposal:* `{p.id}` r{p.revision}")
    return "\n".join(lines)


def _guard_lines(p: Proposal) -> str:
    if p.guard is None:
        return ""
    return "\n".join(
        f"{':white_check_mark:' if c.passed else ':x:'} `{c.name}` {esc(c.detail, 240)}"
        for c in p.guard.checks
    )


def _review_line(p: Proposal) -> str:
    if p.review is None or not p.review.model:
        return messages.slack_no_reviewer()
    verdict = {"approve": "APPROVE", "reject": "REJECT", "none": "no verdict"}[p.review.verdict]
    return messages.slack_review(code(p.review.model, 60), verdict, esc(p.review.reason, 300))


def proposal_blocks(
    p: Proposal,
    *,
    status: str = "pending",
    decision: str | None = None,
    publish: PublishResult | None = None,
) -> tuple[str, list[Block]]:
    """The channel message for a proposal (``propose`` or ``blocked``): fallback text and blocks."""
    blocks: list[Block] = [header(title(p)), section(_facts(p))]
    diff, truncated = code_block(p.diff)
    blocks.append(section(f"*ConfigMap diff* ({len(p.files)} file(s)):\n{diff}"))
    if truncated:
        blocks.append(context(messages.slack_diff_truncated()))
    blocks.append(section("*Guard checks*\n" + _guard_lines(p)))
    if p.unfixed:  # targets this change leaves open, with the reason
        lines = [f"{code(u.target, 60)} {esc(u.reason, 300)}" for u in p.unfixed]
        blocks.append(section(messages.slack_unfixed(lines)))
    notes = [_review_line(p)] + [f":card_index_dividers: {esc(n, 300)}" for n in p.notes]
    blocks.append(context("\n".join(notes)))
    if p.action == "blocked":
        blocks.append(section(messages.slack_blocked(esc(p.reason, 1500))))
    if decision:
        blocks.append(section(decision))
    if publish is not None and publish.ok:
        target = publish.pr_url or f"branch {code(publish.branch, 200)}"
        blocks.append(section(messages.slack_published(target)))
    if p.action == "propose" and status == "pending":
        blocks.append(_buttons(p))
    text = slack_escape(f"{title(p)} ({p.action}, r{p.revision})")  # the fallback text is mrkdwn too
    return text, blocks[:MAX_BLOCKS]


def _buttons(p: Proposal) -> Block:
    value = button_value(p)
    summary = f"{len(p.files)} file(s): " + ", ".join(p.files)
    adds = [o.get("value", "") for o in p.operations if o.get("op") == "add_cidr"]
    if adds:
        summary = f"Block {', '.join(dict.fromkeys(adds))} in " + summary
    return {
        "type": "actions",
        "block_id": f"decide:{p.id}:r{p.revision}",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": value,
                "confirm": {
                    "title": {"type": "plain_text", "text": "Open a pull request?"},
                    "text": {"type": "mrkdwn", "text": _fit(slack_escape(summary), 300)},
                    "confirm": {"type": "plain_text", "text": "Approve"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            },
            {
                "type": "button",
                "action_id": "reject",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": value,
            },
        ],
    }


def escalation_blocks(p: Proposal) -> tuple[str, list[Block]]:
    """An escalation: a human must look. No buttons: there is nothing to approve."""
    g = p.group
    title = plain(
        f":rotating_light: Needs a human · {g.attacker or g.family or '?'} on {', '.join(g.targets) or '?'}",
        MAX_HEADER,
    )
    blocks = [
        header(title),
        section(f"*Why:* {esc(p.reason, 1500)}"),
        section(_facts(p)),
        context(messages.slack_evidence_in_thread()),
    ]
    return slack_escape(f"{title} (escalation)"), blocks


def evidence_text(p: Proposal) -> str:
    """The first thread reply: a few sanitised log lines and the alert ids."""
    g = p.group
    lines = [f"*Evidence* for `{p.id}` ({g.alert_count} alert(s)):"]
    for s in g.samples:
        lines.append(
            f"• {code(s.rule_id, 20)} lvl {s.level} {date_token(s.ts, '{time}')}: {code(s.log, 300)}"
        )
    ids = ", ".join(esc(a, 40) for a in g.alert_ids[:20])
    lines.append(f"Alert ids: {ids}" + (" …" if len(g.alert_ids) > 20 else ""))
    return _fit("\n".join(lines), MAX_SECTION)


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


def home_view(
    pending: Sequence[tuple[Proposal, str | None]],
    decisions: Sequence[dict[str, Any]],
    counts: dict[str, float],
    last_poll: float | None,
) -> dict[str, Any]:
    """App Home: pending proposals (with links), the last 10 decisions, today's counts."""
    blocks: list[Block] = [header("secops-bot"), section(f"*Last poll:* {date_token(last_poll)}")]
    blocks.append(header(f"Pending proposals ({len(pending)})"))
    if not pending:
        blocks.append(section(messages.slack_nothing_pending()))
    for p, link in list(pending)[:15]:
        where = f"<{link}|open>" if link else "not posted yet"
        blocks.append(section(f"{esc(title(p), 140)} · `{p.id}` r{p.revision} · {where}"))
    blocks.append(header("Last decisions"))
    if not decisions:
        blocks.append(section(messages.slack_no_decisions()))
    for d in list(decisions)[:10]:
        blocks.append(
            context(f"{date_token(d['at'])} · *{d['kind']}* `{d['proposal_id']}` by <@{d['user']}>")
        )
    mtta = counts.get("mean_time_to_approval_s", -1.0)
    mtta_text = "n/a" if mtta < 0 else f"{mtta / 60:.0f} min"
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

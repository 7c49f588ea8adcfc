"""Block Kit for flood control: the digest of held-back proposals, inventory problems, the queue listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import messages
from bot.slack import blocks as kit
from bot.slack.flood import InventoryProblem
from bot.state import StoredProposal

Block = dict[str, Any]
QUEUE_LINES = 15  # items a `/secops-scan queue` answer lists (an ephemeral answer stays readable)


def digest_blocks(counts: dict[str, int]) -> tuple[str, list[Block]]:
    """The digest message: how many proposals are held back, by kind, and the command that lists them."""
    text = messages.slack_digest(
        counts.get("propose", 0), counts.get("blocked", 0), counts.get("escalate", 0)
    )
    return text, [kit.section(text)]


def problem_text(problem: InventoryProblem) -> str:
    return messages.slack_inventory_problem(
        kit.esc(problem.server, 100), kit.esc(problem.path, 300), kit.esc(problem.reason, 500), problem.count
    )


def problem_blocks(problem: InventoryProblem) -> tuple[str, list[Block]]:
    """One escalation standing for every blocked proposal that one inventory entry causes."""
    _, word = kit.severity(problem.severity)
    header = messages.slack_inventory_problem_header(word)
    text = problem_text(problem)
    return f"{header}: {text}", [kit.header(header), kit.section(text)]


def queue_text(
    counts: dict[str, int], items: Sequence[StoredProposal], problems: Sequence[InventoryProblem]
) -> str:
    """The `/secops-scan queue` answer: held-back proposals (severity, then age), then inventory problems."""
    total = sum(counts.values())
    if total == 0 and not problems:
        return messages.queue_empty()
    lines: list[str] = []
    if total:
        lines.append(
            messages.queue_header(
                counts.get("propose", 0), counts.get("blocked", 0), counts.get("escalate", 0)
            )
        )
        for s in items[:QUEUE_LINES]:
            title = kit.esc(kit.title(s.proposal), 140)
            lines.append(f"• {title} `{s.proposal.id}` · {kit.date_token(s.created_at)}")
        if total > len(items[:QUEUE_LINES]):
            lines.append(messages.queue_more(total - len(items[:QUEUE_LINES])))
    if problems:
        lines.append(messages.queue_problems_header())
        lines.extend(f"• {problem_text(p)}" for p in problems[:5])
    return "\n".join(lines)

"""Output of ``scan``: a panel per proposal with a coloured diff (rich), or one JSON object a line.

Neither raises on odd values (a time outside the calendar, an unknown action, text that is not valid
UTF-8 for orjson): the reader checks every alert field, and this module does not rely on it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from bot.clock import iso
from bot.core.proposal import Proposal
from bot.core.sanitize import plain

_STYLE = {"propose": "green", "blocked": "red", "escalate": "yellow", "suppressed": "dim"}
_LABEL = {
    "propose": "PROPOSE",
    "blocked": "BLOCKED by guard",
    "escalate": "ESCALATE to a human",
    "suppressed": "SUPPRESSED",
}


def _when(ts: float | None) -> str | None:
    """ISO time, or None when there is none a calendar can show."""
    if ts is None or not math.isfinite(ts):
        return None
    try:
        return iso(ts)
    except (ValueError, OverflowError, OSError):
        return None


def _title(p: Proposal, new: bool) -> Text:
    g = p.group
    targets = plain(", ".join(g.targets) or "?", 80)
    t = Text()
    t.append(
        f"{_LABEL.get(p.action, plain(str(p.action), 20))} ", style=f"bold {_STYLE.get(p.action, 'red')}"
    )
    t.append(f"{p.id} ", style="bold")
    if g.is_findings:
        t.append(f"level {g.max_level}  {plain(g.subject, 80)} on {targets}")
    elif g.attacker:
        t.append(f"level {g.max_level}  {plain(g.attacker, 60)} → {targets}")
    else:
        t.append(f"level {g.max_level}  {plain(g.family or '?', 40)} on {targets}")
    if not new:
        t.append("  (already known)", style="dim")
    return t


def proposal_panel(p: Proposal, new: bool = True) -> Panel:
    g = p.group
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold")
    facts.add_column()
    window = ""
    first, last = _when(g.first_ts), _when(g.last_ts)
    if first is not None and last is not None:
        window = f"{first} … {last}"
    # Every cell is a Text, never a str: rich would read "[link=...]" in a hostile alert as markup.
    if g.is_findings:
        facts.add_row("findings", Text(f"{g.alert_count} from {plain(', '.join(g.reports), 200) or '?'}"))
        facts.add_row(
            "ids",
            Text(plain("; ".join(f"{f.id} {f.severity} {f.package} {f.installed}→{f.fixed or '–'}".rstrip()
                                 for f in g.findings[:12]) + (" …" if len(g.findings) > 12 else ""), 600)),
        )  # fmt: skip
    else:
        facts.add_row("alerts", Text(f"{g.alert_count} ({window})" if window else str(g.alert_count)))
        facts.add_row(
            "rules", Text(plain("; ".join(f"{rid} {desc}" for rid, desc in g.rule_descriptions.items()), 300))
        )
    if g.mitre:
        facts.add_row("MITRE", Text(plain(", ".join(g.mitre), 200)))
    facts.add_row("fixer", Text(plain(p.fixer, 100)))
    facts.add_row("reason", Text(plain(p.reason, 600)))
    if p.unfixed:  # targets the change leaves open
        facts.add_row("not fixed", Text(plain("; ".join(f"{u.target}: {u.reason}" for u in p.unfixed), 600)))
    if p.notes:  # related past fixes (dedup), e.g. "similar to PR #12 (0.87)"
        facts.add_row("related", Text(plain("; ".join(p.notes), 300)))
    parts: list[RenderableType] = [facts]
    if p.diff:
        parts.append(Syntax(p.diff, "diff", theme="ansi_dark", background_color="default"))
    if p.guard is not None:
        checks = Table(show_header=False, box=None, padding=(0, 1))
        for c in p.guard.checks:
            mark = Text("✓", style="green") if c.passed else Text("✗", style="bold red")
            checks.add_row(mark, Text(c.name), Text(plain(c.detail, 200)))
        parts.append(checks)
    return Panel(
        Group(*parts), title=_title(p, new), title_align="left", border_style=_STYLE.get(p.action, "red")
    )


def print_proposals(console: Console, proposals: Sequence[Proposal], new_ids: set[str]) -> None:
    for p in proposals:
        console.print(proposal_panel(p, p.id in new_ids))


def json_line(p: Proposal) -> str:
    """The ``scan --json`` line of one proposal (:meth:`Proposal.as_row`), whatever its values hold."""
    row = p.as_row()
    try:
        return orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError, ValueError):
        # an int past 64 bits or a lone surrogate: the stdlib writes both (escaped), never raises on them
        return json.dumps(_jsonable(row), ensure_ascii=True, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    """A copy the stdlib writes as strict JSON: non-finite floats as null, keys and unknown values as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)

"""The alert model: one security event, source-agnostic, kept deliberately lean.

An :class:`Alert` is a ``NamedTuple`` rather than a pydantic model because readers build one per line of
files with millions of lines; everything that needs validation happens on groups, which are few.
Every text field holds hostile data: render it through :mod:`bot.core.sanitize`, never as markup or
instructions.
"""

from __future__ import annotations

from typing import NamedTuple

#: Wazuh 5.x writes the rule level as a word. Each word maps to the top of its band in the 0-15 scale of
#: Wazuh 4.x so that the default ``min_level`` of 7 keeps ``medium`` and above (see docs/alerts.md).
LEVEL_WORDS: dict[str, int] = {
    "informational": 0,
    "info": 0,
    "low": 4,
    "medium": 7,
    "high": 12,
    "critical": 15,
}


class Alert(NamedTuple):
    """One alert, as any source reader produces it."""

    alert_id: str
    ts: float | None  # epoch seconds; None when the source gave no usable time
    rule_id: str
    level: int
    description: str
    groups: tuple[str, ...]
    agent: str  # the monitored host's name (Wazuh agent.name); "" when absent
    srcip: str | None  # canonical attacker address, or None
    mitre: tuple[str, ...]
    log: str  # full_log (or the URL) as written by the source: hostile text
    line: int  # 1-based line number in the source file (0 when not from a file)
    source: str = "wazuh"


def level_from(value: object) -> int | None:
    """A rule level from an int, a digit string or a Wazuh 5.x word; None when it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        return LEVEL_WORDS.get(text)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None

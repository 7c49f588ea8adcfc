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


#: The highest rule level Wazuh writes (4.x: 0-15; 16 is the ceiling some rule sets use).
MAX_LEVEL = 16


def level_from(value: object) -> int | None:
    """A rule level 0-16 from an int, an ASCII digit string or a Wazuh 5.x word; None for anything else.

    Unicode digits (``"²"``, ``"١٢"``), huge or negative numbers, booleans and fractions are not levels.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_LEVEL else None
    if isinstance(value, str):
        if len(value) > 32:
            return None
        text = value.strip().lower()
        if text.isascii() and text.isdigit():
            level = int(text)
            return level if level <= MAX_LEVEL else None
        return LEVEL_WORDS.get(text)
    if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_LEVEL:
        return int(value)
    return None

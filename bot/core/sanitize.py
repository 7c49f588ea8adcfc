"""Turning hostile alert text into something safe to show a human or a model.

Alert fields are written by attackers (URLs, user agents, log lines). Before they reach Slack, a
terminal, a PR body or a prompt they are stripped of control characters, truncated, and — for Slack —
escaped so that ``<!channel>``, ``<@U123>`` or ``<http://x|click>`` render as text, never as markup.
"""

from __future__ import annotations

import re

from bot.core.redact import redact

# C0 and C1 controls (``\x9b`` is a terminal's CSI like ESC [), bidirectional overrides and isolates
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str, limit: int = 300) -> str:
    """Single-line, control-free, redacted, truncated text."""
    text = _CONTROL.sub(" ", text.replace("\n", " ").replace("\r", " "))
    text = redact(text.strip())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def slack_escape(text: str) -> str:
    """Escape Slack mrkdwn control characters so hostile text cannot ping, link or format."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A bare @channel/@here is not a mention in API-posted text, but break it anyway for clients that try.
    return re.sub(r"@(channel|here|everyone)", "@\u200b\\1", text, flags=re.IGNORECASE)


def code_safe(text: str) -> str:
    """Text for a Slack or Markdown code block: no way to close the fence early."""
    return text.replace("```", "`\u200b``")

"""One redaction function for logs, tool errors, prompts, Slack text and PR bodies.

Secrets are registered once at start-up (:func:`register_secret`) from the settings' ``SecretStr``
values; common token shapes are masked even when they were never registered.
"""

from __future__ import annotations

import re

MASK = "***"

_TOKEN_SHAPES = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]{8,}"  # Slack tokens
    r"|xapp-[A-Za-z0-9-]{8,}"  # Slack app-level tokens
    r"|gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@))"  # user:password@ in URLs
)

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret so that :func:`redact` masks it wherever it appears."""
    if value and len(value) >= 4:
        _registered.add(value)


def redact(text: str) -> str:
    """Mask registered secrets and well-known token shapes in ``text``."""
    for secret in sorted(_registered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return _TOKEN_SHAPES.sub(MASK, text)

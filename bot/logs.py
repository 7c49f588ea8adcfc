"""Logging set-up for entry points: every record goes through the one redaction function.

Modules log ids (proposal id, channel/ts, alert ids), never payloads; this filter is the net under that
rule, so a token in an exception message or a library's log line is masked before it is written.
"""

from __future__ import annotations

import logging
from typing import TextIO

from bot.core.redact import redact


class RedactingFilter(logging.Filter):
    """Masks secrets in the formatted message and in exception text of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(stream: TextIO, verbosity: int) -> None:
    """Log to ``stream`` at WARNING (-v: INFO, -vv: DEBUG), redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_secops", False):
            root.removeHandler(old)
    handler._secops = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING - 10 * min(verbosity, 2))

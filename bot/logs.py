"""Logging set-up for entry points: every record goes through the one redaction function.

Modules log ids (proposal id, channel/ts, alert ids), never payloads; this filter is the net under that
rule, so a token in an exception message or a library's log line is masked before it is written.

Two formats (``SECOPS_LOG_FORMAT``): ``json``, one object a line (``time``, ``level``, ``logger``, ``msg``,
``exc`` and the id fields below when a record carries them), the default when the stream is not a terminal
(a container, a pipe); and ``text`` for people at a terminal. Ids go in as ``extra``::

    log.info("proposal posted", extra={"proposal_id": p.id, "channel": ch, "ts": ts})

``SECOPS_LOG_LEVEL`` sets the level (default WARNING); each ``-v`` lowers it one step (INFO, then DEBUG).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.core.redact import redact

#: record attributes (``extra=``) written as fields of a JSON line
ID_FIELDS = ("proposal_id", "revision", "alert_ids", "group_id", "channel", "ts", "thread_ts", "user", "pr")


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
        for name in ID_FIELDS:
            value = record.__dict__.get(name)
            if isinstance(value, str):
                record.__dict__[name] = redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the whole line is redacted once more (fields included)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            # "time", not "ts": ts is the Slack message ts of the record, one of the id fields
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                doc[name] = list(value) if isinstance(value, tuple | set) else value
        if record.exc_text:
            doc["exc"] = record.exc_text
        elif record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(doc, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = [f"{n}={record.__dict__[n]}" for n in ID_FIELDS if record.__dict__.get(n) is not None]
        return redact(text + (" [" + " ".join(ids) + "]" if ids else ""))


def level_for(level: str | None, verbosity: int) -> int:
    """The numeric level: ``level`` (default WARNING), one step lower per ``-v``, never below DEBUG."""
    base = logging.getLevelName((level or "WARNING").upper())
    if not isinstance(base, int):
        base = logging.WARNING
    return max(logging.DEBUG, base - 10 * min(verbosity, 2))


def configure(stream: TextIO, verbosity: int, level: str | None = None, fmt: str | None = None) -> None:
    """Log to ``stream`` at ``level`` (-v: a step lower), as JSON lines or text, redacted."""
    if fmt is None:
        isatty = getattr(stream, "isatty", None)
        fmt = "text" if callable(isatty) and isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_secops", False):
            root.removeHandler(old)
    handler._secops = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level_for(level, verbosity))

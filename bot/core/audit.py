"""The audit chain: an append-only JSON-lines log where every line carries the SHA-256 of the previous line.

A record is ``{"seq", "ts", "event", ..., "prev", "hash"}``: ``prev`` is the SHA-256 of the previous line's
exact text (64 zeros for the first line) and ``hash`` is the SHA-256 of the record's canonical JSON without
``hash``. Changing, removing or reordering any line breaks the chain at a line :func:`verify_chain` names;
truncating the tail is caught by comparing with the head (last seq and hash) the state store keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.redact import redact

GENESIS = "0" * 64


def line_hash(line: str) -> str:
    """SHA-256 of one log line's exact text (without its newline)."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def make_line(prev_line: str | None, seq: int, ts: str, event: str, fields: Mapping[str, Any]) -> str:
    """The next line of the log (no newline), chained to ``prev_line``; secrets are redacted."""
    record: dict[str, Any] = {"seq": seq, "ts": ts, "event": event}
    for k, v in fields.items():
        if k in ("seq", "ts", "event", "prev", "hash"):
            raise ValueError(f"audit field {k!r} is reserved")
        record[k] = v
    record["prev"] = GENESIS if prev_line is None else line_hash(prev_line)
    # Keys sort around "hash" ("event" before it; "prev", "seq", "ts" after): the canonical text with the
    # hash is the two halves joined around it, so the record is serialised once, not twice.
    try:
        low = _canonical({k: v for k, v in record.items() if k < "hash"})
        high = _canonical({k: v for k, v in record.items() if k > "hash"})
    except TypeError:  # keys that are not strings, a Mapping that is not a dict: the scrub normalises them
        low = high = "\\"
    if "\\" in low or "\\" in high or redact(low + high) != low + high:
        # Something may be secret, or a string was escaped (then the text is not the raw strings): redact
        # value by value. Otherwise every string appears verbatim in the text and none needed it.
        clean = {k: v if k in ("seq", "ts", "event", "prev") else _scrub(v) for k, v in record.items()}
        low = _canonical({k: v for k, v in clean.items() if k < "hash"})
        high = _canonical({k: v for k, v in clean.items() if k > "hash"})
    digest = hashlib.sha256(f"{low[:-1]},{high[1:]}".encode()).hexdigest()
    return f'{low[:-1]},"hash":"{digest}",{high[1:]}'


class ChainResult(BaseModel):
    """What :func:`verify_chain` found."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    lines: int
    bad_line: int | None = None  # 1-based
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS


def verify_chain(lines: Iterable[str]) -> ChainResult:
    """Check every line's own hash, its link to the previous line, and that ``seq`` counts up by one."""
    prev: str | None = None
    count = 0
    last_seq = 0
    for count, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            return ChainResult(ok=False, lines=count, bad_line=count, reason="not JSON")
        if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
            return ChainResult(ok=False, lines=count, bad_line=count, reason="not an audit record")
        claimed = record.pop("hash")
        if hashlib.sha256(_canonical(record).encode("utf-8")).hexdigest() != claimed:
            return ChainResult(ok=False, lines=count, bad_line=count, reason="line was changed")
        expected_prev = GENESIS if prev is None else line_hash(prev)
        if record["prev"] != expected_prev:
            return ChainResult(
                ok=False,
                lines=count,
                bad_line=count,
                reason="previous line was changed, removed or reordered",
            )
        if record.get("seq") != last_seq + 1:
            return ChainResult(ok=False, lines=count, bad_line=count, reason="sequence number out of order")
        last_seq = record["seq"]
        if record.get("event") == "audit_recovered" and "lost_seq" in record:
            # healing keeps the bot writing, but a record that had been written is gone from the chain
            return ChainResult(
                ok=False,
                lines=count,
                bad_line=count,
                reason=(
                    f"record(s) {last_seq}-{record['lost_seq']} had been written and were damaged "
                    f"(moved aside to {record.get('side_file')})"
                ),
            )
        prev = line
    return ChainResult(
        ok=True,
        lines=count,
        head_seq=last_seq,
        head_hash=GENESIS if prev is None else line_hash(prev),
    )

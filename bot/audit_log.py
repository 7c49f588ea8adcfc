"""The audit log file: ``audit.jsonl`` under the data directory, appended to under a file lock.

The chain itself (hashing, verification) is pure and lives in :mod:`bot.core.audit`. This module keeps
the head (last seq and hash) in a sidecar so that records removed from the end are detected too.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.clock import Clock, iso
from bot.core.audit import ChainResult, line_hash, make_line, verify_chain
from bot.core.errors import AuditError


class AuditLog:
    """Append-only, hash-chained decision log."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self.head_path = path.with_suffix(".head")
        self.clock = clock

    def append(self, event: str, fields: Mapping[str, Any]) -> str:
        """Append one record and return its line hash."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.path.open("a+", encoding="utf-8") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    last, seq = self._last_line(f)
                    line = make_line(last, seq + 1, iso(self.clock.now()), event, fields)
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                    digest = line_hash(line)
                    self._write_head(seq + 1, digest)
                    return digest
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror}") from None

    def _last_line(self, f: Any) -> tuple[str | None, int]:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return None, 0
        # Read backwards in blocks until a full last line is found.
        block = 4096
        data = b""
        with self.path.open("rb") as rb:
            pos = size
            while pos > 0:
                step = min(block, pos)
                pos -= step
                rb.seek(pos)
                data = rb.read(step) + data
                if data.rstrip(b"\n").count(b"\n") >= 1 or pos == 0:
                    break
        last = data.rstrip(b"\n").split(b"\n")[-1].decode("utf-8")
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise AuditError(
                f"{self.path}: the last line is not an audit record; run `audit verify`"
            ) from None
        return last, seq

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_suffix(".head.tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest}) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)

    def verify(self) -> tuple[ChainResult, int | None]:
        """Verify the chain; also returns the seq the head sidecar expects (None if unknown)."""
        with self.path.open(encoding="utf-8") as f:
            result = verify_chain(line.rstrip("\n") for line in f if line.strip())
        expected = None
        try:
            expected = int(json.loads(self.head_path.read_text(encoding="utf-8"))["seq"])
        except (OSError, ValueError, KeyError):
            expected = None
        return result, expected

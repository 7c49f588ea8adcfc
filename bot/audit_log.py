"""The audit log file: ``audit.jsonl`` under the data directory, appended to under a file lock.

The chain itself (hashing, verification) is pure and lives in :mod:`bot.core.audit`. This module writes it:

- Every write is whole lines in ONE ``os.write`` of the full bytes, then one ``fsync``. A write cut short
  (a full disk, a crash) can only leave a torn *last* line.
- The log heals itself: before each write (and before ``verify``), a torn last line (no final newline, or not
  a record) is moved to a side file next to the log (``audit.jsonl.torn-20261201T193000Z``) and an
  ``audit_recovered`` record naming that file, the byte count and the SHA-256 of the torn bytes is
  appended. The chain continues from the last good record, so ``audit verify`` checks the whole log.
- :meth:`AuditLog.batch` buffers records and writes them in one write + fsync when the outermost batch ends.
- The head (last seq and line hash) is kept in the ``.head`` sidecar so that records removed from the end
  are detected. It is overwritten in place once per write, after the log's fsync, and never synced itself:
  after a crash it can only lag behind the log (no false alarm), and a torn head reads as unknown. A damaged
  last line the head vouches for was written and synced: it is healed all the same (the bot keeps writing),
  but the ``audit_recovered`` record carries ``lost_seq`` and ``audit verify`` reports the loss.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock, iso
from bot.core.audit import ChainResult, line_hash, make_line, verify_chain
from bot.core.errors import AuditError, AuditStorageError
from bot.disk import Disk

log = logging.getLogger(__name__)

#: the head sidecar is rewritten in place with a fixed width, so a longer old head never leaves a tail
_HEAD_WIDTH = 192
_TAIL_BLOCK = 65536
_RESERVED = frozenset({"seq", "ts", "event", "prev", "hash"})


@dataclass
class _Pending:
    """Records decided in this thread's open batch, not yet written."""

    depth: int = 0
    records: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and isinstance(record.get("seq"), int) and "hash" in record


def _head_check(seq: int, digest: str) -> str:
    return hashlib.sha256(f"{seq}:{digest}".encode()).hexdigest()[:16]


class AuditLog:
    """Append-only, hash-chained decision log that heals a torn last line and writes batches at once."""

    def __init__(self, path: Path, clock: Clock, *, disk: Disk | None = None) -> None:
        self.path = path
        self.head_path = path.with_suffix(".head")
        self.clock = clock
        self.disk = disk or Disk()
        self._local = threading.local()
        self._lock = threading.Lock()
        # records whose write failed (a full disk): written first by the next write of this process
        self._unwritten: list[tuple[str, str, Mapping[str, Any]]] = []
        # told about every record once it is durable (metrics); an observer that fails changes nothing here
        self._observers: list[Callable[[str, str, Mapping[str, Any]], None]] = []

    def observe(self, observer: Callable[[str, str, Mapping[str, Any]], None]) -> None:
        """Call ``observer(ts, event, fields)`` for each record after it is written (metrics)."""
        self._observers.append(observer)

    # --- writing -----------------------------------------------------------------------------------

    def append(self, event: str, fields: Mapping[str, Any]) -> str:
        """Append one record; returns its line hash, or "" inside a batch (the hash exists once written)."""
        reserved = _RESERVED.intersection(fields)
        if reserved:  # refused now, not when the batch is written
            raise ValueError(f"audit field {sorted(reserved)[0]!r} is reserved")
        pending = self._pending()
        pending.records.append((iso(self.clock.now()), event, dict(fields)))
        if pending.depth:
            return ""
        records, pending.records = pending.records, []
        return self._write(records)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Buffer this thread's records and write them in one write + fsync when the outermost batch ends.

        Nested batches join the outer one. When the block raises, the records decided before the error are
        still written (then the error propagates); a failed write keeps them for this process's next write.
        """
        pending = self._pending()
        pending.depth += 1
        try:
            yield
        except BaseException:
            pending.depth -= 1
            if pending.depth == 0:
                records, pending.records = pending.records, []
                with suppress(AuditError):  # kept in _unwritten; the block's own error is the one to report
                    self._write(records)
            raise
        pending.depth -= 1
        if pending.depth == 0:
            records, pending.records = pending.records, []
            self._write(records)

    def _pending(self) -> _Pending:
        pending: _Pending | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = _Pending()
        return pending

    def _write(self, records: list[tuple[str, str, Mapping[str, Any]]]) -> str:
        """Write records as whole lines in one write + fsync; returns the last line's hash."""
        with self._lock:
            records = [*self._unwritten, *records]
            self._unwritten = []
            if not records:
                return ""
            written = False
            try:
                with self._locked() as fd:
                    last, seq = self._heal(fd)
                    lines: list[str] = []
                    for ts, event, fields in records:
                        seq += 1
                        last = make_line(last, seq, ts, event, fields)
                        lines.append(last)
                    self._write_all(fd, ("\n".join(lines) + "\n").encode("utf-8"))
                    written = True
                    self.disk.fsync(fd)
            except OSError as exc:
                if not written:
                    self._unwritten = records
                raise self._error(self.path, exc) from None
            except AuditError:
                self._unwritten = records
                raise
            assert last is not None
            digest = line_hash(last)
            self._write_head(seq, digest)
        self._tell(records)
        return digest

    def _tell(self, records: list[tuple[str, str, Mapping[str, Any]]]) -> None:
        for observer in self._observers:
            for ts, event, fields in records:
                try:
                    observer(ts, event, fields)
                except Exception as exc:  # metrics must never cost a decision
                    log.warning("audit observer failed on %s: %s", event, exc.__class__.__name__)

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:  # a short write (a nearly full disk) is continued; a failed one leaves a torn line
            n = self.disk.write(fd, view.tobytes())
            if n <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            view = view[n:]

    @contextmanager
    def _locked(self) -> Iterator[int]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditStorageError(
                f"cannot create the data directory {self.path.parent}: {exc.strerror}",
                path=str(self.path.parent),
                reason=str(exc.strerror),
            ) from None
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # releases the lock

    # --- healing -----------------------------------------------------------------------------------

    def _heal(self, fd: int) -> tuple[str | None, int]:
        """The last good line and its seq, after moving a torn last line aside (lock held)."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None, 0
        pos, data = size, b""
        while pos > 0 and data.count(b"\n") < 3:  # the last line and the one before it, whole
            step = min(_TAIL_BLOCK, pos)
            pos -= step
            data = os.pread(fd, step, pos) + data
        if data.endswith(b"\n"):
            start = data[:-1].rfind(b"\n") + 1
            if _is_record(data[start:-1]):
                return data[start:-1].decode("utf-8"), int(json.loads(data[start:-1])["seq"])
            torn_at = start
        else:
            torn_at = data.rfind(b"\n") + 1
        recovered = self._move_aside(fd, data[torn_at:], pos + torn_at)
        last: str | None = None
        seq = 0
        if torn_at:
            prev = data[data[: torn_at - 1].rfind(b"\n") + 1 : torn_at - 1]
            if not _is_record(prev):
                raise AuditError(f"{self.path}: the last line is not an audit record; run `audit verify`")
            last, seq = prev.decode("utf-8"), int(json.loads(prev)["seq"])
        written = self.expected_seq()
        if written is not None and written > seq:
            # The head is written only after the log's fsync: it vouches for the damaged line, so this is a
            # record that was written and synced (edited or lost later), not an interrupted append.
            recovered["lost_seq"] = written
        line = make_line(last, seq + 1, iso(self.clock.now()), "audit_recovered", recovered)
        self._write_all(fd, (line + "\n").encode("utf-8"))
        self.disk.fsync(fd)
        return line, seq + 1

    def _move_aside(self, fd: int, torn: bytes, offset: int) -> dict[str, Any]:
        """Copy the torn bytes to a dated side file, then cut them off the log; what was moved, for the record."""
        stamp = datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y%m%dT%H%M%SZ")
        side = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        n = 1
        while side.exists():
            n += 1
            side = self.path.with_name(f"{self.path.name}.torn-{stamp}-{n}")
        try:
            self.disk.write_file(side, torn)
        except OSError as exc:
            raise self._error(side, exc) from None
        os.ftruncate(fd, offset)  # frees space: never fails for lack of it
        self.disk.fsync(fd)
        return {"side_file": side.name, "bytes": len(torn), "sha256": hashlib.sha256(torn).hexdigest()}

    def _write_head(self, seq: int, digest: str) -> None:
        head = json.dumps({"seq": seq, "hash": digest, "check": _head_check(seq, digest)})
        try:
            fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                os.pwrite(fd, head.ljust(_HEAD_WIDTH - 1).encode() + b"\n", 0)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._error(self.head_path, exc) from None

    @staticmethod
    def _error(path: Path, exc: OSError) -> AuditStorageError:
        reason = exc.strerror or str(exc)
        return AuditStorageError(
            f"cannot write the audit log {path}: {reason}", path=str(path), reason=reason
        )

    def flush(self) -> None:
        """Write the records kept from a failed write of this process (a disk that was full); raises if it still is."""
        self._write([])

    # --- reading -----------------------------------------------------------------------------------

    def since_last(self, event: str, **match: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The last ``event`` record whose fields equal ``match`` (None: there is none) and every record after it.

        Reads the log backwards, so the cost is what was written since that record, not the whole log.
        """
        after: list[dict[str, Any]] = []
        if not self.path.exists():
            return None, after
        needle = json.dumps({"event": event}, separators=(",", ":"))[1:-1].encode()
        for line in self._lines_backwards():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if needle in line and all(record.get(k) == v for k, v in match.items()):
                after.reverse()
                return record, after
            after.append(record)
        after.reverse()
        return None, after

    def _lines_backwards(self) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            pos = f.seek(0, os.SEEK_END)
            rest = b""
            while pos > 0:
                step = min(_TAIL_BLOCK, pos)
                pos -= step
                f.seek(pos)
                lines = (f.read(step) + rest).split(b"\n")
                rest = lines[0]
                yield from (line for line in reversed(lines[1:]) if line.strip())
            if rest.strip():
                yield rest

    def verify(self) -> tuple[ChainResult, int | None]:
        """Verify the chain (after healing a torn last line); also the seq the head expects (None: unknown)."""
        if self.path.exists():
            try:
                self._write([])
                with self._lock, self._locked() as fd:
                    self._heal(fd)
            except (AuditStorageError, OSError):
                pass  # a read-only copy or a full disk: verify as it is (a torn line is then reported)
        with self.path.open(encoding="utf-8") as f:
            result = verify_chain(line.rstrip("\n") for line in f if line.strip())
        return result, self.expected_seq()

    def expected_seq(self) -> int | None:
        """The seq of the last record written, as the head sidecar remembers it (None: unknown)."""
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            seq, digest = int(head["seq"]), str(head["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if "check" in head and head["check"] != _head_check(seq, digest):
            return None  # a head torn by a crash: unknown, not a false alarm
        return seq

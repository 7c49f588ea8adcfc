"""The audit chain in the shared database: one chain for every replica (``SECOPS_DATABASE_URL``).

The same records and hashes as the JSON-lines file (:mod:`bot.audit_log`, :mod:`bot.core.audit`): each row of
``audit_chain`` is one line, keyed by its seq. An append reads the last line and inserts the next one in one
transaction of the state store, whose writers are serialised in the database (see :mod:`bot.database`), so
appends from several replicas make one chain, never a fork. ``audit verify`` checks it from any replica;
:meth:`DatabaseAuditLog.export` writes it in the file's format (which ``audit verify`` then checks the same way).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from bot.audit_log import AuditLog
from bot.clock import Clock, iso
from bot.core.audit import ChainResult, line_hash, make_line, verify_chain
from bot.state import StateStore

_RESERVED = frozenset({"seq", "ts", "event", "prev", "hash"})
_PAGE = 5000


class DatabaseAuditLog(AuditLog):
    """The audit log's interface (append, batch, since_last, verify) over the state database."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self.path = Path(f"{state.database.name}#audit_chain")
        self._local = threading.local()
        self._observers = []  # metrics (see AuditLog.observe)

    def append(self, event: str, fields: Mapping[str, Any]) -> str:
        """Append one record; returns its line hash, or "" inside a batch (the hash exists once written)."""
        reserved = _RESERVED.intersection(fields)
        if reserved:
            raise ValueError(f"audit field {sorted(reserved)[0]!r} is reserved")
        pending = self._records()
        pending.append((iso(self.clock.now()), event, dict(fields)))
        if getattr(self._local, "depth", 0):
            return ""
        records, self._local.records = pending, []
        return self._write(records)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Buffer this thread's records and write them in one transaction when the outermost batch ends."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        except BaseException:
            self._local.depth -= 1
            if self._local.depth == 0:
                records, self._local.records = self._records(), []
                with suppress(Exception):  # the block's own error is the one to report
                    self._write(records)
            raise
        self._local.depth -= 1
        if self._local.depth == 0:
            records, self._local.records = self._records(), []
            self._write(records)

    def _records(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        records: list[tuple[str, str, Mapping[str, Any]]] | None = getattr(self._local, "records", None)
        if records is None:
            records = self._local.records = []
        return records

    def _write(self, records: list[tuple[str, str, Mapping[str, Any]]]) -> str:
        if not records:
            return ""
        with self.state.transaction() as db:
            row = db.execute("SELECT seq, line FROM audit_chain ORDER BY seq DESC LIMIT 1").fetchone()
            seq, last = (int(row[0]), str(row[1])) if row else (0, None)
            rows = []
            for ts, event, fields in records:
                seq += 1
                last = make_line(last, seq, ts, event, fields)
                rows.append((seq, last))
            db.executemany("INSERT INTO audit_chain(seq, line) VALUES (?, ?)", rows)
        self._tell(records)
        assert last is not None
        return line_hash(last)

    def flush(self) -> None:
        """Nothing is kept back: a failed append raised and wrote nothing."""

    def lines(self) -> Iterator[str]:
        """Every line, in seq order (paged, so a long chain is never held in memory)."""
        after = 0
        while True:
            with self.state.transaction() as db:
                rows = db.execute(
                    "SELECT seq, line FROM audit_chain WHERE seq > ? ORDER BY seq LIMIT ?", (after, _PAGE)
                ).fetchall()
            if not rows:
                return
            for _seq, line in rows:
                yield str(line)
            after = int(rows[-1][0])

    def since_last(self, event: str, **match: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The last ``event`` record whose fields equal ``match`` (None: none) and every record after it."""
        after: list[dict[str, Any]] = []
        before = None
        while True:
            with self.state.transaction() as db:
                query = "SELECT seq, line FROM audit_chain"
                args: tuple[Any, ...] = ()
                if before is not None:
                    query += " WHERE seq < ?"
                    args = (before,)
                rows = db.execute(query + " ORDER BY seq DESC LIMIT ?", (*args, _PAGE)).fetchall()
            if not rows:
                after.reverse()
                return None, after
            for _seq, line in rows:
                record = json.loads(line)
                if record.get("event") == event and all(record.get(k) == v for k, v in match.items()):
                    after.reverse()
                    return record, after
                after.append(record)
            before = int(rows[-1][0])

    def verify(self) -> tuple[ChainResult, int | None]:
        """Verify the chain; the seq the table's last row has (a removed tail breaks the chain's seq order)."""
        result = verify_chain(self.lines())
        return result, self.expected_seq()

    def expected_seq(self) -> int | None:
        with self.state.transaction() as db:
            row = db.execute("SELECT MAX(seq) FROM audit_chain").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def exists(self) -> bool:
        return self.expected_seq() is not None

    def export(self, out: TextIO) -> int:
        """Write the chain as JSON lines (the file format); returns how many lines."""
        n = 0
        for line in self.lines():
            out.write(line + "\n")
            n += 1
        return n

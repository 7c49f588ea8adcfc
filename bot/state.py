"""The state store: SQLite ``state.db`` under the data directory (proposals and source offsets).

One connection per store, WAL mode so a poller and Slack handlers can share the file. Proposals are stored
as their JSON plus a few indexed columns; the status column moves pending → approved/rejected → published
→ merged (later issues add the transitions).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import StateError
from bot.core.proposal import Proposal

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    revision_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals(status);
CREATE INDEX IF NOT EXISTS proposals_subject ON proposals(subject);
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    line INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

STATUS_FOR_ACTION = {
    "propose": "pending",
    "blocked": "blocked",
    "escalate": "escalated",
    "suppressed": "suppressed",
}


@dataclass(frozen=True)
class Offset:
    inode: int
    offset: int
    line: int


@dataclass(frozen=True)
class StoredProposal:
    proposal: Proposal
    status: str
    created_at: float
    updated_at: float


class StateStore:
    """Proposals and offsets in SQLite."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state store {path}: {exc}") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction: concurrent writers queue instead of racing."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- offsets -------------------------------------------------------------------------------------

    def get_offset(self, source: str) -> Offset | None:
        with self._lock:
            row = self._db.execute(
                "SELECT inode, offset, line FROM offsets WHERE source = ?", (source,)
            ).fetchone()
        return Offset(*row) if row else None

    def set_offset(self, source: str, offset: Offset, now: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO offsets(source, inode, offset, line, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET inode=excluded.inode, offset=excluded.offset, "
                "line=excluded.line, updated_at=excluded.updated_at",
                (source, offset.inode, offset.offset, offset.line, now),
            )

    # --- proposals -----------------------------------------------------------------------------------

    def add_proposal(self, proposal: Proposal, now: float) -> bool:
        """Store a new proposal; False (and nothing changed) when its id is already known."""
        payload = proposal.model_dump_json()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO proposals(id, group_key, subject, action, status, revision, "
                "revision_hash, payload, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    proposal.id,
                    proposal.group.key,
                    proposal.group.subject,
                    proposal.action,
                    STATUS_FOR_ACTION[proposal.action],
                    proposal.revision,
                    proposal.revision_hash,
                    payload,
                    now,
                    now,
                ),
            )
            return cur.rowcount == 1

    def get(self, proposal_id: str) -> StoredProposal | None:
        with self._lock:
            row = self._db.execute(
                "SELECT payload, status, created_at, updated_at FROM proposals WHERE id = ?", (proposal_id,)
            ).fetchone()
        return self._row(row) if row else None

    def list(self, status: str | None = None, limit: int = 1000) -> list[StoredProposal]:
        query = "SELECT payload, status, created_at, updated_at FROM proposals"
        args: tuple[Any, ...] = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        query += " ORDER BY created_at DESC, id LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*args, limit)).fetchall()
        return [self._row(r) for r in rows]

    def set_status(self, proposal_id: str, status: str, now: float) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE proposals SET status = ?, updated_at = ? WHERE id = ?", (status, now, proposal_id)
            )

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    @staticmethod
    def _row(row: tuple[str, str, float, float]) -> StoredProposal:
        return StoredProposal(Proposal.model_validate_json(row[0]), row[1], row[2], row[3])

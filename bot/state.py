"""The state store: SQLite ``state.db`` under the data directory (proposals and source offsets), or a shared
PostgreSQL database for several replicas (:mod:`bot.database`; the schema is in :mod:`bot.migrations`).

SQLite: one connection per store, WAL mode so a poller and Slack handlers can share the file. Proposals are stored
as their JSON plus a few indexed columns; the status column moves pending → approved/rejected → published
→ merged (later issues add the transitions).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import StateError
from bot.core.proposal import Proposal
from bot.database import Database, SqliteDatabase, migrate
from bot.disk import Disk

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
class Publication:
    """A branch (and pull request) the bot pushed for one approved revision."""

    proposal_id: str
    revision: int
    branch: str
    commit: str
    pr_number: int | None
    pr_url: str | None
    status: str  # pushed | open | merged | rejected | obsolete
    updated_at: float


_PUBLICATION_COLUMNS = "proposal_id, revision, branch, commit_sha, pr_number, pr_url, status, updated_at"


@dataclass(frozen=True)
class Block:
    """A block-list entry the bot added, and when it expires (None or ``permanent``: never)."""

    file: str
    key: str
    entry: str
    proposal_id: str
    pr_number: int | None
    added_at: float
    expires_at: float | None
    permanent: bool
    removal_id: str | None  # the proposal that removes it, once one was made


_BLOCK_COLUMNS = "file, key, entry, proposal_id, pr_number, added_at, expires_at, permanent, removal_id"


@dataclass(frozen=True)
class Verification:
    """Post-merge verification of one merged proposal (bot/verification.py)."""

    proposal_id: str
    phase: str  # deploying | watching | verified | still_firing | not_deployed | no_app
    merge_commit: str
    app: str
    attacker: str | None
    merged_at: float
    deployed_at: float | None
    alerts: int
    updated_at: float


@dataclass(frozen=True)
class StoredProposal:
    proposal: Proposal
    status: str
    created_at: float
    updated_at: float


class StateStore:
    """Proposals, offsets and everything else the bot remembers, in SQLite (default) or PostgreSQL.

    ``StateStore(path)`` opens SQLite at ``path``; ``database=`` takes an open :mod:`bot.database` backend
    (PostgreSQL for several replicas). Missing migrations are applied on open; a database newer than this
    code is refused (:class:`bot.migrations.SchemaTooNewError`).
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        disk: Disk | None = None,
        database: Database | None = None,
        now: float = 0.0,
    ) -> None:
        if database is None:
            assert path is not None, "a path (SQLite) or a database"
            database = SqliteDatabase(path, disk=disk)
        self.database = database
        self.path = path if path is not None else Path(database.name)
        self.dialect = database.dialect
        self._fence = threading.local()
        try:
            migrate(database, now or time.time())
        except sqlite3.Error as exc:
            error = database.storage_error(exc) if isinstance(database, SqliteDatabase) else None
            raise error or StateError(f"cannot open the state store {self.path}: {exc}") from None

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # PostgreSQL's connection (bot.database) has the same execute/executemany/cursor surface
        """A write transaction (writers queue, see :mod:`bot.database`); inside another: a savepoint.

        A full disk (SQLite: "database or disk is full") or an unreachable PostgreSQL raises
        :class:`StateStorageError`; nothing of the transaction is kept. In a thread inside :meth:`fenced`,
        the outermost transaction first checks that the leader lease is still held (else
        :class:`bot.leader.LeaseLost`, nothing written).
        """
        with self.database.transaction() as db:
            check = getattr(self._fence, "check", None)
            if check is not None and not getattr(self._fence, "depth", 0):
                check(db)
            self._fence.depth = getattr(self._fence, "depth", 0) + 1
            try:
                yield db
            finally:
                self._fence.depth -= 1

    @contextmanager
    def fenced(self, check: Callable[[Any], None] | None) -> Iterator[None]:
        """Every transaction of this thread inside the block runs ``check(db)`` first (the leader's epoch).

        ``None`` lifts an outer fence for the block (recording a side effect that already happened).
        """
        outer = getattr(self._fence, "check", None)
        self._fence.check = check
        try:
            yield
        finally:
            self._fence.check = outer

    @property
    def is_fenced(self) -> bool:
        """Whether this thread's transactions are fenced now (inside :meth:`fenced` with a check)."""
        return getattr(self._fence, "check", None) is not None

    @property
    def in_transaction(self) -> bool:
        """Whether this thread has a transaction open (the scan keeps none open while a model runs)."""
        return bool(getattr(self._fence, "depth", 0))

    def _read(self) -> Any:
        return self.database.read()

    # --- offsets -------------------------------------------------------------------------------------

    def get_offset(self, source: str) -> Offset | None:
        with self._read() as db:
            row = db.execute("SELECT inode, offset, line FROM offsets WHERE source = ?", (source,)).fetchone()
        return Offset(*row) if row else None

    def set_offset(self, source: str, offset: Offset, now: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO offsets(source, inode, offset, line, updated_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET inode=excluded.inode, offset=excluded.offset, "
                "line=excluded.line, updated_at=excluded.updated_at",
                (source, offset.inode, offset.offset, offset.line, now),
            )

    def get_watermark(self, source: str) -> str | None:
        """The stored watermark (JSON) of a pulled source, or None."""
        with self._read() as db:
            row = db.execute("SELECT value FROM watermarks WHERE source = ?", (source,)).fetchone()
        return str(row[0]) if row else None

    def set_watermark(self, source: str, value: str, now: float) -> None:
        """Store a pulled source's watermark (inside the caller's transaction when there is one)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO watermarks(source, value, updated_at) VALUES (?,?,?) ON CONFLICT(source) "
                "DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
                (source, value, now),
            )

    # --- post-merge verification (bot/verification.py) ---------------------------------------------

    def record_verification(self, v: Verification) -> None:
        """Create or replace the verification row of one merged proposal."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO verifications(proposal_id, phase, merge_commit, app, attacker, merged_at, "
                "deployed_at, alerts, updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(proposal_id) DO "
                "UPDATE SET phase=excluded.phase, merge_commit=excluded.merge_commit, app=excluded.app, "
                "attacker=excluded.attacker, merged_at=excluded.merged_at, deployed_at=excluded.deployed_at, "
                "alerts=excluded.alerts, updated_at=excluded.updated_at",
                (
                    v.proposal_id, v.phase, v.merge_commit, v.app, v.attacker, v.merged_at,
                    v.deployed_at, v.alerts, v.updated_at,
                ),
            )  # fmt: skip

    def verification(self, proposal_id: str) -> Verification | None:
        rows = self._verifications("WHERE proposal_id = ?", (proposal_id,))
        return rows[0] if rows else None

    def verifications(self, phases: tuple[str, ...]) -> tuple[Verification, ...]:
        """Verifications in one of ``phases``, oldest merge first."""
        marks = ",".join("?" * len(phases))
        return self._verifications(f"WHERE phase IN ({marks}) ORDER BY merged_at, proposal_id", phases)

    def still_firing(self, attacker: str) -> Verification | None:
        """The latest verification that found a merged fix for ``attacker`` did not stop its alerts."""
        rows = self._verifications(
            "WHERE attacker = ? AND phase = 'still_firing' ORDER BY updated_at DESC LIMIT 1", (attacker,)
        )
        return rows[0] if rows else None

    def _verifications(self, where: str, args: tuple[Any, ...]) -> tuple[Verification, ...]:
        with self._read() as db:
            rows = db.execute(
                "SELECT proposal_id, phase, merge_commit, app, attacker, merged_at, deployed_at, alerts, "  # noqa: S608
                f"updated_at FROM verifications {where}",
                args,
            ).fetchall()
        return tuple(Verification(*r) for r in rows)

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
        with self._read() as db:
            row = db.execute(
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
        with self._read() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [self._row(r) for r in rows]

    def by_subject(self, subject: str, statuses: Sequence[str]) -> tuple[StoredProposal, ...]:
        """Stored proposals about ``subject`` (an image, an attacker) in these statuses, newest first."""
        marks = ",".join("?" * len(statuses))
        query = (
            "SELECT payload, status, created_at, updated_at FROM proposals "  # noqa: S608 (placeholders only)
            f"WHERE subject = ? AND status IN ({marks}) ORDER BY created_at DESC, id"
        )
        with self._read() as db:
            rows = db.execute(query, (subject, *statuses)).fetchall()
        return tuple(self._row(r) for r in rows)

    def count(self, status: str) -> int:
        """How many proposals have ``status`` (an index lookup; nothing is parsed)."""
        with self._read() as db:
            row = db.execute("SELECT COUNT(*) FROM proposals WHERE status = ?", (status,)).fetchone()
        return int(row[0])

    def count_since(self, action: str, since: float) -> int:
        """How many proposals of ``action`` were created at or after ``since``."""
        with self._read() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM proposals WHERE action = ? AND created_at >= ?", (action, since)
            ).fetchone()
        return int(row[0])

    def most_severe(self, status: str, limit: int) -> tuple[StoredProposal, ...]:
        """The ``limit`` proposals of ``status`` with the highest alert level, oldest first among equals
        (only those are parsed, so a status answer stays fast with thousands stored)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT payload, status, created_at, updated_at FROM proposals WHERE status = ? "
                "ORDER BY CAST(json_extract(payload, '$.group.max_level') AS INTEGER) DESC, created_at, id "
                "LIMIT ?",
                (status, limit),
            ).fetchall()
        return tuple(self._row(r) for r in rows)

    def set_status(self, proposal_id: str, status: str, now: float) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE proposals SET status = ?, updated_at = ? WHERE id = ?", (status, now, proposal_id)
            )

    def get_meta(self, key: str) -> str | None:
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    # --- Slack deliveries (idempotent handling across replicas) --------------------------------------

    def first_delivery(self, key: str, now: float, keep: float = 86400.0) -> bool:
        """Record a Slack delivery key (an event id, a click); False when any replica already had it.

        Checked before any side effect, so a retry delivered to another replica does nothing twice. Keys
        older than ``keep`` seconds are forgotten (Slack retries within minutes).
        """
        with self.transaction() as db:
            db.execute("DELETE FROM deliveries WHERE at < ?", (now - keep,))
            cur = db.execute("INSERT OR IGNORE INTO deliveries(key, at) VALUES (?, ?)", (key, now))
            return cur.rowcount == 1

    def forget_delivery(self, key: str) -> None:
        """Forget a delivery key whose handling failed, so that a redelivery is handled again."""
        with self.transaction() as db:
            db.execute("DELETE FROM deliveries WHERE key = ?", (key,))

    # --- outcomes and effects (memory of past fixes) ----------------------------------------------------

    def record_outcome(
        self,
        proposal_id: str,
        outcome: str,
        *,
        at: float,
        pr_url: str | None = None,
        reason: str = "",
        by: str = "",
    ) -> None:
        """Record that a fix was ``merged`` (with its PR URL) or ``rejected`` (with the reason and who).

        Called by the Slack (rejections) and publishing (merges) flows; a later outcome replaces an earlier
        one. The dedup service indexes new outcomes into the fix store on its own schedule.
        """
        if outcome not in ("merged", "rejected"):
            raise StateError(f"unknown outcome {outcome!r} (merged or rejected)")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO outcomes(fix_id, outcome, pr_url, reason, by, at, indexed) VALUES (?,?,?,?,?,?,0) "
                "ON CONFLICT(fix_id) DO UPDATE SET outcome=excluded.outcome, pr_url=excluded.pr_url, "
                "reason=excluded.reason, by=excluded.by, at=excluded.at, indexed=0",
                (proposal_id, outcome, pr_url, reason, by, at),
            )

    def set_effects(self, owner: str, effects: Sequence[tuple[str, str, str | None, str]]) -> None:
        """Replace the exact effects ``(effect_id, scope, address, detail JSON)`` of a proposal or fix."""
        with self.transaction() as db:
            db.execute("DELETE FROM effects WHERE owner = ?", (owner,))
            db.executemany(
                "INSERT OR IGNORE INTO effects(effect_id, owner, scope, address, detail) VALUES (?,?,?,?,?)",
                [(eid, owner, scope, address, detail) for eid, scope, address, detail in effects],
            )

    def outcomes_by_effect(self, effect_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], ...]]:
        """For each effect id, the recorded outcomes of the fixes that had it."""
        if not effect_ids:
            return {}
        marks = ",".join("?" * len(effect_ids))
        with self._read() as db:
            rows = db.execute(
                "SELECT e.effect_id, o.fix_id, o.outcome, o.pr_url, o.reason, o.by, o.at FROM effects e "  # noqa: S608
                f"JOIN outcomes o ON o.fix_id = e.owner WHERE e.effect_id IN ({marks})",
                effect_ids,
            ).fetchall()
        keys = ("fix_id", "outcome", "pr_url", "reason", "by", "at")
        out: dict[str, tuple[dict[str, Any], ...]] = {}
        for eid, *values in rows:
            out[eid] = (*out.get(eid, ()), dict(zip(keys, values, strict=True)))
        return out

    def outcomes_by_address(self, addresses: Sequence[str]) -> tuple[dict[str, Any], ...]:
        """Recorded outcomes of fixes that added or removed one of these addresses (anywhere)."""
        if not addresses:
            return ()
        marks = ",".join("?" * len(addresses))
        with self._read() as db:
            rows = db.execute(
                "SELECT DISTINCT o.fix_id, o.outcome, o.pr_url, o.reason, o.by, o.at FROM effects e "  # noqa: S608
                f"JOIN outcomes o ON o.fix_id = e.owner WHERE e.address IN ({marks})",
                addresses,
            ).fetchall()
        keys = ("fix_id", "outcome", "pr_url", "reason", "by", "at")
        return tuple(dict(zip(keys, r, strict=True)) for r in rows)

    def effect_scopes(self, owners: Sequence[str]) -> dict[str, tuple[set[str], set[str]]]:
        """For each owner, its effect scopes and addresses."""
        if not owners:
            return {}
        marks = ",".join("?" * len(owners))
        with self._read() as db:
            rows = db.execute(
                f"SELECT owner, scope, address FROM effects WHERE owner IN ({marks})",  # noqa: S608
                owners,
            ).fetchall()
        out: dict[str, tuple[set[str], set[str]]] = {}
        for owner, scope, address in rows:
            scopes, addrs = out.setdefault(owner, (set(), set()))
            scopes.add(scope)
            if address:
                addrs.add(address)
        return out

    def open_proposals_by_effect(
        self, effect_ids: Sequence[str], statuses: tuple[str, ...]
    ) -> dict[str, tuple[str, ...]]:
        """For each effect id, the ids of proposals in one of ``statuses`` that have it."""
        if not effect_ids:
            return {}
        marks = ",".join("?" * len(effect_ids))
        smarks = ",".join("?" * len(statuses))
        with self._read() as db:
            rows = db.execute(
                "SELECT e.effect_id, p.id FROM effects e JOIN proposals p ON p.id = e.owner "  # noqa: S608
                f"WHERE e.effect_id IN ({marks}) AND p.status IN ({smarks})",
                [*effect_ids, *statuses],
            ).fetchall()
        out: dict[str, tuple[str, ...]] = {}
        for eid, pid in rows:
            out[eid] = (*out.get(eid, ()), pid)
        return out

    def effect_details(self, owner: str) -> tuple[str, ...]:
        """The recorded effects (JSON) of a proposal or fix."""
        with self._read() as db:
            rows = db.execute(
                "SELECT detail FROM effects WHERE owner = ? ORDER BY effect_id", (owner,)
            ).fetchall()
        return tuple(r[0] for r in rows)

    def outcome(self, fix_id: str) -> dict[str, Any] | None:
        """The recorded outcome of one fix (``outcome``, ``pr_url``, ``reason``, ``by``, ``at``), or None."""
        with self._read() as db:
            row = db.execute(
                "SELECT fix_id, outcome, pr_url, reason, by, at FROM outcomes WHERE fix_id = ?", (fix_id,)
            ).fetchone()
        keys = ("fix_id", "outcome", "pr_url", "reason", "by", "at")
        return dict(zip(keys, row, strict=True)) if row else None

    def unindexed_outcomes(self, limit: int = 256) -> tuple[dict[str, Any], ...]:
        """Outcomes not yet written to the fix store."""
        with self._read() as db:
            rows = db.execute(
                "SELECT fix_id, outcome, pr_url, reason, by, at FROM outcomes WHERE indexed = 0 "
                "ORDER BY at LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("fix_id", "outcome", "pr_url", "reason", "by", "at")
        return tuple(dict(zip(keys, r, strict=True)) for r in rows)

    def mark_indexed(self, fix_ids: Sequence[str]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE outcomes SET indexed = 1 WHERE fix_id = ?", [(f,) for f in fix_ids])

    def fold_alerts(self, proposal_id: str, alert_count: int, now: float) -> bool:
        """Add a repeat's alerts to a stored proposal's count (a near-duplicate folded into it)."""
        with self.transaction() as db:
            row = db.execute("SELECT payload FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
            if row is None:
                return False
            payload = json.loads(row[0])
            payload["group"]["alert_count"] = int(payload["group"]["alert_count"]) + alert_count
            db.execute(
                "UPDATE proposals SET payload = ?, updated_at = ? WHERE id = ?",
                (json.dumps(payload), now, proposal_id),
            )
        return True

    # --- publications (branches and pull requests the bot made) ----------------------------------------

    def record_publication(
        self,
        proposal_id: str,
        revision: int,
        *,
        branch: str,
        status: str,
        now: float,
        commit: str | None = None,
        pr_number: int | None = None,
        pr_url: str | None = None,
    ) -> None:
        """Create or update the publication of one revision; None fields keep their stored value."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO publications(proposal_id, revision, branch, commit_sha, pr_number, pr_url, status, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(proposal_id, revision) DO UPDATE SET "
                "branch=excluded.branch, commit_sha=COALESCE(NULLIF(excluded.commit_sha, ''), publications.commit_sha), "
                "pr_number=COALESCE(excluded.pr_number, publications.pr_number), pr_url=COALESCE(excluded.pr_url, publications.pr_url), "
                "status=excluded.status, updated_at=excluded.updated_at",
                (proposal_id, revision, branch, commit or "", pr_number, pr_url, status, now),
            )

    def finish_publication(
        self,
        proposal_id: str,
        revision: int,
        status: str,
        now: float,
        *,
        pr_url: str | None = None,
        reason: str = "",
        by: str = "",
        from_status: str = "open",
    ) -> bool:
        """Move an ``open`` publication to ``merged``/``rejected``/``obsolete``, with the proposal's status
        and (merged, rejected) its outcome, in one transaction; False, nothing changed, when it was no longer
        open. Whoever gets True makes the side effects (audit, thread note): one effect across replicas, the
        sync pass and retried webhooks. ``from_status``: ``app_open`` for an application repository's pull
        request (bot/dependency_sync.py)."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE publications SET status = ?, updated_at = ? "
                "WHERE proposal_id = ? AND revision = ? AND status = ?",
                (status, now, proposal_id, revision, from_status),
            )
            if cur.rowcount != 1:
                return False
            if status in ("merged", "rejected"):
                self.record_outcome(proposal_id, status, at=now, pr_url=pr_url, reason=reason, by=by)
            self.set_status(proposal_id, status, now)
        return True

    def get_publication(self, proposal_id: str, revision: int) -> Publication | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {_PUBLICATION_COLUMNS} FROM publications WHERE proposal_id = ? AND revision = ?",  # noqa: S608
                (proposal_id, revision),
            ).fetchone()
        return Publication(*row) if row else None

    def publications(self, statuses: tuple[str, ...] = ("open",)) -> tuple[Publication, ...]:
        """Publications in one of ``statuses`` (``open``: a pull request the bot still watches)."""
        marks = ",".join("?" * len(statuses))
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_PUBLICATION_COLUMNS} FROM publications WHERE status IN ({marks}) "  # noqa: S608
                "ORDER BY updated_at, proposal_id",
                statuses,
            ).fetchall()
        return tuple(Publication(*r) for r in rows)

    # --- blocks the bot added (expiry) ---------------------------------------------------------------

    def record_blocks(
        self,
        proposal_id: str,
        entries: Sequence[tuple[str, str, str]],
        *,
        added_at: float,
        expires_at: float | None,
        pr_number: int | None = None,
    ) -> None:
        """Record (file, key, entry) as added by the bot for ``proposal_id``; an entry already recorded
        keeps its first record (its expiry and any ``keep``)."""
        permanent = 1 if expires_at is None else 0
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO blocks(file, key, entry, proposal_id, pr_number, added_at, expires_at, "
                "permanent) VALUES (?,?,?,?,?,?,?,?)",
                [(f, k, e, proposal_id, pr_number, added_at, expires_at, permanent) for f, k, e in entries],
            )

    def blocks_of(self, proposal_id: str) -> tuple[Block, ...]:
        """The entries recorded for one proposal (the one that added them)."""
        return self._blocks("WHERE proposal_id = ? ORDER BY file, key, entry", (proposal_id,))

    def blocks_removed_by(self, removal_id: str) -> tuple[Block, ...]:
        """The entries a removal proposal takes out."""
        return self._blocks("WHERE removal_id = ? ORDER BY file, key, entry", (removal_id,))

    def expired_blocks(self, now: float) -> tuple[Block, ...]:
        """Entries whose ban time has passed, not kept and not yet in a removal proposal."""
        return self._blocks(
            "WHERE permanent = 0 AND removal_id IS NULL AND expires_at IS NOT NULL AND expires_at <= ? "
            "ORDER BY expires_at, file, key, entry",
            (now,),
        )

    def keep_blocks(self, proposal_id: str) -> int:
        """Make a proposal's entries permanent (``keep``); returns how many were not already."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE blocks SET permanent = 1 WHERE proposal_id = ? AND permanent = 0", (proposal_id,)
            )
            return cur.rowcount

    def mark_removal(self, removal_id: str, entries: Sequence[tuple[str, str, str]]) -> None:
        """Tie entries to the proposal that removes them (so the next pass does not propose them again)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE blocks SET removal_id = ? WHERE file = ? AND key = ? AND entry = ?",
                [(removal_id, f, k, e) for f, k, e in entries],
            )

    def release_removal(self, removal_id: str) -> None:
        """A removal that was rejected or closed: its entries stay blocked and are no longer due."""
        with self.transaction() as db:
            db.execute("UPDATE blocks SET permanent = 1 WHERE removal_id = ?", (removal_id,))

    def forget_blocks(self, removal_id: str) -> None:
        """A removal merged: its entries are gone from the repository and from the record."""
        with self.transaction() as db:
            db.execute("DELETE FROM blocks WHERE removal_id = ?", (removal_id,))

    def _blocks(self, where: str, args: tuple[Any, ...]) -> tuple[Block, ...]:
        with self._read() as db:
            rows = db.execute(f"SELECT {_BLOCK_COLUMNS} FROM blocks {where}", args).fetchall()  # noqa: S608
        return tuple(Block(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8]) for r in rows)

    @staticmethod
    def _row(row: tuple[str, str, float, float]) -> StoredProposal:
        return StoredProposal(Proposal.model_validate_json(row[0]), row[1], row[2], row[3])

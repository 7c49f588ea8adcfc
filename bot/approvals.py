"""Approvals, rejections, decisions and Slack message locations, in the state store's database.

The one rule that matters here: a proposal revision is published at most once. Approvals are rows keyed by
(proposal, revision hash, user); the move from ``pending`` to ``approved`` is a single conditional UPDATE
inside an immediate transaction, so double clicks, two approvers at once and Slack retries all race for the
same row and exactly one wins.

The claim also writes the revision's row in the publication **outbox** in the same transaction, so an
approval can never be committed without the intent to publish it: a crash between Approve and the pull
request leaves a ``queued`` row that the service resumes (on start, on every poll/sync pass and on the next
click). The row counts attempts and keeps the last error; ``done`` marks the one successful publication.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.proposal import Proposal
from bot.state import STATUS_FOR_ACTION, StateStore


@dataclass(frozen=True)
class ApprovalVote:
    """The result of one approve click."""

    outcome: str  # "claimed" (this vote completes approval: publish now), "recorded", "duplicate", "stale", "closed"
    approvers: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class OutboxEntry:
    """One approved revision's publication: ``queued`` until it is ``done`` (or ``failed``, back to pending)."""

    proposal_id: str
    revision_hash: str
    revision: int
    approvers: tuple[str, ...]
    approved_at: float
    thread_url: str | None
    state: str
    attempts: int
    last_error: str


_OUTBOX_COLUMNS = (
    "proposal_id, revision_hash, revision, approvers, approved_at, thread_url, state, attempts, last_error"
)


@dataclass(frozen=True)
class MessageRef:
    proposal_id: str
    channel: str
    ts: str


class ApprovalStore:
    """Approvals and Slack message references next to the proposals they belong to."""

    def __init__(self, state: StateStore) -> None:
        self.state = state  # the tables are the state store's (bot/migrations.py)

    # --- votes -----------------------------------------------------------------------------------------

    def vote(
        self,
        proposal_id: str,
        revision_hash: str,
        user: str,
        required: int,
        now: float,
        thread_url: str | None = None,
    ) -> ApprovalVote:
        """Record ``user``'s approval of one exact revision; claim the proposal when enough people agree.

        A claim queues the revision in the outbox in the same transaction (see the module docstring).
        """
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT status, revision_hash FROM proposals WHERE id = ?", (proposal_id,)
            ).fetchone()
            if row is None:
                return ApprovalVote("closed", (), "unknown")
            status, current = row
            if current != revision_hash:
                return ApprovalVote("stale", (), status)
            if status != "pending":
                return ApprovalVote("closed", self._approvers(db, proposal_id, revision_hash), status)
            cur = db.execute(
                "INSERT OR IGNORE INTO approvals(proposal_id, revision_hash, user, at) VALUES (?,?,?,?)",
                (proposal_id, revision_hash, user, now),
            )
            approvers = self._approvers(db, proposal_id, revision_hash)
            if cur.rowcount == 0:
                return ApprovalVote("duplicate", approvers, status)
            if len(approvers) < required:
                return ApprovalVote("recorded", approvers, status)
            claimed = db.execute(
                "UPDATE proposals SET status = 'approved', updated_at = ? "
                "WHERE id = ? AND status = 'pending' AND revision_hash = ?",
                (now, proposal_id, revision_hash),
            ).rowcount
            if claimed == 1:
                revision = db.execute(
                    "SELECT revision FROM proposals WHERE id = ?", (proposal_id,)
                ).fetchone()[0]
                db.execute(
                    "INSERT INTO outbox(proposal_id, revision_hash, revision, approvers, approved_at, "
                    "thread_url, state, attempts, last_error, updated_at) VALUES (?,?,?,?,?,?,'queued',0,'',?) "
                    "ON CONFLICT(proposal_id, revision_hash) DO UPDATE SET approvers = excluded.approvers, "
                    "approved_at = excluded.approved_at, thread_url = excluded.thread_url, state = 'queued', "
                    "updated_at = excluded.updated_at",
                    (proposal_id, revision_hash, revision, json.dumps(approvers), now, thread_url, now),
                )
            return ApprovalVote("claimed" if claimed == 1 else "closed", approvers, "approved")

    # --- the publication outbox ------------------------------------------------------------------------

    def queued(self) -> list[OutboxEntry]:
        """Approved revisions whose publication has not finished, oldest first."""
        with self.state.transaction() as db:
            rows = db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'queued' ORDER BY approved_at, proposal_id"  # noqa: S608
            ).fetchall()
        return [self._entry(r) for r in rows]

    def outbox_entry(self, proposal_id: str, revision_hash: str) -> OutboxEntry | None:
        with self.state.transaction() as db:
            row = db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE proposal_id = ? AND revision_hash = ?",  # noqa: S608
                (proposal_id, revision_hash),
            ).fetchone()
        return self._entry(row) if row else None

    def attempt(self, proposal_id: str, revision_hash: str, now: float) -> None:
        """Count one publication attempt (before it starts: a crash mid-attempt still counts)."""
        with self.state.transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, updated_at = ? WHERE proposal_id = ? AND revision_hash = ?",
                (now, proposal_id, revision_hash),
            )

    def claim_publishing(
        self, proposal_id: str, revision_hash: str, holder: str, now: float, ttl: float = 600.0
    ) -> bool:
        """Take the right to publish a queued revision for ``ttl`` s; False while another replica holds it.

        The holder that crashed mid-publication loses the claim at its expiry (the leader resumes the row);
        the same holder (a restarted single replica) takes it back at once.
        """
        with self.state.transaction() as db:
            return (
                db.execute(
                    "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE proposal_id = ? AND revision_hash = ? "
                    "AND state = 'queued' AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until <= ?)",
                    (holder, now + ttl, proposal_id, revision_hash, holder, now),
                ).rowcount
                == 1
            )

    def finish(self, proposal_id: str, revision_hash: str, *, ok: bool, error: str, now: float) -> None:
        """Close the outbox row: ``done`` after a publication, ``failed`` (with the error) otherwise.

        A failure also returns the proposal to ``pending`` and forgets its votes, in the same transaction,
        so approvers can retry once the cause is fixed.
        """
        with self.state.transaction() as db:
            db.execute(
                "UPDATE outbox SET state = ?, last_error = ?, updated_at = ?, claimed_by = NULL, "
                "claimed_until = NULL WHERE proposal_id = ? AND revision_hash = ?",
                ("done" if ok else "failed", error[:1000], now, proposal_id, revision_hash),
            )
            if ok:
                db.execute(
                    "UPDATE proposals SET status = 'published', updated_at = ? WHERE id = ?",
                    (now, proposal_id),
                )
            else:
                db.execute(
                    "UPDATE proposals SET status = 'pending', updated_at = ? WHERE id = ? AND revision_hash = ?",
                    (now, proposal_id, revision_hash),
                )
                db.execute("DELETE FROM approvals WHERE proposal_id = ?", (proposal_id,))

    @staticmethod
    def _entry(row: Any) -> OutboxEntry:
        pid, rhash, revision, approvers, at, url, state, attempts, error = row
        return OutboxEntry(
            pid, rhash, revision, tuple(json.loads(approvers)), at, url, state, attempts, error
        )

    @staticmethod
    def _approvers(db: Any, proposal_id: str, revision_hash: str) -> tuple[str, ...]:
        rows = db.execute(
            "SELECT user FROM approvals WHERE proposal_id = ? AND revision_hash = ? ORDER BY at, user",
            (proposal_id, revision_hash),
        ).fetchall()
        return tuple(r[0] for r in rows)

    def close(self, proposal_id: str, revision_hash: str, status: str, now: float) -> bool:
        """Move a pending (or approved) revision to a final status (rejected, expired...) exactly once."""
        with self.state.transaction() as db:
            return (
                db.execute(
                    "UPDATE proposals SET status = ?, updated_at = ? "
                    "WHERE id = ? AND revision_hash = ? AND status IN ('pending', 'blocked')",
                    (status, now, proposal_id, revision_hash),
                ).rowcount
                == 1
            )

    def replace_revision(self, proposal: Proposal, expected_hash: str, now: float) -> bool:
        """Store a new revision if the stored one is still ``expected_hash`` and undecided."""
        status = STATUS_FOR_ACTION[proposal.action]
        with self.state.transaction() as db:
            return (
                db.execute(
                    "UPDATE proposals SET payload = ?, action = ?, status = ?, revision = ?, revision_hash = ?, "
                    "created_at = ?, updated_at = ? WHERE id = ? AND revision_hash = ? "
                    "AND status IN ('pending', 'blocked', 'escalated', 'publish_failed')",
                    (
                        proposal.model_dump_json(),
                        proposal.action,
                        status,
                        proposal.revision,
                        proposal.revision_hash,
                        now,
                        now,
                        proposal.id,
                        expected_hash,
                    ),
                ).rowcount
                == 1
            )

    # --- revision history -----------------------------------------------------------------------------

    def adopt_revision(
        self, proposal: Proposal, current: Proposal, *, kind: str, user: str, now: float
    ) -> bool:
        """Make ``proposal`` the stored revision if ``current`` is still the stored one and undecided.

        The history keeps every adopted revision's operations (the one replaced too, the first time), in
        the same transaction, so ``undo`` and ``revert to rN`` always find what was in force.
        """
        with self.state.transaction() as db:
            if not self.replace_revision(proposal, current.revision_hash, now):
                return False
            insert = (
                "INSERT OR IGNORE INTO revisions(proposal_id, revision, operations, kind, by_user, note, at) "
                "VALUES (?,?,?,?,?,?,?)"
            )
            db.execute(
                insert,
                (current.id, current.revision, json.dumps(list(current.operations)), "scan", "", "", now),
            )
            db.execute(
                insert.replace("OR IGNORE", "OR REPLACE"),
                (
                    proposal.id,
                    proposal.revision,
                    json.dumps(list(proposal.operations)),
                    kind,
                    user,
                    proposal.revision_note,
                    now,
                ),
            )
            return True

    def revision_operations(self, proposal_id: str) -> dict[int, tuple[dict[str, Any], ...]]:
        """The adopted revisions of a proposal: revision number → its operations."""
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT revision, operations FROM revisions WHERE proposal_id = ? ORDER BY revision",
                (proposal_id,),
            ).fetchall()
        return {int(r[0]): tuple(json.loads(r[1])) for r in rows}

    # --- decisions (App Home) --------------------------------------------------------------------------

    def decide(self, proposal_id: str, kind: str, user: str, detail: dict[str, Any], now: float) -> None:
        with self.state.transaction() as db:
            db.execute(
                "INSERT INTO decisions(at, proposal_id, kind, user, detail) VALUES (?,?,?,?,?)",
                (now, proposal_id, kind, user, json.dumps(detail)),
            )

    def decisions(self, limit: int = 10, since: float = 0.0) -> list[dict[str, Any]]:
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT at, proposal_id, kind, user, detail FROM decisions WHERE at >= ? ORDER BY seq DESC LIMIT ?",
                (since, limit),
            ).fetchall()
        return [
            {"at": r[0], "proposal_id": r[1], "kind": r[2], "user": r[3], "detail": json.loads(r[4])}
            for r in rows
        ]

    # --- Slack message locations -----------------------------------------------------------------------

    def save_message(self, proposal_id: str, channel: str, ts: str) -> None:
        with self.state.transaction() as db:
            db.execute(
                "INSERT INTO messages(proposal_id, channel, ts) VALUES (?,?,?) "
                "ON CONFLICT(proposal_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts",
                (proposal_id, channel, ts),
            )

    def message_for(self, proposal_id: str) -> MessageRef | None:
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT proposal_id, channel, ts FROM messages WHERE proposal_id = ?", (proposal_id,)
            ).fetchone()
        return MessageRef(*row) if row else None

    def proposal_for_thread(self, channel: str, thread_ts: str) -> str | None:
        with self.state.transaction() as db:
            row = db.execute(
                "SELECT proposal_id FROM messages WHERE channel = ? AND ts = ?", (channel, thread_ts)
            ).fetchone()
        return row[0] if row else None

    # --- escalations: decisions and mutes (issue 12) --------------------------------------------------

    def decisions_for(self, proposal_id: str) -> list[dict[str, Any]]:
        """Every decision on one proposal, oldest first (an escalation card shows them as status lines)."""
        with self.state.transaction() as db:
            rows = db.execute(
                "SELECT at, proposal_id, kind, user, detail FROM decisions WHERE proposal_id = ? ORDER BY seq",
                (proposal_id,),
            ).fetchall()
        return [
            {"at": r[0], "proposal_id": r[1], "kind": r[2], "user": r[3], "detail": json.loads(r[4])}
            for r in rows
        ]

    def mute(self, proposal_id: str, pairs: Sequence[tuple[str, str]], until: float, user: str) -> None:
        """Mute each (rule id, host) pair until ``until``; a later mute of the same pair replaces it."""
        with self.state.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO mutes(rule_id, host, until, proposal_id, by_user) VALUES (?,?,?,?,?)",
                [(rule, host, until, proposal_id, user) for rule, host in pairs],
            )

    def is_muted(self, rule_ids: Sequence[str], hosts: Sequence[str], now: float) -> bool:
        """True when every (rule, host) pair of a group is muted at ``now`` (a group with none is not)."""
        pairs = {(r, h) for r in rule_ids for h in hosts}
        if not pairs:
            return False
        with self.state.transaction() as db:
            rows = db.execute("SELECT rule_id, host FROM mutes WHERE until > ?", (now,)).fetchall()
        return pairs <= {(r[0], r[1]) for r in rows}

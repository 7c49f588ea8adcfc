"""Versioned schema migrations of the state database, for SQLite and PostgreSQL.

Each migration is written once in SQLite's dialect and never edited after it shipped: a change to the schema
is a new migration at the end. PostgreSQL gets the same text through :func:`postgres_ddl` (wider integers,
double-precision times, an identity column, quoted reserved words). ``schema_migrations`` records what was
applied; :func:`migrate` applies the missing ones in one transaction each, and refuses a database whose
newest migration is unknown to this code (a newer release wrote it: run that release, or upgrade).

Migration 1 is the schema every release before migrations created with ``CREATE TABLE IF NOT EXISTS``, so an
existing ``state.db`` is adopted as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import StateError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str  # SQLite dialect; statements separated by ";"


_BASE = """
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
CREATE TABLE IF NOT EXISTS outcomes (
    fix_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    pr_url TEXT,
    reason TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS effects (
    effect_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    scope TEXT NOT NULL,
    address TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (effect_id, owner)
);
CREATE INDEX IF NOT EXISTS outcomes_unindexed ON outcomes(at) WHERE indexed = 0;
CREATE INDEX IF NOT EXISTS effects_owner ON effects(owner);
CREATE INDEX IF NOT EXISTS effects_address ON effects(address) WHERE address IS NOT NULL;
CREATE TABLE IF NOT EXISTS publications (
    proposal_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    branch TEXT NOT NULL,
    commit_sha TEXT NOT NULL DEFAULT '',
    pr_number INTEGER,
    pr_url TEXT,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (proposal_id, revision)
);
CREATE INDEX IF NOT EXISTS publications_status ON publications(status);
CREATE TABLE IF NOT EXISTS blocks (
    file TEXT NOT NULL,
    key TEXT NOT NULL,
    entry TEXT NOT NULL,
    proposal_id TEXT NOT NULL,
    pr_number INTEGER,
    added_at REAL NOT NULL,
    expires_at REAL,
    permanent INTEGER NOT NULL DEFAULT 0,
    removal_id TEXT,
    PRIMARY KEY (file, key, entry)
);
CREATE INDEX IF NOT EXISTS blocks_expiry ON blocks(expires_at) WHERE permanent = 0 AND removal_id IS NULL;
CREATE INDEX IF NOT EXISTS blocks_proposal ON blocks(proposal_id);
CREATE TABLE IF NOT EXISTS approvals (
    proposal_id TEXT NOT NULL,
    revision_hash TEXT NOT NULL,
    user TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (proposal_id, revision_hash, user)
);
CREATE TABLE IF NOT EXISTS messages (
    proposal_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_thread ON messages(channel, ts);
CREATE TABLE IF NOT EXISTS outbox (
    proposal_id TEXT NOT NULL,
    revision_hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    approvers TEXT NOT NULL,
    approved_at REAL NOT NULL,
    thread_url TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (proposal_id, revision_hash)
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state);
CREATE TABLE IF NOT EXISTS mutes (
    rule_id TEXT NOT NULL,
    host TEXT NOT NULL,
    until REAL NOT NULL,
    proposal_id TEXT NOT NULL,
    by_user TEXT NOT NULL,
    PRIMARY KEY (rule_id, host)
);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    proposal_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    user TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    proposal_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    operations TEXT NOT NULL,
    kind TEXT NOT NULL,
    by_user TEXT NOT NULL,
    note TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (proposal_id, revision)
);
CREATE TABLE IF NOT EXISTS held_clusters (
    proposal_id TEXT PRIMARY KEY,
    cluster TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_clusters_cluster ON held_clusters(cluster);
CREATE TABLE IF NOT EXISTS inventory_problems (
    cluster TEXT PRIMARY KEY,
    server TEXT NOT NULL,
    path TEXT NOT NULL,
    reason TEXT NOT NULL,
    severity INTEGER NOT NULL,
    channel TEXT,
    ts TEXT,
    posted_count INTEGER NOT NULL DEFAULT 0
)
"""

# Scale-out (issue 17): the leader lease, Slack delivery keys, the outbox's publishing claim and the audit
# chain in the database (the JSON-lines file stays the single-replica default).
_SCALE_OUT = """
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE deliveries (
    key TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE INDEX deliveries_at ON deliveries(at);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until REAL;
CREATE TABLE audit_chain (
    seq INTEGER PRIMARY KEY,
    line TEXT NOT NULL
)
"""

# Issue 15 (on main while migrations were written): the indexer's watermarks and post-merge verification.
# IF NOT EXISTS: a state.db written by that release before migrations already has them.
_VERIFICATION = """
CREATE TABLE IF NOT EXISTS watermarks (
    source TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verifications (
    proposal_id TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    merge_commit TEXT NOT NULL,
    app TEXT NOT NULL DEFAULT '',
    attacker TEXT,
    merged_at REAL NOT NULL,
    deployed_at REAL,
    alerts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verifications_phase ON verifications(phase);
CREATE INDEX IF NOT EXISTS verifications_attacker ON verifications(attacker) WHERE attacker IS NOT NULL
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "base schema", _BASE),
    Migration(2, "scale-out: leader lease, delivery keys, publishing claims, audit chain", _SCALE_OUT),
    Migration(3, "indexer watermarks, post-merge verification", _VERIFICATION),
)
LATEST = MIGRATIONS[-1].version

TRACKING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at REAL NOT NULL)"
)

_PG_TYPES = (
    (
        re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),  # inodes, byte offsets: beyond 32 bits
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # PostgreSQL's REAL is 4 bytes: times need 8
    (re.compile(r'(?<!")\buser\b(?!")'), '"user"'),
    (re.compile(r'(?<!")\boffset\b(?!")'), '"offset"'),
)


def statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def postgres_ddl(sql: str) -> str:
    """A migration's SQLite text in PostgreSQL's dialect."""
    for pattern, replacement in _PG_TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


class SchemaTooNewError(StateError):
    """The database was migrated by a newer release than this one."""


def too_new(found: int) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"the state database is at schema version {found}, newer than this release knows ({LATEST}): "
        "run the release that migrated it (or a newer one); nothing was changed"
    )

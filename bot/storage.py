"""Opening the bot's storage from settings: the state store and the audit log, SQLite + file or PostgreSQL.

Without ``SECOPS_DATABASE_URL`` (the default, one replica): ``state.db`` and ``audit.jsonl`` in the data
directory. With it: every replica shares the PostgreSQL database, and the audit chain lives there too.
"""

from __future__ import annotations

from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.database import open_database
from bot.disk import Disk
from bot.settings import Settings
from bot.state import StateStore


def open_state(settings: Settings, *, disk: Disk | None = None, now: float = 0.0) -> StateStore:
    """The state store the settings name, migrated to this release's schema."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    database = open_database(
        path=settings.state_path, url=url, disk=disk, pool_size=settings.database_pool_size
    )
    return StateStore(settings.state_path if url is None else None, database=database, now=now)


def open_audit(settings: Settings, state: StateStore, clock: Clock, *, disk: Disk | None = None) -> AuditLog:
    """The audit log: the JSON-lines file, or the chain in the shared database."""
    if settings.database_url is not None:
        from bot.audit_db import DatabaseAuditLog

        return DatabaseAuditLog(state, clock)
    return AuditLog(settings.audit_path, clock, disk=disk)


def replica_name(settings: Settings) -> str:
    """This replica's name in the leader lease and publishing claims."""
    if settings.replica_id:
        return settings.replica_id
    if settings.database_url is None:
        return "local"  # one replica: a restart is the same replica and leads at once
    import socket

    return socket.gethostname()

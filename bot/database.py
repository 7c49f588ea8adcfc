"""The state database behind :class:`bot.state.StateStore`: SQLite (default, embedded) or PostgreSQL (shared).

Both backends offer the same two things to the stores:

- ``transaction()``: a context manager yielding a connection (``execute``/``executemany`` with ``?``
  placeholders, cursors with ``fetchone``/``fetchall``/``rowcount``). Writers are serialised: SQLite's
  ``BEGIN IMMEDIATE``; on PostgreSQL a transaction-scoped advisory lock taken first, so every
  check-then-write of the stores (the approval claim, the audit chain's next seq, the leader lease) keeps
  the meaning it has on SQLite, across replicas. A transaction-scoped lock also works behind a pooler in
  transaction mode, where session locks do not. A transaction opened inside another is a savepoint.
- ``read()``: a connection for reads outside a transaction (inside one: that transaction's).

The stores keep writing SQLite's SQL; :func:`postgres_sql` rewrites the few differences (placeholders,
``INSERT OR IGNORE/REPLACE``, ``json_extract``, two-argument ``max``, reserved column names). Schema changes
are versioned migrations (:mod:`bot.migrations`), applied when a database is opened.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.core.errors import StateError, StateStorageError
from bot.disk import Disk
from bot.migrations import LATEST, MIGRATIONS, TRACKING, postgres_ddl, statements, too_new

#: the advisory lock every PostgreSQL write transaction takes first (one writer at a time, like SQLite)
STATE_LOCK = 0x5EC0_B07
#: primary keys of the tables written with INSERT OR REPLACE (PostgreSQL needs the conflict target)
_REPLACE_KEYS = {"mutes": ("rule_id", "host"), "revisions": ("proposal_id", "revision")}

#: SQLite's words for a full disk or a file it may not write (sqlite3.OperationalError text)
_STORAGE_MESSAGES = (
    "database or disk is full",
    "disk I/O error",
    "attempt to write a readonly database",
    "unable to open database file",
)


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    dialect: str  # "sqlite" | "postgres"
    name: str  # where it is, for messages (a URL without its password)

    def transaction(self) -> Any: ...

    def read(self) -> Any: ...

    def close(self) -> None: ...


def _nearly_full(directory: Path) -> bool:
    try:
        fs = os.statvfs(directory)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < 1024 * 1024


def schema_version(db: Connection) -> int:
    """The newest migration applied (0: none, a database made before migrations existed counts as 0)."""
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(database: Database, now: float) -> list[int]:
    """Apply the missing migrations in order (one transaction each); returns the versions applied.

    Raises :class:`bot.migrations.SchemaTooNewError` when the database is newer than this code.
    """
    applied: list[int] = []
    with database.transaction() as db:
        db.execute(TRACKING)
        found = schema_version(db)
    if found > LATEST:
        raise too_new(found)
    for migration in MIGRATIONS:
        with database.transaction() as db:
            if schema_version(db) >= migration.version:
                continue  # another replica applied it meanwhile
            sql = postgres_ddl(migration.sql) if database.dialect == "postgres" else migration.sql
            for statement in statements(sql):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)",
                (migration.version, migration.name, now),
            )
            applied.append(migration.version)
    return applied


def check_schema(database: Database) -> int:
    """The schema version, after refusing a database newer than this code."""
    with database.transaction() as db:
        db.execute(TRACKING)
        found = schema_version(db)
    if found > LATEST:
        raise too_new(found)
    return found


# --- SQLite -------------------------------------------------------------------------------------------


class SqliteDatabase:
    """One connection, WAL mode; a thread lock around it (inner transactions are savepoints)."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, disk: Disk | None = None) -> None:
        self.path = path
        self.name = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = str(exc.strerror or exc)
            raise StateStorageError(
                f"cannot create the data directory {path.parent}: {reason}",
                path=str(path.parent),
                reason=reason,
            ) from None
        try:
            self._db = (disk or Disk()).connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise self.storage_error(exc) or StateError(
                f"cannot open the state store {path}: {exc}"
            ) from None
        self._lock = threading.RLock()
        self._depth = 0  # open transactions of the thread holding the lock (inner ones are savepoints)

    def close(self) -> None:
        self._db.close()

    def storage_error(self, exc: sqlite3.Error) -> StateStorageError | None:
        """A full disk or unwritable file as a clean error naming the database (None: some other failure)."""
        reason = str(exc)
        if not any(reason.startswith(m) for m in _STORAGE_MESSAGES):
            return None
        if reason.startswith("disk I/O error") and _nearly_full(self.path.parent):
            reason = f"{os.strerror(errno.ENOSPC)} (SQLite: {reason})"  # a full WAL write reads as I/O error
        return StateStorageError(
            f"cannot write the state store {self.path}: {reason}", path=str(self.path), reason=reason
        )

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction: concurrent writers queue instead of racing.

        A full disk (SQLite: "database or disk is full") raises :class:`StateStorageError`; nothing of the
        transaction is kept.
        """
        with self._lock:
            if self._depth:
                try:
                    yield from self._savepoint()
                except sqlite3.Error as exc:
                    raise self.storage_error(exc) or exc from None
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield self._db
                except BaseException:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back already (a full disk)
                        self._db.execute("ROLLBACK")
                    raise
                finally:
                    self._depth -= 1
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                error = self.storage_error(exc)
                if error is None:
                    raise
                raise error from None

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        """A transaction inside another (a scan's chunk of groups): a savepoint, undone alone on error."""
        self._db.execute("SAVEPOINT nested")
        self._depth += 1
        try:
            yield self._db
        except BaseException:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK TO nested")
                self._db.execute("RELEASE nested")
            raise
        finally:
            self._depth -= 1
        self._db.execute("RELEASE nested")


# --- PostgreSQL -----------------------------------------------------------------------------------------

_JSON_EXTRACT = re.compile(r"json_extract\(([\w.]+), '\$\.([\w.]+)'\)")
_MAX2 = re.compile(r"\bmax\(([\w.]+), ([\w.]+)\)")
_INSERT_COLUMNS = re.compile(r"INSERT OR REPLACE INTO (\w+)\s*\(([^)]*)\)")


@functools.lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """SQLite's SQL (as the stores write it) in PostgreSQL's dialect."""
    out = sql
    if "INSERT OR IGNORE INTO" in out:
        out = out.replace("INSERT OR IGNORE INTO", "INSERT INTO") + " ON CONFLICT DO NOTHING"
    match = _INSERT_COLUMNS.search(out)
    if match:
        table, columns = match.group(1), [c.strip() for c in match.group(2).split(",")]
        keys = _REPLACE_KEYS[table]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        out = out.replace("INSERT OR REPLACE INTO", "INSERT INTO")
        out += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    out = _JSON_EXTRACT.sub(lambda m: f"({m.group(1)}::jsonb #>> '{{{m.group(2).replace('.', ',')}}}')", out)
    out = _MAX2.sub(r"GREATEST(\1, \2)", out)
    out = re.sub(
        r'(?<!")\buser\b(?!")', '"user"', out
    )  # reserved in PostgreSQL (a column of approvals, decisions)
    out = re.sub(r'(?<!")\boffset\b(?!")', '"offset"', out)  # the column; the keyword is written OFFSET
    return out.replace("%", "%%").replace("?", "%s")


class _PgConnection:
    """A psycopg connection that takes SQLite's SQL (see :func:`postgres_sql`)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(postgres_sql(sql), tuple(args))
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cur = self.conn.cursor()
        rows = [tuple(r) for r in rows]
        if rows:
            cur.executemany(postgres_sql(sql), rows)
        return cur


def redacted_url(url: str) -> str:
    """A database URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))


class PostgresDatabase:
    """A psycopg 3 connection pool; every network step has a timeout (connect, pool wait, statements)."""

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
    ) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        self.name = redacted_url(url)
        self._local = threading.local()
        try:
            self._pool = ConnectionPool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout * 2,
                kwargs={
                    "autocommit": True,
                    "connect_timeout": max(1, int(connect_timeout)),
                    # a replica paused (SIGSTOP, a frozen VM) inside a write transaction would hold the
                    # writer lock, and stall every replica, until it woke: the server ends that session
                    "options": f"-c statement_timeout={int(statement_timeout * 1000)} "
                    f"-c idle_in_transaction_session_timeout={int(statement_timeout * 1000)}",
                },
                open=False,
                name="secops-state",
            )
            self._pool.open(wait=True, timeout=connect_timeout * 2)
        except Exception as exc:  # psycopg_pool.PoolTimeout, psycopg.OperationalError
            raise self._unavailable(exc) from None

    def close(self) -> None:
        self._pool.close()

    def _unavailable(self, exc: BaseException) -> StateStorageError:
        reason = _first_line(exc)
        return StateStorageError(
            f"cannot reach the state database {self.name}: {reason}", path=self.name, reason=reason
        )

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None
        except Exception as exc:
            if exc.__class__.__name__ == "PoolTimeout":
                raise self._unavailable(exc) from None
            raise

    @contextmanager
    def read(self) -> Iterator[_PgConnection]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield _PgConnection(current)
            return
        with self._connection() as conn:
            yield _PgConnection(conn)

    @contextmanager
    def transaction(self) -> Iterator[_PgConnection]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            with current.transaction():  # a savepoint, undone alone on error
                yield _PgConnection(current)
            return
        with self._connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (STATE_LOCK,))
                    yield _PgConnection(conn)
            finally:
                self._local.conn = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def open_database(
    *, path: Path, url: str | None, disk: Disk | None = None, pool_size: int = 8
) -> SqliteDatabase | PostgresDatabase:
    """PostgreSQL when ``url`` is set, else SQLite at ``path``."""
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise StateError(
                "SECOPS_DATABASE_URL must be a postgresql:// URL (unset it to use SQLite in the data directory)"
            )
        return PostgresDatabase(url, max_size=pool_size)
    return SqliteDatabase(path, disk=disk)


#: errors of the database drivers that mean "the state store cannot be used right now"
def driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error]
    with suppress(ImportError):
        import psycopg

        errors.append(psycopg.Error)
    return tuple(errors)

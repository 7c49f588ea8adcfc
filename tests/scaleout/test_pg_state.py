"""The state store on a real PostgreSQL: the same behaviour as on SQLite, migrations, a clear refusal."""

from __future__ import annotations

import pytest

from bot.database import PostgresDatabase, SqliteDatabase, migrate, postgres_sql
from bot.migrations import LATEST, SchemaTooNewError
from bot.state import Offset, StateStore

pytestmark = pytest.mark.integration


def test_offsets_round_trip_on_postgres(pg_url):
    state = StateStore(database=PostgresDatabase(pg_url))
    state.set_offset("alerts", Offset(inode=2**40, offset=2**33, line=7), now=1764633600.25)
    assert state.get_offset("alerts") == Offset(2**40, 2**33, 7)
    state.close()


def test_migrations_apply_once_on_postgres(pg_url):
    db = PostgresDatabase(pg_url)
    StateStore(database=db)
    assert migrate(db, 0.0) == []
    with db.read() as conn:
        versions = [
            r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        ]
    assert versions == list(range(1, LATEST + 1))
    db.close()


def test_newer_database_is_refused_with_its_version(pg_url):
    db = PostgresDatabase(pg_url)
    StateStore(database=db)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, 'future', 0)", (LATEST + 5,)
        )
    with pytest.raises(
        SchemaTooNewError, match=f"schema version {LATEST + 5}, newer than this release knows"
    ):
        StateStore(database=db)
    db.close()


def test_newer_sqlite_database_is_refused(tmp_path):
    StateStore(tmp_path / "state.db").close()
    db = SqliteDatabase(tmp_path / "state.db")
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, 'future', 0)", (99,)
        )
    with pytest.raises(SchemaTooNewError, match="schema version 99"):
        StateStore(tmp_path / "state.db")


def test_insert_or_replace_gets_its_conflict_target():
    sql = postgres_sql("INSERT OR REPLACE INTO mutes(rule_id, host, until) VALUES (?,?,?)")
    assert sql == (
        "INSERT INTO mutes(rule_id, host, until) VALUES (%s,%s,%s) "
        "ON CONFLICT (rule_id, host) DO UPDATE SET until = excluded.until"
    )


def test_json_extract_becomes_a_jsonb_path():
    assert postgres_sql("SELECT json_extract(p.payload, '$.group.max_level')") == (
        "SELECT (p.payload::jsonb #>> '{group,max_level}')"
    )


def test_publication_update_keeps_stored_fields_on_postgres(pg_url):
    state = StateStore(database=PostgresDatabase(pg_url))
    state.record_publication("p-1", 1, branch="secops/p-1", status="pushed", now=1.0, commit="abc")
    state.record_publication("p-1", 1, branch="secops/p-1", status="open", now=2.0, pr_number=7, pr_url="u")
    pub = state.get_publication("p-1", 1)
    assert pub is not None and (pub.commit, pub.pr_number, pub.status) == ("abc", 7, "open")
    state.close()


def _cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    import io

    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env=env)
    return code, out.getvalue(), err.getvalue()


def test_migrate_command_applies_then_reports_up_to_date(tmp_path):
    where = tmp_path / "state.db"
    assert _cli("--data-dir", str(tmp_path), "migrate", env={}) == (
        0,
        f"{where}: applied migration(s) 1, 2, 3; schema is now at version 3.\n",
        "",
    )
    assert (
        _cli("--data-dir", str(tmp_path), "migrate", env={})[1]
        == f"{where}: schema is up to date (version 3).\n"
    )


def test_audit_export_writes_a_file_that_audit_verify_accepts(pg_url, tmp_path):
    from bot.audit_db import DatabaseAuditLog

    state = StateStore(database=PostgresDatabase(pg_url))
    DatabaseAuditLog(state, _Clock()).append("scan", {"source": "alerts"})
    state.close()
    env = {"SECOPS_DATABASE_URL": pg_url}
    target = tmp_path / "export" / "audit.jsonl"
    target.parent.mkdir()
    assert (
        _cli("audit", "export", "--out", str(target), env=env)[1]
        == f"exported 1 audit record(s) to {target}\n"
    )
    code, out, _ = _cli("--data-dir", str(target.parent), "audit", "verify", env={})
    assert code == 0 and out.startswith("audit log OK: 1 record(s)")
    assert _cli("audit", "verify", env=env)[1].startswith("audit log OK: 1 record(s)")


class _Clock:
    def now(self) -> float:
        return 1764633600.0

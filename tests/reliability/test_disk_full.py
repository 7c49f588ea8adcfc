"""A full disk: every command exits 2 with one line naming the path; once there is room, the next scan
succeeds, nothing decided is lost and ``audit verify`` passes.

Two ways to fill the disk: a fake (:class:`FillingDisk`, works everywhere: the audit log's writes fail with
ENOSPC after so many bytes, SQLite cannot grow its database) and a real, small tmpfs (needs root and
``mount``; skipped with the reason otherwise).
"""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FixedClock
from bot.disk import Disk
from tests.conftest import FIXTURES
from tests.disk_fakes import FullDisk

ALERTS = FIXTURES / "alerts" / "demo-alerts.json"


class FillingDisk(FullDisk):
    """A disk that fills up when told: audit writes get ``room`` more bytes, SQLite databases stop growing."""

    def __init__(self) -> None:
        super().__init__(None)
        self.db_full = False
        self.connections: list[sqlite3.Connection] = []

    def fill(self, *, room: int = 0, db: bool = True) -> None:
        self.room, self.db_full = room, db
        for conn in self.connections:
            self._limit(conn)

    def free(self) -> None:
        self.room, self.db_full = None, False
        for conn in self.connections:
            self._limit(conn)

    def write_file(self, path: Path, data: bytes) -> None:
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super().write_file(path, data)

    def connect(self, path: Path) -> sqlite3.Connection:
        conn = super().connect(path)
        self.connections.append(conn)
        self._limit(conn)
        return conn

    def _limit(self, conn: sqlite3.Connection) -> None:
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0] if self.db_full else 2**30
            conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        except sqlite3.ProgrammingError:
            pass  # a closed connection


def cli(data: Path, *argv: str, disk: Disk | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--data-dir", str(data), *argv], out=out, err=err, env={}, clock=FixedClock(1_795_000_000), disk=disk
    )
    return code, out.getvalue(), err.getvalue()


def scan(data: Path, alerts: Path, gitops: Path, disk: Disk | None = None) -> tuple[int, str, str]:
    return cli(
        data, "scan", "--alerts", str(alerts), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        "--json", disk=disk,
    )  # fmt: skip


def halves(tmp_path: Path) -> tuple[Path, list[str]]:
    """An alerts file holding the first half of the demo alerts, and the rest to append later."""
    lines = ALERTS.read_text().splitlines(keepends=True)
    alerts = tmp_path / "alerts.json"
    alerts.write_text("".join(lines[: len(lines) // 2]))
    return alerts, lines[len(lines) // 2 :]


def nothing_lost(data: Path) -> None:
    """Every stored proposal has its audit record, and the chain verifies."""
    db = sqlite3.connect(data / "state.db")
    stored = {row[0] for row in db.execute("SELECT id FROM proposals")}
    db.close()
    records = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    recorded = {r["proposal"] for r in records if r["event"] == "proposal"}
    assert stored and stored <= recorded
    code, out, err = cli(data, "audit", "verify")
    assert code == 0 and out.startswith("audit log OK: "), err


def test_scan_exits_2_naming_the_audit_log_then_recovers_when_freed(gitops, tmp_path):
    disk, data = FillingDisk(), tmp_path / "data"
    alerts, rest = halves(tmp_path)
    assert scan(data, alerts, gitops, disk)[0] == 0
    with alerts.open("a") as f:
        f.writelines(rest)
    disk.fill(room=40, db=False)  # the batch is torn after 40 bytes
    code, out, err = scan(data, alerts, gitops, disk)
    assert (code, out) == (2, "")
    assert err == f"error: cannot write the audit log {data / 'audit.jsonl'}: No space left on device\n"
    disk.free()
    assert scan(data, alerts, gitops, disk)[0] == 0
    nothing_lost(data)


def test_scan_exits_2_naming_the_state_store_then_recovers_when_freed(gitops, tmp_path):
    disk, data = FillingDisk(), tmp_path / "data"
    alerts, rest = halves(tmp_path)
    assert scan(data, alerts, gitops, disk)[0] == 0
    with alerts.open("a") as f:
        f.writelines(rest)
    disk.fill(room=0)
    code, _, err = scan(data, alerts, gitops, disk)
    assert code == 2
    assert err == f"error: cannot write the state store {data / 'state.db'}: database or disk is full\n"
    disk.free()
    assert scan(data, alerts, gitops, disk)[0] == 0
    nothing_lost(data)


def test_records_of_a_scan_whose_audit_write_failed_are_written_by_the_next_scan(gitops, tmp_path):
    disk, data = FillingDisk(), tmp_path / "data"
    disk.fill(room=0, db=False)
    assert scan(data, ALERTS, gitops, disk)[0] == 2  # the proposals are stored, their records are not
    disk.free()
    assert scan(data, ALERTS, gitops, disk)[0] == 0
    records = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    scans = [r for r in records if r["event"] == "scan"]
    assert len(scans) == 1 and len(scans[0]["recorded_late"]) == 9 and scans[0]["new_proposals"] == []
    nothing_lost(data)


def test_data_dir_that_cannot_be_created_exits_2_naming_it(gitops, tmp_path):
    (tmp_path / "file").write_text("")
    data = tmp_path / "file" / "data"
    code, _, err = scan(data, ALERTS, gitops)
    assert code == 2 and err == f"error: cannot create the data directory {data}: Not a directory\n"


def test_audit_verify_on_a_full_disk_reports_the_torn_line_it_cannot_move(gitops, tmp_path):
    disk, data = FillingDisk(), tmp_path / "data"
    assert scan(data, ALERTS, gitops, disk)[0] == 0
    (data / "audit.jsonl").write_bytes((data / "audit.jsonl").read_bytes()[:-10])  # a torn last line
    disk.fill(room=0)
    code, _, err = cli(data, "audit", "verify", disk=disk)  # cannot heal: verifies as it is
    assert code == 1 and "audit log BROKEN" in err


# --- a real full file system -------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test (root only)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=10, check=False)


def _fill(path: Path) -> None:
    """Write zeros until the file system is full."""
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_real_full_disk_exits_2_then_the_next_scan_succeeds(gitops, tmp_path, small_fs):
    data = small_fs / "data"
    alerts, rest = halves(tmp_path)
    assert scan(data, alerts, gitops)[0] == 0
    with alerts.open("a") as f:
        f.writelines(rest)
    _fill(small_fs / "filler")
    code, out, err = scan(data, alerts, gitops)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("error: cannot write the ") and str(data) in err
    assert "No space left on device" in err or "database or disk is full" in err
    (small_fs / "filler").unlink()
    assert scan(data, alerts, gitops)[0] == 0
    nothing_lost(data)

"""The audit log file: torn last lines heal, batches are one write, the head still catches truncation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.errors import AuditStorageError, StorageError
from bot.disk import Disk
from tests.disk_fakes import FullDisk

T0 = 1_795_000_000  # 2026-11-18T11:06:40Z


class CountingDisk(Disk):
    """Counts the writes and syncs the log makes (what a batch promises: one of each)."""

    def __init__(self) -> None:
        self.writes = 0
        self.fsyncs = 0

    def write(self, fd: int, data: bytes) -> int:
        self.writes += 1
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        self.fsyncs += 1
        super().fsync(fd)


def _log(tmp_path: Path, disk: Disk | None = None) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl", FixedClock(T0), disk=disk)


def _records(log: AuditLog) -> list[dict]:
    return [json.loads(line) for line in log.path.read_text().splitlines()]


def _verified(log: AuditLog) -> tuple[bool, int, int | None]:
    result, expected = log.verify()
    return result.ok, result.head_seq, expected


def test_append_returns_the_line_hash_and_verifies(tmp_path):
    log = _log(tmp_path)
    digest = log.append("e", {"i": 1})
    line = log.path.read_text().splitlines()[-1]
    assert digest == hashlib.sha256(line.encode()).hexdigest()
    assert _verified(log) == (True, 1, 1)


def test_torn_last_record_recovers_at_every_byte_offset(tmp_path):
    _log(tmp_path).append("e", {"i": 1})
    size = (tmp_path / "audit.jsonl").stat().st_size
    line_len = size  # the second record has the same length (same fields, same widths)
    for cut in range(1, line_len):
        case = tmp_path / f"cut{cut}"
        case.mkdir()
        good = _log(case)
        good.append("e", {"i": 1})
        with pytest.raises(AuditStorageError):
            _log(case, FullDisk(room=cut)).append("e", {"i": 2})
        log = _log(case)
        log.append("e", {"i": 3})
        records = _records(log)
        assert [r["event"] for r in records] == ["e", "audit_recovered", "e"], cut
        assert records[1]["bytes"] == cut
        assert _verified(log) == (True, 3, 3)


def test_recovered_record_names_the_side_file_and_hashes_the_torn_bytes(tmp_path):
    log = _log(tmp_path)
    log.append("e", {"i": 1})
    with log.path.open("ab") as f:
        f.write(b'{"seq":2,"ts":"2026')
    log.append("e", {"i": 2})
    recovered = _records(log)[1]
    side = tmp_path / "audit.jsonl.torn-20261118T110640Z"
    assert recovered["side_file"] == side.name and side.read_bytes() == b'{"seq":2,"ts":"2026'
    assert recovered["sha256"] == hashlib.sha256(side.read_bytes()).hexdigest()


def test_whole_last_line_that_is_no_record_is_moved_aside(tmp_path):
    log = _log(tmp_path)
    log.append("e", {"i": 1})
    with log.path.open("a") as f:
        f.write("garbage\n")
    assert _verified(log) == (True, 2, 1)
    assert _records(log)[1]["bytes"] == len("garbage\n")


def test_torn_first_record_restarts_the_chain(tmp_path):
    (tmp_path / "audit.jsonl").write_bytes(b'{"seq":1,"t')
    log = _log(tmp_path)
    log.append("e", {"i": 1})
    assert [r["seq"] for r in _records(log)] == [1, 2] and _verified(log)[0]


def test_edited_last_record_is_not_healed_but_reported(tmp_path):
    log = _log(tmp_path)
    log.append("e", {"i": 1})
    log.append("e", {"i": 2})
    log.path.write_text(log.path.read_text().replace('"i":2', '"i":9'))
    result, _ = log.verify()
    assert (result.ok, result.bad_line, result.reason) == (False, 2, "line was changed")


def test_batch_writes_every_record_in_one_write_and_one_fsync(tmp_path):
    disk = CountingDisk()
    log = _log(tmp_path, disk)
    with log.batch():
        for i in range(50):
            log.append("e", {"i": i})
        with log.batch():  # nested: joins the outer batch
            log.append("inner", {})
        assert not log.path.exists() or log.path.read_text() == ""
    assert (disk.writes, disk.fsyncs) == (1, 1)
    assert len(_records(log)) == 51 and _verified(log) == (True, 51, 51)


def test_batch_that_raises_still_writes_what_was_decided(tmp_path):
    log = _log(tmp_path)
    with pytest.raises(RuntimeError), log.batch():
        log.append("decided", {})
        raise RuntimeError("boom")
    assert [r["event"] for r in _records(log)] == ["decided"]


def test_failed_write_is_retried_by_the_next_write_of_the_process(tmp_path):
    disk = FullDisk(room=0)
    log = _log(tmp_path, disk)
    with pytest.raises(StorageError) as info:
        log.append("first", {})
    assert str(info.value) == f"cannot write the audit log {log.path}: No space left on device"
    disk.room = None
    log.append("second", {})
    assert [r["event"] for r in _records(log)] == ["first", "second"]


def test_head_catches_records_removed_from_the_end(tmp_path):
    log = _log(tmp_path)
    for i in range(4):
        log.append("e", {"i": i})
    lines = log.path.read_text().splitlines(keepends=True)
    log.path.write_text("".join(lines[:2]))
    assert _verified(log) == (True, 2, 4)


def test_written_record_cut_short_heals_but_verify_reports_it(tmp_path):
    log = _log(tmp_path)
    for i in range(3):
        log.append("e", {"i": i})
    data = log.path.read_bytes()
    log.path.write_bytes(data[:-40])  # the third record, written and synced, loses its end
    log.append("e", {"i": 3})  # the bot keeps writing
    result, _ = log.verify()
    assert [r["event"] for r in _records(log)] == ["e", "e", "audit_recovered", "e"]
    assert (result.ok, result.bad_line) == (False, 3)
    assert result.reason == (
        "record(s) 3-3 had been written and were damaged (moved aside to audit.jsonl.torn-20261118T110640Z)"
    )


def test_torn_head_reads_as_unknown(tmp_path):
    log = _log(tmp_path)
    log.append("e", {"i": 1})
    head = json.loads(log.head_path.read_text())
    log.head_path.write_text(json.dumps({**head, "seq": 7}))
    assert log.expected_seq() is None


def test_reserved_field_is_refused_at_append_inside_a_batch(tmp_path):
    log = _log(tmp_path)
    with log.batch():
        with pytest.raises(ValueError, match="'seq' is reserved"):
            log.append("e", {"seq": 3})
        log.append("e", {"i": 1})
    assert len(_records(log)) == 1

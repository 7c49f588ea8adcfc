"""Bad alert lines never stop intake: mutated real alerts through the reader and the whole ``scan``.

About 2,000 fuzzed lines in ``make test``; 50,000 with ``SECOPS_RELIABILITY=full`` (``make reliability``).
Each run: zero exceptions, every line either a checked alert, a repeat, or counted as malformed with its
line number and reason, and the good alert written after all the bad lines is still proposed.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import orjson
import pytest

from bot.cli import main
from bot.clock import FixedClock
from tests.conftest import FIXTURES
from tests.reliability.fuzz_alerts import check_alert, write_fuzz_file
from tools.sources.wazuh import alert_from_document, read_alerts

FULL = os.environ.get("SECOPS_RELIABILITY") == "full"
LINES = 50_000 if FULL else 2_000
SEED = 20261201


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("fuzz") / "alerts.json"
    return write_fuzz_file(path, LINES, SEED, huge=3 if FULL else 1)


def test_reader_accounts_for_every_fuzzed_line(fuzzed):
    result = read_alerts(fuzzed.path)
    raw_lines = fuzzed.path.read_bytes().splitlines()
    blank = sum(1 for raw in raw_lines if not raw.strip())
    assert result.alert_count + result.duplicate_count + result.malformed_count + blank == len(raw_lines)
    assert [p for a in result.alerts for p in check_alert(a)] == []
    assert result.malformed_count > LINES // 4  # the fuzzer hits the boundary, not only the happy path
    for m in result.malformed:  # the reported ones name their own line, and why
        doc = _decoded(raw_lines[m.line - 1])
        assert doc is None or isinstance(alert_from_document(doc, m.line), str)
        assert m.reason
    assert result.alerts[-1].srcip == fuzzed.good_attacker


def test_each_fuzzed_line_alone_is_an_alert_or_a_reason(fuzzed):
    exceptions = []
    for n, raw in enumerate(fuzzed.path.read_bytes().splitlines(), start=1):
        doc = _decoded(raw)
        if doc is None:
            continue
        try:
            item = alert_from_document(doc, n)
        except Exception as exc:
            exceptions.append((n, repr(exc)[:80]))
            continue
        assert isinstance(item, str) or check_alert(item) == []
    assert exceptions == []


def test_scan_json_survives_fuzzed_lines_and_proposes_the_good_alert(fuzzed, gitops, tmp_path):
    code, out, err = _scan(fuzzed.path, gitops, tmp_path / "data", "--json")
    assert code == 0, err[-2000:]
    rows = [json.loads(line) for line in out.splitlines()]
    good = [r for r in rows if r["attacker"] == fuzzed.good_attacker]
    assert [r["action"] for r in good] == ["propose"]
    assert "skipped" in err and "malformed line(s)" in err and "Traceback" not in err


def test_scan_rich_output_survives_fuzzed_lines(fuzzed, gitops, tmp_path):
    code, out, err = _scan(fuzzed.path, gitops, tmp_path / "data")
    assert code == 0, err[-2000:]
    assert fuzzed.good_attacker in out


def test_next_scan_reads_past_the_bad_lines(fuzzed, gitops, tmp_path):
    data = tmp_path / "data"
    assert _scan(fuzzed.path, gitops, data, "--json")[0] == 0
    code, out, _ = _scan(fuzzed.path, gitops, data, "--json", since=None)
    assert (code, out) == (0, "")  # the watermark moved past them: nothing left to read


def _decoded(raw: bytes) -> object | None:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _scan(
    alerts: Path, gitops: Path, data: Path, *extra: str, since: str | None = "all"
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--data-dir", str(data), "scan", "--alerts", str(alerts), "--repo", str(gitops)]
    argv += ["--cmdb", str(FIXTURES / "cmdb.yaml"), *extra]
    if since:
        argv += ["--since", since]
    code = main(argv, out=out, err=err, env={}, clock=FixedClock(1_795_000_000))
    return code, out.getvalue(), err.getvalue()

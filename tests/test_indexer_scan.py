"""Scanning from the Wazuh indexer: page by page, the watermark stored with each page's proposals."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.cli import main
from bot.clock import FixedClock
from bot.core.errors import StateStorageError, StorageError
from bot.core.proposal import Proposal
from bot.pipeline import Scanner, Since
from bot.state import StateStore
from tests.conftest import FIXTURES
from tests.tools.opensearch_fake import FakeOpenSearch
from tools.sources.wazuh_indexer import IndexerConfig, IndexerReader

SQLI = json.loads(
    (FIXTURES / "wazuh-corpus" / "docs" / "doc-web-sqli-31103-docker-container-log-indexed.json").read_text()
)
T0 = 1_781_000_000.0
ATTACKERS = ["91.240.118.172", "45.155.205.233", "185.220.101.4", "193.32.162.10"]


def sqli(i: int, ts: float, srcip: str) -> dict:
    """The documentation's indexed SQL-injection alert (31103) on web-01 with another time, id and source."""
    doc = copy.deepcopy(SQLI)
    doc.pop("_id")
    doc["timestamp"] = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    doc["id"] = f"{int(ts)}.{i}"
    doc["agent"]["name"] = "web-01"
    doc["data"]["srcip"] = srcip
    return doc


def index_attackers(server: FakeOpenSearch, attackers=ATTACKERS) -> None:
    """Two alerts per attacker, attackers an hour apart (one session each); two documents a page below."""
    docs = []
    for a, ip in enumerate(attackers):
        for k in range(2):
            i = a * 2 + k
            docs.append((f"doc-{i}", sqli(i, T0 + a * 3600 + k, ip)))
    server.add("wazuh-alerts-4.x-2026.06.09", docs)


class FailingGate:
    """A dedup gate whose disk fills while it decides the group of one attacker."""

    def __init__(self, attacker: str) -> None:
        self.attacker = attacker

    def check(self, proposal: Proposal) -> Proposal:
        if proposal.group.attacker == self.attacker:
            raise StateStorageError("cannot write the state store: disk full", path="state.db", reason="full")
        return proposal


def scanner(gitops: Path, inventory, tmp_path: Path, dedup=None) -> Scanner:
    clock = FixedClock(T0 + 10 * 3600)
    return Scanner(
        inventory=inventory,
        repo_root=gitops,
        catalog=load_catalog(),
        state=StateStore(tmp_path / "state.db"),
        audit=AuditLog(tmp_path / "audit.jsonl", clock),
        clock=clock,
        dedup=dedup,
    )


@pytest.fixture
def server():
    with FakeOpenSearch() as s:
        yield s


def reader(server: FakeOpenSearch) -> IndexerReader:
    return IndexerReader(IndexerConfig(url=server.url, page_size=2))


def test_scan_indexer_proposes_one_block_per_attacker(server, gitops, inventory, tmp_path):
    index_attackers(server)
    report = scanner(gitops, inventory, tmp_path).scan_indexer(reader(server))
    assert (report.pages, report.alerts, report.groups) == (4, 8, 4)
    assert sorted(p.group.attacker for p in report.proposals) == sorted(ATTACKERS)
    assert {p.action for p in report.proposals} == {"propose"}


def test_second_scan_reads_nothing_new(server, gitops, inventory, tmp_path):
    index_attackers(server)
    s = scanner(gitops, inventory, tmp_path)
    s.scan_indexer(reader(server))
    again = s.scan_indexer(reader(server))
    assert (again.alerts, again.new_ids, again.repeats) == (0, set(), 2)  # the overlap window: last attacker


def test_restart_mid_page_neither_skips_nor_repeats(server, gitops, inventory, tmp_path):
    index_attackers(server)
    with pytest.raises(StorageError):
        scanner(gitops, inventory, tmp_path, FailingGate(ATTACKERS[2])).scan_indexer(reader(server))
    state = StateStore(tmp_path / "state.db")
    assert sorted(p.proposal.group.attacker for p in state.list()) == sorted(ATTACKERS[:2])
    state.close()
    resumed = scanner(gitops, inventory, tmp_path).scan_indexer(reader(server))
    stored = StateStore(tmp_path / "state.db").list()
    assert resumed.alerts == 4 and sorted(p.group.attacker for p in resumed.proposals) == sorted(
        ATTACKERS[2:]
    )
    assert sorted((p.proposal.group.attacker, p.proposal.group.alert_count) for p in stored) == sorted(
        (ip, 2) for ip in ATTACKERS
    )


def test_every_page_is_in_the_audit_log_with_its_watermark(server, gitops, inventory, tmp_path):
    index_attackers(server)
    scanner(gitops, inventory, tmp_path).scan_indexer(reader(server))
    scans = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    scans = [r for r in scans if r["event"] == "scan"]
    assert [r["alerts"] for r in scans] == [2, 2, 2, 2]
    assert scans[-1]["watermark"] == [int(T0 + 3 * 3600 + 1) * 1000, f"{int(T0 + 3 * 3600 + 1)}.7"]


def test_since_time_reads_from_that_time(server, gitops, inventory, tmp_path):
    index_attackers(server)
    report = scanner(gitops, inventory, tmp_path).scan_indexer(reader(server), Since("time", T0 + 2 * 3600))
    assert sorted(p.group.attacker for p in report.proposals) == sorted(ATTACKERS[2:])


def test_cli_scan_indexer_prints_the_summary(server, gitops, tmp_path):
    index_attackers(server, ATTACKERS[:1])
    out, err = io.StringIO(), io.StringIO()
    argv = [
        "--data-dir",
        str(tmp_path / "d"),
        "scan",
        "--indexer",
        server.url,
        "--index",
        "wazuh-alerts-4.x-*",
    ]
    code = main(
        [*argv, "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml")],
        out=out,
        err=err,
        env={},
        clock=FixedClock(T0 + 10 * 3600),
    )
    assert code == 0, err.getvalue()
    assert "2 alert(s) read, 1 group(s): 1 propose, 0 blocked, 0 escalate, 0 suppressed" in out.getvalue()


def test_cli_scan_indexer_auth_failure_is_one_clear_line(gitops, tmp_path):
    with FakeOpenSearch(users={"reader": "pw"}) as s:
        err = io.StringIO()
        code = main(
            [
                "--data-dir",
                str(tmp_path / "d"),
                "scan",
                "--indexer",
                s.url,
                "--repo",
                str(gitops),
                "--cmdb",
                str(FIXTURES / "cmdb.yaml"),
            ],
            out=io.StringIO(),
            err=err,
            env={"SECOPS_INDEXER_USERNAME": "reader", "SECOPS_INDEXER_PASSWORD": "nope"},
            clock=FixedClock(T0),
        )
    assert code == 2
    assert "refused (401): the credentials are wrong or missing" in err.getvalue()
    assert "nope" not in err.getvalue()


def test_cli_scan_without_alerts_or_indexer_names_both(tmp_path):
    err = io.StringIO()
    code = main(
        ["--data-dir", str(tmp_path), "scan"], out=io.StringIO(), err=err, env={}, clock=FixedClock(T0)
    )
    assert code == 2 and "or --indexer URL (or SECOPS_INDEXER_URL)" in err.getvalue()


def test_cli_scan_with_both_alerts_and_indexer_is_refused(tmp_path):
    err = io.StringIO()
    argv = ["--data-dir", str(tmp_path), "scan", "--alerts", "a.json", "--indexer", "http://127.0.0.1:9"]
    code = main(argv, out=io.StringIO(), err=err, env={}, clock=FixedClock(T0))
    assert code == 2 and "not both: they are the same alerts" in err.getvalue()

"""A newer scan with a better candidate: a new revision of the pending bump, never a second card."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.state import StateStore
from tests.test_cli import run
from tests.test_scan_trivy import CANDIDATE, CMDB, KIND


def candidate(tmp_path: Path, tag: str) -> Path:
    """The fixture candidate scan (no CVE) retagged: a clean scan of another coredns tag."""
    text = CANDIDATE.read_text().replace("v1.11.1", tag)
    path = tmp_path / f"coredns-{tag}.json"
    path.write_text(text)
    return path


def scan(gitops: Path, data: Path, *reports: Path) -> list[dict]:
    args = [a for r in reports for a in ("--trivy", str(r))]
    code, out, err = run("scan", *args, "--repo", str(gitops), "--cmdb", CMDB, "--json", data_dir=data)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def coredns(rows: list[dict]) -> dict:
    return next(r for r in rows if r["subject"].startswith("registry.k8s.io/coredns/coredns"))


def stored(data: Path, proposal_id: str):
    state = StateStore(data / "state.db")
    try:
        return state.get(proposal_id)
    finally:
        state.close()


def test_a_smaller_step_fixing_the_same_cves_becomes_revision_2(gitops, tmp_path):
    data, kind = tmp_path / "d", tmp_path / "kind.json"
    kind.write_text(KIND.read_text())
    first = coredns(scan(gitops, data, kind, candidate(tmp_path, "v1.12.0")))
    assert first["operations"][0]["value"].endswith(":v1.12.0")
    # the same day, a scan of a smaller tag that also lacks the CVE arrives
    again = scan(gitops, data, kind, candidate(tmp_path, "v1.12.0"), candidate(tmp_path, "v1.11.1"))
    revised = coredns(again)
    assert revised["id"] == first["id"]
    assert revised["operations"][0]["value"].endswith(":v1.11.1")
    assert "+  tag: v1.11.1" in revised["diff"]
    row = stored(data, first["id"])
    assert (row.status, row.proposal.revision) == ("pending", 2)
    assert row.proposal.revision_note.startswith("A newer scan proves a better candidate: now ")


def test_a_later_days_report_folds_into_the_pending_bump_or_revises_it(gitops, tmp_path):
    data, kind = tmp_path / "d", tmp_path / "kind.json"
    kind.write_text(KIND.read_text())
    big = candidate(tmp_path, "v1.12.0")
    first = coredns(scan(gitops, data, kind, big))
    day = 86400 * 1e9
    st = kind.stat()
    os.utime(kind, ns=(st.st_atime_ns, st.st_mtime_ns + int(day)))  # the next day's report, same findings
    folded = coredns(scan(gitops, data, kind, big))
    assert folded["id"] != first["id"] and folded["action"] == "suppressed"
    assert folded["reason"] == (
        f"Repeat of pending proposal {first['id']}: a newer report proposes the same bump (no second message)."
    )
    os.utime(kind, ns=(st.st_atime_ns, st.st_mtime_ns + int(2 * day)))
    better = coredns(scan(gitops, data, kind, big, candidate(tmp_path, "v1.11.1")))
    assert better["action"] == "suppressed"
    assert better["reason"] == f"A better candidate: became revision 2 of {first['id']} (no second card)"
    assert stored(data, first["id"]).proposal.operations[0]["value"].endswith(":v1.11.1")


def test_a_bigger_step_for_the_same_fixes_is_not_a_revision(gitops, tmp_path):
    data, kind = tmp_path / "d", tmp_path / "kind.json"
    kind.write_text(KIND.read_text())
    first = coredns(scan(gitops, data, kind, candidate(tmp_path, "v1.11.1")))
    scan(gitops, data, kind, candidate(tmp_path, "v1.11.1"), candidate(tmp_path, "v1.12.0"))
    assert stored(data, first["id"]).proposal.revision == 1


def test_the_audit_log_records_the_scan_revision(gitops, tmp_path):
    data, kind = tmp_path / "d", tmp_path / "kind.json"
    kind.write_text(KIND.read_text())
    scan(gitops, data, kind, candidate(tmp_path, "v1.12.0"))
    scan(gitops, data, kind, candidate(tmp_path, "v1.12.0"), candidate(tmp_path, "v1.11.1"))
    events = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    [rec] = [e for e in events if e.get("event") == "revision_candidate"]
    assert rec["revision"] == 2 and rec["operations"][0]["value"].endswith(":v1.11.1")
    code, out, _ = run("audit", "verify", data_dir=data)
    assert code == 0, out

"""The CLI end to end on the shipped fixtures: the --json contract, a read-only scan, the audit chain."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FixedClock
from tests.conftest import FIXTURES, git

ALERTS = FIXTURES / "alerts" / "demo-alerts.json"
ROW_KEYS = {
    "id", "action", "attacker", "targets", "alert_count", "rule_ids", "max_level", "fixer", "files", "diff",
    "guard", "reason", "unfixed", "review", "llm", "source", "subject", "findings", "operations",
}  # fmt: skip


def run(*argv: str, data_dir: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--data-dir", str(data_dir), *argv], out=out, err=err, env=env or {}, clock=FixedClock(1_795_000_000)
    )
    return code, out.getvalue(), err.getvalue()


def scan_json(gitops: Path, data_dir: Path, *extra: str) -> list[dict]:
    code, out, err = run(
        "scan", "--alerts", str(ALERTS), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        "--json", *extra, data_dir=data_dir,
    )  # fmt: skip
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_scan_json_contract_on_fixtures(gitops, tmp_path):
    rows = scan_json(gitops, tmp_path / "data")
    assert all(set(r) == ROW_KEYS for r in rows)
    by_attacker = {r["attacker"]: r for r in rows}
    web = by_attacker["91.240.118.172"]
    assert (web["source"], web["subject"]) == ("wazuh", "91.240.118.172")
    assert [f["kind"] for f in web["findings"]] == ["alert"] * len(web["rule_ids"])
    assert [f["id"] for f in web["findings"]] == web["rule_ids"]
    assert (web["action"], web["targets"], web["fixer"]) == (
        "propose", ["web-01", "web-02"], "playbook:block-web-attacker",
    )  # fmt: skip
    assert web["files"] == [
        "clusters/prod/web-01/ingress-nginx-controller.yaml",
        "clusters/prod/web-02/ingress-nginx-controller.yaml",
    ]
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,91.240.118.172/32"' in web["diff"]
    assert web["guard"]["passed"]
    assert [c["name"] for c in web["guard"]["checks"]] == [
        "has_change", "files_in_inventory", "no_forbidden_paths", "yaml_valid", "kind_and_name_kept",
        "only_named_keys", "diff_size", "addresses_safe", "address_budget", "no_redundant_entries",
        "values_valid", "data_values_are_strings", "only_edited_lines",
    ]  # fmt: skip
    assert all(set(c) == {"name", "passed", "detail"} for c in web["guard"]["checks"])
    assert {r["attacker"]: r["action"] for r in rows} == {
        "91.240.118.172": "propose",
        "45.155.205.233": "propose",
        "2a0e:1c80:1:1::45": "propose",
        "10.20.3.44": "escalate",
        "185.220.101.4": "escalate",
        "103.145.13.50": "escalate",
        "193.42.33.7": "suppressed",
        "80.94.95.115": "blocked",
        None: "escalate",
    }
    assert "18.18.18.18" not in by_attacker  # a single level-5 alert: below min_level


def test_scan_reports_malformed_lines_on_stderr_only(gitops, tmp_path):
    code, out, err = run(
        "scan", "--alerts", str(ALERTS), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        "--json", data_dir=tmp_path,
    )  # fmt: skip
    assert code == 0
    assert "skipped 2 malformed line(s)" in err and "line 10: not JSON" in err and "line 11" in err
    assert all(line.startswith("{") for line in out.splitlines())


def test_scan_leaves_the_gitops_repo_untouched(gitops, tmp_path):
    head = git("rev-parse", "HEAD", cwd=gitops)
    scan_json(gitops, tmp_path / "data")
    assert git("status", "--porcelain", cwd=gitops) == ""
    assert git("rev-parse", "HEAD", cwd=gitops) == head
    assert git("branch", "--list", cwd=gitops).split() == ["*", "main"]


def test_scanning_twice_creates_no_duplicate_proposals(gitops, tmp_path):
    first = scan_json(gitops, tmp_path / "data")
    again = scan_json(gitops, tmp_path / "data", "--since", "all")
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert scan_json(gitops, tmp_path / "data") == []  # from the stored offset: nothing new
    audit = (tmp_path / "data" / "audit.jsonl").read_text().splitlines()
    proposals = [json.loads(line) for line in audit if '"event":"proposal"' in line]
    assert len(proposals) == len(first)


def test_scan_resumes_from_the_offset_after_new_alerts(gitops, tmp_path):
    alerts = tmp_path / "alerts.json"
    lines = ALERTS.read_text().splitlines(keepends=True)
    alerts.write_text("".join(lines[:9]))
    argv = [
        "scan",
        "--alerts",
        str(alerts),
        "--repo",
        str(gitops),
        "--cmdb",
        str(FIXTURES / "cmdb.yaml"),
        "--json",
    ]
    code, out, _ = run(*argv, data_dir=tmp_path / "d")
    first = {json.loads(r)["attacker"] for r in out.splitlines()}
    with alerts.open("a") as f:
        f.writelines(lines[9:])
    code, out, err = run(*argv, data_dir=tmp_path / "d")
    second = {json.loads(r)["attacker"] for r in out.splitlines()}
    # The first five SSH failures are level 5 (below min_level); the brute-force rule arrives later.
    assert first == {"91.240.118.172"}
    assert "91.240.118.172" not in second and {"45.155.205.233", "10.20.3.44"} <= second
    assert "line 10: not JSON" in err  # line numbers continue across scans


def test_scan_readable_output_shows_panels_and_summary(gitops, tmp_path):
    code, out, _ = run(
        "scan", "--alerts", str(ALERTS), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        data_dir=tmp_path,
    )  # fmt: skip
    assert code == 0
    assert "PROPOSE" in out and "BLOCKED by guard" in out and "ESCALATE to a human" in out
    assert "20 alert(s) read, 9 group(s): 3 propose, 1 blocked, 4 escalate, 1 suppressed; 2 malformed" in out
    assert "Nothing was written to the GitOps repository" in out


def test_scan_missing_setting_names_the_variable(tmp_path):
    code, _, err = run("scan", "--alerts", str(ALERTS), "--cmdb", "x", data_dir=tmp_path)
    assert code == 2 and err.strip() == "error: --repo (or SECOPS_REPO) is required"


def test_scan_settings_come_from_the_environment(gitops, tmp_path):
    env = {
        "SECOPS_ALERTS": str(ALERTS),
        "SECOPS_REPO": str(gitops),
        "SECOPS_CMDB": str(FIXTURES / "cmdb.yaml"),
    }
    code, out, _ = run("scan", "--json", data_dir=tmp_path, env=env)
    assert code == 0 and len(out.splitlines()) == 9
    code, _, err = run("scan", "--json", data_dir=tmp_path, env={**env, "SECOPS_WINDOOW": "5m"})
    assert code == 2 and "unknown setting SECOPS_WINDOOW" in err


def test_scan_bad_inventory_is_a_clear_error(gitops, tmp_path):
    bad = tmp_path / "cmdb.yaml"
    bad.write_text(
        "servers:\n  - name: web-01\n    configs:\n      - path: /etc/passwd\n        kind: denylist\n"
    )
    code, _, err = run(
        "scan", "--alerts", str(ALERTS), "--repo", str(gitops), "--cmdb", str(bad), data_dir=tmp_path
    )
    assert code == 2
    assert err.startswith(f"error: {bad}: servers.0.configs.0.path:")
    assert "must be relative" in err


@pytest.mark.parametrize(("since", "count"), [("all", 9), ("2026-11-20T09:10:00+00:00", 5), ("bogus", None)])
def test_scan_since_filters_by_time(gitops, tmp_path, since, count):
    code, out, err = run(
        "scan", "--alerts", str(ALERTS), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        "--json", "--since", since, data_dir=tmp_path,
    )  # fmt: skip
    if count is None:
        assert code == 2 and "--since 'bogus'" in err
    else:
        assert len(out.splitlines()) == count


def test_audit_verify_passes_then_names_an_edited_line(gitops, tmp_path):
    scan_json(gitops, tmp_path)
    code, out, _ = run("audit", "verify", data_dir=tmp_path)
    assert code == 0 and out.startswith("audit log OK: ")
    log = tmp_path / "audit.jsonl"
    lines = log.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if '"action":"blocked"' in line)
    lines[n] = lines[n].replace('"action":"blocked"', '"action":"propose"')
    log.write_text("\n".join(lines) + "\n")
    code, _, err = run("audit", "verify", data_dir=tmp_path)
    assert code == 1 and err.strip() == f"audit log BROKEN: {log} line {n + 1}: line was changed"


def test_audit_verify_detects_records_removed_from_the_end(gitops, tmp_path):
    scan_json(gitops, tmp_path)
    log = tmp_path / "audit.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-2]) + "\n")
    code, _, err = run("audit", "verify", data_dir=tmp_path)
    assert code == 1 and "records were removed from the end" in err


def test_help_lists_the_commands():
    out = io.StringIO()
    with pytest.raises(SystemExit):
        main(["--help"], out=out, env={})


def test_readable_output_prints_hostile_alert_text_literally(gitops, tmp_path):
    alert = {
        "timestamp": "2026-11-20T09:00:00.000+0000",
        "rule": {"id": "31103", "level": 10, "groups": ["web", "attack"],
                 "description": "[link=https://evil.example]click[/link] [blink]x[/blink] \x1b[31mred"},
        "agent": {"name": "web-01"},
        "data": {"srcip": "91.240.118.172"},
    }  # fmt: skip
    alerts = tmp_path / "a.json"
    alerts.write_text(json.dumps(alert) + "\n")
    code, out, _ = run(
        "scan", "--alerts", str(alerts), "--repo", str(gitops), "--cmdb", str(FIXTURES / "cmdb.yaml"),
        data_dir=tmp_path / "d",
    )  # fmt: skip
    assert code == 0
    assert "[link=https://evil.example]click[/link]" in out and "[blink]x[/blink]" in out
    assert "\x1b[31m" not in out

"""Sweep of `--policy-reports FILE` inputs: real samples and hostile variants through `secops-bot scan`.
Every problem is named on stderr with the file; nothing stops the scan; no report promotes a policy wrongly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml

from bot.cli import main
from bot.clock import FixedClock
from tests.policies.remote import CAPABILITIES, CAPABILITIES_FILE, POLICY_REPO, policy_repo

REPORTS = POLICY_REPO.parent / "policy-reports"
PASSING = REPORTS / "disallow-capabilities-passing.yaml"
NOW = 1_800_000_000.0
SUBJECT = f"promote:{CAPABILITIES_FILE}#disallow-capabilities"


def _scan(tmp_path: Path, *reports: Path) -> tuple[int, dict[str, dict], str]:
    repo = policy_repo(tmp_path, {CAPABILITIES_FILE: CAPABILITIES.read_text()})
    out, err = io.StringIO(), io.StringIO()
    args = ["--data-dir", str(tmp_path / "data"), "scan"]
    for r in reports:
        args += ["--policy-reports", str(r)]
    args += ["--repo", str(repo), "--cmdb", str(repo / "cmdb.yaml"), "--json"]
    code = main(args, out=out, err=err, clock=FixedClock(NOW))
    rows = {r["subject"]: r for r in map(json.loads, out.getvalue().splitlines())}
    return code, rows, err.getvalue()


def _passing_with(tmp_path: Path, edit) -> Path:
    """The passing fixture with ``edit(result)`` applied to every disallow-capabilities result."""
    doc = yaml.safe_load(PASSING.read_text())
    for item in doc["items"]:
        for r in item["results"]:
            if r["policy"] == "disallow-capabilities":
                edit(r)
    path = tmp_path / "edited-reports.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_passing_reports_still_promote_baseline(tmp_path):
    code, rows, err = _scan(tmp_path, PASSING)
    assert code == 0, err
    assert rows[SUBJECT]["action"] == "propose"


def test_reports_file_not_utf8_named_on_stderr_scan_goes_on(tmp_path):
    bad = _write(tmp_path, "latin1.yaml", "kind: PolicyReport\nmetadata: {name: caf\xe9}\n".encode("latin-1"))
    code, rows, err = _scan(tmp_path, bad, PASSING)
    assert code == 0
    assert "latin1.yaml" in err and "UTF-8" in err
    assert rows[SUBJECT]["action"] == "propose"


def test_reports_file_truncated_yaml_named_on_stderr(tmp_path):
    text = PASSING.read_text()
    bad = _write(tmp_path, "truncated.yaml", text[: text.index("results:") + 30] + "\n  - {policy: [")
    code, _rows, err = _scan(tmp_path, bad)
    assert code == 0
    assert "truncated.yaml" in err and "YAML" in err


def test_reports_file_without_any_policy_report_named_on_stderr_openreports_list(tmp_path):
    code, rows, err = _scan(tmp_path, REPORTS / "openreports" / "reports-guide-openreports-report-list.yaml")
    assert code == 0
    assert "reports-guide-openreports-report-list.yaml: no PolicyReport or ClusterPolicyReport" in err


def test_reports_items_not_a_list_no_traceback(tmp_path):
    bad = _write(tmp_path, "items.yaml", "apiVersion: v1\nkind: List\nitems: 7\n")
    code, _rows, err = _scan(tmp_path, bad)
    assert code == 0
    assert "items.yaml" in err and "items is not a list" in err


def test_reports_results_not_a_list_named_on_stderr(tmp_path):
    bad = _write(
        tmp_path, "results.yaml", "apiVersion: wgpolicyk8s.io/v1alpha2\nkind: PolicyReport\nresults: oops\n"
    )
    code, _rows, err = _scan(tmp_path, bad)
    assert code == 0
    assert "results.yaml" in err and "results is not a list" in err


def test_reports_huge_timestamp_no_traceback(tmp_path):
    def huge(r):
        r["timestamp"] = {"seconds": 10**400}

    code, rows, err = _scan(tmp_path, _passing_with(tmp_path, huge))
    assert code == 0, err
    assert SUBJECT not in rows  # an impossible time is no evidence of a period


def test_reports_alias_bomb_refused_not_expanded(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = _write(
        tmp_path,
        "bomb.yaml",
        "\n".join(lines) + "\nkind: PolicyReport\napiVersion: wgpolicyk8s.io/v1alpha2\nresults: *a8\n",
    )
    code, _rows, err = _scan(tmp_path, bomb)
    assert code == 0
    assert "bomb.yaml" in err and "alias" in err


def test_warn_results_are_violations_no_promotion(tmp_path):
    doc = yaml.safe_load(PASSING.read_text())
    recent = doc["items"][1]["results"][0]  # a pass one hour ago; beside it a warn: what Kyverno writes for a
    doc["items"][1]["results"].append({**recent, "result": "warn"})  # failing rule of a policy scored "false"
    path = tmp_path / "warn.yaml"
    path.write_text(yaml.safe_dump(doc))
    code, rows, err = _scan(tmp_path, path)
    assert code == 0, err
    assert SUBJECT not in rows


def test_unknown_result_value_no_promotion(tmp_path):
    def shout(r):
        r["result"] = "FAIL"

    code, rows, err = _scan(tmp_path, _passing_with(tmp_path, shout))
    assert code == 0
    assert SUBJECT not in rows
    assert "edited-reports.yaml" in err and "'FAIL'" in err


def test_namespaced_policy_results_no_evidence_for_cluster_policy(tmp_path):
    def namespaced(r):
        r["policy"] = "shop/disallow-capabilities"  # a Policy of namespace shop, not the ClusterPolicy

    code, rows, err = _scan(tmp_path, _passing_with(tmp_path, namespaced))
    assert code == 0, err
    row = rows.get(SUBJECT)
    assert row is None or row["operations"][0]["evidence"]["basis"] == "engine"


def test_policy_report_problems_message_exact_text():
    from bot.messages import cli_policy_report_problems

    assert cli_policy_report_problems(["a.yaml: not valid YAML (x at line 2)"]) == (
        "policy reports: 1 problem(s); those parts are no evidence:\n  a.yaml: not valid YAML (x at line 2)"
    )


def test_reports_for_a_policy_not_in_the_repository_promote_nothing(tmp_path):
    def elsewhere(r):
        r["policy"] = "require-everything-elsewhere"  # zero failures, but no such policy in the repository

    code, rows, err = _scan(tmp_path, _passing_with(tmp_path, elsewhere))
    assert code == 0, err
    assert not [s for s in rows if "require-everything-elsewhere" in s]
    # the repository's own Audit policy, which the reports no longer mention, rests on the engine alone
    assert rows[SUBJECT]["operations"][0]["evidence"]["basis"] == "engine"


def test_reports_duplicate_key_refused_no_promotion(tmp_path):
    text = PASSING.read_text().replace(
        "        result: pass\n", "        result: fail\n        result: pass\n", 2
    )
    code, rows, err = _scan(tmp_path, _write(tmp_path, "dup.yaml", text))
    assert code == 0
    assert "dup.yaml: not valid YAML (key 'result' given twice at line" in err
    assert rows[SUBJECT]["operations"][0]["evidence"]["basis"] == "engine"  # the reports were no evidence

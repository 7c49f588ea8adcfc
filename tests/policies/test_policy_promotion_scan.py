"""`secops-bot scan --trivy ... --policy-reports FILE`: an Audit policy with zero failures over the period
becomes one set_policy_mode proposal (Audit → Enforce)."""

from __future__ import annotations

import io
import json

import yaml

from bot.cli import main
from bot.clock import FixedClock
from bot.core.operations.policies import policy_digest
from tests.policies.remote import CAPABILITIES, CAPABILITIES_FILE, POLICY_REPO, policy_repo

TRIVY = POLICY_REPO.parent / "trivy" / "trivy-golden-helm_testchart.json"
REPORTS = POLICY_REPO.parent / "policy-reports" / "disallow-capabilities-passing.yaml"
CORPUS_REPORT = POLICY_REPO.parent / "policy-reports" / "reports-guide-policyreport-kube-apiserver.yaml"
NOW = 1_800_000_000.0
SUBJECT = f"promote:{CAPABILITIES_FILE}#disallow-capabilities"


def _scan(tmp_path, *extra: str) -> tuple[int, dict[str, dict], str]:
    repo = policy_repo(tmp_path, {CAPABILITIES_FILE: CAPABILITIES.read_text()})
    out, err = io.StringIO(), io.StringIO()
    args = ["--data-dir", str(tmp_path / "data"), "scan", "--trivy", str(TRIVY), *extra]
    args += ["--repo", str(repo), "--cmdb", str(repo / "cmdb.yaml"), "--json"]
    code = main(args, out=out, err=err, clock=FixedClock(NOW))
    rows = {r["subject"]: r for r in map(json.loads, out.getvalue().splitlines())}
    return code, rows, err.getvalue()


def test_scan_with_passing_policy_reports_proposes_enforce(tmp_path):
    code, rows, err = _scan(
        tmp_path, "--policy-reports", str(REPORTS), "--policy-reports", str(CORPUS_REPORT)
    )
    assert code == 0, err
    row = rows[SUBJECT]
    assert row["action"] == "propose", row["reason"]
    assert row["operations"] == [
        {
            "op": "set_policy_mode", "file": CAPABILITIES_FILE, "policy": "disallow-capabilities",
            "expect": "Audit", "value": "Enforce",
            "evidence": {
                "findings": [], "resources": [],
                "reason": "PolicyReports: 1 results, 0 failures over the last 14 days",
                "basis": "policy-reports", "policy_sha": policy_digest(yaml.safe_load(CAPABILITIES.read_text())),
            },
        }
    ]  # fmt: skip


def test_scan_promotion_diff_changes_only_the_failure_action(tmp_path):
    _code, rows, _err = _scan(tmp_path, "--policy-reports", str(REPORTS))
    changed = [
        line for line in rows[SUBJECT]["diff"].splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]  # fmt: skip
    assert changed == ["-  validationFailureAction: Audit", "+  validationFailureAction: Enforce"]


def test_scan_without_a_full_period_of_reports_proposes_no_promotion(tmp_path):
    code, rows, err = _scan(tmp_path, "--policy-reports", str(REPORTS), "--promote-after", "30")
    assert code == 0, err
    assert SUBJECT not in rows


def test_scan_without_policy_reports_proposes_no_promotion(tmp_path):
    _code, rows, _err = _scan(tmp_path)
    assert not [s for s in rows if s.startswith("promote:")]

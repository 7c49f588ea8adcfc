"""Wrong types at every level of the real reports: the readers never raise, whatever a field holds."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.sources.findings_file import read_findings
from tools.sources.policy_reports import read_policy_reports

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLES = [
    FIXTURES / "k8sgpt" / "k8sgpt-output-multiple-problems.rendered-from-test.json",
    FIXTURES / "policy-repo" / "k8sgpt-analyze.json",
    FIXTURES / "trivy" / "trivy-golden-helm_testchart.json",
    FIXTURES / "osv" / "pip-audit" / "pip-audit-json.rendered-from-test.json",
    FIXTURES / "apps" / "npm-app-audit.json",
    FIXTURES / "osv" / "osv-scanner" / "test-vuln-results-a.json",
    FIXTURES / "trivy" / "operator" / "pod-configauditreport-expected.yaml",
    FIXTURES / "policy-reports" / "disallow-capabilities-passing.yaml",
]
WRONG: list[Any] = [None, -1, "x", [], {}, [None]]


def _paths(doc: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    items = doc.items() if isinstance(doc, dict) else enumerate(doc[:2]) if isinstance(doc, list) else ()
    for key, value in items:
        yield from _paths(value, (*at, key))


def _replaced(doc: Any, at: tuple, value: Any) -> Any:
    if not at:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for key in at[:-1]:
        node = node[key]
    node[at[-1]] = value
    return doc


def _read(path: Path) -> None:
    if path.parent.name == "policy-reports":
        read_policy_reports([path])
    else:
        read_findings(path)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_reader_never_raises_wrong_type_anywhere(sample, tmp_path):
    is_yaml = sample.suffix == ".yaml"
    doc = next(yaml.safe_load_all(sample.read_text())) if is_yaml else json.loads(sample.read_text())
    target = tmp_path / sample.name
    if sample.parent.name == "policy-reports":
        target = tmp_path / "policy-reports" / sample.name
        target.parent.mkdir()
    for at in _paths(doc):
        for value in WRONG:
            variant = _replaced(doc, at, value)
            target.write_text(yaml.safe_dump(variant) if is_yaml else json.dumps(variant))
            _read(target)  # raises on a bug; the place is in the traceback


def test_trivy_result_class_a_list_is_read_not_raised(tmp_path):
    doc = json.loads((FIXTURES / "trivy" / "trivy-golden-helm_testchart.json").read_text())
    doc["Results"][0]["Class"] = []
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert read_findings(path).layout == "trivy-config"


def test_trivy_operator_kind_a_list_named_not_raised(tmp_path):
    doc = next(
        yaml.safe_load_all((FIXTURES / "trivy/operator/pod-configauditreport-expected.yaml").read_text())
    )
    doc["kind"] = []
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert "is not a trivy-operator report" in " ".join(read_findings(path).problems)


def test_npm_audit_nodes_not_a_list_still_reads_the_advisory(tmp_path):
    doc = json.loads((FIXTURES / "apps" / "npm-app-audit.json").read_text())
    doc["vulnerabilities"]["lodash"]["nodes"] = -1
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc))
    assert "lodash" in {f.package for f in read_findings(path).findings}

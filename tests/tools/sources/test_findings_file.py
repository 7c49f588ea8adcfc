"""read_findings: the format comes from the content, and no file makes it raise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES
from tools.sources.findings_file import MAX_PROBLEMS, read_findings

TRIVY = FIXTURES / "trivy"
KIND = TRIVY / "trivy-k8s-cluster-report-kind.json"
BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
)


def _bytes(tmp_path: Path, data: bytes, name: str = "report.json") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _problems(tmp_path: Path, data: bytes, name: str = "report.json") -> list[str]:
    read = read_findings(_bytes(tmp_path, data, name))
    assert (read.findings, read.malformed, read.layout) == ([], 0, "")
    return read.problems


def test_layout_comes_from_the_content_not_the_name(tmp_path):
    image = shutil.copy(TRIVY / "trivy-golden-alpine-310.json", tmp_path / "scan.yaml")
    operator = shutil.copy(TRIVY / "operator" / "vulnerability-ttl.yaml", tmp_path / "scan.json")
    assert read_findings(Path(image)).layout == "trivy-image"
    assert read_findings(Path(operator)).layout == "trivy-operator"


def test_empty_and_zero_byte_files_are_one_problem(tmp_path):
    assert _problems(tmp_path, b"") == ["report.json: empty file"]
    assert _problems(tmp_path, b" \n\t\n") == ["report.json: empty file"]
    assert _problems(tmp_path, b"---\n---\n", "r.yaml") == ["r.yaml: empty file (no YAML document)"]


def test_non_utf8_bytes_are_named_with_their_offset(tmp_path):
    assert _problems(tmp_path, b'{"Resources": "\xff"}') == [
        "report.json: not UTF-8 text (byte 0xff at offset 15)"
    ]
    assert _problems(tmp_path, b"kind: \xfe\n", "r.yaml") == [
        "r.yaml: not UTF-8 text (byte 0xfe at offset 6)"
    ]


def test_truncated_report_is_not_valid_json(tmp_path):
    raw = KIND.read_bytes()
    (problem,) = _problems(tmp_path, raw[: len(raw) // 2])
    assert problem.startswith("report.json: not valid JSON (unexpected end of data: line ")


def test_deep_nesting_is_refused_not_a_crash(tmp_path):
    deep = b"[" * 10_000 + b"]" * 10_000
    assert _problems(tmp_path, deep) == [
        "report.json: not a findings report (nested more than 1024 levels deep)"
    ]
    (problem,) = _problems(tmp_path, b"a: " + deep, "r.yaml")
    assert problem == "r.yaml: not valid JSON or YAML (exceeded maximum nesting depth at line 1)"


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    assert _problems(tmp_path, BOMB.encode(), "r.yaml") == [
        "r.yaml: its aliases expand to more than 10000 values (YAML); not read"
    ]


def test_files_that_are_no_report_say_what_they_are(tmp_path):
    formats = (
        "--trivy takes Trivy JSON (`trivy image|fs|config|k8s -f json`) or trivy-operator reports (`kubectl get "
        "-o yaml`); --k8sgpt takes `k8sgpt analyze -o json` output or k8sgpt-operator Result objects; --deps "
        "takes pip-audit, osv-scanner, npm audit or Trivy JSON; --policy-reports takes "
        "PolicyReport/ClusterPolicyReport objects (`kubectl get -o yaml`)"
    )
    assert _problems(tmp_path, b'{"vulnerabilities": [], "misconfigurations": []}') == [
        "report.json: not a report of a known format (a JSON object with keys: vulnerabilities, "
        f"misconfigurations). {formats}"
    ]
    assert _problems(tmp_path, b"[1, 2]") == [
        f"report.json: not a report of a known format (a JSON list of 2 entries). {formats}"
    ]
    assert _problems(tmp_path, b"hello world\n", "notes.txt") == [
        f"notes.txt: not a report of a known format (plain text, not a JSON or YAML report). {formats}"
    ]
    crd = (
        (FIXTURES / "trivy" / "operator" / "config-audit-ttl.yaml")
        .read_text()
        .replace("ConfigAuditReport", "X")
    )
    crd = crd.replace("aquasecurity.github.io/v1alpha1", "example.com/v1")
    assert _problems(tmp_path, crd.encode(), "r.yaml") == [
        f"r.yaml: not a report of a known format (a YAML document of kind 'X'). {formats}"
    ]


def test_missing_file_and_directory_are_one_problem(tmp_path):
    assert read_findings(tmp_path / "gone.json").problems == [
        "gone.json: cannot be read (No such file or directory)"
    ]
    assert read_findings(tmp_path).problems == [f"{tmp_path.name}: is a directory, not a findings file"]


def test_byte_order_marks_are_read(tmp_path):
    text = KIND.read_text()
    expected = read_findings(KIND).findings
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16"), text.encode("utf-32")):
        read = read_findings(_bytes(tmp_path, data, KIND.name))
        assert read.findings == expected


def test_integers_past_64_bits_still_read(tmp_path):
    doc = json.loads(KIND.read_text())
    doc["SchemaVersion"] = 10**30
    assert len(read_findings(_bytes(tmp_path, json.dumps(doc).encode())).findings) == 16


def test_problems_past_the_first_twenty_are_counted(tmp_path):
    vulns = [{"VulnerabilityID": i} for i in range(25)]
    doc = {
        "ArtifactName": "nginx:1.16",
        "ArtifactType": "container_image",
        "Results": [{"Target": "nginx:1.16 (debian 10.3)", "Type": "debian", "Vulnerabilities": vulns}],
    }
    read = read_findings(_bytes(tmp_path, json.dumps(doc).encode()))
    assert read.malformed == 25 and len(read.problems) == MAX_PROBLEMS + 1
    assert read.problems[-1] == "report.json: 5 more problem(s) not shown"


# --- never raises --------------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_SLOTS = [
    ("Resources",),
    ("Resources", 2),
    ("Resources", 2, "Metadata"),
    ("Resources", 2, "Results"),
    ("Resources", 2, "Results", 0),
    ("Resources", 2, "Results", 0, "Target"),
    ("Resources", 2, "Results", 0, "Vulnerabilities"),
    ("Resources", 2, "Results", 0, "Vulnerabilities", 0),
    ("Resources", 2, "Results", 0, "Vulnerabilities", 0, "VulnerabilityID"),
    ("Resources", 2, "Results", 0, "Vulnerabilities", 0, "PkgName"),
    ("Resources", 2, "Results", 0, "Vulnerabilities", 0, "Title"),
    ("Resources", 1, "Error"),
    ("Resources", 15, "Metadata", 0, "RepoTags"),
]
_OPERATOR_SLOTS = [
    ("metadata",),
    ("metadata", "labels"),
    ("report",),
    ("report", "artifact"),
    ("report", "registry"),
    ("report", "vulnerabilities"),
    ("report", "vulnerabilities", 0),
    ("report", "updateTimestamp"),
]


def _put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slot=st.sampled_from(_SLOTS), value=_JSON)
def test_any_value_in_any_slot_of_a_cluster_report_never_raises(tmp_path, slot, value):
    doc = _put(json.loads(KIND.read_text()), slot, value)
    read = read_findings(_bytes(tmp_path, json.dumps(doc).encode()))
    assert read.layout == "trivy-k8s"
    assert all(f.id and f.subject for f in read.findings)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slot=st.sampled_from(_OPERATOR_SLOTS), value=_JSON)
def test_any_value_in_any_slot_of_an_operator_report_never_raises(tmp_path, slot, value):
    import yaml

    doc = yaml.safe_load((TRIVY / "operator" / "vulnerability-ttl.yaml").read_text())
    read = read_findings(_bytes(tmp_path, json.dumps(_put(doc, slot, value), default=str).encode()))
    assert read.layout == "trivy-operator"
    assert all(f.id and f.subject for f in read.findings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_raise(tmp_path, data):
    read = read_findings(_bytes(tmp_path, data, "x"))
    assert read.findings == [] or read.layout

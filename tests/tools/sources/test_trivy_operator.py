"""The trivy-operator reader on the operator's own samples and envtest fixtures, as kubectl writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import FIXTURES
from tools.sources.findings_file import read_findings

OPERATOR = FIXTURES / "trivy" / "operator"
SAMPLE = "vulnerability-report-sample.yaml"
WORDPRESS_IDS = [
    "KSV-0001",
    "KSV-0003",
    "KSV-0011",
    "KSV-0012",
    "KSV-0014",
    "KSV-0015",
    "KSV-0016",
    "KSV-0018",
    "KSV-0020",
    "KSV-0021",
    "KSV-0030",
    "KSV-0104",
    "KSV-0106",
]


def _doc(name: str) -> Any:
    return yaml.safe_load((OPERATOR / name).read_text())


def _write(tmp_path: Path, text: str, name: str = "reports.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _list(*items: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(items)}


def test_vulnerability_report_sample_names_the_replicaset_and_the_image():
    read = read_findings(OPERATOR / SAMPLE)
    assert (read.layout, read.malformed, read.problems) == ("trivy-operator", 0, [])
    first, second = read.findings
    assert first._asdict() == {
        "source": "trivy-operator",
        "kind": "vulnerability",
        "id": "CVE-2019-20367",
        "subject": "docker.io/library/nginx:1.16",
        "severity": "CRITICAL",
        "title": "",
        "package": "libbsd0",
        "installed": "0.9.1-2",
        "fixed": "0.9.1-2+deb10u1",
        "image": "index.docker.io/library/nginx:1.16",
        "namespace": "default",
        "workload_kind": "ReplicaSet",
        "workload": "nginx-6d4cf56db6",
        "container": "nginx",
        "resolution": "",
        "ts": None,
        "where": f"{SAMPLE}: report.vulnerabilities[0]",
        "target": "library/nginx:1.21.6",
        "package_type": "",
        "package_path": "",
        "affected": "",
        "aliases": "",
    }
    assert (second.id, second.fixed, second.title) == (
        "CVE-2018-25009",
        "",
        "libwebp: out-of-bounds read in WebPMuxCreateInternal",
    )


def test_envtest_vulnerability_report_has_its_update_time():
    (f,) = read_findings(OPERATOR / "vulnerability-ttl.yaml").findings
    assert (f.subject, f.package, f.fixed, f.namespace, f.workload) == (
        "k8s.gcr.io/coredns/coredns:v1.8.0",
        "github.com/gogo/protobuf",
        "1.3.2",
        "kube-system",
        "coredns-558bd4d5db",
    )
    assert f.ts == 1670514637.0  # 2022-12-08T15:50:37Z, unquoted: PyYAML gives a datetime


def test_config_audit_reports_read_failed_checks_only():
    read = read_findings(OPERATOR / "replicaset-configauditreport-expected.yaml")
    assert (read.malformed, read.problems) == (0, [])
    assert [f.id for f in read.findings] == WORDPRESS_IDS
    f = read.findings[0]
    assert (f.kind, f.subject, f.container, f.severity) == (
        "misconfiguration",
        "KSV-0001 default/ReplicaSet/wordpress-84bbf6f4dd",
        "wordpress",
        "MEDIUM",
    )
    assert f.resolution == "Set 'set containers[].securityContext.allowPrivilegeEscalation' to 'false'."
    pod = read_findings(OPERATOR / "pod-configauditreport-expected.yaml").findings
    assert {f.subject.split(" ")[1] for f in pod} == {"default/Pod/my-pod"} and len(pod) == 13


def test_envtest_config_audit_report_has_its_update_time_and_container_label():
    (f,) = read_findings(OPERATOR / "config-audit-ttl.yaml").findings
    assert (f.id, f.subject, f.container, f.ts) == (
        "KSV-0110",
        "KSV-0110 kube-system/ReplicaSet/coredns-558bd4d5dc",
        "coredns",
        1675018904.0,
    )


def test_old_check_names_are_malformed_not_findings():
    read = read_findings(OPERATOR / "configaudit-report-sample.yaml")
    assert (read.findings, read.malformed) == ([], 2)  # the three passed checks are nothing
    assert read.problems == [
        "configaudit-report-sample.yaml: report.checks[3]: checkID 'notReadOnlyRootFilesystem' is not a check id",
        "configaudit-report-sample.yaml: report.checks[4]: checkID 'privilegeEscalationAllowed' is not a check id",
    ]


def test_invalid_docs_sample_is_one_problem():
    read = read_findings(OPERATOR / "vulnerability-report-extended-sample.yaml")
    assert (read.findings, read.malformed, read.layout) == ([], 0, "")
    assert read.problems == [
        "vulnerability-report-extended-sample.yaml: not valid JSON or YAML (did not find expected '-' indicator "
        "at line 49)"
    ]


def test_kubectl_list_in_yaml_and_json_reads_every_item(tmp_path):
    items = [_doc(SAMPLE), _doc("vulnerability-ttl.yaml"), _doc("config-audit-ttl.yaml")]
    as_yaml = read_findings(_write(tmp_path, yaml.safe_dump(_list(*items))))
    as_json = read_findings(_write(tmp_path, json.dumps(_list(*items), default=str), "reports.json"))
    assert [f.id for f in as_yaml.findings] == [
        "CVE-2019-20367",
        "CVE-2018-25009",
        "CVE-2021-3121",
        "KSV-0110",
    ]
    assert as_yaml.findings[2].where == "reports.yaml: items[1].report.vulnerabilities[0]"
    assert as_json.layout == "trivy-operator"
    assert [f._replace(where="") for f in as_json.findings] == [
        f._replace(where="") for f in as_yaml.findings
    ]


def test_multi_document_stream_names_each_document(tmp_path):
    text = "\n".join((OPERATOR / n).read_text() for n in (SAMPLE, "config-audit-ttl.yaml"))
    read = read_findings(_write(tmp_path, text))
    assert [f.where for f in read.findings] == [
        "reports.yaml: documents[0].report.vulnerabilities[0]",
        "reports.yaml: documents[0].report.vulnerabilities[1]",
        "reports.yaml: documents[1].report.checks[0]",
    ]


def test_other_objects_in_a_list_are_said_not_read(tmp_path):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
    read = read_findings(_write(tmp_path, yaml.safe_dump(_list(_doc(SAMPLE), pod))))
    assert len(read.findings) == 2 and read.malformed == 0
    assert read.problems == ["reports.yaml: items[1]: kind 'Pod' is not a trivy-operator report; not read"]


def test_artifact_with_a_digest_only_has_the_digest_in_its_subject(tmp_path):
    doc = _doc(SAMPLE)
    digest = "sha256:" + "0f" * 32
    doc["report"]["artifact"] = {"repository": "acme/web", "digest": digest}
    doc["report"]["registry"] = {"server": "ghcr.io"}
    read = read_findings(_write(tmp_path, yaml.safe_dump(doc)))
    assert {f.subject for f in read.findings} == {f"ghcr.io/acme/web@{digest}"}
    assert read.findings[0].image == f"ghcr.io/acme/web@{digest}"


def test_unparsable_image_counts_every_vulnerability(tmp_path):
    doc = _doc(SAMPLE)
    doc["report"]["artifact"]["repository"] = "Library/Nginx"
    read = read_findings(_write(tmp_path, yaml.safe_dump(doc)))
    assert (read.findings, read.malformed) == ([], 2)
    assert read.problems == [
        "reports.yaml: report.vulnerabilities: the image 'index.docker.io/Library/Nginx:1.16' is not an image "
        "reference"
    ]


def test_unquoted_numeric_tag_is_refused_not_guessed(tmp_path):
    text = (OPERATOR / SAMPLE).read_text().replace("tag: '1.16'", "tag: 1.10")
    read = read_findings(_write(tmp_path, text))
    assert read.malformed == 2
    assert read.problems == ["reports.yaml: report.vulnerabilities: report.artifact.tag 1.1 is not a string"]


def test_owner_reference_names_the_resource_without_labels(tmp_path):
    doc = _doc(SAMPLE)
    del doc["metadata"]["labels"]
    f = read_findings(_write(tmp_path, yaml.safe_dump(doc))).findings[0]
    assert (f.namespace, f.workload_kind, f.workload, f.container) == (
        "default",
        "ReplicaSet",
        "nginx-6d4cf56db6",
        "",
    )


def test_damaged_checks_and_vulnerabilities_are_counted(tmp_path):
    audit = _doc("config-audit-ttl.yaml")
    audit["report"]["checks"] += [{"checkID": "KSV012"}, "KSV012", {"checkID": "KSV012", "success": "no"}]
    vulns = _doc(SAMPLE)
    vulns["report"]["vulnerabilities"].append({"vulnerabilityID": ["CVE-2019-20367"]})
    vulns["metadata"]["labels"]["trivy-operator.container.name"] = {"name": "nginx"}
    read = read_findings(_write(tmp_path, yaml.safe_dump_all([audit, vulns])))
    assert [f.id for f in read.findings] == ["KSV-0110"]
    assert read.malformed == 6  # 3 checks, and the 3 vulnerabilities of the report that cannot be placed
    assert read.problems == [
        "reports.yaml: documents[0].report.checks[1]: success null is not true or false",
        "reports.yaml: documents[0].report.checks[2]: is not an object",
        "reports.yaml: documents[0].report.checks[3]: success 'no' is not true or false",
        "reports.yaml: documents[1].metadata: label trivy-operator.container.name is an object, not a string",
    ]

"""The Trivy reader on the real reports (every layout) and on hostile variants of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.conftest import FIXTURES
from tools.sources.findings_file import read_findings

TRIVY = FIXTURES / "trivy"
KIND = "trivy-k8s-cluster-report-kind.json"


def _load(name: str) -> Any:
    return json.loads((TRIVY / name).read_text())


def _write(tmp_path: Path, doc: Any, name: str = "report.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def _vulnerability(**fields: Any) -> dict[str, Any]:
    v = {
        "VulnerabilityID": "CVE-2019-20367",
        "PkgName": "libbsd0",
        "InstalledVersion": "0.9.1-2",
        "FixedVersion": "0.9.1-2+deb10u1",
        "Severity": "CRITICAL",
        "Title": "libbsd: out-of-bounds read",
    }
    v.update(fields)
    return v


def _image_report(*vulns: Any, artifact: str = "nginx:1.16", **top: Any) -> dict[str, Any]:
    doc = {
        "SchemaVersion": 2,
        "ArtifactName": artifact,
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": f"{artifact} (debian 10.3)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": list(vulns),
            }
        ],
    }
    doc.update(top)
    return doc


# --- trivy image ---------------------------------------------------------------------------------------------


def test_image_report_tarball_name_gives_way_to_repo_tag():
    read = read_findings(TRIVY / "trivy-golden-alpine-310.json")
    assert (read.layout, read.malformed, read.problems) == ("trivy-image", 0, [])
    assert read.artifact == "ghcr.io/aquasecurity/trivy-test-images:alpine-310"
    assert [f.id for f in read.findings] == [
        "CVE-2019-1549",
        "CVE-2019-1551",
        "CVE-2019-1549",
        "CVE-2019-1551",
    ]
    assert {f.subject for f in read.findings} == {"ghcr.io/aquasecurity/trivy-test-images:alpine-310"}
    assert [f.package for f in read.findings] == ["libcrypto1.1", "libcrypto1.1", "libssl1.1", "libssl1.1"]


def test_image_report_keeps_every_field_of_a_jar_vulnerability():
    (f,) = read_findings(TRIVY / "trivy-golden-spring4shell-jre11.json").findings
    assert f._asdict() == {
        "source": "trivy-image",
        "kind": "vulnerability",
        "id": "CVE-2022-22965",
        "subject": "ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11",
        "severity": "CRITICAL",
        "title": "spring-framework: RCE via Data Binding on JDK 9+",
        "package": "org.springframework:spring-beans",
        "installed": "5.3.15",
        "fixed": "5.3.18",
        "image": "ghcr.io/aquasecurity/trivy-test-images:spring4shell-jre11",
        "namespace": "",
        "workload_kind": "",
        "workload": "",
        "container": "",
        "resolution": "",
        "ts": 1629894030.0,  # 2021-08-25T12:20:30.000000005Z
        "where": "trivy-golden-spring4shell-jre11.json: Results[1].Vulnerabilities[0]",
        "target": "Java",
        "package_type": "jar",
        "package_path": "usr/local/tomcat/webapps/helloworld.war/WEB-INF/lib/spring-beans-5.3.15.jar",
        "affected": "",
        "aliases": "",
    }


def test_image_report_by_name_uses_the_artifact_name():
    read = read_findings(TRIVY / "trivy-docs-image-alpine-latest-with-repodigests.json")
    assert read.artifact == "alpine:latest"
    assert [(f.subject, f.package, f.fixed) for f in read.findings] == [
        ("docker.io/library/alpine:latest", "libcrypto3", "3.3.2-r1"),
        ("docker.io/library/alpine:latest", "libssl3", "3.3.2-r1"),
    ]


def test_image_report_by_digest_has_the_digest_in_its_subject(tmp_path):
    digest = "sha256:" + "ab" * 32
    read = read_findings(
        _write(tmp_path, _image_report(_vulnerability(), artifact=f"ghcr.io/acme/web@{digest}"))
    )
    assert read.findings[0].subject == f"ghcr.io/acme/web@{digest}"


def test_image_report_without_a_known_image_counts_its_vulnerabilities_malformed(tmp_path):
    doc = _image_report(_vulnerability(), _vulnerability(), artifact="images/web.tar")
    read = read_findings(_write(tmp_path, doc))
    assert (read.findings, read.malformed) == ([], 2)
    assert read.problems == [
        "report.json: Results[0].Vulnerabilities: the image is not known (ArtifactName 'images/web.tar' is no "
        "image reference and no RepoTags)"
    ]


def test_image_report_with_an_unparsable_reference_counts_malformed(tmp_path):
    read = read_findings(_write(tmp_path, _image_report(_vulnerability(), artifact="Nginx:1.16")))
    assert (read.findings, read.malformed) == ([], 1)


def test_vulnerability_without_title_takes_the_first_line_of_its_description(tmp_path):
    v = _vulnerability(Title=None, Description="First line.\nSecond line.")
    (f,) = read_findings(_write(tmp_path, _image_report(v))).findings
    assert f.title == "First line."


def test_fixed_version_list_is_kept_as_written():
    kind = read_findings(TRIVY / KIND)
    fixed = {f.package: f.fixed for f in kind.findings}
    assert fixed["npm-registry-fetch"] == "8.1.1, 4.0.5"
    assert fixed["uri"] == "~> 0.10.0.1, ~> 0.10.2, ~> 0.11.1, >= 0.12.1"
    assert fixed["openssl"] == ""


def test_wrong_types_and_bad_ids_are_malformed_with_their_place(tmp_path):
    doc = _image_report(
        _vulnerability(),
        _vulnerability(VulnerabilityID=123),
        _vulnerability(VulnerabilityID=None),
        _vulnerability(PkgName=["libbsd0"]),
        "CVE-2019-20367",
        _vulnerability(InstalledVersion="1\x1b[31m"),
        _vulnerability(FixedVersion="1" * 300),
    )
    read = read_findings(_write(tmp_path, doc))
    assert (len(read.findings), read.malformed) == (1, 6)
    at = "report.json: Results[0].Vulnerabilities"
    assert read.problems == [
        f"{at}[1]: VulnerabilityID 123 is not an id",
        f"{at}[2]: VulnerabilityID null is not an id",
        f"{at}[3]: PkgName is a list, not a string",
        f"{at}[4]: is not an object",
        f"{at}[5]: InstalledVersion '1\\x1b[31m' holds control characters",
        f"{at}[6]: FixedVersion is longer than 256 characters",
    ]


def test_long_titles_are_cut_and_counted(tmp_path):
    read = read_findings(_write(tmp_path, _image_report(_vulnerability(Title="x" * 600))))
    assert len(read.findings[0].title) == 500 and read.truncated == 1
    assert read.problems[-1].startswith("report.json: 1 text field(s) longer than their limit were cut")


def test_bad_created_at_leaves_the_time_unknown(tmp_path):
    for bad in ("yesterday", 1629894030, "0001-01-01T00:00:00Z"):
        (f,) = read_findings(_write(tmp_path, _image_report(_vulnerability(), CreatedAt=bad))).findings
        assert f.ts is None


def test_severity_outside_the_scale_is_unknown(tmp_path):
    doc = _image_report(
        _vulnerability(Severity="high"), _vulnerability(Severity="SEVERE"), _vulnerability(Severity=3)
    )
    assert [f.severity for f in read_findings(_write(tmp_path, doc)).findings] == [
        "HIGH",
        "UNKNOWN",
        "UNKNOWN",
    ]


# --- trivy k8s -----------------------------------------------------------------------------------------------


def test_cluster_report_reads_every_vulnerability_and_reports_the_scan_error():
    read = read_findings(TRIVY / KIND)
    assert (read.layout, len(read.findings), read.malformed) == ("trivy-k8s", 16, 0)
    (problem,) = read.problems  # the empty {"Kind": "", "Name": ""} resources are skipped silently
    assert problem.startswith(
        "trivy-k8s-cluster-report-kind.json: foo/Deployment/bar: scan error: unable to initialize a scanner: "
    )
    assert "\t" not in problem and "\n" not in problem and len(problem) < 400


def test_cluster_report_subjects_and_workloads_are_exact():
    by_where = {f.where.split(": ", 1)[1]: f for f in read_findings(TRIVY / KIND).findings}
    coredns = by_where["Resources[2].Results[0].Vulnerabilities[0]"]
    assert (coredns.subject, coredns.namespace, coredns.workload_kind, coredns.workload) == (
        "registry.k8s.io/coredns/coredns:v1.10.1",
        "kube-system",
        "Deployment",
        "coredns",
    )
    assert (coredns.package, coredns.installed, coredns.fixed, coredns.package_type) == (
        "github.com/emicklei/go-restful",
        "v2.9.5+incompatible",
        "2.16.0",
        "gobinary",
    )
    # a language package after the OS packages is in the same image
    node = by_where["Resources[8].Results[1].Vulnerabilities[0]"]
    assert node.subject == "docker.io/istio/examples-bookinfo-ratings-v1:1.17.0" and node.target == "Node.js"
    # the Target names a digest; the report's RepoTags name its tag
    nginx = by_where["Resources[15].Results[0].Vulnerabilities[0]"]
    assert (nginx.subject, nginx.image, nginx.id) == (
        "docker.io/library/nginx:1.25.0",
        "nginx:1.25.0",
        "CVE-2023-3446",
    )


def test_cluster_report_image_is_the_one_the_target_names_not_another_tag(tmp_path):
    doc = _load(KIND)
    sidecar = doc["Resources"][9]
    sidecar["Metadata"][0]["RepoTags"] = [
        "quay.io/kiwigrid/k8s-sidecar:latest",
        "quay.io/kiwigrid/k8s-sidecar:1.22.0",
    ]
    read = read_findings(_write(tmp_path, {"Resources": [sidecar]}))
    assert {(f.image, f.subject) for f in read.findings} == {
        ("quay.io/kiwigrid/k8s-sidecar:1.22.0", "quay.io/kiwigrid/k8s-sidecar:1.22.0")
    }
    assert len(read.findings) == 4  # the Python package after the OS packages too


def test_cluster_report_with_one_metadata_object_reads_the_same(tmp_path):
    doc = _load(KIND)
    for r in doc["Resources"]:
        if "Metadata" in r:
            r["Metadata"] = r["Metadata"][0]  # Trivy 0.5x writes one object, 0.4x a list
    assert read_findings(_write(tmp_path, doc, KIND)).findings == read_findings(TRIVY / KIND).findings


def test_summary_layout_reads_findings_like_resources(tmp_path):
    doc = _load(KIND)
    summary = {"ClusterName": doc["ClusterName"], "Findings": doc["Resources"]}
    read = read_findings(_write(tmp_path, summary, KIND))
    before = read_findings(TRIVY / KIND).findings
    assert read.layout == "trivy-k8s-summary"
    assert [f._replace(where="") for f in read.findings] == [f._replace(where="") for f in before]
    assert read.findings[0].where == f"{KIND}: Findings[2].Results[0].Vulnerabilities[0]"


def test_merged_resource_gives_each_language_package_the_image_before_it(tmp_path):
    doc = _load(KIND)
    ratings, sidecar = doc["Resources"][8], doc["Resources"][9]
    merged = {
        "Namespace": "apps",
        "Kind": "Deployment",
        "Name": "app1",
        "Metadata": {},
        "Results": ratings["Results"] + sidecar["Results"],
    }
    read = read_findings(_write(tmp_path, {"ClusterName": "kind", "Findings": [merged]}))
    subjects = {f.package: f.subject for f in read.findings}
    assert subjects["npm-registry-fetch"] == "docker.io/istio/examples-bookinfo-ratings-v1:1.17.0"
    assert subjects["certifi"] == "quay.io/kiwigrid/k8s-sidecar:1.22.0"
    assert read.malformed == 0


def test_language_package_of_an_unknown_image_is_malformed(tmp_path):
    doc = _load(KIND)
    coredns = doc["Resources"][2]
    coredns["Metadata"] = doc["Resources"][8]["Metadata"] + doc["Resources"][9]["Metadata"]
    read = read_findings(_write(tmp_path, {"ClusterName": "kind", "Resources": [coredns]}))
    assert (read.findings, read.malformed) == ([], 1)
    assert read.problems == [
        "report.json: Resources[0].Results[0].Vulnerabilities: which image 'coredns' is in is not known "
        "(2 images in the resource)"
    ]


def test_unparsable_image_target_counts_every_vulnerability_of_the_result(tmp_path):
    doc = _load(KIND)
    apiserver = copy.deepcopy(doc["Resources"][5])  # kube-apiserver: OS result empty, gobinary result one CVE
    apiserver["Results"][0]["Target"] = "registry.k8s.io/Kube-Apiserver:v1.27.3 (debian 11.7)"
    apiserver["Results"][0]["Vulnerabilities"] = [_vulnerability(), _vulnerability()]
    read = read_findings(_write(tmp_path, {"Resources": [apiserver]}))
    assert read.malformed == 2
    assert read.problems[0] == (
        "report.json: Resources[0].Results[0].Vulnerabilities: Target 'registry.k8s.io/Kube-Apiserver:v1.27.3' "
        "is not an image reference"
    )
    # the language package that follows still has its Metadata image
    assert [f.subject for f in read.findings] == ["registry.k8s.io/kube-apiserver:v1.27.3"]


def test_damaged_resources_are_counted_and_the_rest_is_read(tmp_path):
    doc = _load(KIND)
    doc["Resources"][3] = "not a resource"
    doc["Resources"][4] = {"Kind": "Deployment", "Name": "x", "Results": "none"}
    doc["Resources"][6] = {"Kind": 7, "Name": "x"}
    read = read_findings(_write(tmp_path, doc))
    assert (len(read.findings), read.malformed) == (16, 3)
    assert read.problems[1:] == [
        "report.json: Resources[3]: is not an object",
        "report.json: Resources[4]: Results is not a list",
        "report.json: Resources[6]: Kind 7 is not a string",
    ]


def test_legacy_layout_reads_vulnerabilities_and_misconfigurations():
    read = read_findings(TRIVY / "trivy-k8s-docs-example-legacy-format.json")
    assert (read.layout, read.malformed, read.problems) == ("trivy-k8s-legacy", 0, [])
    assert [(f.kind, f.id, f.subject) for f in read.findings] == [
        ("vulnerability", "CVE-2016-2781", "docker.io/library/ubuntu:latest"),
        ("misconfiguration", "KSV-0001", "KSV-0001 default/Deployment/app"),
        ("misconfiguration", "KSV-0003", "KSV-0003 default/Deployment/app"),
    ]
    ksv = read.findings[1]
    assert (ksv.container, ksv.workload_kind, ksv.workload, ksv.severity) == (
        "app",
        "Deployment",
        "app",
        "MEDIUM",
    )
    assert ksv.resolution == "Set 'set containers[].securityContext.allowPrivilegeEscalation' to 'false'."


def test_cluster_misconfigurations_only_failed_checks(tmp_path):
    doc = _load("trivy-k8s-docs-example-legacy-format.json")
    checks = doc["Misconfigurations"][0]["Results"][0]["Misconfigurations"]
    checks[0]["Status"] = "PASS"
    checks[1]["Status"] = 1
    read = read_findings(_write(tmp_path, {"Misconfigurations": doc["Misconfigurations"]}))
    assert (read.findings, read.malformed) == ([], 1)
    assert read.problems == [
        "report.json: Misconfigurations[0].Results[0].Misconfigurations[1]: Status 1 is not a status"
    ]


# --- trivy config / fs ---------------------------------------------------------------------------------------

HELM_IDS = ["KSV-0001", "KSV-0030", "KSV-0104", "KSV-0110", "KSV-0117", "KSV-0118"]


def test_config_reports_in_both_id_styles_give_the_same_findings():
    new = read_findings(TRIVY / "trivy-golden-helm_testchart.json")
    old = read_findings(TRIVY / "trivy-golden-v0.68.0-helm_testchart.json")
    assert new.layout == old.layout == "trivy-config"
    assert [f.id for f in new.findings] == [f.id for f in old.findings] == HELM_IDS
    assert [f._replace(where="") for f in new.findings] == [f._replace(where="") for f in old.findings]


def test_config_finding_subject_is_the_file_and_the_message_names_the_workload():
    f = read_findings(TRIVY / "trivy-golden-helm_testchart.json").findings[0]
    assert (f.source, f.kind, f.subject) == (
        "trivy-config",
        "misconfiguration",
        "KSV-0001 -/file/templates/deployment.yaml",
    )
    assert (f.workload_kind, f.workload, f.container, f.target, f.package_type) == (
        "Deployment",
        "testchart",
        "testchart",
        "templates/deployment.yaml",
        "helm",
    )


def test_dockerfile_check_has_the_file_as_subject():
    (f,) = read_findings(TRIVY / "trivy-golden-dockerfile.json").findings
    assert (f.id, f.subject, f.severity) == ("DS-0002", "DS-0002 -/file/Dockerfile", "HIGH")
    assert f.resolution == "Add 'USER <non root user name>' line to the Dockerfile"


def test_check_ids_of_every_spelling_become_one(tmp_path):
    checks = [{"ID": i, "Status": "FAIL", "Title": "t"} for i in ("KSV001", "KSV-0001", "ksv001")]
    checks.append({"AVDID": "AVD-KSV-0001", "Status": "FAIL"})
    checks.append({"ID": 1, "Status": "FAIL"})
    doc = {
        "ArtifactName": "m",
        "ArtifactType": "filesystem",
        "Results": [
            {"Target": "d.yaml", "Class": "config", "Type": "kubernetes", "Misconfigurations": checks}
        ],
    }
    read = read_findings(_write(tmp_path, doc))
    assert [f.id for f in read.findings] == ["KSV-0001"] * 4
    assert read.malformed == 1 and read.problems == [
        "report.json: Results[0].Misconfigurations[4]: ID 1 is not a check id"
    ]


def test_file_scans_have_the_package_as_subject():
    subjects = {}
    for name in ("pip", "pipenv", "poetry", "uv", "npm"):
        read = read_findings(TRIVY / f"trivy-golden-{name}.json")
        assert (read.layout, read.malformed) == ("trivy-fs", 0)
        subjects[name] = sorted({f.subject for f in read.findings})
        assert {f.source for f in read.findings} == {"trivy-fs"}
    assert subjects == {
        "pip": ["pkg:pip/werkzeug"],
        "pipenv": ["pkg:pipenv/werkzeug"],
        "poetry": ["pkg:poetry/werkzeug"],
        "uv": ["pkg:uv/werkzeug"],
        "npm": ["pkg:npm/jquery"],
    }


def test_file_scan_keeps_the_package_name_as_written():
    read = read_findings(TRIVY / "trivy-golden-pip.json")
    assert [(f.id, f.package, f.installed, f.fixed) for f in read.findings] == [
        ("CVE-2019-14806", "Werkzeug", "0.11", "0.15.3"),
        ("CVE-2020-28724", "Werkzeug", "0.11", "0.11.6"),
    ]


def test_python_package_names_are_compared_as_pep_503_writes_them(tmp_path):
    vulns = [_vulnerability(PkgName=n) for n in ("Zope.Interface", "zope_interface", "zope--interface")]
    doc = {
        "ArtifactName": ".",
        "ArtifactType": "filesystem",
        "Results": [
            {"Target": "requirements.txt", "Class": "lang-pkgs", "Type": "pip", "Vulnerabilities": vulns}
        ],
    }
    assert {f.subject for f in read_findings(_write(tmp_path, doc)).findings} == {"pkg:pip/zope-interface"}


def test_secrets_are_said_not_to_be_read():
    read = read_findings(TRIVY / "trivy-golden-secrets.json")
    assert (read.findings, read.malformed) == ([], 0)
    assert read.problems == [
        "trivy-golden-secrets.json: Results[0]: 2 secret finding(s) not read (only vulnerabilities and "
        "misconfigurations are)"
    ]

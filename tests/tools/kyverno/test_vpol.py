"""ValidatingPolicy (policies.kyverno.io) scored like ``kyverno test``, and the shapes we refuse."""

import pytest

from tests.tools.kyverno.policies import deployment, pod
from tools.kyverno.errors import Unsupported
from tools.kyverno.vpol import evaluate_validating_policy


def vpol(*expressions, **spec):
    return {
        "apiVersion": "policies.kyverno.io/v1alpha1",
        "kind": "ValidatingPolicy",
        "metadata": {"name": "v"},
        "spec": {
            "validationActions": ["Audit"],
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [{"expression": e} for e in expressions],
            **spec,
        },
    }


def test_validations_pass_and_fail_with_variables():
    variables = [{"name": "images", "expression": "object.spec.containers.map(c, c.image)"}]
    assert (
        evaluate_validating_policy(vpol("variables.images.size() == 1", variables=variables), pod()) == "pass"
    )
    assert (
        evaluate_validating_policy(vpol("true", "object.spec.?hostPID.orValue(true) == false"), pod())
        == "fail"
    )


def test_false_match_condition_skips():
    conditions = [{"name": "host", "expression": "has(object.spec.hostNetwork)"}]
    assert evaluate_validating_policy(vpol("false", matchConditions=conditions), pod()) == "skip"


def test_other_resources_get_no_response():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    assert evaluate_validating_policy(vpol("false"), service) is None


@pytest.mark.parametrize(
    ("policy", "resource"),
    [
        (vpol("true"), deployment()),  # autogen for Pod controllers
        (vpol("true", paramKind={"kind": "ConfigMap"}), pod()),
        (vpol("params.x == 1"), pod()),
    ],
)
def test_what_we_do_not_reproduce_is_unsupported(policy, resource):
    with pytest.raises(Unsupported):
        evaluate_validating_policy(policy, resource)

"""validate.cel rules through cel-python, and the shapes we refuse."""

import pytest

from tests.tools.kyverno.policies import cluster_policy, deployment, pod, pod_rule
from tools.kyverno.engine import evaluate_policy
from tools.kyverno.match import Admission


def cel_rule(*expressions, **extra):
    exprs = [{"expression": e, "message": f"failed: {e}"} for e in expressions]
    return pod_rule(cel={"expressions": exprs, **extra})


def statuses(rule, resource):
    return [(r.status, r.message) for r in evaluate_policy(cluster_policy(rule), resource, Admission())]


def test_false_expression_fails_with_its_message():
    assert statuses(cel_rule("object.spec.containers.all(c, c.image.startsWith('ghcr.io/'))"), pod()) == [
        ("fail", "failed: object.spec.containers.all(c, c.image.startsWith('ghcr.io/'))")
    ]


def test_true_expressions_pass_and_variables_are_visible():
    rule = cel_rule(
        "variables.images.all(i, i.split(':').size() == 2)",
        variables=[{"name": "images", "expression": "object.spec.containers.map(c, c.image)"}],
    )
    assert statuses(rule, pod())[0][0] == "pass"


def test_doubles_compare_with_ints_like_cel_go():
    resource = pod()
    resource["spec"]["priority"] = 3.0
    assert (
        statuses(cel_rule("object.spec.priority == 3 && object.spec.priority < 4"), resource)[0][0] == "pass"
    )


@pytest.mark.parametrize(
    "expression",
    ["object.spec.?hostNetwork.orValue(false) == [?false]", "object.spec.missing == 1", "params.x == 1"],
)
def test_what_cel_python_cannot_answer_is_unsupported(expression):
    assert statuses(cel_rule(expression), pod())[0][0] == "unsupported"


def test_autogen_copies_of_cel_rules_read_the_pod_template():
    rule = cel_rule("object.spec.containers.all(c, c.image.startsWith('ghcr.io/'))")
    results = evaluate_policy(cluster_policy(rule), deployment(image="ghcr.io/a:1"), Admission())
    assert [(r.rule, r.status) for r in results] == [("autogen-r", "pass")]


def test_autogen_cronjob_copy_of_a_cel_rule_reads_the_job_template():
    rule = cel_rule("object.metadata.?labels.app.orValue('') == 'web'")
    template = deployment()["spec"]["template"]
    template["metadata"] = {"labels": {"app": "web"}}
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"jobTemplate": {"spec": {"template": template}}},
    }
    results = evaluate_policy(cluster_policy(rule), cronjob, Admission())
    assert [(r.rule, r.status) for r in results] == [("autogen-cronjob-r", "pass")]


def test_false_cel_precondition_skips_the_rule():
    rule = cel_rule("false")
    rule["celPreconditions"] = [{"name": "only-host", "expression": "has(object.spec.hostNetwork)"}]
    assert statuses(rule, pod())[0][0] == "skip"


def _ingress(spec):
    return {"request": {"object": {"kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}}}


def test_and_absorbs_an_error_when_the_other_side_is_false_missing_field():
    from tools.kyverno.cel import evaluate_cel

    rule = {
        "expressions": [
            {"expression": "has(object.spec.ingressClassName) && object.spec.ingressClassName != ''"}
        ]
    }
    assert evaluate_cel("r", rule, _ingress({}))[0] == "fail"
    assert evaluate_cel("r", rule, _ingress({"ingressClassName": "nginx"}))[0] == "pass"


def test_or_absorbs_an_error_when_the_other_side_is_true_missing_field():
    from tools.kyverno.cel import evaluate_cel

    rule = {"expressions": [{"expression": "object.spec.x == 'a' || true"}]}
    assert evaluate_cel("r", rule, _ingress({}))[0] == "pass"


def test_error_reaching_the_top_is_unsupported_missing_field():
    import pytest

    from tools.kyverno.cel import evaluate_cel
    from tools.kyverno.errors import Unsupported

    with pytest.raises(Unsupported):
        evaluate_cel("r", {"expressions": [{"expression": "object.spec.x == 'a'"}]}, _ingress({}))

from tests.tools.kyverno.policies import NO_LATEST, cluster_policy, deployment, pod, pod_rule
from tools.kyverno.context import Values, image_info
from tools.kyverno.engine import evaluate_policy
from tools.kyverno.match import Admission


def statuses(policy, resource, operation="CREATE", values=None):
    return [(r.rule, r.status) for r in evaluate_policy(policy, resource, Admission(operation), values)]


def test_pattern_rule_passes_and_fails():
    policy = cluster_policy(pod_rule(**NO_LATEST))
    assert statuses(policy, pod()) == [("r", "pass")]
    assert statuses(policy, pod(image="nginx:latest")) == [("r", "fail")]


def test_fail_message_names_rule_and_path():
    [result] = evaluate_policy(cluster_policy(pod_rule(**NO_LATEST)), pod(image="nginx:latest"), Admission())
    assert result.message == "validation error: no latest. rule r failed at path /spec/containers/0/image/"


def test_autogen_rule_checks_controller_template():
    policy = cluster_policy(pod_rule(**NO_LATEST))
    assert statuses(policy, deployment(image="nginx:latest")) == [("autogen-r", "fail")]


def test_autogen_annotation_none_disables_controllers():
    policy = cluster_policy(
        pod_rule(**NO_LATEST), annotations={"pod-policies.kyverno.io/autogen-controllers": "none"}
    )
    assert statuses(policy, deployment(image="nginx:latest")) == []


def test_autogen_shifts_variables_in_deny():
    deny = {
        "deny": {
            "conditions": {
                "any": [
                    {
                        "key": "{{ request.object.spec.hostNetwork || false }}",
                        "operator": "Equals",
                        "value": True,
                    }
                ]
            }
        }
    }
    policy = cluster_policy(pod_rule(**deny))
    resource = deployment()
    resource["spec"]["template"]["spec"]["hostNetwork"] = True
    assert statuses(policy, resource) == [("autogen-r", "fail")]


def test_precondition_false_skips():
    rule = pod_rule(**NO_LATEST) | {
        "preconditions": {
            "all": [{"key": "{{ request.operation }}", "operator": "Equals", "value": "DELETE"}]
        }
    }
    assert statuses(cluster_policy(rule), pod()) == [("r", "skip")]


def test_unknown_key_in_deny_is_an_error():
    deny = {
        "deny": {
            "conditions": [
                {"key": "{{ request.object.metadata.labels.app }}", "operator": "Equals", "value": "x"}
            ]
        }
    }
    assert statuses(cluster_policy(pod_rule(**deny)), pod()) == [("r", "error")]


def test_foreach_deny_fails_on_one_element():
    foreach = {
        "foreach": [
            {
                "list": "request.object.spec.containers",
                "deny": {
                    "conditions": [{"key": "{{ element.image }}", "operator": "Equals", "value": "*:latest"}]
                },
            }
        ]
    }
    policy = cluster_policy(pod_rule(**foreach))
    assert statuses(policy, pod(image="nginx:latest")) == [("r", "fail")]
    assert statuses(policy, pod()) == [("r", "pass")]


def test_foreach_over_empty_list_gives_no_response():
    foreach = {"foreach": [{"list": "request.object.spec.initContainers", "deny": {}}]}
    assert statuses(cluster_policy(pod_rule(**foreach)), pod()) == []


def test_enforce_update_of_existing_violation_is_skip():
    policy = cluster_policy(pod_rule(**NO_LATEST), validationFailureAction="Enforce")
    assert statuses(policy, pod(image="nginx:latest"), operation="UPDATE") == [("r", "skip")]


def test_scored_false_turns_fail_into_warn():
    policy = cluster_policy(pod_rule(**NO_LATEST), annotations={"policies.kyverno.io/scored": "false"})
    assert statuses(policy, pod(image="nginx:latest")) == [("r", "warn")]


def test_cel_rule_with_params_is_unsupported():
    rule = pod_rule(cel={"expressions": [], "paramKind": {"kind": "ConfigMap"}})
    assert statuses(cluster_policy(rule), pod()) == [("r", "unsupported")]


def test_unmocked_api_call_is_unsupported():
    rule = pod_rule(deny={}) | {"context": [{"name": "ns", "apiCall": {"urlPath": "/api/v1/namespaces"}}]}
    assert statuses(cluster_policy(rule), pod()) == [("r", "unsupported")]


def test_mocked_config_map_is_read_from_values():
    deny = {"deny": {"conditions": [{"key": "{{ cm.data.blocked }}", "operator": "Equals", "value": "yes"}]}}
    rule = pod_rule(**deny) | {"context": [{"name": "cm", "configMap": {"name": "x", "namespace": "y"}}]}
    values = Values(rule_values={"r": {"cm.data.blocked": "yes"}})
    assert statuses(cluster_policy(rule), pod(), values=values) == [("r", "fail")]


def test_context_variable_with_default():
    rule = pod_rule(deny={"conditions": [{"key": "{{ tier }}", "operator": "Equals", "value": "gold"}]})
    rule["context"] = [
        {"name": "tier", "variable": {"jmesPath": "request.object.metadata.labels.tier", "default": "gold"}}
    ]
    assert statuses(cluster_policy(rule), pod()) == [("r", "fail")]


def test_cel_policy_kind_is_unsupported():
    policy = {"apiVersion": "policies.kyverno.io/v1", "kind": "ValidatingPolicy", "metadata": {"name": "v"}}
    assert statuses(policy, pod()) == [("", "unsupported")]


def test_image_info_defaults_registry_and_tag():
    info = image_info("nginx")
    assert (info["registry"], info["path"], info["tag"], info["reference"]) == (
        "docker.io",
        "nginx",
        "latest",
        "docker.io/nginx:latest",
    )


def test_malformed_rule_shape_is_unsupported_not_a_crash():
    rule = pod_rule(deny={}) | {"match": ["Pod"]}
    assert statuses(cluster_policy(rule), pod()) == [("", "unsupported")]

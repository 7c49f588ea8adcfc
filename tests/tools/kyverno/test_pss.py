"""validate.podSecurity: Pod Security Standards controls and Kyverno's exclusions."""

import pytest

from tests.tools.kyverno.policies import cluster_policy, deployment, pod, pod_rule
from tools.kyverno.engine import evaluate_policy
from tools.kyverno.errors import Unsupported
from tools.kyverno.match import Admission
from tools.kyverno.pss import evaluate_pod_security

RESTRICTED_SC = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def restricted_pod(image="nginx:1.25", **sc):
    p = pod(image=image)
    p["spec"]["containers"][0]["securityContext"] = {**RESTRICTED_SC, **sc}
    return p


def status(level, resource, exclude=None, version="latest"):
    rule = {"level": level, "version": version, **({"exclude": exclude} if exclude else {})}
    return evaluate_pod_security("r", rule, resource)[0]


def test_baseline_fails_on_host_namespace():
    assert status("baseline", pod(hostIPC=True)) == "fail"
    assert status("baseline", pod()) == "pass"


def test_restricted_needs_every_restricted_field():
    assert status("restricted", restricted_pod()) == "pass"
    assert status("restricted", pod()) == "fail"
    assert status("restricted", restricted_pod(runAsNonRoot=None)) == "fail"


def test_restricted_accepts_pod_level_settings():
    p = restricted_pod(runAsNonRoot=None, seccompProfile=None)
    p["spec"]["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "Localhost"}}
    assert status("restricted", p) == "pass"


def test_exclusion_by_image_exempts_only_matching_containers():
    added = {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}
    exclude = [{"controlName": "Capabilities", "images": ["ghcr.io/*"]}]
    assert status("restricted", restricted_pod("ghcr.io/x/y:1", **added), exclude) == "pass"
    assert status("restricted", restricted_pod("busybox", **added), exclude) == "fail"


def test_pod_level_exclusion_exempts_pod_and_unset_container_fields():
    p = restricted_pod(seccompProfile=None)
    p["spec"]["securityContext"] = {"seccompProfile": {"type": "Unconfined"}}
    assert status("restricted", p) == "fail"
    assert status("restricted", p, [{"controlName": "Seccomp"}]) == "pass"


@pytest.mark.parametrize(
    ("rule", "resource"),
    [
        ({"level": "baseline", "version": "v1.24"}, pod()),
        ({"level": "baseline", "exclude": [{"controlName": "Sysctls", "restrictedField": "x"}]}, pod()),
        ({"level": "baseline"}, pod(hostUsers=False)),
        ({"level": "restricted", "exclude": [{"controlName": "Capabilities"}]}, pod()),
    ],
)
def test_uncertain_shapes_are_unsupported(rule, resource):
    with pytest.raises(Unsupported):
        evaluate_pod_security("r", rule, resource)


def test_rule_applies_to_pod_controllers_through_autogen():
    policy = cluster_policy(pod_rule(podSecurity={"level": "baseline", "version": "latest"}))
    bad = deployment()
    bad["spec"]["template"]["spec"]["hostNetwork"] = True
    results = evaluate_policy(policy, bad, Admission())
    assert [(r.rule, r.status) for r in results] == [("autogen-r", "fail")]


def test_deleted_resources_get_no_response():
    policy = cluster_policy(pod_rule(podSecurity={"level": "baseline"}))
    assert evaluate_policy(policy, pod(hostPID=True), Admission(operation="DELETE")) == []

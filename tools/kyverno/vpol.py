"""``ValidatingPolicy`` (policies.kyverno.io) on one resource, as ``kyverno test`` scores it.

Supported: ``matchConstraints.resourceRules`` (apiGroups, apiVersions, resources, operations),
``matchConditions``, ``variables`` and ``validations[].expression``, evaluated with the same CEL
evaluator as ``validate.cel``. Everything else raises :class:`~tools.kyverno.errors.Unsupported`:
namespace/object selectors, excluded rules, resource names, params, audit annotations, JSON mode,
and Pod controllers of a Pod policy (Kyverno autogenerates rules for them; not reproduced here).
"""

from __future__ import annotations

from typing import Any

from celpy import celtypes
from celpy.adapter import json_to_cel

from tools.kyverno.autogen import ALL_CONTROLLERS
from tools.kyverno.cel import _run
from tools.kyverno.errors import Unsupported
from tools.kyverno.match import split_api_version

API_PREFIX = "policies.kyverno.io/"
_SPEC_KEYS = {"validationActions", "evaluation", "matchConstraints", "variables", "validations"}
_SPEC_KEYS |= {"matchConditions", "failurePolicy"}
_EVALUATION_KEYS = {"background", "admission"}
# kind -> resource (plural) for the kinds whose plural we are sure of; others are unsupported
RESOURCES = {
    "Pod": "pods",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets",
    "Job": "jobs",
    "CronJob": "cronjobs",
    "Service": "services",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Namespace": "namespaces",
    "Ingress": "ingresses",
    "NetworkPolicy": "networkpolicies",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "PersistentVolume": "persistentvolumes",
    "ServiceAccount": "serviceaccounts",
    "Role": "roles",
    "ClusterRole": "clusterroles",
    "RoleBinding": "rolebindings",
    "ClusterRoleBinding": "clusterrolebindings",
}


def is_validating_policy(policy: dict[str, Any]) -> bool:
    """True for a ``policies.kyverno.io`` ValidatingPolicy."""
    return policy.get("kind") == "ValidatingPolicy" and str(policy.get("apiVersion", "")).startswith(
        API_PREFIX
    )


def _check_shape(spec: dict[str, Any]) -> dict[str, Any]:
    extra = set(spec) - _SPEC_KEYS
    if extra:
        raise Unsupported(f"ValidatingPolicy with {sorted(extra)} is not supported")
    if set(spec.get("evaluation") or {}) - _EVALUATION_KEYS:
        raise Unsupported("ValidatingPolicy evaluation settings other than background/admission")
    constraints = dict(spec.get("matchConstraints") or {})
    if set(constraints) - {"resourceRules"}:
        raise Unsupported(f"ValidatingPolicy matchConstraints {sorted(set(constraints) - {'resourceRules'})}")
    for rule in constraints.get("resourceRules") or []:
        if set(rule) - {"apiGroups", "apiVersions", "resources", "operations"}:
            raise Unsupported("ValidatingPolicy resourceRules with resourceNames or scope")
    for validation in spec.get("validations") or []:
        if set(validation) - {"expression", "message", "messageExpression", "reason"}:
            raise Unsupported("ValidatingPolicy validation fields other than expression/message")
    return constraints


def _listed(values: list[Any] | None, wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values or [])


def _matches(constraints: dict[str, Any], resource: dict[str, Any], operation: str) -> bool:
    kind = str(resource.get("kind", ""))
    plural = RESOURCES.get(kind)
    group, version = split_api_version(str(resource.get("apiVersion", "")))
    for rule in constraints.get("resourceRules") or []:
        resources = [str(r) for r in rule.get("resources") or []]
        if not (
            _listed(rule.get("operations"), operation)
            and _listed(rule.get("apiGroups"), group)
            and _listed(rule.get("apiVersions"), version)
        ):
            continue
        if "*" in resources or "*/*" in resources:
            return True
        if plural is None:
            raise Unsupported(f"ValidatingPolicy matching of kind {kind} (resource name unknown)")
        if plural in resources:
            return True
    return False


def evaluate_validating_policy(
    policy: dict[str, Any], resource: dict[str, Any], operation: str = "CREATE"
) -> str | None:
    """pass / fail / skip of a ValidatingPolicy on ``resource``; None when it does not match."""
    spec = policy.get("spec") or {}
    constraints = _check_shape(spec)
    if not _matches(constraints, resource, operation):
        if resource.get("kind") in ALL_CONTROLLERS and _matches(
            constraints, {"kind": "Pod", "apiVersion": "v1"}, operation
        ):
            raise Unsupported("ValidatingPolicy autogen rules for Pod controllers are not supported")
        return None
    if operation != "CREATE":
        raise Unsupported("ValidatingPolicy on UPDATE/DELETE requests is not supported")
    activation: dict[str, Any] = {
        "object": json_to_cel(resource),
        "oldObject": None,
        "request": json_to_cel({"operation": operation}),
    }
    for condition in spec.get("matchConditions") or []:
        result = _run(str(condition.get("expression", "")), activation)
        if not isinstance(result, celtypes.BoolType):
            raise Unsupported("a matchConditions expression did not return a bool")
        if not result:
            return "skip"
    variables: dict[Any, Any] = {}
    activation["variables"] = celtypes.MapType(variables)
    for variable in spec.get("variables") or []:
        variables[celtypes.StringType(str(variable["name"]))] = _run(str(variable["expression"]), activation)
        activation["variables"] = celtypes.MapType(variables)
    for validation in spec.get("validations") or []:
        result = _run(str(validation["expression"]), activation)
        if not isinstance(result, celtypes.BoolType):
            raise Unsupported("a ValidatingPolicy validation did not return a bool")
        if not result:
            return "fail"
    return "pass"

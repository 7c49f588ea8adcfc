"""Evaluating a policy's validate rules on one resource (docs/kyverno-semantics §5)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from tools.kyverno.autogen import expand_rules
from tools.kyverno.cel import cel_preconditions_hold, evaluate_cel
from tools.kyverno.conditions import evaluate_conditions
from tools.kyverno.context import Values, build_context, load_entries
from tools.kyverno.errors import EvalError, Unsupported
from tools.kyverno.foreach import Outcome, validate_foreach
from tools.kyverno.match import Admission, parse_kind_selector, rule_matches
from tools.kyverno.pattern import NEGATION, SKIP, match_pattern
from tools.kyverno.policy import policy_unsupported, rule_unsupported
from tools.kyverno.pss import evaluate_pod_security
from tools.kyverno.variables import has_variables, substitute

SCORED_ANNOTATION = "policies.kyverno.io/scored"
#: Objects of subresource requests (``Deployment/scale``, ``Pod/exec``...): Kyverno matches them through the
#: parent resource's kind, which the object does not carry; we refuse rather than call them not matched.
SUBRESOURCE_KINDS = frozenset(
    {
        "Scale",
        "PodExecOptions",
        "PodAttachOptions",
        "PodPortForwardOptions",
        "PodProxyOptions",
        "Eviction",
        "Binding",
        "TokenRequest",
    }
)


@dataclass(frozen=True)
class RuleResult:
    """One rule's answer for one resource: pass, fail, skip, error, warn or unsupported."""

    policy: str
    rule: str
    status: str
    message: str = ""


def _message(validate: dict[str, Any], ctx: dict[str, Any]) -> str:
    text = str(validate.get("message", ""))
    try:
        resolved = substitute(text, ctx)
    except (EvalError, Unsupported):
        return text
    return resolved if isinstance(resolved, str) else str(resolved)


def _pattern_outcome(rule_name: str, pattern: Any, target: Any, ctx: dict[str, Any], msg: str) -> Outcome:
    if has_variables(pattern):
        pattern = substitute(pattern, ctx)
    found = match_pattern(target, pattern)
    if found is None:
        return "pass", f"validation rule '{rule_name}' passed."
    if found.kind == SKIP:
        return "skip", f"rule {rule_name} skipped: {found.message}"
    if found.kind != NEGATION and found.path == "":
        return "error", f"validation error: {msg}. rule {rule_name} failed: {found.message}"
    return "fail", f"validation error: {msg}. rule {rule_name} failed at path {found.path}"


def _any_pattern_outcome(
    rule_name: str, patterns: list[Any], target: Any, ctx: dict[str, Any], msg: str
) -> Outcome:
    outcomes = [_pattern_outcome(f"{rule_name}[{i}]", p, target, ctx, msg) for i, p in enumerate(patterns)]
    if any(status == "pass" for status, _ in outcomes):
        return "pass", f"validation rule '{rule_name}' anyPattern[0] passed."
    if outcomes and all(status == "skip" for status, _ in outcomes):
        return "skip", f"rule {rule_name} skipped"
    details = " ".join(m for _, m in outcomes)
    return "fail", f"validation error: {msg}. {details}"


def _body(rule_name: str, validate: dict[str, Any], ctx: dict[str, Any], target: Any) -> Outcome:
    """deny / pattern / anyPattern of a rule or of a foreach entry."""
    if "deny" in validate:
        deny = validate.get("deny") or {}
        denied = (
            evaluate_conditions(deny.get("conditions"), ctx) if deny.get("conditions") is not None else True
        )
        if denied:
            return "fail", _message(validate, ctx) or f"validation error: rule {rule_name} failed"
        return "pass", f"validation rule '{rule_name}' passed."
    msg = _message(validate, ctx)
    if "pattern" in validate:
        if target is None:
            return None, ""
        return _pattern_outcome(rule_name, validate["pattern"], target, ctx, msg)
    if "anyPattern" in validate:
        if target is None:
            return None, ""
        return _any_pattern_outcome(rule_name, list(validate["anyPattern"] or []), target, ctx, msg)
    raise Unsupported("validate block without deny, pattern or anyPattern")


def _evaluate_body(rule: dict[str, Any], ctx: dict[str, Any], values: Values, resource: Any) -> Outcome:
    name = str(rule.get("name", ""))
    validate = rule.get("validate") or {}
    mocks = values.rule_values.get(_base_name(name), {})
    try:
        load_entries(rule.get("context"), ctx, mocks)
    except EvalError as exc:
        return "error", f"failed to load context: {exc}"
    if rule.get("celPreconditions") and not cel_preconditions_hold(list(rule["celPreconditions"]), ctx):
        return "skip", "cel preconditions not met"
    try:
        if not evaluate_conditions(rule.get("preconditions"), ctx):
            return "skip", "preconditions not met"
    except EvalError as exc:
        return "error", f"failed to evaluate preconditions: {exc}"
    # patterns check the admitted object itself (on DELETE there is none), not the context's copy
    target = None if ctx["request"].get("operation") == "DELETE" else resource
    if "podSecurity" in validate:
        if target is None:
            return None, ""  # Kyverno skips PSS validation of deleted resources (no response)
        return evaluate_pod_security(name, validate.get("podSecurity") or {}, target)
    if "cel" in validate:
        if target is None:
            raise Unsupported("validate.cel on DELETE requests is not supported")
        return evaluate_cel(name, validate.get("cel") or {}, ctx)
    try:
        if any(k in validate for k in ("deny", "pattern", "anyPattern")):
            return _body(name, validate, ctx, target)
        foreach_values = values.foreach_values.get(_base_name(name), {})

        def body(entry: dict[str, Any], scoped: dict[str, Any], element_target: Any) -> Outcome:
            return _body(name, {"message": validate.get("message", ""), **entry}, scoped, element_target)

        status, message = validate_foreach(validate.get("foreach") or [], ctx, target, body, foreach_values)
        if status == "fail" and not message.startswith("validation error"):
            message = f"validation failure: {message}"
        return status, message
    except EvalError as exc:
        return "error", f"failed to evaluate rule {name}: {exc}"


def _base_name(name: str) -> str:
    for prefix in ("autogen-cronjob-", "autogen-"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _failure_action(policy: dict[str, Any], rule: dict[str, Any]) -> str:
    action = (rule.get("validate") or {}).get("failureAction") or (policy.get("spec") or {}).get(
        "validationFailureAction", "Audit"
    )
    return str(action).lower()


def evaluate_rule(
    policy: dict[str, Any],
    rule: dict[str, Any],
    resource: dict[str, Any],
    admission: Admission,
    values: Values,
) -> RuleResult | None:
    """One rule on one resource; None when the rule does not apply (Kyverno gives no response)."""
    policy_name = str((policy.get("metadata") or {}).get("name", ""))
    name = str(rule.get("name", ""))
    kind = str(resource.get("kind", ""))
    if kind in values.subresources:
        rule = _for_subresource(rule, kind, values.subresources[kind])
    elif kind in SUBRESOURCE_KINDS:
        return RuleResult(policy_name, name, "unsupported", f"{kind} objects of subresource requests")
    resource = _with_object_values(resource, values)
    try:
        if not rule_matches(rule, resource, admission):
            return None
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        return RuleResult(
            policy_name, name, "unsupported", f"could not read this rule's match/exclude: {exc!r}"
        )
    mocked = values.mocked_names | {
        k.split(".")[0] for k in (*values.rule_values.get(_base_name(name), {}), *values.variables)
    }
    reason = rule_unsupported(rule, mocked)
    if reason is not None:
        return RuleResult(policy_name, name, "unsupported", reason)
    old = values.variables.get("request.oldObject")
    try:
        ctx = build_context(resource, admission, values, old_object=old)
        status, message = _evaluate_body(rule, ctx, values, resource)
        if (
            status == "fail"
            and admission.operation == "UPDATE"
            and _failure_action(policy, rule) == "enforce"
            and (rule.get("validate") or {}).get("allowExistingViolations", True) is not False
        ):
            old_resource = ctx["request"].get("oldObject") or copy.deepcopy(resource)
            create = Admission(
                "CREATE", admission.request, admission.namespace_labels, admission.policy_namespace
            )
            old_ctx = build_context(old_resource, create, values)
            old_ctx["request"]["object"] = old_resource
            old_status, _ = _evaluate_body(rule, old_ctx, values, old_resource)
            if old_status == "fail":
                status, message = "skip", "skipped: the resource already violated the rule before the update"
    except Unsupported as exc:
        return RuleResult(policy_name, name, "unsupported", str(exc))
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # a rule shaped in a way we did not anticipate: say so rather than guess a result
        return RuleResult(policy_name, name, "unsupported", f"could not evaluate this rule's shape: {exc!r}")
    if status is None:
        return None
    annotations = (policy.get("metadata") or {}).get("annotations") or {}
    if status == "fail" and str(annotations.get(SCORED_ANNOTATION, "")).lower() == "false":
        status = "warn"
    return RuleResult(policy_name, name, status, message)


def _for_subresource(rule: dict[str, Any], kind: str, parent: tuple[str, str]) -> dict[str, Any]:
    """The rule as it applies to a declared subresource object: ``Deployment/scale`` selects ``Scale``."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: [kind if _selects(str(e), parent) else e for e in v] if k == "kinds" else rewrite(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(x) for x in node]
        return node

    out = dict(rule)
    for key in ("match", "exclude"):
        if key in rule:
            out[key] = rewrite(rule[key])
    return out


def _selects(selector: str, parent: tuple[str, str]) -> bool:
    _group, _version, kind, sub = parse_kind_selector(selector)
    return kind == parent[0] and sub == parent[1]


def _with_object_values(resource: dict[str, Any], values: Values) -> dict[str, Any]:
    """The resource with the values file's ``request.object.<path>`` entries set (the CLI applies them)."""
    paths = [(k, v) for k, v in values.variables.items() if k.startswith("request.object.")]
    if not paths:
        return resource
    out = copy.deepcopy(resource)
    for key, value in paths:
        parts = [p.strip('"') for p in re.findall(r'"[^"]*"|[^.]+', key[len("request.object.") :])]
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return out


def evaluate_policy(
    policy: dict[str, Any], resource: dict[str, Any], admission: Admission, values: Values | None = None
) -> list[RuleResult]:
    """Every validate rule of ``policy`` (autogen included) that applies to ``resource``."""
    values = values or Values()
    policy_name = str((policy.get("metadata") or {}).get("name", ""))
    reason = policy_unsupported(policy)
    if reason is not None:
        return [RuleResult(policy_name, "", "unsupported", reason)]
    try:
        rules = expand_rules(policy, str(resource.get("kind", "")))
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        return [RuleResult(policy_name, "", "unsupported", f"could not read this policy's rules: {exc!r}")]
    results = []
    for rule in rules:
        result = evaluate_rule(policy, rule, resource, admission, values)
        if result is not None:
            results.append(result)
    return results

"""Autogen: Pod rules rewritten for Pod controllers (docs/kyverno-semantics §8)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tools.kyverno.match import _filters, block_kinds, kind_of

ANNOTATION = "pod-policies.kyverno.io/autogen-controllers"
CONTROLLERS = ("DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController")
ALL_CONTROLLERS = (*CONTROLLERS, "CronJob")


def autogen_controllers(policy: dict[str, Any]) -> tuple[str, ...]:
    """The controller kinds this policy's Pod rules are expanded to (empty when autogen is off)."""
    annotations = (policy.get("metadata") or {}).get("annotations") or {}
    wanted = annotations.get(ANNOTATION)
    if wanted is not None and wanted.strip() == "none":
        return ()
    needed = False
    for rule in (policy.get("spec") or {}).get("rules") or []:
        if rule.get("generate") is not None or (rule.get("mutate") or {}).get("patchesJson6902"):
            return ()
        for block in (rule.get("match"), rule.get("exclude")):
            for flt in _filters(block)[1]:
                desc = flt.get("resources") or {}
                if desc.get("name") or desc.get("names") or desc.get("selector") or desc.get("annotations"):
                    return ()
                kinds = [kind_of(k) for k in desc.get("kinds") or []]
                if len(kinds) > 1 and "Pod" in kinds:
                    return ()
                needed = needed or any(k == "Pod" or k in ALL_CONTROLLERS for k in kinds)
    if not needed:
        return ()
    if wanted is None or wanted.strip() == "all":
        return ALL_CONTROLLERS
    return tuple(c.strip() for c in wanted.split(",") if c.strip() in ALL_CONTROLLERS)


def _retarget(block: dict[str, Any] | None, kinds: list[str], every: bool) -> dict[str, Any] | None:
    if not block:
        return block
    block = copy.deepcopy(block)
    mode, filters = _filters(block)
    for flt in filters:
        desc = flt.get("resources")
        if desc and desc.get("kinds") and (every or any(kind_of(k) == "Pod" for k in desc["kinds"])):
            desc["kinds"] = list(kinds)
    if mode == "legacy":
        return filters[0]
    return block


_REFERENCE = re.compile(r"request\.(object|oldObject)\.(spec|metadata)")


def _shift(rule: dict[str, Any], template_key: str) -> dict[str, Any]:
    """Textual rewrite of ``request.object.spec``/``metadata`` references (and oldObject), in one pass."""
    # the CronJob rule is derived from the controller rule, whose references already name the template
    prefix = "spec.template" if template_key == "template" else "spec.jobTemplate"
    text = _REFERENCE.sub(lambda m: f"request.{m.group(1)}.{prefix}.{m.group(2)}", json.dumps(rule))
    shifted: dict[str, Any] = json.loads(text)
    return shifted


# pkg/autogen/v1/rule.go: podCELReplacementRules / cronJobCELReplacementRules, applied in this order with
# bytes.ReplaceAll to the JSON of the whole generated rule when it has validate.cel
_CEL_REPLACEMENTS = {
    "template": (
        ("object.spec", "object.spec.template.spec"),
        ("oldObject.spec", "oldObject.spec.template.spec"),
        ("object.metadata", "object.spec.template.metadata"),
        ("oldObject.metadata", "oldObject.spec.template.metadata"),
    ),
    "jobTemplate": (
        ("object.spec", "object.spec.jobTemplate.spec.template.spec"),
        ("oldObject.spec", "oldObject.spec.jobTemplate.spec.template.spec"),
        ("object.metadata", "object.spec.jobTemplate.spec.template.metadata"),
        ("oldObject.metadata", "oldObject.spec.jobTemplate.spec.template.metadata"),
    ),
}


def _wrap_cel(rule: dict[str, Any], name: str, template_key: str, kinds: list[str]) -> dict[str, Any]:
    """A ``validate.cel`` rule for controllers: Kyverno keeps the expressions and rewrites their text."""
    out = {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("match", "exclude")}
    out["name"] = name[:63]
    out["match"] = _retarget(rule.get("match"), kinds, template_key == "jobTemplate")
    if rule.get("exclude"):
        out["exclude"] = _retarget(rule.get("exclude"), kinds, template_key == "jobTemplate")
    text = json.dumps(out)
    for old, new in _CEL_REPLACEMENTS[template_key]:
        text = text.replace(old, new)
    rewritten: dict[str, Any] = json.loads(text)
    return rewritten


def _wrap(rule: dict[str, Any], name: str, template_key: str, kinds: list[str]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("match", "exclude", "validate")}
    out["name"] = name[:63]
    every = template_key == "jobTemplate"
    out["match"] = _retarget(rule.get("match"), kinds, every)
    if rule.get("exclude"):
        out["exclude"] = _retarget(rule.get("exclude"), kinds, every)
    validate = copy.deepcopy(rule.get("validate") or {})
    if "pattern" in validate:
        validate["pattern"] = {"spec": {template_key: validate["pattern"]}}
    elif "anyPattern" in validate and isinstance(validate["anyPattern"], list):
        validate["anyPattern"] = [{"spec": {template_key: p}} for p in validate["anyPattern"]]
    out["validate"] = validate
    return _shift(out, template_key)


def expand_rules(policy: dict[str, Any], resource_kind: str) -> list[dict[str, Any]]:
    """The rules Kyverno evaluates for a resource of ``resource_kind``: originals plus autogen ones."""
    rules = list((policy.get("spec") or {}).get("rules") or [])
    controllers = autogen_controllers(policy)
    if resource_kind not in controllers:
        return rules
    generated: list[dict[str, Any]] = []
    for rule in rules:
        name = str(rule.get("name", ""))
        match_kinds = [kind_of(k) for k in block_kinds(rule.get("match"))]
        exclude_kinds = [kind_of(k) for k in block_kinds(rule.get("exclude"))]
        if name.startswith("autogen-") or "Pod" not in match_kinds:
            continue
        if exclude_kinds and "Pod" not in exclude_kinds:
            continue
        pod_controllers = [c for c in controllers if c != "CronJob"]
        if "cel" in (rule.get("validate") or {}):
            # both copies derive from the original rule (generateRules: convertRule per kind)
            if pod_controllers:
                generated.append(_wrap_cel(rule, f"autogen-{name}", "template", pod_controllers))
            if "CronJob" in controllers:
                generated.append(_wrap_cel(rule, f"autogen-cronjob-{name}", "jobTemplate", ["CronJob"]))
            continue
        controller_rule = _wrap(rule, f"autogen-{name}", "template", pod_controllers)
        if pod_controllers:
            generated.append(controller_rule)
        if "CronJob" in controllers:
            generated.append(_wrap(controller_rule, f"autogen-cronjob-{name}", "jobTemplate", ["CronJob"]))
    return rules + generated

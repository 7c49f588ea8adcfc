"""``match`` / ``exclude`` blocks of a rule (docs/kyverno-semantics §7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.kyverno.units import wildcard_match


@dataclass(frozen=True)
class RequestInfo:
    """Who is making the request, from a test's userinfo file; ``None`` fields mean "no request info"."""

    roles: tuple[str, ...] = ()
    cluster_roles: tuple[str, ...] = ()
    username: str = ""
    groups: tuple[str, ...] = ()


@dataclass
class Admission:
    """What match/exclude look at besides the resource itself."""

    operation: str = "CREATE"
    request: RequestInfo | None = None
    namespace_labels: dict[str, str] = field(default_factory=dict)
    policy_namespace: str = ""


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def parse_kind_selector(text: str) -> tuple[str, str, str, str]:
    """(group, version, kind, subresource) of a ``kinds`` entry; parts left out are ``*``."""
    parts = text.split("/")
    if len(parts) == 1:
        kind, _, sub = parts[0].partition(".")
        return "*", "*", kind, sub
    if len(parts) == 2:
        if parts[0] == "*":
            return ("*", "*", "*", "*") if parts[1] == "*" else ("*", "*", "*", parts[1])
        if parts[0][:1].isupper():
            return "*", "*", parts[0], parts[1]
        kind, _, sub = parts[1].partition(".")
        return "*", parts[0], kind, sub
    if len(parts) == 3:
        kind, _, sub = parts[2].partition(".")
        return parts[0], parts[1], kind, sub
    return parts[0], parts[1], parts[2], parts[3]


def kind_of(selector: str) -> str:
    """The kind part of a ``kinds`` entry."""
    return parse_kind_selector(selector)[2]


def kinds_match(kinds: list[str], resource: dict[str, Any]) -> bool:
    group, version = split_api_version(str(resource.get("apiVersion", "")))
    kind = str(resource.get("kind", ""))
    for entry in kinds:
        g, v, k, sub = parse_kind_selector(entry)
        gvk = wildcard_match(g, group) and wildcard_match(v, version) and wildcard_match(k, kind)
        if gvk and wildcard_match(sub, ""):
            return True
    return False


def _selector_matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if "*" in key or "?" in key or "*" in str(value) or "?" in str(value):
            if not any(
                wildcard_match(key, k) and wildcard_match(str(value), str(v)) for k, v in labels.items()
            ):
                return False
        elif labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), str(expr.get("operator", "")), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _resource_criteria(desc: dict[str, Any], resource: dict[str, Any], admission: Admission) -> bool:
    meta = resource.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName") or ""
    namespace = meta.get("name", "") if resource.get("kind") == "Namespace" else meta.get("namespace", "")
    if desc.get("kinds") and not kinds_match(desc["kinds"], resource):
        return False
    if desc.get("name") and not wildcard_match(desc["name"], name):
        return False
    if desc.get("names") and not any(wildcard_match(n, name) for n in desc["names"]):
        return False
    if desc.get("namespaces") and not any(wildcard_match(n, namespace or "") for n in desc["namespaces"]):
        return False
    if desc.get("operations") and admission.operation not in desc["operations"]:
        return False
    annotations = meta.get("annotations") or {}
    for key, value in (desc.get("annotations") or {}).items():
        if not any(
            wildcard_match(key, k) and wildcard_match(str(value), str(v)) for k, v in annotations.items()
        ):
            return False
    if desc.get("selector") is not None and not _selector_matches(desc["selector"], meta.get("labels") or {}):
        return False
    ns_selector = desc.get("namespaceSelector")
    return not (
        ns_selector is not None
        and resource.get("kind") != "Namespace"
        and not _selector_matches(ns_selector, admission.namespace_labels)
    )


def _subject_matches(subject: dict[str, Any], info: RequestInfo) -> bool:
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return wildcard_match(f"system:serviceaccount:{subject.get('namespace', '')}:{name}", info.username)
    if kind == "User":
        return wildcard_match(name, info.username)
    if kind == "Group":
        return any(wildcard_match(name, g) for g in info.groups)
    return False


def _has_userinfo(flt: dict[str, Any]) -> bool:
    return bool(flt.get("roles") or flt.get("clusterRoles") or flt.get("subjects"))


def _userinfo_criteria(flt: dict[str, Any], info: RequestInfo) -> bool:
    if flt.get("roles") and not set(flt["roles"]) & set(info.roles):
        return False
    if flt.get("clusterRoles") and not set(flt["clusterRoles"]) & set(info.cluster_roles):
        return False
    return not (flt.get("subjects") and not any(_subject_matches(s, info) for s in flt["subjects"]))


def _filter_matches(
    flt: dict[str, Any], resource: dict[str, Any], admission: Admission, exclude: bool
) -> bool:
    desc = flt.get("resources") or {}
    if not desc and not _has_userinfo(flt):
        return False
    if desc and not _resource_criteria(desc, resource, admission):
        return False
    if _has_userinfo(flt):
        if admission.request is None:
            return not exclude
        return _userinfo_criteria(flt, admission.request)
    return True


def _filters(block: dict[str, Any] | None) -> tuple[str, list[dict[str, Any]]]:
    if not block:
        return "none", []
    if block.get("any"):
        return "any", list(block["any"])
    if block.get("all"):
        return "all", list(block["all"])
    return "legacy", [block]


def rule_matches(rule: dict[str, Any], resource: dict[str, Any], admission: Admission) -> bool:
    """True when ``rule`` applies to ``resource``: match holds and exclude does not."""
    if admission.policy_namespace and admission.policy_namespace != (resource.get("metadata") or {}).get(
        "namespace", ""
    ):
        return False
    mode, filters = _filters(rule.get("match"))
    if mode == "any":
        matched = any(_filter_matches(f, resource, admission, False) for f in filters)
    elif filters:
        matched = all(_filter_matches(f, resource, admission, False) for f in filters)
    else:
        matched = False
    if not matched:
        return False
    mode, filters = _filters(rule.get("exclude"))
    if mode == "all":
        return not all(_filter_matches(f, resource, admission, True) for f in filters)
    return not any(_filter_matches(f, resource, admission, True) for f in filters)


def block_kinds(block: dict[str, Any] | None) -> list[str]:
    """Every ``kinds`` entry of a match/exclude block, in any/all/legacy form."""
    _, filters = _filters(block)
    return [k for f in filters for k in ((f.get("resources") or {}).get("kinds") or [])]

"""Loading policies and resources, and deciding statically what we can evaluate.

Anything we do not implement is refused here, before evaluation, with a reason that names the feature
(docs/kyverno-semantics §13.2): the result is ``unsupported``, never a guessed pass or fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tools.kyverno.errors import InputError

POLICY_KINDS = ("ClusterPolicy", "Policy")
LOOKUP_ENTRIES = ("apiCall", "configMap", "imageRegistry", "globalReference")


_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


class UniqueKeys:
    """Loader mixin refusing a key given twice in one mapping. PyYAML keeps the last, Kubernetes (strict
    decoding) refuses the document: a policy saying ``validationFailureAction: Enforce`` and then ``Audit``, or
    a manifest with two ``securityContext`` keys, means what one reader and not another makes of it."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {str(key)[:40]!r} is given twice (line {mark.line + 1})", None
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _Loader(UniqueKeys, _BASE_LOADER):  # type: ignore[valid-type,misc]
    """YAML 1.1 loader (like sigs.k8s.io/yaml) that keeps timestamps as strings, as JSON would, and refuses a
    key given twice in one mapping."""


class UniqueSafeLoader(UniqueKeys, _BASE_LOADER):  # type: ignore[valid-type,misc]
    """``yaml.safe_load``'s loader (same types) refusing a key given twice in one mapping."""


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load(text)``, but a key given twice in one mapping raises ``yaml.constructor.ConstructorError``
    (its ``problem`` names the key and line)."""
    return yaml.load(text, Loader=UniqueSafeLoader)  # noqa: S506 - a safe loader


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Every mapping document in a (multi-document) YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte at offset {exc.start})") from exc
    return parse_documents(text, str(path))


def parse_documents(text: str, origin: str = "<text>") -> list[dict[str, Any]]:
    """Every mapping document in YAML ``text``; ``List`` objects are flattened into their items."""
    from bot.yaml_splice import EventLimits  # the YAML editor's alias limits: a bomb is refused unexpanded

    try:
        if "&" in text:  # no anchor, no alias
            limits = EventLimits()
            for ev in yaml.parse(text, Loader=_Loader):
                why = limits.check(ev)
                if why is not None:
                    raise InputError(f"{origin} is refused: {why} (YAML)")
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.constructor.ConstructorError as exc:
        raise InputError(f"{origin} is refused: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{origin} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{origin} is nested too deeply") from exc
    out: list[dict[str, Any]] = []
    for doc in docs:
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
            items = doc.get("items")
            if isinstance(items, list):
                out.extend(d for d in items if isinstance(d, dict))
        elif isinstance(doc, dict):
            out.append(doc)
    return out


def is_policy(doc: dict[str, Any]) -> bool:
    """True for any Kyverno policy document (supported or not)."""
    api = str(doc.get("apiVersion", ""))
    return api.startswith(("kyverno.io/", "policies.kyverno.io/")) or doc.get("kind") in (
        "ValidatingAdmissionPolicy",
        "MutatingAdmissionPolicy",
    )


def policy_unsupported(policy: dict[str, Any]) -> str | None:
    """Why a whole policy cannot be evaluated, or None."""
    if policy.get("kind") not in POLICY_KINDS or not str(policy.get("apiVersion", "")).startswith(
        "kyverno.io/"
    ):
        return (
            f"{policy.get('apiVersion')} {policy.get('kind')} policies (CEL policy kinds) are not supported"
        )
    return None


def rule_unsupported(rule: dict[str, Any], mocked: set[str]) -> str | None:
    """Why one rule cannot be evaluated, or None.

    ``mocked`` names the context entries whose data the values file provides.
    """
    for feature in ("mutate", "generate", "verifyImages"):
        if rule.get(feature):
            return f"{feature} rules are not supported"
    validate = rule.get("validate")
    if not isinstance(validate, dict):
        return "the rule has no validate block"
    for feature in ("manifests", "assert"):
        if validate.get(feature) is not None:
            return f"validate.{feature} is not supported"
    if not any(k in validate for k in ("pattern", "anyPattern", "deny", "foreach", "podSecurity", "cel")):
        return "validate has none of pattern, anyPattern, deny, foreach, podSecurity or cel"
    return _context_unsupported(rule.get("context"), mocked) or _foreach_unsupported(
        validate.get("foreach"), mocked
    )


def _context_unsupported(entries: Any, mocked: set[str]) -> str | None:
    for entry in entries or []:
        name = entry.get("name", "")
        for lookup in LOOKUP_ENTRIES:
            if entry.get(lookup) is not None and name not in mocked:
                return f"context entry {name!r} ({lookup}) needs a cluster and has no mock in the values file"
        if not any(entry.get(k) is not None for k in (*LOOKUP_ENTRIES, "variable")):
            return f"context entry {name!r} has an unknown type"
    return None


def _foreach_unsupported(foreach: Any, mocked: set[str]) -> str | None:
    for entry in foreach or []:
        if (reason := _context_unsupported(entry.get("context"), mocked)) is not None:
            return reason
        if entry.get("podSecurity") is not None or entry.get("cel") is not None:
            return "foreach podSecurity/cel is not supported"
        if (reason := _foreach_unsupported(entry.get("foreach"), mocked)) is not None:
            return reason
    return None

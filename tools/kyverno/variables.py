"""``{{ }}`` variable substitution in policy text (docs/kyverno-semantics §9.2).

Innermost ``{{ }}`` are resolved first and the loop repeats, which is how nested forms such as
``{{ regex_match('x', '{{ element.name }}') }}`` work. A string that is exactly one variable keeps the
value's JSON type; otherwise the value is spliced in (strings as they are, everything else as Go JSON).
"""

from __future__ import annotations

import re
from typing import Any

from tools.kyverno.jmes import search
from tools.kyverno.units import go_json

_VARIABLE = re.compile(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})")
_MAX_ROUNDS = 32
_PATH_PART = re.compile(r'"[^"]*"|[^.]+')


def has_variables(value: Any) -> bool:
    """True when any string (key or value) in ``value`` contains ``{{``."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(has_variables(k) or has_variables(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_variables(v) for v in value)
    return False


def _expression(token: str) -> str:
    inner = token[2:-2]
    if inner.startswith("-"):  # "{{- x }}": shallow substitution; same value for our purposes
        inner = inner[1:]
    return inner.strip()


def substitute_string(text: str, ctx: dict[str, Any]) -> Any:
    """Resolve every ``{{ }}`` in ``text`` against ``ctx``; raises ``EvalError`` like Kyverno."""
    if "{{" not in text:
        return text
    deleting = _operation(ctx) == "DELETE"
    for _ in range(_MAX_ROUNDS):
        matches = list(_VARIABLE.finditer(text))
        if not matches:
            break
        for m in matches:
            token = m.group(2)
            expr = _expression(token)
            if deleting:
                expr = expr.replace("request.object", "request.oldObject")
            value = search(expr, ctx)
            if text == token:
                return value
            text = text.replace(token, value if isinstance(value, str) else go_json(value))
    return text.replace("\\{{", "{{")


def substitute(value: Any, ctx: dict[str, Any]) -> Any:
    """Substitute variables in keys and values of a decoded YAML/JSON tree (returns a new tree)."""
    if isinstance(value, str):
        return substitute_string(value, ctx) if "{{" in value else value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = substitute_string(k, ctx) if "{{" in k else k
            out[key if isinstance(key, str) else go_json(key)] = substitute(v, ctx)
        return out
    if isinstance(value, list):
        return [substitute(v, ctx) for v in value]
    return value


def _operation(ctx: dict[str, Any]) -> Any:
    request = ctx.get("request")
    return request.get("operation") if isinstance(request, dict) else None


def set_path(ctx: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b."c.d"`` in ``ctx``, creating maps on the way (values-file keys are dotted paths)."""
    parts = [p.strip('"') for p in _PATH_PART.findall(dotted)] or [dotted]
    node = ctx
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value

"""``preconditions`` and ``deny.conditions`` (docs/kyverno-semantics §9.4).

A condition block is ``{any: [...], all: [...]}`` (both must hold when both are present) or a bare list
(legacy "all"). Keys and values are substituted first; a substitution error raises ``EvalError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tools.kyverno.errors import EvalError, Unsupported
from tools.kyverno.pattern import validate_value
from tools.kyverno.units import go_sprint, parse_duration, parse_quantity, wildcard_match
from tools.kyverno.variables import substitute

_RANGE = re.compile(r"^[-+]?\d+(\.\d+)?[A-Za-z]*-[-+]?\d+(\.\d+)?[A-Za-z]*$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def evaluate_conditions(block: Any, ctx: dict[str, Any]) -> bool:
    """True when the condition block holds; short-circuits like Kyverno."""
    if block is None:
        return True
    if isinstance(block, list):
        return all(evaluate_condition(c, ctx) for c in block)
    if not isinstance(block, dict):
        raise EvalError(f"invalid conditions block: {block!r}")
    any_of, all_of = block.get("any"), block.get("all")
    if any_of is not None and not any(evaluate_condition(c, ctx) for c in any_of):
        return False
    return all_of is None or all(evaluate_condition(c, ctx) for c in all_of)


def evaluate_condition(condition: dict[str, Any], ctx: dict[str, Any]) -> bool:
    """Evaluate one ``{key, operator, value}`` condition."""
    key = substitute(condition.get("key"), ctx)
    value = substitute(condition.get("value"), ctx)
    return apply_operator(str(condition.get("operator", "")), key, value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration_pair(key: Any, value: Any) -> tuple[Any, Any] | None:
    kd = parse_duration(key) if isinstance(key, str) else None
    vd = parse_duration(value) if isinstance(value, str) else None
    if kd is None and vd is None:
        return None
    if kd is None:
        if not _number(key):
            return None
        kd = key
    if vd is None:
        if not _number(value):
            return None
        vd = value
    return float(kd), float(vd)


def _parse_float(text: str) -> float | None:
    try:
        return (
            float(text)
            if text.strip() == text and text.lower() not in ("inf", "nan", "-inf", "+inf")
            else None
        )
    except ValueError:
        return None


def equals(key: Any, value: Any) -> bool:
    """``Equals``: typed by the key (Kyverno's EqualHandler)."""
    if isinstance(key, bool):
        return isinstance(value, bool) and key == value
    if _number(key):
        if _number(value):
            return float(key) == float(value)
        if isinstance(value, str):
            parsed = _parse_float(value)
            return parsed is not None and parsed == key
        return False
    if isinstance(key, str):
        if (pair := _duration_pair(key, value)) is not None:
            return bool(pair[0] == pair[1])
        if (kq := parse_quantity(key)) is not None and isinstance(value, str):
            vq = parse_quantity(value)
            return vq is not None and kq == vq
        return isinstance(value, str) and wildcard_match(value, key)
    if isinstance(key, dict | list):
        return type(key) is type(value) and key == value
    return False


def _compare(op: str, a: float, b: float) -> bool:
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def numeric(op: str, key: Any, value: Any) -> bool:
    """``GreaterThan`` & co.: durations, then quantities, then floats, then semver."""
    if isinstance(key, bool) or key is None:
        return False
    if _number(key):
        if _number(value):
            return _compare(op, float(key), float(value))
        if isinstance(value, str):
            if (pair := _duration_pair(key, value)) is not None:
                return _compare(op, *pair)
            parsed = _parse_float(value)
            return parsed is not None and _compare(op, float(key), parsed)
        return False
    if not isinstance(key, str):
        return False
    if (pair := _duration_pair(key, value)) is not None:
        return _compare(op, *pair)
    kq = parse_quantity(key)
    vq = parse_quantity(value) if isinstance(value, str) else None
    if kq is not None and vq is not None:
        return _compare(op, float(kq - vq), 0.0)
    if (fk := _parse_float(key)) is not None:
        return numeric(op, fk, value)
    if (sk := _SEMVER.match(key)) and isinstance(value, str) and (sv := _SEMVER.match(value)):
        return _compare(op, 0.0, 0.0) if sk.groups() == sv.groups() else _semver_cmp(op, sk, sv)
    if _looks_like_version(key):
        raise Unsupported(f"semantic version comparison of {key!r}")
    return False


def _semver_cmp(op: str, a: re.Match[str], b: re.Match[str]) -> bool:
    ta = tuple(int(x) for x in a.groups())
    tb = tuple(int(x) for x in b.groups())
    return _compare(op, float((ta > tb) - (ta < tb)), 0.0)


def _looks_like_version(text: str) -> bool:
    return re.match(r"^v?\d+\.\d+\.\d+[-+]", text) is not None


def _value_strings(value: Any) -> list[str] | None:
    """The value side of the set operators as strings, or None for an invalid type."""
    if isinstance(value, list):
        return [go_sprint(v) for v in value]
    if _number(value):
        return [go_sprint(value)]
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return parsed
        return None if isinstance(parsed, list | dict) else [value]
    return None


def _both_ways(a: str, b: str) -> bool:
    return wildcard_match(a, b) or wildcard_match(b, a)


def _in_range(key: str, value: str) -> bool:
    return validate_value(key, value)


def set_operator(op: str, key: Any, value: Any) -> bool:
    """``AnyIn``, ``AllIn``, ``AnyNotIn``, ``AllNotIn`` over a scalar or list key."""
    if key is None or isinstance(key, dict):
        return False
    keys = [go_sprint(k) for k in key] if isinstance(key, list) else [go_sprint(key)]
    if isinstance(value, str) and _RANGE.match(value):
        inside = [_in_range(k, value) for k in keys]
        found = sum(inside)
    else:
        values = _value_strings(value)
        if values is None:
            return False
        if isinstance(value, str) and not isinstance(key, list) and wildcard_match(value, keys[0]):
            found = 1
        else:
            found = sum(1 for k in keys if any(_both_ways(k, v) for v in values))
    if op == "anyin":
        return found > 0
    if op == "allin":
        return found == len(keys)
    if op == "anynotin":
        return found < len(keys)
    return found == 0  # allnotin


_ALIASES = {
    "equal": "equals", "equals": "equals", "notequal": "notequals", "notequals": "notequals",
    "anyin": "anyin", "allin": "allin", "anynotin": "anynotin", "allnotin": "allnotin",
    "in": "allin", "notin": "anynotin",
    "greaterthan": "gt", "greaterthanorequals": "gte", "lessthan": "lt", "lessthanorequals": "lte",
    "durationgreaterthan": "gt", "durationgreaterthanorequals": "gte", "durationlessthan": "lt",
    "durationlessthanorequals": "lte",
}  # fmt: skip


def apply_operator(operator: str, key: Any, value: Any) -> bool:
    """Apply a condition operator (case-insensitive name) to substituted ``key`` and ``value``."""
    op = _ALIASES.get(operator.lower())
    if op is None:
        raise Unsupported(f"condition operator {operator!r}")
    if op == "equals":
        return equals(key, value)
    if op == "notequals":
        return key is not None and not equals(key, value)
    if op in ("gt", "gte", "lt", "lte"):
        return numeric(op, key, value)
    return set_operator(op, key, value)

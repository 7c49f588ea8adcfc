"""``validate.pattern`` matching: anchors, wildcards and operators (docs/kyverno-semantics §5-§6).

A port of Kyverno's ``validate.MatchPattern``: the walk, the two-phase map order that decides skip versus
fail, the "every element" list rule with its conditional escape, and the scalar comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.kyverno.units import go_format_e, has_wildcard, parse_duration, parse_quantity, wildcard_match

_ANCHOR = re.compile(r"^([+<=X^])?\((.+)\)$")
_RANGE = re.compile(r"^[-+]?\d+(\.\d+)?[A-Za-z]*-[-+]?\d+(\.\d+)?[A-Za-z]*$")
_NOT_RANGE = re.compile(r"^[-+]?\d+(\.\d+)?[A-Za-z]*!-[-+]?\d+(\.\d+)?[A-Za-z]*$")

SKIP = "skip"  # a conditional or global anchor did not hold
NEGATION = "negation"  # an X() key was present
FAIL = "fail"  # anything else


@dataclass(frozen=True)
class Mismatch:
    """Why a pattern did not match: ``kind`` (skip/negation/fail), the resource path and a message."""

    kind: str
    path: str
    message: str


def parse_anchor(key: str) -> tuple[str, str] | None:
    """``(modifier, key)`` for an anchored key (modifier "" for a condition), else None."""
    m = _ANCHOR.match(key.strip())
    if m is None:
        return None
    return m.group(1) or "", m.group(2)


class _AnchorMap:
    """Kyverno's AnchorMap: whether each condition/existence/negation anchor key occurs in the resource."""

    def __init__(self) -> None:
        self.seen: dict[str, bool] = {}

    def check(self, pattern: dict[str, Any], resource: dict[str, Any]) -> None:
        for key in pattern:
            anchor = parse_anchor(key)
            if anchor is None or anchor[0] not in ("", "^", "X"):
                continue
            if self.seen.get(key):
                continue
            self.seen[key] = anchor[1] in resource

    def keys_are_missing(self) -> bool:
        return not all(self.seen.values())


def match_pattern(resource: Any, pattern: Any) -> Mismatch | None:
    """Match ``resource`` against ``pattern``; None when it matches.

    A mismatch of kind ``fail`` with an empty path is Kyverno's "error" outcome (an anchor key was missing
    from the resource while a plain key failed).
    """
    anchors = _AnchorMap()
    found = _element(resource, pattern, "/", anchors)
    if found is None or found.kind in (SKIP, NEGATION):
        return found
    if anchors.keys_are_missing():
        return Mismatch(FAIL, "", found.message)
    return found


def _element(resource: Any, pattern: Any, path: str, anchors: _AnchorMap) -> Mismatch | None:
    if isinstance(pattern, dict):
        if not isinstance(resource, dict):
            return Mismatch(FAIL, path, f"pattern and resource have different structures at path {path}")
        anchors.check(pattern, resource)
        return _map(resource, pattern, path, anchors)
    if isinstance(pattern, list):
        if not isinstance(resource, list):
            return Mismatch(FAIL, path, f"validation rule failed at path {path}")
        return _array(resource, pattern, path, anchors)
    if isinstance(resource, list):
        for item in resource:
            if not validate_value(item, pattern):
                return Mismatch(FAIL, path, f"resource value does not match '{pattern}' at path {path}")
        return None
    if not validate_value(resource, pattern):
        return Mismatch(FAIL, path, f"value does not match '{pattern}' at path {path}")
    return None


def _expand_metadata_wildcards(
    pattern: dict[str, Any], resource: dict[str, Any], path: str
) -> dict[str, Any]:
    if not path.endswith(("/metadata/labels/", "/metadata/annotations/")):
        return pattern
    out: dict[str, Any] = {}
    for key, value in pattern.items():
        anchor = parse_anchor(key)
        modifier, bare = anchor if anchor else (None, key)
        if has_wildcard(bare):
            for candidate in resource:
                if wildcard_match(bare, candidate):
                    bare = candidate
                    break
            key = f"{modifier}({bare})" if modifier is not None else bare
        out[key] = value
    return out


def _has_nested_anchors(value: Any) -> bool:
    if isinstance(value, dict):
        return any(parse_anchor(k) is not None or _has_nested_anchors(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nested_anchors(v) for v in value)
    return False


def _map(
    resource: dict[str, Any], pattern: dict[str, Any], path: str, anchors: _AnchorMap
) -> Mismatch | None:
    pattern = _expand_metadata_wildcards(pattern, resource, path)
    phase1: list[tuple[str, str, str]] = []
    phase2: list[tuple[str, str | None, str]] = []
    for key in pattern:
        anchor = parse_anchor(key)
        if anchor is not None and anchor[0] in ("", "=", "X", "^"):
            phase1.append((key, anchor[0], anchor[1]))
        else:
            phase2.append(
                (key, anchor[0] if anchor and anchor[0] == "<" else None, anchor[1] if anchor else key)
            )
    skips: list[Mismatch] = []
    condition_failed = False
    succeeded = 0
    for key, modifier, bare in sorted(phase1):
        found = _anchor(resource, pattern[key], modifier, bare, path, anchors)
        if found is None:
            succeeded += 1
            continue
        if found.kind == SKIP:
            skips.append(found)
            condition_failed = condition_failed or modifier == ""
            continue
        if condition_failed:
            continue
        return found
    if skips and (succeeded == 0 or condition_failed):
        return skips[0]
    front: list[tuple[str, str | None, str]] = []
    back: list[tuple[str, str | None, str]] = []
    for item in sorted(phase2):
        if item[1] == "<" or _has_nested_anchors(pattern[item[0]]):
            front.insert(0, item)
        else:
            back.append(item)
    for key, global_mark, bare in front + back:
        value = pattern[key]
        if global_mark == "<":
            if bare in resource:
                found = _element(resource[bare], value, f"{path}{bare}/", anchors)
                if found is not None:
                    return Mismatch(SKIP, found.path, f"global anchor mismatch: {found.message}")
            continue
        if value == "*":
            if resource.get(key) is None:
                return Mismatch(FAIL, path, f"{path}{key} not found")
            continue
        found = _element(resource.get(key), value, f"{path}{key}/", anchors)
        if found is not None:
            return found
    return None


def _anchor(
    resource: dict[str, Any], pattern: Any, modifier: str, key: str, path: str, anchors: _AnchorMap
) -> Mismatch | None:
    here = f"{path}{key}/"
    if modifier == "X":
        if key in resource:
            return Mismatch(NEGATION, here, f"{here} is not allowed")
        return None
    if key not in resource:
        if modifier == "":
            return Mismatch(SKIP, here, "conditional anchor key doesn't exist in the resource")
        return None
    value = resource[key]
    if modifier == "=":
        return _element(value, pattern, here, anchors)
    if modifier == "":
        found = _element(value, pattern, here, anchors)
        if found is not None:
            return Mismatch(SKIP, found.path, f"conditional anchor mismatch: {found.message}")
        return None
    # existence ^(): for each pattern map, at least one list element must match
    if not isinstance(value, list):
        return Mismatch(FAIL, here, "existence anchor ^() can be used only on a list")
    if not isinstance(pattern, list):
        return Mismatch(FAIL, here, "existence anchor pattern must be a list")
    for item in pattern:
        if not isinstance(item, dict):
            return Mismatch(FAIL, here, "existence anchor pattern must be a list of maps")
        if not any(_element(el, item, f"{here}{i}/", anchors) is None for i, el in enumerate(value)):
            return Mismatch(FAIL, here, f"existence anchor {key} failed at path {here}")
    return None


def _array(resource: list[Any], pattern: list[Any], path: str, anchors: _AnchorMap) -> Mismatch | None:
    if not pattern:
        return Mismatch(FAIL, path, "pattern Array empty")
    first = pattern[0]
    if isinstance(first, dict):
        applied = 0
        skips: list[Mismatch] = []
        for i, item in enumerate(resource):
            found = _element(item, first, f"{path}{i}/", anchors)
            if found is None:
                applied += 1
            elif found.kind == SKIP:
                skips.append(found)
            else:
                return found
        if applied == 0 and skips:
            return Mismatch(SKIP, path, skips[0].message)
        return None
    if not isinstance(first, list):
        return _element(resource, first, path, anchors)
    if len(resource) < len(pattern):
        return Mismatch(FAIL, "", "validate Array failed, array length mismatch")
    for i, item in enumerate(pattern):
        found = _element(resource[i], item, f"{path}{i}/", anchors)
        if found is not None:
            return found
    return None


# --- scalars ---------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_value(value: Any, pattern: Any) -> bool:
    """Kyverno's ``pattern.Validate`` for a scalar (or map) pattern position."""
    if isinstance(pattern, bool):
        return isinstance(value, bool) and value == pattern
    if isinstance(pattern, int):
        if isinstance(value, bool):
            return False
        if _is_number(value):
            return float(value).is_integer() and int(value) == pattern
        if isinstance(value, str):
            return re.fullmatch(r"[+-]?\d+", value) is not None and int(value) == pattern
        return False
    if isinstance(pattern, float):
        if isinstance(value, bool):
            return False
        if _is_number(value):
            return float(value) == pattern
        if isinstance(value, str):
            try:
                return float(value) == pattern
            except ValueError:
                return False
        return False
    if pattern is None:
        if isinstance(value, bool):
            return not value
        if _is_number(value):
            return bool(value == 0)
        if isinstance(value, str):
            return value == ""
        return value is None
    if isinstance(pattern, dict):
        return isinstance(value, dict)
    if isinstance(pattern, str):
        return _string_patterns(value, pattern)
    return False


def _string_patterns(value: Any, pattern: str) -> bool:
    if isinstance(value, str) and value == pattern:
        return True
    for alternative in pattern.split("|"):
        parts = alternative.strip(" ").split("&")
        if all(_string_pattern(value, part.strip(" ")) for part in parts):
            return True
    return False


def _operator(pattern: str) -> str:
    if len(pattern) < 2:
        return ""
    for op in (">=", "<=", ">", "<", "!"):
        if pattern.startswith(op):
            return op
    if _RANGE.match(pattern):
        return "-"
    if _NOT_RANGE.match(pattern):
        return "!-"
    return ""


def _string_pattern(value: Any, pattern: str) -> bool:
    op = _operator(pattern)
    if op == "-":
        left, right = _split_range(pattern, "-")
        return _string_pattern(value, f">= {left}") and _string_pattern(value, f"<= {right}")
    if op == "!-":
        left, right = pattern.split("!-", 1)
        return _string_pattern(value, f"< {left}") or _string_pattern(value, f"> {right}")
    operand = pattern[len(op) :].strip()
    return (
        _compare_duration(value, operand, op)
        or _compare_quantity(value, operand, op)
        or _compare_string(value, operand, op)
    )


def _split_range(pattern: str, sep: str) -> tuple[str, str]:
    m = re.match(r"^([-+]?\d+(?:\.\d+)?[A-Za-z]*)-(.+)$", pattern)
    assert m is not None  # guaranteed by _RANGE
    return m.group(1), m.group(2)


def _cmp_result(result: int, op: str) -> bool:
    return {
        "": result == 0,
        "!": result != 0,
        ">": result > 0,
        "<": result < 0,
        ">=": result >= 0,
        "<=": result <= 0,
    }[op]


def _number_text(value: Any) -> str | None:
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    return None


def _compare_duration(value: Any, operand: str, op: str) -> bool:
    expected = parse_duration(operand)
    text = _number_text(value)
    if expected is None or text is None:
        return False
    actual = parse_duration(text)
    if actual is None:
        return False
    return _cmp_result((actual > expected) - (actual < expected), op)


def _compare_quantity(value: Any, operand: str, op: str) -> bool:
    expected = parse_quantity(operand)
    if expected is None:
        return False
    text = _number_text(value)
    actual = parse_quantity(text) if text is not None else None
    if actual is None:
        return False
    return _cmp_result((actual > expected) - (actual < expected), op)


def _compare_string(value: Any, operand: str, op: str) -> bool:
    if op not in ("", "!"):
        return False
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = go_format_e(value)
    elif isinstance(value, int | str):
        text = str(value)
    else:
        return False
    matched = wildcard_match(operand, text)
    return not matched if op == "!" else matched

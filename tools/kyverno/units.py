"""Go-compatible scalars: wildcards, Kubernetes quantities, Go durations and Go number formatting.

Kyverno is written in Go and its answers depend on Go's parsers and printers (``resource.ParseQuantity``,
``time.ParseDuration``, ``strconv.FormatFloat``), so these are small, exact ports rather than Python
look-alikes. Every function here is pure.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

_WILDCARD_CHARS = ("*", "?")


@lru_cache(maxsize=8192)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def has_wildcard(text: str) -> bool:
    """True when ``text`` contains ``*`` or ``?``."""
    return "*" in text or "?" in text


def wildcard_match(pattern: str, text: str) -> bool:
    """go-wildcard ``Match``: ``*`` is any run (``/`` included), ``?`` exactly one character, no escapes."""
    if not has_wildcard(pattern):
        return pattern == text
    return _wildcard_regex(pattern).match(text) is not None


# --- Kubernetes quantities -------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]|)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


@lru_cache(maxsize=8192)
def parse_quantity(text: str) -> Fraction | None:
    """``resource.ParseQuantity`` as an exact fraction, or None when ``text`` is not a quantity."""
    m = _QUANTITY.match(text.strip()) if text else None
    if m is None or text != text.strip():
        return None
    number, suffix = Fraction(m.group(1)), m.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix]
    return number * Fraction(10) ** int(suffix[1:])


# --- Go durations ----------------------------------------------------------------------------------

_DURATION_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_DURATION_PART = re.compile(r"(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)")


@lru_cache(maxsize=8192)
def parse_duration(text: str) -> Fraction | None:
    """``time.ParseDuration`` in seconds, or None. ``"0"`` is the only unit-less duration."""
    if not text:
        return None
    sign = 1
    body = text
    if body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return Fraction(0)
    if not body:
        return None
    total = Fraction(0)
    pos = 0
    while pos < len(body):
        m = _DURATION_PART.match(body, pos)
        if m is None or m.group(1) in ("", "."):
            return None
        total += Fraction(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


# --- Go number formatting --------------------------------------------------------------------------


def _digits(value: float) -> tuple[str, int, str]:
    """Shortest round-trip digits of ``value``: (sign, decimal-point position, digits)."""
    d = Decimal(repr(abs(value)))
    sign = "-" if value < 0 or (value == 0 and str(value).startswith("-")) else ""
    if d == 0:
        return sign, 1, "0"
    normal = d.normalize().as_tuple()
    digits = "".join(map(str, normal.digits))
    exponent = int(normal.exponent)
    return sign, len(digits) + exponent, digits


def go_format_e(value: float, upper: bool = True) -> str:
    """``strconv.FormatFloat(v, 'E', -1, 64)``: ``80.0`` -> ``8E+01``."""
    sign, point, digits = _digits(value)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    letter = "E" if upper else "e"
    return f"{sign}{mantissa}{letter}{'-' if exp < 0 else '+'}{abs(exp):02d}"


def go_format_g(value: float) -> str:
    """``fmt.Sprint`` of a float64 (``%v``): ``80.0`` -> ``80``, ``1e6`` -> ``1e+06``."""
    if value != value or value in (float("inf"), float("-inf")):
        return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    sign, point, digits = _digits(value)
    exp = point - 1
    if exp < -4 or exp >= 6:  # strconv 'g' with shortest precision decides with precision 6
        return go_format_e(value, upper=False)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_sprint(value: Any) -> str:
    """``fmt.Sprint`` of a decoded JSON value (floats as ``%v``, bools lower-case, nil as ``<nil>``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_format_g(value)
    if value is None:
        return "<nil>"
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def go_json(value: Any) -> str:
    """``json.Marshal``: integral floats print without ``.0``, maps keep their key order sorted like Go."""
    return json.dumps(_go_json_ready(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _go_json_ready(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_json_ready(v) for v in value]
    return value


def to_go_floats(value: Any) -> Any:
    """Turn every integer into a float, as the Kyverno CLI does when it loads resources."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: to_go_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_go_floats(v) for v in value]
    return value

"""Kyverno's JMESPath dialect on top of the ``jmespath`` library.

Two differences from standard JMESPath matter (see docs/kyverno-semantics §9.3):

* kyverno/go-jmespath raises ``Unknown key "x" in path`` when a field is missing from a map. The error is
  swallowed (the value becomes null) inside function arguments, comparisons, ``||``, the left side of
  ``&&``, ``!``, pipes, projections, flatten and multi-selects; it escapes plain ``a.b[0].c`` chains.
* Numbers are Go float64, so ``to_string(1337.0)`` is ``"1337"``.

Kyverno's deterministic custom functions are implemented here; the ones that need a clock, a cluster, a
registry or randomness raise :class:`Unsupported`, as does any function we do not know.
"""

from __future__ import annotations

import base64
import json
import math
import posixpath
import re
from functools import lru_cache
from typing import Any

import jmespath
import yaml
from jmespath import exceptions as jexc
from jmespath import functions as jfun
from jmespath import visitor

from tools.kyverno.errors import EvalError, UnknownKey, Unsupported
from tools.kyverno.units import go_json, parse_duration, parse_quantity, wildcard_match

UNSUPPORTED_FUNCTIONS = frozenset(
    {
        "time_since", "time_now", "time_now_utc", "time_add", "time_parse", "time_to_cron", "time_utc",
        "time_diff", "time_before", "time_after", "time_between", "time_truncate", "semver_compare",
        "x509_decode", "lookup", "random", "image_normalize", "is_external_url",
    }
)  # fmt: skip


def _go_string(value: Any) -> str:
    return value if isinstance(value, str) else go_json(value)


def _go_replacement(template: str) -> str:
    """Go ``regexp`` expands ``$1``/``${name}``; Python wants ``\\g<1>``."""
    out = re.sub(r"\\", r"\\\\", template)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", out)


def _arith_operand(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        raise EvalError("arithmetic on a boolean")
    if isinstance(value, int | float):
        return "number", value
    if isinstance(value, str):
        if (q := parse_quantity(value)) is not None:
            return "quantity", q
        if (d := parse_duration(value)) is not None:
            return "duration", d
    raise EvalError(f"invalid operand {value!r} for arithmetic")


class KyvernoFunctions(jfun.Functions):
    """Standard functions with Go number formatting, plus Kyverno's deterministic custom ones."""

    @jfun.signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        return _go_string(arg)

    @jfun.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_compare(self, a: str, b: str) -> int:
        return (a > b) - (a < b)

    @jfun.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_equal_fold(self, a: str, b: str) -> bool:
        return a.casefold() == b.casefold()

    @jfun.signature(
        {"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]}, {"types": ["number"]}
    )
    def _func_replace(self, s: str, old: str, new: str, n: float) -> str:
        return s.replace(old, new, int(n)) if n >= 0 else s.replace(old, new)

    @jfun.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_replace_all(self, s: str, old: str, new: str) -> str:
        return s.replace(old, new)

    @jfun.signature({"types": ["string"]})
    def _func_to_upper(self, s: str) -> str:
        return s.upper()

    @jfun.signature({"types": ["string"]})
    def _func_to_lower(self, s: str) -> str:
        return s.lower()

    @jfun.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_trim(self, s: str, cutset: str) -> str:
        return s.strip(cutset)

    @jfun.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_trim_prefix(self, s: str, prefix: str) -> str:
        return s.removeprefix(prefix)

    @jfun.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_split(self, s: str, sep: str) -> list[str]:
        return list(s) if sep == "" else s.split(sep)

    @jfun.signature({"types": ["string"]}, {"types": ["string", "number"]})
    def _func_regex_match(self, pattern: str, value: Any) -> bool:
        return re.search(pattern, _go_string(value)) is not None

    @jfun.signature({"types": ["string"]}, {"types": ["string", "number"]})
    def _func_pattern_match(self, pattern: str, value: Any) -> bool:
        return wildcard_match(pattern, _go_string(value))

    @jfun.signature({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
    def _func_regex_replace_all(self, pattern: str, src: Any, repl: Any) -> str:
        return re.sub(pattern, _go_replacement(_go_string(repl)), _go_string(src))

    @jfun.signature({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
    def _func_regex_replace_all_literal(self, pattern: str, src: Any, repl: Any) -> str:
        literal = _go_string(repl)
        return re.sub(pattern, lambda _m: literal, _go_string(src))

    @jfun.signature({"types": ["object"]}, {"types": ["object"]})
    def _func_label_match(self, selector: dict[str, Any], labels: dict[str, Any]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    @jfun.signature({"types": ["string"]})
    def _func_base64_decode(self, s: str) -> str:
        try:
            return base64.b64decode(s, validate=True).decode()
        except ValueError as exc:
            raise EvalError(f"base64_decode: {exc}") from exc

    @jfun.signature({"types": ["string"]})
    def _func_base64_encode(self, s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    @jfun.signature({"types": ["string"]})
    def _func_path_canonicalize(self, s: str) -> str:
        return posixpath.normpath(s) if s else "."

    @jfun.signature({"types": ["string"]}, {"types": ["number"]})
    def _func_truncate(self, s: str, n: float) -> str:
        return s[: max(int(n), 0)]

    @jfun.signature({"types": ["string"]})
    def _func_parse_json(self, s: str) -> Any:
        try:
            return json.loads(s)
        except ValueError as exc:
            raise EvalError(f"parse_json: {exc}") from exc

    @jfun.signature({"types": ["string"]})
    def _func_parse_yaml(self, s: str) -> Any:
        try:
            return yaml.safe_load(s)
        except yaml.YAMLError as exc:
            raise EvalError(f"parse_yaml: {exc}") from exc

    @jfun.signature({"types": ["object", "array"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_items(self, obj: Any, key_name: str, val_name: str) -> list[dict[str, Any]]:
        pairs = sorted(obj.items()) if isinstance(obj, dict) else list(enumerate(obj))
        return [{key_name: float(k) if isinstance(k, int) else k, val_name: v} for k, v in pairs]

    @jfun.signature({"types": ["array"]}, {"types": ["array"]})
    def _func_object_from_lists(self, keys: list[Any], values: list[Any]) -> dict[str, Any]:
        return {str(k): (values[i] if i < len(values) else None) for i, k in enumerate(keys)}

    @jfun.signature({"types": ["array"]})
    def _func_sum(self, items: list[Any]) -> Any:
        if not items:
            raise EvalError("sum of an empty array")
        total = items[0]
        for item in items[1:]:
            total = self._func_add(total, item)
        return total

    @jfun.signature({"types": []}, {"types": []})
    def _func_add(self, a: Any, b: Any) -> Any:
        (ka, va), (kb, vb) = _arith_operand(a), _arith_operand(b)
        if ka == kb == "number":
            return va + vb
        raise Unsupported("add() of quantities or durations")

    @jfun.signature({"types": []}, {"types": []})
    def _func_subtract(self, a: Any, b: Any) -> Any:
        (ka, va), (kb, vb) = _arith_operand(a), _arith_operand(b)
        if ka == kb == "number":
            return va - vb
        raise Unsupported("subtract() of quantities or durations")

    @jfun.signature({"types": []}, {"types": []})
    def _func_multiply(self, a: Any, b: Any) -> Any:
        (ka, va), (kb, vb) = _arith_operand(a), _arith_operand(b)
        if ka == kb == "number":
            return va * vb
        raise Unsupported("multiply() of quantities or durations")

    @jfun.signature({"types": []}, {"types": []})
    def _func_divide(self, a: Any, b: Any) -> Any:
        (ka, va), (kb, vb) = _arith_operand(a), _arith_operand(b)
        if vb == 0:
            raise EvalError("Zero divisor passed")
        if ka == kb:  # number/number, quantity/quantity, duration/duration: a plain ratio
            return float(va) / float(vb)
        raise Unsupported("divide() of mixed quantities, durations and numbers")

    @jfun.signature({"types": []}, {"types": []})
    def _func_modulo(self, a: Any, b: Any) -> Any:
        (ka, va), (kb, vb) = _arith_operand(a), _arith_operand(b)
        if ka == kb == "number":
            if vb == 0 or va != math.trunc(va) or vb != math.trunc(vb):
                raise EvalError("modulo needs non-zero integers")
            return float(math.fmod(va, vb))
        raise Unsupported("modulo() of quantities or durations")


_FUNCTIONS = KyvernoFunctions()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    """JMESPath equality: booleans never equal numbers."""
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _falsy(value: Any) -> bool:
    """JMESPath falsiness: empty string, list and object, null and false."""
    return value is None or value is False or value in ("", [], {})


def _safe(interp: KyvernoInterpreter, node: Any, value: Any) -> Any:
    try:
        return interp.visit(node, value)
    except UnknownKey:
        return None


class KyvernoInterpreter(visitor.TreeInterpreter):
    """``TreeInterpreter`` with go-jmespath's missing-key errors and the places that swallow them."""

    def __init__(self) -> None:
        super().__init__(jmespath.Options(custom_functions=_FUNCTIONS))

    def visit_field(self, node: Any, value: Any) -> Any:
        if isinstance(value, dict):
            key = node["value"]
            if key not in value:
                raise UnknownKey(key)
            return value[key]
        return None

    def visit_comparator(self, node: Any, value: Any) -> Any:
        left = _safe(self, node["children"][0], value)
        right = _safe(self, node["children"][1], value)
        op = node["value"]
        if op in ("eq", "ne"):
            return _equal(left, right) == (op == "eq")
        if not (_is_number(left) and _is_number(right)):
            return None
        return {"lt": left < right, "lte": left <= right, "gt": left > right, "gte": left >= right}[op]

    def visit_function_expression(self, node: Any, value: Any) -> Any:
        name = node["value"]
        if name in UNSUPPORTED_FUNCTIONS:
            raise Unsupported(f"JMESPath function {name}() is not supported")
        args = [_safe(self, child, value) for child in node["children"]]
        try:
            return _FUNCTIONS.call_function(name, args)
        except jexc.UnknownFunctionError as exc:
            raise Unsupported(f"JMESPath function {name}() is not supported") from exc

    def visit_or_expression(self, node: Any, value: Any) -> Any:
        matched = _safe(self, node["children"][0], value)
        if _falsy(matched):
            matched = _safe(self, node["children"][1], value)
        return matched

    def visit_and_expression(self, node: Any, value: Any) -> Any:
        matched = _safe(self, node["children"][0], value)
        if _falsy(matched):
            return matched
        return self.visit(node["children"][1], value)

    def visit_not_expression(self, node: Any, value: Any) -> Any:
        result = _safe(self, node["children"][0], value)
        if isinstance(result, int | float) and not isinstance(result, bool) and result == 0:
            return False
        return _falsy(result)

    def visit_pipe(self, node: Any, value: Any) -> Any:
        result = value
        for child in node["children"]:
            result = _safe(self, child, result)
        return result

    def visit_projection(self, node: Any, value: Any) -> Any:
        base = _safe(self, node["children"][0], value)
        if not isinstance(base, list):
            return None
        out = []
        for element in base:
            current = _safe(self, node["children"][1], element)
            if current is not None:
                out.append(current)
        return out

    def visit_value_projection(self, node: Any, value: Any) -> Any:
        base = _safe(self, node["children"][0], value)
        if not isinstance(base, dict):
            return None
        out = []
        for element in base.values():
            current = _safe(self, node["children"][1], element)
            if current is not None:
                out.append(current)
        return out

    def visit_filter_projection(self, node: Any, value: Any) -> Any:
        base = _safe(self, node["children"][0], value)
        if not isinstance(base, list):
            return None
        out = []
        for element in base:
            if not _falsy(_safe(self, node["children"][2], element)):
                current = _safe(self, node["children"][1], element)
                if current is not None:
                    out.append(current)
        return out

    def visit_flatten(self, node: Any, value: Any) -> Any:
        base = _safe(self, node["children"][0], value)
        if not isinstance(base, list):
            return None
        out: list[Any] = []
        for element in base:
            out.extend(element) if isinstance(element, list) else out.append(element)
        return out

    def visit_multi_select_dict(self, node: Any, value: Any) -> Any:
        if value is None:
            return None
        return {child["value"]: _safe(self, child, value) for child in node["children"]}

    def visit_multi_select_list(self, node: Any, value: Any) -> Any:
        if value is None:
            return None
        return [_safe(self, child, value) for child in node["children"]]


_INTERPRETER = KyvernoInterpreter()


@lru_cache(maxsize=4096)
def _compile(expression: str) -> Any:
    try:
        return jmespath.compile(expression).parsed
    except jexc.JMESPathError as exc:
        raise EvalError(f"invalid JMESPath {expression!r}: {exc}") from exc


def search(expression: str, data: Any) -> Any:
    """Evaluate a Kyverno JMESPath expression; raises :class:`EvalError` (incl. ``UnknownKey``)."""
    ast = _compile(expression)
    try:
        return _INTERPRETER.visit(ast, data)
    except (EvalError, Unsupported):
        raise
    except jexc.JMESPathError as exc:
        raise EvalError(f"JMESPath {expression!r}: {exc}") from exc
    except (TypeError, ValueError, re.error) as exc:
        raise EvalError(f"JMESPath {expression!r}: {exc}") from exc

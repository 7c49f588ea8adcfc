"""``validate.cel`` rules of ClusterPolicy/Policy, evaluated with ``cel-python``.

Only what we can evaluate the way Kubernetes' CEL (cel-go) does is answered; everything else raises
:class:`~tools.kyverno.errors.Unsupported`:

- expressions cel-python cannot parse, even once cel-go's optional syntax (``.?field``, ``[?key]``,
  ``orValue``...) is rewritten by :mod:`tools.kyverno.celoptional`, or whose evaluation fails (a missing field, a function we do not provide): cel-go may answer where cel-python
  errors, and Kyverno's handling of evaluation errors depends on the failure policy;
- ``paramKind``/``paramRef``, and references to ``params``, ``namespaceObject`` or ``authorizer``.

Autogen copies of CEL rules arrive here with their text already rewritten (:mod:`tools.kyverno.autogen`).

Numbers arrive as doubles (the CLI loads integers as float64); cel-go compares doubles and ints across
types, so equality and ordering are widened here the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from tools.kyverno.celoptional import FUNCTIONS as OPTIONAL_FUNCTIONS
from tools.kyverno.celoptional import Optional, rewrite_optional
from tools.kyverno.errors import Unsupported

UNSUPPORTED_NAMES = re.compile(r"\b(params|namespaceObject|authorizer)\b")
NUMBERS = (celtypes.IntType, celtypes.UintType, celtypes.DoubleType)


def _numeric(a: Any, b: Any) -> bool:
    return (
        isinstance(a, NUMBERS)
        and isinstance(b, NUMBERS)
        and not isinstance(a, celtypes.BoolType)
        and not isinstance(b, celtypes.BoolType)
    )


def _error(*values: Any) -> CELEvalError | None:
    """The first error among a function's arguments. cel-python hands errors to functions as values; the
    function hands it on as its result (never an answer), so ``&&``/``||`` can absorb it when the other side
    decides, as cel-go does (``has(x.f) && x.f != ''`` is ``false`` without ``f``). An error that reaches the
    top of an expression is :class:`Unsupported` (:func:`_run`)."""
    for value in values:
        if isinstance(value, CELEvalError):
            return value
    return None


def _eq(a: Any, b: Any) -> Any:
    if (err := _error(a, b)) is not None:
        return err
    if isinstance(a, Optional) or isinstance(b, Optional):
        raise Unsupported("CEL comparison of optional values is not supported")
    if _numeric(a, b):
        return celtypes.BoolType(float(a) == float(b))
    if isinstance(a, celtypes.ListType) and isinstance(b, celtypes.ListType):
        return celtypes.BoolType(len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, celtypes.MapType) and isinstance(b, celtypes.MapType):
        return celtypes.BoolType(a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a))
    if type(a) is not type(b) and not (a is None or b is None):
        # cel-go's heterogeneous equality: values of different types are simply unequal
        return celtypes.BoolType(False)
    return celtypes.BoolType(a == b)


def _ne(a: Any, b: Any) -> Any:
    same = _eq(a, b)
    return same if isinstance(same, CELEvalError) else celtypes.BoolType(not same)


def _ordering(op: str) -> Any:
    def compare(a: Any, b: Any) -> Any:
        if (err := _error(a, b)) is not None:
            return err
        x: Any
        y: Any
        if _numeric(a, b):
            x, y = float(a), float(b)
        elif type(a) is type(b) and isinstance(
            a, (celtypes.StringType, celtypes.BytesType, celtypes.BoolType)
        ):
            x, y = a, b
        else:
            raise Unsupported(f"CEL evaluation failed: ordering of {type(a).__name__} and {type(b).__name__}")
        return celtypes.BoolType({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])

    return compare


def _split(text: Any, sep: Any, limit: Any = None) -> Any:
    if (err := _error(text, sep, limit)) is not None:
        return err
    if not isinstance(text, str) or not isinstance(sep, str) or limit is not None:
        raise Unsupported("CEL split() with these arguments")
    if sep == "":
        return celtypes.ListType([celtypes.StringType(c) for c in text])
    return celtypes.ListType([celtypes.StringType(p) for p in text.split(sep)])


def _ascii(upper: bool) -> Any:
    def convert(text: Any) -> Any:
        if (err := _error(text)) is not None:
            return err
        if not isinstance(text, str):
            raise Unsupported("CEL lowerAscii/upperAscii on a non-string")
        table = {c: c.upper() if upper else c.lower() for c in text if c.isascii()}
        return celtypes.StringType("".join(table.get(c, c) for c in text))

    return convert


FUNCTIONS = {
    "_==_": _eq,
    "_!=_": _ne,
    "_<_": _ordering("<"),
    "_<=_": _ordering("<="),
    "_>_": _ordering(">"),
    "_>=_": _ordering(">="),
    "split": _split,
    "lowerAscii": _ascii(False),
    "upperAscii": _ascii(True),
    **OPTIONAL_FUNCTIONS,
}
_ENV = celpy.Environment()


@lru_cache(maxsize=4096)
def _program(text: str) -> Any:
    if UNSUPPORTED_NAMES.search(text):
        raise Unsupported("CEL expressions using params, namespaceObject or authorizer are not supported")
    try:
        return _ENV.program(_ENV.compile(rewrite_optional(text)), functions=FUNCTIONS)
    except CELParseError as exc:
        raise Unsupported(
            f"CEL expression cel-python cannot parse (optional syntax?): {exc.args[0]}"
        ) from exc


def _run(text: str, activation: dict[str, Any]) -> Any:
    program = _program(text)
    try:
        value = program.evaluate(activation)
    except Unsupported:
        raise
    except Exception as exc:  # cel-python reports evaluation failures in several exception types
        raise Unsupported(f"CEL evaluation failed where cel-go might not: {exc!r:.200}") from exc
    if isinstance(value, CELEvalError):
        raise Unsupported(f"CEL evaluation failed where cel-go might not: {value!r:.200}")
    return value


def evaluate_cel(rule_name: str, cel: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str]:
    """(status, message) of a ``validate.cel`` block; ``ctx`` is the rule's JMESPath context."""
    if cel.get("paramKind") or cel.get("paramRef"):
        raise Unsupported("validate.cel with paramKind/paramRef is not supported")
    request = ctx.get("request") or {}
    activation: dict[str, Any] = {
        "object": json_to_cel(request.get("object")),
        "oldObject": json_to_cel(request.get("oldObject")),
        "request": json_to_cel(_admission_request(request)),
    }
    variables: dict[Any, Any] = {}
    activation["variables"] = celtypes.MapType(variables)
    for variable in cel.get("variables") or []:
        variables[celtypes.StringType(str(variable["name"]))] = _run(str(variable["expression"]), activation)
        activation["variables"] = celtypes.MapType(variables)  # MapType copies: publish each new variable
    for entry in cel.get("expressions") or []:
        result = _run(str(entry["expression"]), activation)
        if not isinstance(result, celtypes.BoolType):
            raise Unsupported("a CEL validation expression did not return a bool")
        if not result:
            return "fail", _failure_message(entry, activation)
    return "pass", f"validation rule '{rule_name}' passed."


def _admission_request(request: dict[str, Any]) -> dict[str, Any]:
    """The parts of Kyverno's request that a CEL expression may read (no object copies)."""
    return {k: v for k, v in request.items() if k not in ("object", "oldObject")}


def _failure_message(entry: dict[str, Any], activation: dict[str, Any]) -> str:
    if entry.get("messageExpression"):
        try:
            value = _run(str(entry["messageExpression"]), activation)
            if isinstance(value, str) and value:
                return str(value)
        except Unsupported:
            pass
    return str(entry.get("message") or f"failed expression: {entry.get('expression')}")


def cel_preconditions_hold(conditions: list[dict[str, Any]], ctx: dict[str, Any]) -> bool:
    """True when every ``celPreconditions`` expression holds (they gate the rule like matchConditions)."""
    request = ctx.get("request") or {}
    activation: dict[str, Any] = {
        "object": json_to_cel(request.get("object")),
        "oldObject": json_to_cel(request.get("oldObject")),
        "request": json_to_cel(_admission_request(request)),
    }
    for condition in conditions:
        result = _run(str(condition.get("expression", "")), activation)
        if not isinstance(result, celtypes.BoolType):
            raise Unsupported("a celPreconditions expression did not return a bool")
        if not result:
            return False
    return True

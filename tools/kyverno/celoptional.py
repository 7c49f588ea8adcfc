"""CEL optional values (``.?field``, ``[?key]``, ``optional.*``, ``orValue``...) for cel-python.

cel-python 0.5.0 cannot parse cel-go's optional syntax, so :func:`rewrite_optional` turns it into member
calls of functions this module provides, on the token stream (string literals are never touched):

- ``a.?f`` becomes ``a.optSelect__("f")`` and ``a[?k]`` becomes ``a.optIndex__(k)``;
- like cel-go's attribute resolution (``interpreter/attributes.go: applyQualifiers``), once a select or
  index chain has an optional qualifier, every later qualifier of the same chain is presence-tested too:
  ``a.?b.c[0]`` is ``optional.none()`` when ``a.b``, ``a.b.c`` or ``a.b.c[0]`` is absent;
- ``optional.of(x)``, ``optional.none()``, ``optional.ofNonZeroValue(x)`` become ``optOf__``,
  ``optNone__`` and ``optOfNonZeroValue__``; ``.orValue(x)``, ``.hasValue()`` and ``.value()`` are functions.

Optional list and map literal entries (``[?x]``, ``{?k: v}``) are not rewritten: the expression stays
unparseable and so unsupported. Whatever these functions cannot answer with certainty (a receiver that is
not a map or list, a non-string map key, ``value()`` of ``optional.none()``) raises
:class:`~tools.kyverno.errors.Unsupported`.
"""

from __future__ import annotations

import re
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

from tools.kyverno.errors import Unsupported

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>[rRbB]{0,2}(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"
                           |'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*"))
  | (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+[uU]?|\d+[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&|\|\||==|!=|<=|>=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_OPERAND_END = {"ident", "string", "number", ")", "]", "}"}
_CONSTRUCTORS = {"of": "optOf__", "none": "optNone__", "ofNonZeroValue": "optOfNonZeroValue__"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the last alternative matches any character
            raise Unsupported("CEL expression we cannot tokenise")
        kind = match.lastgroup or "punct"
        if kind != "space":
            out.append((kind if kind != "punct" else match.group(), match.group()))
        pos = match.end()
    return out


def _closing(tokens: list[tuple[str, str]], start: int) -> int:
    """Index of the bracket that closes ``tokens[start]``."""
    stack = [_OPEN[tokens[start][0]]]
    for i in range(start + 1, len(tokens)):
        kind = tokens[i][0]
        if kind in _OPEN:
            stack.append(_OPEN[kind])
        elif kind in (")", "]", "}"):
            if kind != stack.pop():
                raise Unsupported("CEL expression with unbalanced brackets")
            if not stack:
                return i
    raise Unsupported("CEL expression with unbalanced brackets")


def _emit(tokens: list[tuple[str, str]]) -> str:
    out: list[str] = []
    optional_chain = False  # the current select/index chain already has an optional qualifier
    prev = ""  # kind of the previous token, to tell an index from a list literal
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        if kind == "." and nxt == "?":
            if i + 2 >= len(tokens) or tokens[i + 2][0] != "ident":
                raise Unsupported("CEL optional select without a field name")
            out.append(f'.optSelect__("{tokens[i + 2][1]}")')
            optional_chain, prev, i = True, ")", i + 3
            continue
        if kind == "." and nxt == "ident":
            name = tokens[i + 1][1]
            is_call = i + 2 < len(tokens) and tokens[i + 2][0] == "("
            if prev == "ident" and out and out[-1] == "optional" and is_call and name in _CONSTRUCTORS:
                out[-1] = _CONSTRUCTORS[name]
                optional_chain, prev, i = False, "ident", i + 2
                continue
            if is_call:
                out.append(f".{name}")
                optional_chain, prev, i = False, "ident", i + 2  # a call ends the attribute chain
                continue
            out.append(f'.optSelect__("{name}")' if optional_chain else f".{name}")
            prev, i = ")", i + 2
            continue
        if kind in _OPEN:
            end = _closing(tokens, i)
            postfix = kind == "[" and prev in _OPERAND_END
            inner = tokens[i + 1 : end]
            if postfix and inner and inner[0][0] == "?":
                out.append(f".optIndex__({_emit(inner[1:])})")
                optional_chain = True
            elif postfix and optional_chain:
                out.append(f".optIndex__({_emit(inner)})")
            else:
                if kind == "[" and inner and inner[0][0] == "?":
                    raise Unsupported("CEL optional list elements are not supported")
                if out and out[-1] == "has" and any(t[0] == "?" for t in inner):
                    raise Unsupported("has() of an optional select is not supported")
                out.append(f"{text} {_emit(inner)} {tokens[end][1]}")
                optional_chain = False
            prev, i = tokens[end][0], end + 1
            continue
        out.append(text)  # string literals are copied verbatim: cel-python reads the same syntax
        optional_chain = False
        prev, i = kind, i + 1
    return " ".join(out)  # whitespace between tokens is insignificant in CEL


def rewrite_optional(text: str) -> str:
    """``text`` with cel-go's optional syntax turned into calls cel-python can parse (unchanged if none)."""
    if "?" not in text and "optional" not in text and "orValue" not in text:
        return text
    return _emit(_tokens(text))


class Optional:
    """A CEL ``optional_type`` value: ``optional.of(value)`` when ``present``, else ``optional.none()``.

    Comparing or testing one for truth is refused: cel-python's operators would not follow cel-go there.
    """

    __slots__ = ("present", "value")

    def __init__(self, present: bool, value: Any = None) -> None:
        self.present = present
        self.value = value

    def __eq__(self, other: object) -> bool:
        raise Unsupported("CEL comparison of optional values is not supported")

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise Unsupported("CEL optional value used as a bool")

    def __repr__(self) -> str:
        return f"optional.of({self.value!r})" if self.present else "optional.none()"


NONE = Optional(False)


def _checked(value: Any) -> Any:
    if isinstance(value, CELEvalError):
        raise Unsupported(f"CEL evaluation failed where cel-go might not: {value!r:.200}")
    return value


def _unwrapped(receiver: Any) -> tuple[bool, Any]:
    receiver = _checked(receiver)
    if isinstance(receiver, Optional):
        return receiver.present, receiver.value
    return True, receiver


def opt_select(receiver: Any, name: Any) -> Optional:
    """``receiver.?name``: the field when the map has it, else ``optional.none()``."""
    present, target = _unwrapped(receiver)
    if not present:
        return NONE
    if not isinstance(target, celtypes.MapType):
        raise Unsupported(f"CEL optional select on a {type(target).__name__}")
    key = celtypes.StringType(str(name))
    return Optional(True, target[key]) if key in target else NONE


def opt_index(receiver: Any, key: Any) -> Optional:
    """``receiver[?key]``: a map entry or an in-range list element, else ``optional.none()``."""
    present, target = _unwrapped(receiver)
    key = _checked(key)
    if not present:
        return NONE
    if isinstance(target, celtypes.MapType) and isinstance(key, celtypes.StringType):
        return Optional(True, target[key]) if key in target else NONE
    if (
        isinstance(target, celtypes.ListType)
        and isinstance(key, celtypes.IntType)
        and not isinstance(key, celtypes.BoolType)
        and int(key) >= 0
    ):
        return Optional(True, target[int(key)]) if int(key) < len(target) else NONE
    raise Unsupported(f"CEL optional index of a {type(target).__name__} by a {type(key).__name__}")


def _optional(receiver: Any, function: str) -> Optional:
    receiver = _checked(receiver)
    if not isinstance(receiver, Optional):
        raise Unsupported(f"CEL {function}() on a value that is not optional")
    return receiver


def or_value(receiver: Any, default: Any) -> Any:
    """``opt.orValue(default)``."""
    opt = _optional(receiver, "orValue")
    return opt.value if opt.present else _checked(default)


def has_value(receiver: Any) -> celtypes.BoolType:
    """``opt.hasValue()``."""
    return celtypes.BoolType(_optional(receiver, "hasValue").present)


def value(receiver: Any) -> Any:
    """``opt.value()``; of ``optional.none()`` it is an error in cel-go, so unsupported here."""
    opt = _optional(receiver, "value")
    if not opt.present:
        raise Unsupported("CEL value() of optional.none() is an evaluation error")
    return opt.value


def opt_of(value: Any) -> Optional:
    """``optional.of(value)``."""
    return Optional(True, _checked(value))


def opt_none() -> Optional:
    """``optional.none()``."""
    return NONE


_ZERO_TYPES = (
    celtypes.BoolType,
    celtypes.IntType,
    celtypes.UintType,
    celtypes.DoubleType,
    celtypes.StringType,
    celtypes.BytesType,
    celtypes.ListType,
    celtypes.MapType,
)


def opt_of_non_zero_value(value: Any) -> Optional:
    """``optional.ofNonZeroValue(value)``: none for null and the zero value of a scalar, list or map."""
    value = _checked(value)
    if value is None:
        return NONE
    if isinstance(value, _ZERO_TYPES):
        return Optional(True, value) if value else NONE
    raise Unsupported(f"CEL optional.ofNonZeroValue of a {type(value).__name__}")


FUNCTIONS = {
    "optSelect__": opt_select,
    "optIndex__": opt_index,
    "orValue": or_value,
    "hasValue": has_value,
    "value": value,
    "optOf__": opt_of,
    "optNone__": opt_none,
    "optOfNonZeroValue__": opt_of_non_zero_value,
}

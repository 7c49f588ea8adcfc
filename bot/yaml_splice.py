"""Text-level edits of single ConfigMap data values: the smallest possible diff, and 30x cheaper than a dump.

ruamel.yaml's round trip keeps comments and quoting, but re-emits the whole file (about 7 ms a file) and may
re-space a trailing comment. When an edit only replaces one existing scalar value (or appends lines to a
literal block), this module rewrites just those characters of the original text. The result is accepted only
if an independent parse (PyYAML) gives exactly the documents the round trip would have produced; otherwise
the caller falls back to the full dump. So a splice can make a diff smaller, never different in meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

#: Values spliced as text must be made of these characters (CIDR lists, flags, sizes, protocol lists).
_SAFE = re.compile(r"^[A-Za-z0-9 ./:,_+=-]*$")
_PLAIN_END = re.compile(r"\s+#|\s*$")


def splice(text: str, original: CommentedMap, new_values: Mapping[str, str]) -> str | None:
    """``text`` with ``data[key]`` replaced by ``new_values[key]`` in place, or None when unsure."""
    data = original.get("data")
    if not isinstance(data, CommentedMap):
        return None
    lines = text.splitlines(keepends=True)
    # Edit from the bottom up so earlier line numbers stay valid.
    order = sorted(new_values, key=lambda k: data.lc.value(k)[0] if k in data else -1, reverse=True)
    for key in order:
        if key not in data:
            return None
        old, new = data[key], new_values[key]
        line, col = data.lc.value(key)
        if isinstance(old, LiteralScalarString):
            if not _append_to_block(lines, data, key, str(old), new):
                return None
        elif not _replace_scalar(lines, line, col, old, new):
            return None
    return "".join(lines)


def _replace_scalar(lines: list[str], line: int, col: int, old: Any, new: str) -> bool:
    if not _SAFE.match(new) or line >= len(lines):
        return False
    src = lines[line]
    if isinstance(old, DoubleQuotedScalarString | SingleQuotedScalarString):
        quote = src[col : col + 1]
        if quote not in ("'", '"'):
            return False
        end = src.find(quote, col + 1)
        if end < 0 or "\\" in src[col:end]:
            return False
        lines[line] = src[: col + 1] + new + src[end:]
        return True
    if not isinstance(old, str) or not new:
        return False
    m = _PLAIN_END.search(src, col)
    if m is None:
        return False
    lines[line] = src[:col] + new + src[m.start() :]
    return True


def _append_to_block(lines: list[str], data: CommentedMap, key: str, old: str, new: str) -> bool:
    """Append the lines ``new`` adds after ``old`` at the end of a ``|`` block."""
    if not new.startswith(old) or not old.endswith("\n"):
        return False
    added = new[len(old) :].splitlines()
    if not added or not all(_SAFE.match(a) for a in added):
        return False
    key_line, key_col = data.lc.key(key)
    indent = None
    last = key_line
    for i in range(key_line + 1, len(lines)):
        stripped = lines[i].strip()
        width = len(lines[i]) - len(lines[i].lstrip(" "))
        if not stripped:
            continue
        if width <= key_col:
            break
        indent = width if indent is None else min(indent, width)
        last = i
    if indent is None:
        return False
    ending = "\n" if lines[last].endswith("\n") else ""
    if not ending:
        lines[last] += "\n"
    lines[last + 1 : last + 1] = [" " * indent + a + "\n" for a in added]
    return True

"""Exact edits: the guard's byte-fidelity check (every line outside the edited values kept as it was).

The editor (:mod:`bot.yaml_edit`) changes only the lines of the ``key: value`` entries an operation names.
``only_edited_lines`` proves it from the two texts alone: it finds the lines of each named key in ``before``
and in ``after`` with :func:`key_spans` (a small text scanner, independent of any YAML library and of the
editor), and requires every other line to be byte-identical, line ending included. A change built by hand
(no editor) is judged the same way, so the check never trusts what it is asked to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AnyOp, Escalate, FileChange, SetImage
from bot.core.inventory import ConfigRef, Inventory, Server
from bot.core.operations.images import ALLOWED_FIELDS, split_target

Op = AnyOp

#: One span: (key, first line, end line exclusive), 0-based line numbers of one text.
Span = tuple[str, int, int]

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_DATA = re.compile(r"""^(?:data|"data"|'data')[ \t]*:(?:[ \t]+(.*))?$""")
_PROPS = re.compile(r"^(?:[&!]\S*[ \t]+)*")


def split_lines(text: str) -> list[str]:
    """Lines with their endings (``\\r\\n``, ``\\r`` or ``\\n``), the way YAML counts them."""
    return list(_split_lines(text))


@lru_cache(maxsize=1024)
def _split_lines(text: str) -> tuple[str, ...]:
    return tuple(_LINE.findall(text))


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_blank(line: str) -> bool:
    return not _body(line).strip()


def _is_comment(line: str) -> bool:
    return _body(line).lstrip().startswith("#")


def _key_line(line: str, key: str) -> bool:
    k = re.escape(key)
    return re.match(rf"""^[ \t]*(?:{k}|"{k}"|'{k}')[ \t]*:(?:[ \t]|$)""", _body(line)) is not None


def _data_line(lines: Sequence[str]) -> int | None:
    found = [i for i, line in enumerate(lines) if _DATA.match(_body(line))]
    return found[0] if len(found) == 1 else None


def _flow_end(lines: Sequence[str], start: int, col: int) -> int | None:
    """The line (exclusive) where the flow mapping opened at ``lines[start][col]`` closes."""
    depth, quote = 0, ""
    for i in range(start, len(lines)):
        body = _body(lines[i])
        j = col if i == start else 0
        while j < len(body):
            ch = body[j]
            if quote:
                if ch == "\\" and quote == '"':
                    j += 1
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#" and (j == 0 or body[j - 1] in " \t"):
                break
            elif ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            j += 1
    return None


def key_spans(text: str, keys: Iterable[str]) -> tuple[Span, ...]:
    """Where the ``data`` entries named by ``keys`` sit in ``text`` (see :func:`_key_spans`; cached: the
    editor and the guard both ask for the same texts)."""
    return _key_spans(text, tuple(sorted(set(keys))))


@lru_cache(maxsize=1024)
def _key_spans(text: str, keys: tuple[str, ...]) -> tuple[Span, ...]:
    """Where the ``data`` entries named by ``keys`` sit in ``text``: the key's line and its value's
    continuation lines (block scalar content, more-indented lines), trailing blank lines excluded.

    Found from the text alone. A flow-style ``data: {...}`` is one span, labelled ``data``. Keys not found
    get no span.
    """
    wanted = set(keys)
    lines = split_lines(text)
    start = _data_line(lines)
    if start is None or not wanted:
        return ()
    m = _DATA.match(_body(lines[start]))
    rest = _PROPS.sub("", (m.group(1) or "") if m else "")
    if rest.startswith("{"):
        end = _flow_end(lines, start, len(_body(lines[start])) - len(rest))
        if end is None:
            return ()
        # A flow mapping is edited as one unit: its lines are one span, labelled "data".
        return (("data", start, end),)
    stop = len(lines)
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not _is_blank(line) and _indent(line) == 0 and not _is_comment(line):
            stop = i
            break
    entry_indent = next(
        (_indent(ln) for ln in lines[start + 1 : stop] if not _is_blank(ln) and not _is_comment(ln)), None
    )
    if entry_indent is None:
        return ()
    spans: list[Span] = []
    i = start + 1
    while i < stop:
        line = lines[i]
        if _is_blank(line) or _is_comment(line) or _indent(line) != entry_indent:
            i += 1
            continue
        end = i + 1
        last = i + 1
        while end < stop:
            nxt = lines[end]
            if not _is_blank(nxt):
                if _indent(nxt) <= entry_indent:
                    break
                last = end + 1
            end += 1
        key = next((k for k in wanted if _key_line(line, k)), None)
        if key is not None:
            spans.append((key, i, last))
        i = last
    return tuple(spans)


def _tokens(lines: Sequence[str], spans: Sequence[Span]) -> list[tuple[str, str, int]]:
    """The text as a sequence: ("line", text, n) outside spans, ("span", key, n) for each span."""
    starts = {first: (key, end) for key, first, end in spans}
    out: list[tuple[str, str, int]] = []
    i = 0
    while i < len(lines):
        if i in starts:
            key, end = starts[i]
            out.append(("span", key, i))
            i = max(end, i + 1)
        else:
            out.append(("line", lines[i], i))
            i += 1
    return out


def first_difference(before: str, after: str, keys: Iterable[str]) -> int | None:
    """The first line (1-based, of ``before``) outside the named keys' lines that ``after`` does not keep
    byte for byte; None when only those lines differ. A final line without a line break may gain one
    when a new or longer entry follows it (the new last line then has none)."""
    keys = set(keys)
    b_lines, a_lines = split_lines(before), split_lines(after)
    b_spans = key_spans(before, keys)
    a_spans = key_spans(after, keys)
    a_data = _data_line(a_lines)
    if _data_line(b_lines) is None and a_data is not None:
        # A new ``data:`` (the file had none) is part of the new entries.
        a_spans = (("\0data", a_data, a_data + 1), *a_spans)
    old_keys = {k for k, _, _ in b_spans}
    if any(k not in {s[0] for s in a_spans} for k in old_keys):
        gone = next(s for s in b_spans if s[0] not in {a[0] for a in a_spans})
        return gone[1] + 1
    b_tok = _tokens(b_lines, b_spans)
    a_tok = [t for t in _tokens(a_lines, a_spans) if not (t[0] == "span" and t[1] not in old_keys)]
    for b, a in zip(b_tok, a_tok, strict=False):
        if b[0] == a[0] and b[1] == a[1]:
            continue
        final = b is b_tok[-1] and b[0] == a[0] == "line" and not b[1].endswith(("\n", "\r"))
        if final and _body(a[1]) == b[1] and a[2] < len(a_lines) - 1:
            continue
        return b[2] + 1
    if len(b_tok) != len(a_tok):
        shorter = min(len(b_tok), len(a_tok))
        return b_tok[shorter][2] + 1 if shorter < len(b_tok) else len(b_lines) + 1
    return None


def _value_spans(body: str, keys: Iterable[str]) -> list[tuple[int, int]]:
    """Where the values of ``key: value`` pairs with these keys sit in one line (block or flow style)."""
    names = "|".join(re.escape(k) for k in sorted(keys))
    spans: list[tuple[int, int]] = []
    for m in re.finditer(rf"""(?<![^\s{{,])(?P<q>["']?)(?:{names})(?P=q)[ \t]*:(?:[ \t]+|(?=["']))""", body):
        start = m.end()
        if body[start : start + 1] == '"':
            end = start + 1
            while end < len(body) and body[end] != '"':
                end += 2 if body[end] == "\\" else 1
            end += 1
        elif body[start : start + 1] == "'":
            end = start + 1
            while end < len(body) and (body[end] != "'" or body[end + 1 : end + 2] == "'"):
                end += 2 if body[end] == "'" else 1
            end += 1
        else:
            plain = re.match(r"[^\s,\[\]{}#]*", body[start:])
            end = start + (plain.end() if plain else 0)
        spans.append((start, min(end, len(body))))
    return spans


def _value_only(before: str, after: str, keys: Iterable[str]) -> bool:
    """True when two versions of a line differ only in the value of one of these keys."""
    b, a = _body(before), _body(after)
    if before[len(b) :] != after[len(a) :]:
        return False  # the line ending changed
    after_spans = dict(_value_spans(a, keys))
    return any(
        start in after_spans and b[:start] == a[:start] and b[end:] == a[after_spans[start] :]
        for start, end in _value_spans(b, keys)
    )


def first_value_difference(before: str, after: str, keys: Iterable[str]) -> int | None:
    """The first line (1-based, of ``before``) that ``after`` does not keep byte for byte, beyond one line
    whose only change is the value of one of ``keys`` (``image``, ``tag``, ``newTag``, ``digest``: the
    one scalar a ``set_image`` writes); None when that is all that changed. Found from the text alone."""
    keys = tuple(keys)
    b_lines, a_lines = split_lines(before), split_lines(after)
    differ = [i for i, (b, a) in enumerate(zip(b_lines, a_lines, strict=False)) if b != a]
    for n, i in enumerate(differ):
        if n > 0 or not _value_only(b_lines[i], a_lines[i], keys):
            return i + 1
    if len(b_lines) != len(a_lines):
        return min(len(b_lines), len(a_lines)) + 1
    return None


def _check_only_edited_lines(changed: Sequence[FileChange], ops: Sequence[Op]) -> Check:
    problems: list[str] = []
    for c in changed:
        images = [o for o in ops if isinstance(o, SetImage) and o.file == c.path]
        if images:
            fields = {f for o in images for f in ALLOWED_FIELDS.get(split_target(o.target)[0], ())}
            line = first_value_difference(c.before, c.after, fields)
            if line is not None:
                named = ", ".join(sorted(o.target for o in images))
                problems.append(f"{c.path}: line {line} changed beyond the one image value of {named}")
            continue
        keys = sorted({o.key for o in ops if not isinstance(o, Escalate) and o.file == c.path})
        line = first_difference(c.before, c.after, keys)
        if line is not None:
            named = ", ".join(keys) or "no key"
            problems.append(f"{c.path}: line {line} changed outside the lines of {named}")
    if problems:
        return Check(name="only_edited_lines", passed=False, detail="; ".join(problems))
    return Check(name="only_edited_lines", passed=True, detail="every other line kept byte for byte")


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> list[Check]:
    """This family's checks of one proposed change."""
    return [_check_only_edited_lines(changed, ops)]

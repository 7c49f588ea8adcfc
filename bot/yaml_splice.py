"""Where each ConfigMap ``data`` value sits in a file's text, read from PyYAML's event stream.

The editor (:mod:`bot.yaml_edit`) changes a file by replacing or inserting a few characters at the places
this module finds; it never re-emits the document. The layout is built from parser events (positions,
quoting styles, anchors, aliases, merge keys), never from a loaded document, so an alias bomb is not
expanded: one streaming pass first counts aliases, the nodes they would expand to and the nesting depth,
and refuses a file over the limits before anything else is built. Layouts are cached per (path, text)
and never mutated.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from bot.core.errors import DocumentError
from bot.core.fidelity import split_lines

MAX_BYTES = 256 * 1024  # ConfigMaps are at most 1 MiB; the ones the bot edits are a few KiB
MAX_ALIASES = 100
MAX_EXPANDED = 10_000  # nodes the aliases would add if expanded (billion laughs: 10^9)
MAX_DEPTH = 64

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PROPS = re.compile(r"(?:[&!][^ \t\r\n]*[ \t\r\n]+)*")
_HEADER = re.compile(r"[|>]([1-9+-]?)([1-9+-]?)")
_ODD_BREAKS = ("\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class Value:
    """One ``key: value`` entry of ``data``: where it is and what it is."""

    key: str
    kind: str  # "scalar" | "alias" | "collection"
    style: str  # "" (plain), '"', "'", "|", ">"
    start: int  # index of the value itself (after any anchor or tag)
    end: int  # index just after it (a block scalar: the end of its last content line)
    first_line: int  # the key's line
    last_line: int  # the value's last line (inclusive)
    key_col: int
    anchor: str | None = None
    alias: str | None = None  # the value is ``*alias``
    key_alias: str | None = None  # the key is ``*alias``
    tag: str | None = None
    content_indent: int | None = None  # block scalars: the content's indentation
    chomp: str = ""  # block scalars: "", "-" or "+"


@dataclass(frozen=True)
class Layout:
    """Where ``data`` and its entries sit in one file's text."""

    text: str
    lines: tuple[str, ...]
    line_starts: tuple[int, ...]
    newline: str
    values: Mapping[str, Value]
    order: tuple[str, ...]
    duplicates: frozenset[str]
    merged: Mapping[str, str]  # key -> "<<: *name" for keys that come from a merge key
    alias_uses: Mapping[str, int]
    data_problem: str | None  # why no entry can be added to data at all, if so
    flow: bool = False
    flow_close: int = -1  # flow data: index of the closing "}"
    no_data: bool = False  # no data key at all: a new entry goes in a new ``data:`` at the end of the file
    entry_indent: int = 2

    def line_of(self, index: int) -> int:
        return bisect.bisect_right(self.line_starts, index) - 1


class _Node:
    __slots__ = ("children", "end", "event")

    def __init__(self, event: Any, end: Any = None, children: list[_Node] | None = None) -> None:
        self.event = event
        self.end = end
        self.children = children or []


class EventLimits:
    """The alias, expansion and depth limits, checked one parser event at a time (nothing is built).

    :meth:`check` returns why the stream is refused ("more than 100 aliases", "its aliases expand to more than
    10000 values", "nested more than 64 levels deep") or None. Used by the editor and by the report readers.
    """

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}
        self.stack: list[list[Any]] = []  # [anchor, node count] of each open collection
        self.aliases = self.expanded = 0

    def check(self, ev: Any) -> str | None:
        stack = self.stack
        if isinstance(ev, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                return f"more than {MAX_ALIASES} aliases"
            n = self.sizes.get(ev.anchor or "", 1)
            self.expanded += n
            if self.expanded > MAX_EXPANDED:
                return f"its aliases expand to more than {MAX_EXPANDED} values"
            if stack:
                stack[-1][1] += n
        elif isinstance(ev, ScalarEvent):
            if ev.anchor:
                self.sizes[ev.anchor] = 1
            if stack:
                stack[-1][1] += 1
        elif isinstance(ev, CollectionStartEvent):
            stack.append([ev.anchor, 1])
            if len(stack) > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
        elif isinstance(ev, CollectionEndEvent):
            anchor, n = stack.pop()
            if anchor:
                self.sizes[anchor] = n
            if stack:
                stack[-1][1] += n
        return None


def _scan(path: str, text: str) -> list[Any]:
    """All parser events, refusing oversized, alias-heavy or too deeply nested files on the way."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise DocumentError(f"{path}: too large to edit ({size} bytes; the limit is {MAX_BYTES})")
    if any(b in text for b in _ODD_BREAKS):
        raise DocumentError(f"{path}: contains Unicode line separators; the bot does not edit such files")
    events: list[Any] = []
    limits = EventLimits()
    try:
        for ev in yaml.parse(text, Loader=_Parser):
            events.append(ev)
            why = limits.check(ev)
            if why is not None:
                suffix = "" if why.startswith("nested") else "; the bot does not edit such files"
                raise DocumentError(f"{path}: {why}{suffix}")
    except yaml.YAMLError as exc:
        raise DocumentError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return events


def _tree(events: list[Any], i: int) -> tuple[_Node, int]:
    ev = events[i]
    if isinstance(ev, CollectionStartEvent):
        children: list[_Node] = []
        i += 1
        while not isinstance(events[i], CollectionEndEvent):
            child, i = _tree(events, i)
            children.append(child)
        return _Node(ev, events[i], children), i + 1
    return _Node(ev), i + 1


def _pairs(node: _Node) -> list[tuple[_Node, _Node]]:
    kids = node.children
    return [(kids[i], kids[i + 1]) for i in range(0, len(kids) - 1, 2)]


#: A parsed node for other exact editors (:mod:`bot.image_edit`): ``event``, ``end`` (a collection's end
#: event) and ``children`` (a mapping's keys and values alternate).
Node = _Node


def document_roots(path: str, text: str) -> list[_Node]:
    """The root node of every document in ``text``, built from parser events under this module's limits
    (size, aliases, nesting); raises :class:`DocumentError` like :func:`layout`."""
    events = _scan(path, text)
    roots: list[_Node] = []
    i = 1
    while i < len(events) - 1:
        if isinstance(events[i], DocumentStartEvent):
            node, i = _tree(events, i + 1)
            roots.append(node)
        i += 1
    return roots


def mapping_pairs(node: _Node) -> list[tuple[_Node, _Node]]:
    """A mapping node's (key, value) pairs, in order."""
    return _pairs(node)


def _is_merge(node: _Node) -> bool:
    ev = node.event
    return isinstance(ev, ScalarEvent) and ev.value == "<<" and not ev.style and ev.tag is None


@lru_cache(maxsize=256)
def layout(path: str, text: str) -> Layout:
    """The layout of one file's ``data``; raises :class:`DocumentError` for a file the editor never edits."""
    events = _scan(path, text)
    roots: list[_Node] = []
    i = 1
    while i < len(events) - 1:
        if isinstance(events[i], DocumentStartEvent):
            node, i = _tree(events, i + 1)
            roots.append(node)
        i += 1
    if len(roots) != 1 or not isinstance(roots[0].event, MappingStartEvent):
        raise DocumentError(f"{path}: expected exactly one YAML mapping (one ConfigMap)")
    anchors: dict[str, _Node] = {}
    uses: dict[str, int] = {}
    for ev in events:
        if isinstance(ev, AliasEvent) and ev.anchor:
            uses[ev.anchor] = uses.get(ev.anchor, 0) + 1
    _index_anchors(roots[0], anchors)
    lines = tuple(split_lines(text))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    newline = next((ln[len(ln.rstrip("\r\n")) :] for ln in lines if ln.endswith(("\n", "\r"))), "\n")
    base = Layout(
        text=text,
        lines=lines,
        line_starts=tuple(starts[: len(lines)] or [0]),
        newline=newline,
        values={},
        order=(),
        duplicates=frozenset(),
        merged={},
        alias_uses=uses,
        data_problem=None,
    )
    data: _Node | None = None
    root_merge = False
    for k, v in _pairs(roots[0]):
        if isinstance(k.event, ScalarEvent) and k.event.value == "data" and k.event.tag is None:
            data = v
        root_merge |= _is_merge(k)
    if data is None:
        if root_merge:
            return _replace(base, data_problem="data comes from a merge key")
        if roots[0].event.flow_style or any(ln.rstrip() == "..." for ln in lines):
            return _replace(base, data_problem="the file has no data mapping")
        return _replace(base, no_data=True)
    ev = data.event
    if isinstance(ev, AliasEvent):
        return _replace(base, data_problem=f"data is an alias (*{ev.anchor})")
    if isinstance(ev, ScalarEvent) and not ev.style and ev.value in ("", "~", "null", "Null", "NULL"):
        return _replace(base, data_problem="data is empty (null); the bot does not replace it")
    if not isinstance(ev, MappingStartEvent):
        return _replace(base, data_problem="data is not a mapping")
    if ev.anchor and uses.get(ev.anchor):
        return _replace(base, data_problem=f"data carries the anchor &{ev.anchor}, used elsewhere")
    return _data_layout(base, data, anchors)


def _index_anchors(node: _Node, anchors: dict[str, _Node]) -> None:
    ev = node.event
    if isinstance(ev, NodeEvent) and not isinstance(ev, AliasEvent) and ev.anchor:
        anchors[ev.anchor] = node
    for child in node.children:
        _index_anchors(child, anchors)


def _replace(base: Layout, **changes: Any) -> Layout:
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    fields.update(changes)
    return Layout(**fields)


def _merged_keys(value: _Node, anchors: Mapping[str, _Node]) -> dict[str, str]:
    sources: list[tuple[_Node, str]] = []
    items = (
        value.children
        if isinstance(value.event, CollectionStartEvent) and not isinstance(value.event, MappingStartEvent)
        else [value]
    )
    for item in items:
        name = item.event.anchor if isinstance(item.event, AliasEvent) else None
        if name is not None and name in anchors:
            sources.append((anchors[name], f"<<: *{name}"))
        elif isinstance(item.event, MappingStartEvent):
            sources.append((item, "<<: {...}"))
    out: dict[str, str] = {}
    for src, label in sources:
        for k, _ in _pairs(src):
            if isinstance(k.event, ScalarEvent):
                out.setdefault(k.event.value, label)
    return out


def _data_layout(base: Layout, data: _Node, anchors: Mapping[str, _Node]) -> Layout:
    values: dict[str, Value] = {}
    order: list[str] = []
    dups: set[str] = set()
    merged: dict[str, str] = {}
    for k, v in _pairs(data):
        if _is_merge(k):
            merged.update(_merged_keys(v, anchors))
            continue
        key_alias = None
        kev = k.event
        if isinstance(kev, AliasEvent):
            target = anchors.get(kev.anchor or "")
            if target is None or not isinstance(target.event, ScalarEvent):
                continue
            key, key_alias = target.event.value, kev.anchor
        elif isinstance(kev, ScalarEvent):
            key = kev.value
        else:
            continue
        if key in values:
            dups.add(key)
        values[key] = _value(base, key, k, v, key_alias)
        order.append(key)
    merged = {k: label for k, label in merged.items() if k not in values}
    flow = bool(data.event.flow_style)
    indent = min((values[k].key_col for k in order), default=2)
    return _replace(
        base,
        values=values,
        order=tuple(order),
        duplicates=frozenset(dups),
        merged=merged,
        flow=flow,
        flow_close=data.end.start_mark.index if flow else -1,
        entry_indent=indent,
    )


def _value(base: Layout, key: str, k: _Node, v: _Node, key_alias: str | None) -> Value:
    ev: Any = v.event
    key_line, key_col = k.event.start_mark.line, k.event.start_mark.column
    common: dict[str, Any] = {"key": key, "first_line": key_line, "key_col": key_col, "key_alias": key_alias}
    if isinstance(v.event, AliasEvent):
        end = ev.end_mark.index
        return Value(
            kind="alias", style="", start=ev.start_mark.index, end=end, last_line=base.line_of(end),
            alias=ev.anchor, **common,
        )  # fmt: skip
    if not isinstance(v.event, ScalarEvent):
        end = v.end.end_mark.index
        return Value(
            kind="collection", style="", start=ev.start_mark.index, end=end,
            last_line=base.line_of(max(end - 1, 0)), anchor=ev.anchor, **common,
        )  # fmt: skip
    prop = _PROPS.match(base.text, ev.start_mark.index)
    start = prop.end() if prop else ev.start_mark.index
    style = ev.style or ""
    tag = ev.tag if ev.tag not in (None, "!") else None
    if style not in ("|", ">"):
        end = ev.end_mark.index
        return Value(
            kind="scalar", style=style, start=start, end=end, last_line=base.line_of(max(end - 1, start)),
            anchor=ev.anchor, tag=tag, **common,
        )  # fmt: skip
    header = _HEADER.match(base.text, start)
    flags = (header.group(1) + header.group(2)) if header else ""
    digit = next((c for c in flags if c.isdigit()), None)
    chomp = next((c for c in flags if c in "+-"), "")
    header_line = base.line_of(start)
    cap = min(ev.end_mark.line, len(base.lines) - 1)
    indent = key_col + int(digit) if digit else None
    last = header_line
    for n in range(header_line + 1, cap + 1):
        body = base.lines[n].rstrip("\r\n")
        if not body.strip():
            continue
        width = len(body) - len(body.lstrip(" "))
        if indent is None:
            indent = width
        if width < indent or width <= key_col:
            break
        last = n
    line = base.lines[last]
    end = base.line_starts[last] + len(line.rstrip("\r\n"))
    return Value(
        kind="scalar", style=style[0], start=start, end=end, last_line=last, anchor=ev.anchor, tag=tag,
        content_indent=indent if last > header_line else None, chomp=chomp, **common,
    )  # fmt: skip

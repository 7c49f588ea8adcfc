"""Applying edit operations to YAML files exactly: only the characters of the edited values change.

An edit replaces one scalar in place (keeping its quotes), appends entries to a list in the list's own style
(comma string, ``|`` block one entry a line, ``>`` folded block), or inserts one new ``key: value`` line in
``data``. Everything else (comments, blank lines, anchors, aliases, merge keys, CRLF line endings, a missing
final newline) stays byte for byte. The file is never re-emitted: what cannot be edited exactly raises
:class:`DocumentError` with the reason. Every edit is then re-parsed with PyYAML (an independent parser) and
must read back as the original with exactly the intended data values changed. Nothing here decides whether a
change is allowed: that is the guard's job.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from bot.core.edits import (
    AddCidr,
    AddPolicy,
    AnyOp,
    BumpDependency,
    Escalate,
    FileChange,
    FileOp,
    RemoveCidr,
    SetImage,
    SetPolicyMode,
)
from bot.core.errors import DocumentError, OperationError
from bot.core.fidelity import key_spans
from bot.core.network import canonical_cidr, host_cidr, split_cidr_list
from bot.core.operations.blocklist import covering_entry
from bot.yaml_splice import Layout, Value, layout

Op = AnyOp
ReadFile = Callable[[str], str]
#: One text edit: replace text[start:end] with the string.
_Edit = tuple[int, int, str]


def repo_reader(root: Path) -> ReadFile:
    """A reader for regular files of a GitOps checkout. It never follows a link: a path is refused when it
    or any folder on the way inside the repository is a symlink, or when it is not a regular file."""
    root = root.resolve()

    def read(path: str) -> str:
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or ".." in parts:
            raise DocumentError(f"{path}: outside the repository")
        current = root
        st: os.stat_result | None = None
        for n, part in enumerate(parts, start=1):
            current = current / part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                raise DocumentError(f"{path}: no such file in the repository") from None
            except OSError as exc:
                raise DocumentError(f"{path}: cannot read ({exc.__class__.__name__})") from None
            if stat.S_ISLNK(st.st_mode):
                where = "" if n == len(parts) else f"{'/'.join(parts[:n])} "
                raise DocumentError(f"{path}: {where}is a symlink; the bot never follows links")
        if st is None or not stat.S_ISREG(st.st_mode):
            raise DocumentError(f"{path}: not a regular file")
        try:
            fd = os.open(current, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise DocumentError(f"{path}: not a regular file")
                raw = fh.read()
            return raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(f"{path}: cannot read ({exc.__class__.__name__})") from None

    return read


# --- what a written value looks like -------------------------------------------------------------------

_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9 _./:,+=@%-]*$")
#: YAML 1.2 core schema: plain scalars that are not strings there (PyYAML speaks YAML 1.1).
_YAML12_NOT_STR = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)
#: YAML 1.1 booleans PyYAML does not resolve but other YAML 1.1 readers (go-yaml v2) do.
_YAML11_BOOL_EXTRA = frozenset({"y", "Y", "n", "N"})


def plain_is_string(value: str) -> bool:
    """True when ``value`` written unquoted reads back as the same string in YAML 1.1 and 1.2."""
    if not _PLAIN_OK.match(value) or value != value.strip() or ": " in value or value.endswith(":"):
        return False
    if _YAML12_NOT_STR.match(value) or value in _YAML11_BOOL_EXTRA:
        return False
    try:
        return bool(yaml.load(f"k: {value}\n", Loader=_SafeLoader) == {"k": value})  # noqa: S506 (safe loader)
    except yaml.YAMLError:
        return False


def double_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar on one line (every reader gets the same string)."""
    out: list[str] = []
    named = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    for ch in value:
        o = ord(ch)
        if ch in named:
            out.append(named[ch])
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append(f"\\x{o:02x}")
        elif o in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF) or 0xD800 <= o <= 0xDFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _written(value: str, style: str) -> str:
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style == "" and plain_is_string(value):
        return value
    return double_quoted(value)


# --- one key's edit -------------------------------------------------------------------------------------


class _Refused(Exception):
    """This key cannot be edited exactly (the reason is the message)."""


def _editable(lay: Layout, v: Value) -> None:
    if v.key in lay.duplicates:
        raise _Refused("the key appears more than once in data")
    if v.key_alias:
        raise _Refused(f"its key is an alias (*{v.key_alias})")
    if v.kind == "alias":
        raise _Refused(f"its value is an alias (*{v.alias})")
    if v.kind == "collection":
        raise _Refused("its value is a list or a mapping, not a string")
    if v.anchor and lay.alias_uses.get(v.anchor):
        raise _Refused(
            f"its value carries the anchor &{v.anchor}, used elsewhere (the aliases would change too)"
        )
    if v.tag:
        raise _Refused(f"its value has an explicit tag ({v.tag})")
    if v.start >= v.end:
        raise _Refused("its value is empty (null); the bot does not replace it")


def _line_end(lay: Layout, line: int) -> int:
    return lay.line_starts[line] + len(lay.lines[line])


def _insert_lines(lay: Layout, after_line: int, new_lines: Sequence[str]) -> _Edit:
    """New lines (without endings) after ``after_line``; a last line without a break keeps having none."""
    at = _line_end(lay, after_line)
    nl = lay.newline
    if lay.lines[after_line].endswith(("\n", "\r")):
        return (at, at, "".join(line + nl for line in new_lines))
    return (at, at, "".join(nl + line for line in new_lines))


def _append(lay: Layout, v: Value, old: Any, entries: Sequence[str]) -> tuple[list[_Edit], str]:
    """Edits appending ``entries`` to the list held by ``v``, and the value they give."""
    _editable(lay, v)
    if not isinstance(old, str):
        raise _Refused(f"its value is not a string ({old!r})")
    if v.style in ("", '"', "'"):
        sep = ", " if ", " in old else ","
        addition = sep.join(entries)
        if not old.strip() or old.endswith(", ") or (old.endswith(",") and sep == ","):
            joiner = ""
        elif old.endswith(","):
            joiner = " "
        else:
            joiner = sep
        at = v.end - (1 if v.style else 0)
        return [(at, at, joiner + addition)], old + joiner + addition
    if v.content_indent is None:
        raise _Refused("its block is empty")
    pad = " " * v.content_indent
    last = lay.lines[v.last_line].rstrip("\r\n")
    body = old.rstrip("\n")
    trailing = old[len(body) :]
    if v.style == "|":
        return [_insert_lines(lay, v.last_line, [pad + e for e in entries])], (
            body + "\n" + "\n".join(entries) + trailing
        )
    # Folded: a comma list wrapped over lines; every line but the last ends with a comma.
    if len(last) - len(last.lstrip(" ")) != v.content_indent:
        raise _Refused("its folded block ends with a more-indented line")
    edits: list[_Edit] = []
    if not body.rstrip().endswith(","):
        edits.append((v.end, v.end, ","))
        body += ","
    lines = [pad + e + "," for e in entries[:-1]] + [pad + entries[-1]]
    edits.append(_insert_lines(lay, v.last_line, lines))
    return edits, body + " " + ", ".join(entries) + trailing


def _remove(lay: Layout, v: Value, old: Any, entry: str) -> tuple[list[_Edit], str]:
    """The edit removing ``entry`` (its exact text) from the list held by ``v``, and the value it gives.

    A comma list on one line loses the entry and one separator; a ``|`` block loses the entry's line.
    Every other character stays.
    """
    _editable(lay, v)
    if not isinstance(old, str):
        raise _Refused(f"its value is not a string ({old!r})")
    if v.style in ("", '"', "'"):
        quote = 1 if v.style else 0
        inner = lay.text[v.start + quote : v.end - quote]
        if inner != old:
            raise _Refused("its value is escaped or wrapped over lines")
        items = []
        for m in re.finditer(r"[^,]+", old):
            text = m.group()
            if text.strip():
                start = m.start() + len(text) - len(text.lstrip())
                items.append((start, m.start() + len(text.rstrip()), text.strip()))
        hits = [i for i, item in enumerate(items) if item[2] == entry]
        if len(hits) != 1:
            raise _Refused(f"{entry} is listed {len(hits)} times")
        i = hits[0]
        if len(items) == 1:
            # The last entry: an empty string (a bare empty plain scalar would read back as null).
            if v.style:
                return [(v.start + 1, v.end - 1, "")], ""
            return [(v.start, v.end, '""')], ""
        start, end = (items[i][0], items[i + 1][0]) if i + 1 < len(items) else (items[i - 1][1], items[i][1])
        at = v.start + quote
        return [(at + start, at + end, "")], old[:start] + old[end:]
    if v.style != "|":
        raise _Refused("its value is a folded block; entries are removed only from comma lists and | blocks")
    header = lay.line_of(v.start)
    found = [
        n
        for n in range(header + 1, v.last_line + 1)
        if split_cidr_list(lay.lines[n]) == [entry] and lay.lines[n].strip().startswith(entry)
    ]
    if len(found) != 1:
        raise _Refused(f"{entry} is listed on {len(found)} lines")
    n = found[0]
    content = old.split("\n")
    i = n - header - 1
    if i >= len(content) or content[i].strip() != lay.lines[n].strip():
        raise _Refused("its block lines do not match its value")
    start = lay.line_starts[n]
    return [(start, start + len(lay.lines[n]), "")], "\n".join(content[:i] + content[i + 1 :])


def _set(lay: Layout, v: Value, new: str) -> list[_Edit]:
    _editable(lay, v)
    style = v.style if v.style in ("", "'", '"') else '"'
    return [(v.start, v.end, _written(new, style))]


def _new_entry(lay: Layout, key: str, value: str) -> _Edit:
    if lay.data_problem:
        raise _Refused(lay.data_problem)
    if key in lay.merged:
        raise _Refused(f"it comes from a merge key ({lay.merged[key]})")
    text = f"{_written(key, '')}: {value}"
    nl = lay.newline
    if lay.no_data:
        end = len(lay.text)
        if lay.text.endswith(("\n", "\r")):
            return (end, end, f"data:{nl}  {text}{nl}")
        return (end, end, f"{nl}data:{nl}  {text}")
    if lay.flow:
        at = lay.flow_close
        return (at, at, (", " if lay.order else "") + text)
    if not lay.order:
        raise _Refused("data has no entries to align with")
    last = lay.values[max(lay.order, key=lambda k: lay.values[k].last_line)]
    if last.kind == "collection":
        raise _Refused("the last entry of data is a list or a mapping")
    if (
        last.style in ("|", ">")
        and last.chomp != "-"
        and not lay.lines[last.last_line].endswith(("\n", "\r"))
    ):
        # A line after it would give that block a final line break: a change to a key nobody named.
        raise _Refused(f"the block value of {last.key} ends the file without a line break")
    after = last.last_line
    if last.chomp == "+":
        # A keep block owns the blank lines after it: the new line goes after them.
        while after + 1 < len(lay.lines) and not lay.lines[after + 1].strip():
            after += 1
    return _insert_lines(lay, after, [" " * lay.entry_indent + text])


# --- operations -----------------------------------------------------------------------------------------


def _normalise_cidr(value: str) -> str:
    canon = canonical_cidr(value) or (host_cidr(value) if "/" not in value else None)
    if canon is None:
        # Keep the text as given: the guard will refuse it by name ("not a valid CIDR").
        return value
    return canon


def _new_cidrs(values: Sequence[str], existing: Sequence[str]) -> list[str]:
    """The entries to add: none already listed or covered by the list, none covered by a wider one of the
    same batch (equal ones once), in their first order."""
    kept: list[str] = []
    for i, cidr in enumerate(values):
        others = [d for j, d in enumerate(values) if j != i and d != cidr]
        if cidr in kept or cidr in existing or covering_entry(cidr, others):
            continue
        if covering_entry(cidr, existing):
            continue
        kept.append(cidr)
    return kept


def _edit_file(path: str, before: str, ops: Sequence[FileOp], style: str) -> FileChange:
    lay = layout(path, before)
    before_doc, error = _safe_parse(before)
    if error is not None or not isinstance(before_doc, dict):
        raise DocumentError(f"{path}: {error or 'expected exactly one YAML mapping (one ConfigMap)'}")
    raw_data = before_doc.get("data")
    data: dict[Any, Any] = raw_data if isinstance(raw_data, dict) else {}
    adds: dict[str, list[str]] = {}
    sets: dict[str, str] = {}
    removes: dict[str, list[str]] = {}
    for op in ops:
        if isinstance(op, AddCidr):
            adds.setdefault(op.key, []).append(_normalise_cidr(op.value))
        elif isinstance(op, RemoveCidr):
            removes.setdefault(op.key, []).append(op.value)
        else:
            sets[op.key] = op.value
    both = sorted(set(adds) & set(sets))
    if both:
        raise OperationError(f"{path}: {both[0]} is both set and appended to in one change")
    mixed = sorted(set(removes) & (set(adds) | set(sets)))
    if mixed:
        raise OperationError(f"{path}: {mixed[0]} is both removed from and changed otherwise in one change")
    edits: list[_Edit] = []
    inserts: list[_Edit] = []  # new entries: after every edit at the same place
    new_values: dict[str, str] = {}
    for key, values in adds.items():
        try:
            new_values.update(_plan_add(lay, key, data, values, style, edits, inserts))
        except _Refused as exc:
            raise DocumentError(f"{path}: cannot edit {key} exactly: {exc}") from None
    for key, entries in removes.items():
        try:
            new_values.update(_plan_remove(path, lay, key, data, entries, edits))
        except _Refused as exc:
            raise DocumentError(f"{path}: cannot remove from {key} exactly: {exc}") from None
    for key, value in sets.items():
        if data.get(key) == value:
            continue
        try:
            if key in lay.values:
                edits.extend(_set(lay, lay.values[key], value))
            else:
                inserts.append(_new_entry(lay, key, _written(value, "")))
        except _Refused as exc:
            raise DocumentError(f"{path}: cannot edit {key} exactly: {exc}") from None
        new_values[key] = value
    if not edits and not inserts:
        return _parsed_change(path, before, before)
    after = _apply(before, edits + inserts)
    expected = dict(before_doc)
    expected["data"] = {**data, **new_values}
    got, error = _safe_parse(after)
    if error is not None or got != expected:
        keys = ", ".join(sorted(new_values))
        raise DocumentError(
            f"{path}: cannot edit {keys} exactly: the edited file does not read back as intended"
        )
    return _parsed_change(path, before, after, key_spans(before, new_values))


def _plan_add(
    lay: Layout,
    key: str,
    data: dict[Any, Any],
    values: list[str],
    style: str,
    edits: list[_Edit],
    inserts: list[_Edit],
) -> dict[str, str]:
    v = lay.values.get(key)
    if v is None:
        if key in lay.merged:
            raise _Refused(f"it comes from a merge key ({lay.merged[key]})")
        cidrs = _new_cidrs(values, [])
        if style == "lines":
            if lay.flow or lay.data_problem:
                raise _Refused(lay.data_problem or "data is a flow mapping; a block list cannot go there")
            edit = _new_entry(lay, key, "|")
            if not edit[2].endswith(lay.newline):
                raise _Refused("the file ends without a line break (a new block there would change meaning)")
            pad = " " * (lay.entry_indent + 2)
            nl = lay.newline
            at, _, text = edit
            block = "".join(nl + pad + c for c in cidrs)
            text = text[: len(text) - len(nl)] + block + nl if text.endswith(nl) else text + block
            inserts.append((at, at, text))
            return {key: "".join(c + "\n" for c in cidrs)}
        value = ",".join(cidrs)
        inserts.append(_new_entry(lay, key, _written(value, "")))
        return {key: value}
    old = data.get(key)
    cidrs = _new_cidrs(values, split_cidr_list(old) if isinstance(old, str) else [])
    if not cidrs:
        return {}
    more, new = _append(lay, v, old, cidrs)
    edits.extend(more)
    return {key: new}


def _plan_remove(
    path: str, lay: Layout, key: str, data: dict[Any, Any], entries: list[str], edits: list[_Edit]
) -> dict[str, str]:
    """Edits removing each listed entry of ``key`` (one at a time, on the text as it becomes); entries
    no longer listed are skipped (already removed)."""
    v = lay.values.get(key)
    old = data.get(key)
    if v is None or not isinstance(old, str):
        return {}
    todo = [e for e in dict.fromkeys(entries) if e in split_cidr_list(old)]
    if not todo:
        return {}
    text, value = lay.text, old
    for entry in todo:
        current = layout(path, text)
        more, value = _remove(current, current.values[key], value, entry)
        text = _apply(text, more)
    # One replacement of the whole value's lines, computed on the original layout's coordinates.
    start = lay.line_starts[v.first_line]
    end = _line_end(lay, v.last_line)
    new_end = end + (len(text) - len(lay.text))
    edits.append((start, end, text[start:new_end]))
    return {key: value}


def _apply(text: str, edits: Sequence[_Edit]) -> str:
    """``text`` with the edits made; insertions at one place keep the order they were planned in."""
    out = text
    ordered = sorted(enumerate(edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True)
    for _, (start, end, new) in ordered:
        out = out[:start] + new + out[end:]
    return out


def apply_operations(
    ops: Sequence[Op],
    read: ReadFile,
    list_styles: dict[str, str] | None = None,
    *,
    splice_text: bool = True,
) -> list[FileChange]:
    """Apply operations file by file; returns each touched file before/after, parsed for the guard.

    ``list_styles`` maps a file path to ``"lines"`` (one CIDR per line, the denylist kind) or ``"comma"``
    (ingress-nginx); it only matters when the list key does not exist yet (an existing list keeps its own
    style). ``splice_text`` is kept for callers and ignored: every edit is exact. Raises
    :class:`OperationError` or :class:`DocumentError` with the file named.
    """
    from bot.image_edit import apply_set_images  # builds on this module's value writers

    del splice_text
    list_styles = list_styles or {}
    by_file: dict[str, list[FileOp]] = {}
    for op in ops:
        if isinstance(op, Escalate):
            raise OperationError("an escalation has nothing to apply")
        if isinstance(op, AddPolicy | SetPolicyMode):
            raise OperationError(f"{op.op} is applied by bot.policy_edit, not as a text edit")
        if isinstance(op, BumpDependency):  # issue 18: made by the ecosystem's tool in the app repository
            raise OperationError(
                "bump_dependency changes an application repository, never a file of the GitOps repository"
            )
        by_file.setdefault(op.file, []).append(op)
    return [
        apply_set_images(path, read(path), file_ops)
        if any(isinstance(o, SetImage) for o in file_ops)
        else _edit_file(path, read(path), file_ops, list_styles.get(path, "comma"))
        for path, file_ops in by_file.items()
    ]


def _parsed_change(
    path: str, before: str, after: str, spans: tuple[tuple[str, int, int], ...] = ()
) -> FileChange:
    before_doc = _safe_parse(before)[0]
    after_doc, error = _safe_parse(after)
    return FileChange(
        path=path,
        before=before,
        after=after,
        before_doc=before_doc,
        after_doc=after_doc,
        parse_error=error,
        spans=spans,
    )


#: libyaml's C parser when PyYAML was built with it (the wheels are), else the pure-Python one.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=256)
def _safe_parse(text: str) -> tuple[Any, str | None]:
    """Parse with PyYAML (cached by text: the same config is checked for many groups; callers never
    mutate the result)."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=_SafeLoader) if d is not None]
    except yaml.YAMLError as exc:
        return None, f"not valid YAML ({str(exc).splitlines()[0]})"
    except RecursionError:
        return None, "not valid YAML (nested too deeply)"
    if len(docs) != 1:
        return None, f"expected one document, found {len(docs)}"
    return docs[0], None


def parse_document(text: str) -> tuple[Any, str | None]:
    """Parse one YAML document with PyYAML, returning (doc, error)."""
    return _safe_parse(text)

"""Applying edit operations to YAML files with formatting, comments, key order and quoting preserved.

Round-trips through ruamel.yaml; re-parses the result with PyYAML (an independent parser) so the guard
sees what Kubernetes would see. Nothing here decides whether a change is allowed: that is the guard's job.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    PlainScalarString,
    SingleQuotedScalarString,
)

from bot.core.edits import AddCidr, Escalate, FileChange, SetKey
from bot.core.errors import DocumentError, OperationError
from bot.core.network import canonical_cidr, host_cidr, split_cidr_list
from bot.yaml_splice import splice

Op = AddCidr | SetKey | Escalate
ReadFile = Callable[[str], str]


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines: a re-wrap is a diff nobody asked for
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def repo_reader(root: Path) -> ReadFile:
    """A reader for files of a GitOps checkout, refusing paths outside it."""
    root = root.resolve()

    def read(path: str) -> str:
        full = (root / path).resolve()
        if root not in full.parents:
            raise DocumentError(f"{path}: outside the repository")
        try:
            return full.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DocumentError(f"{path}: no such file in the repository") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentError(f"{path}: cannot read ({exc.__class__.__name__})") from None

    return read


def _load(path: str, text: str) -> CommentedMap:
    """A private, mutable round-trip copy of the document (parsing is cached; copying is 7x cheaper)."""
    return copy.deepcopy(_load_cached(path, text))


@lru_cache(maxsize=256)
def _load_cached(path: str, text: str) -> CommentedMap:
    try:
        docs = [d for d in _yaml().load_all(text) if d is not None]
    except RuamelError as exc:
        raise DocumentError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if len(docs) != 1 or not isinstance(docs[0], CommentedMap):
        raise DocumentError(f"{path}: expected exactly one YAML mapping (one ConfigMap)")
    return docs[0]


def _dump(doc: CommentedMap, original: str) -> str:
    out = io.StringIO()
    y = _yaml()
    if original.lstrip().startswith("---"):
        y.explicit_start = True
    y.dump(doc, out)
    return out.getvalue()


def _same_style(old: Any, new: str) -> str:
    """Keep the quoting/block style the file used for this value."""
    for cls in (
        DoubleQuotedScalarString,
        SingleQuotedScalarString,
        LiteralScalarString,
        FoldedScalarString,
    ):
        if isinstance(old, cls):
            return cast(str, cls(new))
    if isinstance(old, PlainScalarString):
        return cast(str, PlainScalarString(new))
    return new


def _normalise_cidr(value: str) -> str:
    canon = canonical_cidr(value) or (host_cidr(value) if "/" not in value else None)
    if canon is None:
        # Keep the text as given: the guard will refuse it by name ("not a valid CIDR").
        return value
    return canon


def _add_cidr(data: CommentedMap, op: AddCidr, block_style: str) -> bool:
    """Add one entry; False when it is already there (idempotent)."""
    new = _normalise_cidr(op.value)
    old = data.get(op.key)
    if old is None:
        data[op.key] = LiteralScalarString(new + "\n") if block_style == "lines" else new
        return True
    text = str(old)
    entries = split_cidr_list(text)
    if any(canonical_cidr(e) == new or e == new for e in entries):
        return False
    if "\n" in text.strip() or block_style == "lines" or isinstance(old, LiteralScalarString):
        body = text if text.endswith("\n") or not text else text + "\n"
        data[op.key] = _same_style(old, body + new + "\n")
    elif text.strip():
        sep = ", " if ", " in text else ","
        data[op.key] = _same_style(old, text.rstrip() + sep + new)
    else:
        data[op.key] = _same_style(old, new)
    return True


def apply_operations(
    ops: Sequence[Op],
    read: ReadFile,
    list_styles: dict[str, str] | None = None,
    *,
    splice_text: bool = True,
) -> list[FileChange]:
    """Apply operations file by file; returns each touched file before/after, parsed for the guard.

    ``list_styles`` maps a file path to ``"lines"`` (one CIDR per line, the denylist kind) or ``"comma"``
    (ingress-nginx). ``splice_text`` edits values in place in the text when that provably means the same as
    the full round-trip dump (smaller diffs, 30x faster); False always dumps. Raises
    :class:`OperationError` or :class:`DocumentError` with the file named.
    """
    list_styles = list_styles or {}
    by_file: dict[str, list[Op]] = {}
    for op in ops:
        if isinstance(op, Escalate):
            raise OperationError("an escalation has nothing to apply")
        by_file.setdefault(op.file, []).append(op)
    changes: list[FileChange] = []
    for path, file_ops in by_file.items():
        before = read(path)
        doc = _load(path, before)
        data = doc.get("data")
        if data is None:
            data = CommentedMap()
            doc["data"] = data
        if not isinstance(data, CommentedMap):
            raise DocumentError(f"{path}: 'data' is not a mapping")
        modified = False
        for op in file_ops:
            if isinstance(op, AddCidr):
                modified |= _add_cidr(data, op, list_styles.get(path, "comma"))
            elif isinstance(op, SetKey) and (op.key not in data or str(data[op.key]) != op.value):
                data[op.key] = _same_style(data.get(op.key), op.value)
                modified = True
        # An unchanged file is returned byte for byte: a no-op must never produce a formatting diff.
        if not modified:
            after = before
        elif splice_text:
            after = _render(path, before, doc)
        else:
            after = _dump(doc, before)
        changes.append(_parsed_change(path, before, after))
    return changes


def _render(path: str, before: str, doc: CommentedMap) -> str:
    """The edited file: a text splice when it provably means the same as the round trip, else the dump."""
    original = _load_cached(path, before)
    old_data, new_data = original.get("data"), doc.get("data")
    if isinstance(old_data, CommentedMap) and isinstance(new_data, CommentedMap):
        changed = {k: str(v) for k, v in new_data.items() if k not in old_data or old_data[k] != v}
        if len(new_data) == len(old_data):
            spliced = splice(before, original, changed)
            if spliced is not None:
                expected = _plain(doc)
                got, error = _safe_parse(spliced)
                if error is None and got == expected:
                    return spliced
    return _dump(doc, before)


def _plain(node: Any) -> Any:
    """The plain Python value of a round-trip document, as PyYAML would load the dumped text."""
    if isinstance(node, dict):
        return {str(k) if isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def _parsed_change(path: str, before: str, after: str) -> FileChange:
    before_doc = _safe_parse(before)[0]
    after_doc, error = _safe_parse(after)
    return FileChange(
        path=path,
        before=before,
        after=after,
        before_doc=before_doc,
        after_doc=after_doc,
        parse_error=error,
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
    if len(docs) != 1:
        return None, f"expected one document, found {len(docs)}"
    return docs[0], None


def parse_document(text: str) -> tuple[Any, str | None]:
    """Parse one YAML document with PyYAML, returning (doc, error)."""
    return _safe_parse(text)

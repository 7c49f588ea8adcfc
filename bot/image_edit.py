"""Applying one ``set_image`` exactly: one image scalar changes, every other byte of the file stays.

The reference is located from PyYAML's event stream (:func:`bot.yaml_splice.document_roots`, under the same
size, alias and depth limits as every exact edit), never from a re-emitted document:

- ``container:<name>``: in every document of a workload kind (Deployment, StatefulSet, DaemonSet, ReplicaSet,
  Job, CronJob, Pod), the ``containers`` or ``initContainers`` entry named ``<name>``; its ``image`` scalar is
  the one written;
- ``values:<dotted path>``: the Helm values mapping at that path, with ``repository`` (and ``registry``),
  ``tag`` and/or ``digest``; the ``tag`` or the ``digest`` scalar is written;
- ``kustomize:<name>``: the kustomization's ``images:`` entry ``name: <name>`` (``newName``, ``newTag``,
  ``digest``); the ``newTag`` or the ``digest`` scalar is written.

Compare-and-set: the reference the file holds (assembled from its parts) must equal ``expect`` as parsed
references (``nginx:1.16`` is ``docker.io/library/nginx:1.16``); a file that already holds ``value`` is left
as it is. The written scalar keeps its quoting style and, for a container, the file's spelling of the image
name (``nginx`` stays ``nginx``). What cannot be written as exactly one scalar (an alias, an anchor, a merge
key, a number where a string belongs, both tag and digest changing, a key that would have to be added) raises
:class:`DocumentError` with the reason. The result is read back with PyYAML: the documents must equal the
original ones with only the located scalar changed. Whether the bump is allowed is the guard's decision.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent

from bot.core.edits import FileChange, FileOp, SetImage
from bot.core.errors import DocumentError, OperationError
from bot.core.fidelity import split_lines
from bot.core.image_refs import ImageRef, parse_image
from bot.core.operations.images import CONTAINER_LISTS, POD_SPEC_PATHS, Documents, differences, split_target
from bot.yaml_edit import double_quoted, plain_is_string
from bot.yaml_splice import Node, document_roots, mapping_pairs

Path = tuple[str | int, ...]
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
#: The parts of a reference each layout assembles it from.
_PARTS = {
    "container": ("image",),
    "values": ("registry", "repository", "tag", "digest"),
    "kustomize": ("name", "newName", "newTag", "digest"),
}
#: The scalar that holds the tag, per layout (the digest is ``digest`` in both).
_TAG_FIELD = {"values": "tag", "kustomize": "newTag"}


class _Refused(Exception):
    """The reference cannot be written exactly (the reason is the message)."""


@dataclass(frozen=True)
class _Place:
    """The located reference: the mapping that holds it, its parts' scalar nodes and their texts."""

    kind: str
    path: Path  # document index, then keys and indices down to the mapping (as PyYAML loads it)
    nodes: dict[str, Node]
    texts: dict[str, str]  # present, non-null parts

    def reference(self) -> str:
        t = self.texts
        if self.kind == "container":
            return t.get("image", "")
        if self.kind == "values":
            repo = t.get("repository", "")
            base = f"{t['registry']}/{repo}" if t.get("registry") else repo
            tag = t.get("tag", "")
        else:
            base, tag = t.get("newName") or t.get("name", ""), t.get("newTag", "")
        return base + (f":{tag}" if tag else "") + (f"@{t['digest']}" if t.get("digest") else "")


# --- reading the event tree -------------------------------------------------------------------------------


def _is_null(node: Node) -> bool:
    ev = node.event
    return isinstance(ev, ScalarEvent) and not ev.style and ev.tag is None and ev.value in _NULLS


def _child(node: Node, key: str, where: str, *, strict: bool = True) -> Node | None:
    """The value of ``key`` in a mapping node (None when absent). ``strict``: refuse when it may come from a
    merge key or an aliased key; always refuse a duplicate key or an alias value."""
    if not isinstance(node.event, MappingStartEvent):
        return None
    hits: list[Node] = []
    hidden = ""
    for k, v in mapping_pairs(node):
        kev = k.event
        if isinstance(kev, AliasEvent):
            hidden = f"a key of {where or 'the document'} is an alias (*{kev.anchor})"
        elif isinstance(kev, ScalarEvent) and kev.value == "<<" and not kev.style and kev.tag is None:
            hidden = f"{where}{key} may come from a merge key"
        elif isinstance(kev, ScalarEvent) and kev.value == key and kev.tag is None:
            hits.append(v)
    if len(hits) > 1:
        raise _Refused(f"{where}{key} appears {len(hits)} times")
    if not hits:
        if strict and hidden:
            raise _Refused(hidden)
        return None
    value = hits[0]
    if isinstance(value.event, AliasEvent):
        raise _Refused(f"{where}{key} is an alias (*{value.event.anchor})")
    return value


def _text(node: Node, where: str) -> str | None:
    """A scalar part's string (None when null); refuses what is not a plain string to every reader."""
    ev = node.event
    if not isinstance(ev, ScalarEvent):
        raise _Refused(f"{where} is a list or a mapping, not a string")
    if ev.tag is not None:
        raise _Refused(f"{where} has an explicit tag ({ev.tag})")
    if not ev.style and ev.value in _NULLS:
        return None
    if not ev.style and not plain_is_string(ev.value):
        raise _Refused(
            f"{where} ({ev.value}) is not read as a string by every YAML reader (a number or a boolean); "
            "quote it in the file first"
        )
    return str(ev.value)


def _shared(node: Node, uses: dict[str, int], where: str) -> None:
    anchor = getattr(node.event, "anchor", None)
    if anchor and uses.get(anchor):
        raise _Refused(f"{where} carries the anchor &{anchor}, used elsewhere (the aliases would change too)")


def _alias_uses(roots: Sequence[Node]) -> dict[str, int]:
    uses: dict[str, int] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node.event, AliasEvent) and node.event.anchor:
            uses[node.event.anchor] = uses.get(node.event.anchor, 0) + 1
        stack.extend(node.children)
    return uses


def _down(node: Node, keys: Sequence[str], uses: dict[str, int], where: str) -> Node | None:
    for key in keys:
        nxt = _child(node, key, where)
        if nxt is None or not isinstance(nxt.event, MappingStartEvent):
            return None
        where = f"{where}{key}."
        _shared(nxt, uses, where.rstrip("."))
        node = nxt
    return node


def _parts(kind: str, path: Path, mapping: Node, where: str) -> _Place:
    nodes: dict[str, Node] = {}
    texts: dict[str, str] = {}
    for part in _PARTS[kind]:
        node = _child(mapping, part, where)
        if node is None:
            continue
        nodes[part] = node
        value = _text(node, f"{where}{part}")
        if value is not None:
            texts[part] = value
    return _Place(kind, path, nodes, texts)


def _named_entries(seq: Node, label: str, name: str) -> list[tuple[int, Node]]:
    """The mapping entries of a sequence node whose ``name`` is ``name``; refuses entries whose name cannot
    be read (an alias entry, a name from a merge key)."""
    if not isinstance(seq.event, SequenceStartEvent):
        return []
    hits: list[tuple[int, Node]] = []
    for j, item in enumerate(seq.children):
        if isinstance(item.event, AliasEvent):
            raise _Refused(f"{label}[{j}] is an alias (*{item.event.anchor}); the bot cannot tell its name")
        name_node = _child(item, "name", f"{label}[{j}].")
        if name_node is not None and _text(name_node, f"{label}[{j}].name") == name:
            hits.append((j, item))
    return hits


def _locate(roots: Sequence[Node], target: str) -> _Place:
    kind, name = split_target(target)
    uses = _alias_uses(roots)
    if kind == "container":
        found: list[_Place] = []
        for i, root in enumerate(roots):
            kind_node = _child(root, "kind", "", strict=False)
            doc_kind = (
                kind_node.event.value if kind_node and isinstance(kind_node.event, ScalarEvent) else None
            )
            spec_keys = POD_SPEC_PATHS.get(doc_kind) if isinstance(doc_kind, str) else None
            if spec_keys is None:
                continue
            spec = _down(root, spec_keys, uses, "")
            if spec is None:
                continue
            for field in CONTAINER_LISTS:
                label = ".".join((*spec_keys, field))
                seq = _child(spec, field, label.removesuffix(field))
                if seq is None:
                    continue
                for j, item in _named_entries(seq, label, name):
                    where = f"{label}[{j}]"
                    _shared(seq, uses, label)
                    _shared(item, uses, where)
                    place = _parts(kind, (i, *spec_keys, field, j), item, where + ".")
                    if "image" not in place.texts:
                        raise _Refused(f"{where} ({name}) has no image")
                    found.append(place)
        if len(found) != 1:
            raise _Refused(
                f"{len(found)} containers are named {name!r} in the file's workloads (expected one)"
            )
        return found[0]
    docs = [(i, r) for i, r in enumerate(roots) if not _is_null(r)]
    if len(docs) != 1:
        raise _Refused(f"the file holds {len(docs)} documents; a {kind} target needs exactly one")
    i, root = docs[0]
    if kind == "values":
        keys = tuple(name.split("."))
        mapping = _down(root, keys, uses, "")
        if mapping is None:
            raise _Refused(f"there is no mapping at {name}")
        place = _parts(kind, (i, *keys), mapping, name + ".")
        if "repository" not in place.texts:
            raise _Refused(f"{name} has no repository")
        return place
    images = _child(root, "images", "")
    hits = _named_entries(images, "images", name) if images is not None else []
    if len(hits) != 1:
        raise _Refused(f"{len(hits)} images entries are named {name!r} (expected one)")
    j, item = hits[0]
    if images is not None:
        _shared(images, uses, "images")
    _shared(item, uses, f"images[{j}]")
    return _parts(kind, (i, "images", j), item, f"images[{j}].")


# --- writing one scalar -------------------------------------------------------------------------------------


def _written(value: str, style: str) -> str:
    if style == "'" and "'" not in value and value.isprintable():
        return f"'{value}'"
    if style == "" and plain_is_string(value):
        return value
    return double_quoted(value)


def _span(text: str, node: Node, where: str) -> tuple[int, int, str]:
    """(start, end, style) of a scalar that can be replaced exactly."""
    ev = node.event
    if not isinstance(ev, ScalarEvent):
        raise _Refused(f"{where} is not a scalar")
    if ev.anchor:
        raise _Refused(f"{where} carries the anchor &{ev.anchor}")
    if ev.tag is not None:
        raise _Refused(f"{where} has an explicit tag ({ev.tag})")
    style = ev.style or ""
    if style not in ("", "'", '"'):
        raise _Refused(f"{where} is a block scalar ({style})")
    if ev.start_mark is None or ev.end_mark is None:
        raise _Refused(f"{where} has no position in the text")
    start, end = ev.start_mark.index, ev.end_mark.index
    quote = style
    if text[start:end] != f"{quote}{ev.value}{quote}" or any(c in ev.value for c in "\r\n'\"\\"):
        raise _Refused(f"{where} is escaped or wrapped over lines")
    if not ev.value:
        raise _Refused(f"{where} is empty")
    return start, end, style


def _kept_spelling(old_text: str, old: ImageRef, new: ImageRef, value: str) -> str:
    """The new reference in the file's own spelling of the name (``nginx`` stays ``nginx``)."""
    if old.name != new.name:
        return value
    base = old_text.split("@", 1)[0]
    if base.rfind(":") > base.rfind("/"):
        base = base[: base.rfind(":")]
    return base + (f":{new.tag}" if new.tag else "") + (f"@{new.digest}" if new.digest else "")


def _plan(place: _Place, current: ImageRef, new: ImageRef, op: SetImage) -> tuple[str, str]:
    """(the part to write, its new text)."""
    if place.kind == "container":
        return "image", _kept_spelling(place.reference(), current, new, op.value)
    if current.name != new.name:
        raise _Refused(
            f"set_image writes only the tag or the digest here; {current.name} cannot become {new.name}"
        )
    tag_field = _TAG_FIELD[place.kind]
    changes = [
        (f, v)
        for f, old, v in ((tag_field, current.tag, new.tag), ("digest", current.digest, new.digest))
        if old != v
    ]
    if len(changes) > 1:
        raise _Refused("both the tag and the digest would change; set_image writes one scalar")
    field, value = changes[0]
    if not value:
        raise _Refused(f"the new reference drops the {field}")
    if field not in place.nodes or _is_null(place.nodes[field]):
        raise _Refused(f"there is no {field} value to change (the bot adds no keys)")
    return field, value


# --- parsing ---------------------------------------------------------------------------------------------------

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=256)
def _load(text: str) -> tuple[tuple[Any, ...] | None, str | None]:
    """Every document (None for an empty one), or the parse error; cached, never mutated by callers."""
    try:
        return tuple(yaml.load_all(text, Loader=_Loader)), None
    except yaml.YAMLError as exc:
        return None, f"not valid YAML ({str(exc).splitlines()[0]})"
    except RecursionError:
        return None, "not valid YAML (nested too deeply)"


def _as_doc(docs: tuple[Any, ...] | None) -> Any:
    kept = [d for d in docs or () if d is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Documents(kept)


def image_file_change(
    path: str, before: str, after: str, spans: tuple[tuple[str, int, int], ...] = ()
) -> FileChange:
    """A workload file before and after, parsed for the guard (:class:`Documents` when it holds several).

    Both texts pass the editor's limits first (size, aliases, depth); raises :class:`DocumentError`.
    """
    document_roots(path, before)
    before_docs, _ = _load(before)
    after_docs, error = _load(after)
    if error is None:
        document_roots(path, after)
    return FileChange(
        path=path,
        before=before,
        after=after,
        before_doc=_as_doc(before_docs),
        after_doc=_as_doc(after_docs),
        parse_error=error,
        spans=spans,
    )


def current_reference(path: str, text: str, target: str) -> str:
    """The image reference ``target`` names in a file, as the file spells it; raises :class:`DocumentError`."""
    try:
        return _locate(document_roots(path, text), target).reference()
    except _Refused as exc:
        raise DocumentError(f"{path}: cannot read {target}: {exc}") from None


def _set_at(docs: list[Any], path: Path, value: str) -> None:
    node: Any = docs
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def apply_set_image(path: str, before: str, op: SetImage) -> FileChange:
    """Apply one ``set_image`` to one file's text; raises :class:`DocumentError` / :class:`OperationError`."""
    roots = document_roots(path, before)
    new = parse_image(op.value)
    if new is None:
        raise OperationError(f"{path}: set_image value {op.value!r} is not an image reference")
    try:
        place = _locate(roots, op.target)
        held = place.reference()
        current = parse_image(held)
        if current is None:
            raise _Refused(f"the file's image {held!r} is not an image reference")
        if current == new:
            return image_file_change(path, before, before)
        if parse_image(op.expect) != current:
            raise DocumentError(f"{path}: {op.target}: the file holds {held}, not the expected {op.expect}")
        field, value = _plan(place, current, new, op)
        start, end, style = _span(before, place.nodes[field], field)
    except _Refused as exc:
        raise DocumentError(f"{path}: cannot set {op.target} exactly: {exc}") from None
    after = before[:start] + _written(value, style) + before[end:]
    before_docs, _ = _load(before)
    after_docs, error = _load(after)
    expected = copy.deepcopy(list(before_docs or ()))
    _set_at(expected, (*place.path, field), value)
    if error is not None or after_docs is None or differences(expected, list(after_docs)):
        raise DocumentError(
            f"{path}: cannot set {op.target} exactly: the edited file does not read back as intended"
        )
    prefix = before[:start]
    line = len(split_lines(prefix)) - (1 if prefix and not prefix.endswith(("\n", "\r")) else 0)
    return image_file_change(path, before, after, ((op.target, line, line + 1),))


def apply_set_images(path: str, before: str, ops: Sequence[FileOp]) -> FileChange:
    """The editor's entry for a file that ``set_image`` operations name: exactly one per file per proposal."""
    others = sorted({o.op for o in ops if not isinstance(o, SetImage)})
    if others:
        raise OperationError(
            f"{path}: set_image and {', '.join(others)} in one file; one operation family per file"
        )
    op = ops[0]
    if len(ops) != 1 or not isinstance(op, SetImage):
        raise OperationError(
            f"{path}: {len(ops)} set_image operations for one file; one per file per proposal"
        )
    return apply_set_image(path, before, op)

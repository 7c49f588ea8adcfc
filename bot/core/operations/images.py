"""The image family: ``set_image`` on one image reference of a workload file the inventory lists. Pure.

The hard rule's one exception (issue 13): a workload file may change in exactly one image reference, and only
when the inventory lists it as an image target of the operation's workload. Everything here is derived from
the parsed before/after documents (never from the editor's word), so a wrong or hostile operation cannot
hide what it really changes:

- ``image_target_listed``: the file is listed for the operation's workload with the same target (kind,
  container, values path or kustomize image), and that workload is one of the group's targets;
- ``image_one_scalar``: exactly one scalar differs between the documents, at the target's allowed path (a
  container's ``image``, a values mapping's ``tag``/``digest``, a kustomize entry's ``newTag``/``digest``);
- ``image_same_repository``: the registry and repository stay (canonical: ``nginx`` is
  ``docker.io/library/nginx``), in the file and in the operation's ``expect``/``value``;
- ``image_tag_immutable``: the new tag is not a moving one (:attr:`GuardPolicy.mutable_tags`), not empty
  unless a digest pins the image, a digest is a well-formed ``sha256``, and a pinned digest is not dropped
  or kept under a new tag;
- ``image_no_downgrade``: the new tag is a higher version of the same style (tags that do not compare are
  refused), a new major version only with the target's ``allow_major``;
- ``image_evidence``: the evidence names normalised finding ids (all of them the group's, when known) and
  the report they came from;
- ``image_compare_and_set``: the file held ``expect`` before and holds ``value`` after.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AnyOp, FileChange, SetImage
from bot.core.findings import normalise_id
from bot.core.image_refs import ImageRef, compare_tags, is_sha256_digest, parse_image, tag_version
from bot.core.inventory import ImageTarget, Inventory

Op = AnyOp

#: Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
#: The pod spec lists whose entries ``container:<name>`` names.
CONTAINER_LISTS = ("containers", "initContainers")
#: The scalars a set_image may change, per target kind.
ALLOWED_FIELDS: dict[str, tuple[str, ...]] = {
    "container": ("image",),
    "values": ("tag", "digest"),
    "kustomize": ("newTag", "digest"),
}
#: The inventory's image kind for each target kind.
TARGET_KINDS = {"container": "workload-image", "values": "helm-values", "kustomize": "kustomize-images"}

Path = tuple[str | int, ...]


class Documents(tuple[Any, ...]):
    """The documents of a file that holds more than one (a Deployment and its Service, say).

    A :class:`FileChange` of a ``set_image`` file carries its single document as usual, or this tuple
    when the file has several, so a multi-document manifest is never mistaken for one mapping.
    """


def documents(doc: Any) -> list[Any]:
    """A file's documents, whether the change carries one or :class:`Documents`."""
    if isinstance(doc, Documents):
        return list(doc)
    return [] if doc is None else [doc]


def split_target(target: str) -> tuple[str, str]:
    """``container:web`` → (``container``, ``web``)."""
    kind, _, name = target.partition(":")
    return kind, name


def workload_ref(ref: str) -> str:
    """``namespace/name``; a bare name is in ``default`` (as :meth:`Inventory.workload` reads it)."""
    return ref if "/" in ref else f"default/{ref}"


def target_of(image: ImageTarget) -> str:
    """The ``set_image`` target an inventory image entry allows."""
    if image.kind == "workload-image":
        return f"container:{image.container}"
    if image.kind == "helm-values":
        return f"values:{image.values_path}"
    return f"kustomize:{image.image}"


def listed_target(inventory: Inventory, op: SetImage) -> ImageTarget | None:
    """The inventory entry that allows this operation (file and target), if any."""
    workload = inventory.workload(op.workload)
    if workload is None:
        return None
    return next((i for i in workload.images if i.path == op.file and target_of(i) == op.target), None)


# --- locating the reference in parsed documents ------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where one image reference sits in a file's documents: the mapping holding it and its fields."""

    kind: str  # "container" | "values" | "kustomize"
    path: Path  # document index, then keys and list indices down to the mapping
    fields: tuple[str, ...]  # the scalars set_image may change in that mapping

    def describe(self) -> str:
        return "/".join(str(p) for p in self.path[1:])


def _at(doc: Any, keys: Sequence[str | int]) -> Any:
    for key in keys:
        if isinstance(key, int):
            if not isinstance(doc, list) or key >= len(doc):
                return None
            doc = doc[key]
        else:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(key)
    return doc


def locate(docs: Sequence[Any], target: str) -> tuple[Location | None, str]:
    """The one place ``target`` names in these documents, or None and why not (none, or more than one)."""
    kind, name = split_target(target)
    if kind == "container":
        found: list[Location] = []
        for i, doc in enumerate(docs):
            kind_name = doc.get("kind") if isinstance(doc, dict) else None
            spec_path = POD_SPEC_PATHS.get(kind_name) if isinstance(kind_name, str) else None
            if spec_path is None:
                continue
            spec = _at(doc, spec_path)
            for field in CONTAINER_LISTS:
                items = spec.get(field) if isinstance(spec, dict) else None
                for j, item in enumerate(items if isinstance(items, list) else []):
                    if isinstance(item, dict) and item.get("name") == name:
                        found.append(Location(kind, (i, *spec_path, field, j), ALLOWED_FIELDS[kind]))
        if len(found) != 1:
            return None, f"{len(found)} containers named {name!r} in the file's workloads (expected one)"
        return found[0], ""
    if len(docs) != 1:
        return None, f"the file holds {len(docs)} documents; a {kind} target needs exactly one"
    if kind == "values":
        keys = tuple(name.split("."))
        if not isinstance(_at(docs[0], keys), dict):
            return None, f"no mapping at {name}"
        return Location(kind, (0, *keys), ALLOWED_FIELDS[kind]), ""
    if kind == "kustomize":
        images = docs[0].get("images") if isinstance(docs[0], dict) else None
        hits = [
            j
            for j, item in enumerate(images if isinstance(images, list) else [])
            if isinstance(item, dict) and item.get("name") == name
        ]
        if len(hits) != 1:
            return None, f"{len(hits)} images entries named {name!r} (expected one)"
        return Location(kind, (0, "images", hits[0]), ALLOWED_FIELDS[kind]), ""
    return None, f"unknown target kind {kind!r}"


def _text_field(mapping: dict[str, Any], field: str) -> tuple[str, str]:
    """(text, problem): a field's string value ("" when absent or null); a number or a boolean is a problem
    (YAML reads ``tag: 1.10`` as 1.1)."""
    value = mapping.get(field)
    if value is None:
        return "", ""
    if not isinstance(value, str):
        return "", f"{field} is a {type(value).__name__} ({value!r}), not a string"
    return value, ""


def reference_text(docs: Sequence[Any], loc: Location) -> tuple[str, str]:
    """(the reference the location holds, assembled from its parts; problem or "")."""
    mapping = _at(docs, loc.path)
    if not isinstance(mapping, dict):
        return "", "the image's mapping is gone"
    if loc.kind == "container":
        image, why = _text_field(mapping, "image")
        return (image, why) if image or why else ("", "the container has no image")
    parts = {}
    names = ("registry", "repository", "tag", "digest")
    if loc.kind == "kustomize":
        names = ("name", "newName", "newTag", "digest")
    for field in names:
        parts[field], why = _text_field(mapping, field)
        if why:
            return "", why
    if loc.kind == "values":
        if not parts["repository"]:
            return "", "the mapping has no repository"
        base = f"{parts['registry']}/{parts['repository']}" if parts["registry"] else parts["repository"]
        tag = parts["tag"]
    else:
        base, tag = parts["newName"] or parts["name"], parts["newTag"]
    return base + (f":{tag}" if tag else "") + (f"@{parts['digest']}" if parts["digest"] else ""), ""


def reference_at(docs: Sequence[Any], loc: Location) -> tuple[ImageRef | None, str]:
    """The parsed reference at a location, or None and why."""
    text, why = reference_text(docs, loc)
    if why:
        return None, why
    ref = parse_image(text)
    if ref is None:
        return None, f"{text!r} is not an image reference"
    return ref, ""


# --- comparing documents --------------------------------------------------------------------------------------


def _same_scalar(a: Any, b: Any) -> bool:
    # Type-strict: True == 1 == 1.0 in Python, but replicas: true is not replicas: 1.
    return type(a) is type(b) and a == b


def differences(before: Any, after: Any, path: Path = (), limit: int = 20) -> list[tuple[Path, bool]]:
    """Where two parsed values differ: (path, is a scalar change) for each place, at most ``limit``."""
    return list(islice(_differences(before, after, path), limit))


def _differences(a: Any, b: Any, path: Path) -> Iterator[tuple[Path, bool]]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a = {(type(k), k) for k in a}
        keys_b = {(type(k), k) for k in b}
        if keys_a != keys_b:
            yield path, False
            return
        for key in a:
            yield from _differences(a[key], b[key], (*path, key))
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield path, False
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, (*path, i))
    elif isinstance(a, dict | list) or isinstance(b, dict | list):
        yield path, False
    elif not _same_scalar(a, b):
        yield path, True


def _shown(path: Path) -> str:
    return "/".join(str(p) for p in path[1:]) or "the document"


# --- checks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    """One set_image and what the documents say about it."""

    op: SetImage
    change: FileChange | None
    loc: Location | None
    problem: str  # why the target cannot be located in the before documents
    before: ImageRef | None
    before_why: str
    after: ImageRef | None
    after_why: str


def _subjects(changed: Sequence[FileChange], ops: Sequence[Op]) -> list[_Subject]:
    by_path = {c.path: c for c in changed}
    out: list[_Subject] = []
    for op in ops:
        if not isinstance(op, SetImage):
            continue
        change = by_path.get(op.file)
        if change is None:
            out.append(_Subject(op, None, None, "the file did not change", None, "", None, ""))
            continue
        before_docs, after_docs = documents(change.before_doc), documents(change.after_doc)
        loc, problem = locate(before_docs, op.target)
        before = after = None
        before_why = after_why = ""
        if loc is not None:
            before, before_why = reference_at(before_docs, loc)
            after, after_why = reference_at(after_docs, loc)
        out.append(_Subject(op, change, loc, problem, before, before_why, after, after_why))
    return out


def _result(name: str, problems: list[str], ok: str) -> Check:
    if problems:
        return Check(name=name, passed=False, detail="; ".join(problems))
    return Check(name=name, passed=True, detail=ok)


def _check_target_listed(ops: Sequence[Op], inventory: Inventory, targets: Sequence[str]) -> Check:
    wanted = {workload_ref(t) for t in targets}
    problems: list[str] = []
    shown: list[str] = []
    for op in ops:
        if not isinstance(op, SetImage):
            continue
        ref = workload_ref(op.workload)
        workload = inventory.workload(ref)
        if ref not in wanted:
            problems.append(
                f"{op.file}: workload {ref} is not a target of this group ({', '.join(sorted(wanted))})"
            )
        elif workload is None:
            problems.append(f"{op.file}: workload {ref} is not in the inventory")
        elif listed_target(inventory, op) is None:
            listed = [target_of(i) for i in workload.images if i.path == op.file]
            why = f"listed there only for {', '.join(listed)}" if listed else "not listed for it"
            problems.append(f"{op.file}: {op.target} of {ref}: {why}")
        else:
            shown.append(f"{ref} {op.target}")
    return _result("image_target_listed", problems, f"listed image targets: {', '.join(shown)}")


def _check_one_scalar(subjects: Sequence[_Subject], ops: Sequence[Op]) -> Check:
    problems: list[str] = []
    files = [o.file for o in ops if isinstance(o, SetImage)]
    for path in sorted({f for f in files if files.count(f) > 1}):
        problems.append(f"{path}: {files.count(path)} set_image operations name one file (one per file)")
    shown: list[str] = []
    for s in subjects:
        if s.change is None:
            continue
        if s.loc is None:
            problems.append(f"{s.op.file}: {s.op.target}: {s.problem}")
            continue
        before, after = documents(s.change.before_doc), documents(s.change.after_doc)
        if len(before) != len(after):
            problems.append(f"{s.op.file}: {len(before)} document(s) became {len(after)}")
            continue
        diffs = differences(before, after)
        allowed = {(*s.loc.path, f) for f in s.loc.fields}
        wrong = [p for p, scalar in diffs if not scalar or p not in allowed]
        if wrong or len(diffs) != 1:
            where = ", ".join(_shown(p) for p, _ in diffs) or "nothing"
            problems.append(
                f"{s.op.file}: {len(diffs)} value(s) changed ({where}); "
                f"only one of {', '.join(s.loc.describe() + '/' + f for f in s.loc.fields)} may"
            )
            continue
        shown.append(f"{s.op.file}: {_shown(diffs[0][0])}")
    return _result("image_one_scalar", problems, f"one scalar changed: {'; '.join(shown) or 'none'}")


def _check_same_repository(subjects: Sequence[_Subject]) -> Check:
    problems: list[str] = []
    for s in subjects:
        expect, value = parse_image(s.op.expect), parse_image(s.op.value)
        if expect is None or value is None:
            bad = s.op.expect if expect is None else s.op.value
            problems.append(f"{s.op.file}: {bad!r} is not an image reference")
            continue
        if expect.name != value.name:
            problems.append(f"{s.op.file}: the operation changes {expect.name} to {value.name}")
        if s.change is None or s.loc is None:
            continue
        if s.before is None or s.after is None:
            problems.append(f"{s.op.file}: {s.before_why or s.after_why}")
        elif s.before.name != s.after.name:
            problems.append(f"{s.op.file}: the repository changes from {s.before.name} to {s.after.name}")
    names = ", ".join(sorted({s.before.name for s in subjects if s.before is not None}))
    return _result("image_same_repository", problems, f"same registry and repository: {names or '-'}")


def _tag_problem(ref: ImageRef, mutable: Collection[str]) -> str:
    if ref.tag.lower() in mutable:
        return f"{ref.display()}: {ref.tag!r} is a mutable tag (it names a moving target)"
    if not ref.tag and not ref.digest:
        return f"{ref.display()}: no tag and no digest"
    if ref.digest and not is_sha256_digest(ref.digest):
        return f"{ref.display()}: the digest is not a well-formed sha256 digest"
    return ""


def _check_tag_immutable(subjects: Sequence[_Subject], policy: GuardPolicy) -> Check:
    mutable = {t.lower() for t in policy.mutable_tags}
    problems: list[str] = []
    for s in subjects:
        refs = [r for r in (parse_image(s.op.value), s.after) if r is not None]
        for why in dict.fromkeys(_tag_problem(r, mutable) for r in refs):
            if why:
                problems.append(f"{s.op.file}: {why}")
        if s.before is not None and s.after is not None and s.before.digest:
            if not s.after.digest:
                problems.append(f"{s.op.file}: the new reference drops the digest that pins the image")
            elif s.after.digest == s.before.digest and s.after.tag != s.before.tag:
                problems.append(f"{s.op.file}: the tag changes but the digest pins the same image")
    return _result("image_tag_immutable", problems, "new tags are immutable; digests well formed")


def _check_no_downgrade(subjects: Sequence[_Subject], inventory: Inventory) -> Check:
    problems: list[str] = []
    shown: list[str] = []
    for s in subjects:
        old = s.before or parse_image(s.op.expect)
        new = s.after if s.change is not None and s.after is not None else parse_image(s.op.value)
        if old is None or new is None:
            problems.append(
                f"{s.op.file}: no version to compare ({s.before_why or s.after_why or 'unparsable'})"
            )
            continue
        order = compare_tags(new.tag, old.tag)  # 1: the new tag is the higher version
        if order is None:
            problems.append(
                f"{s.op.file}: tags {old.tag or '(none)'!r} and {new.tag or '(none)'!r} do not compare as "
                "versions of one style"
            )
        elif order != 1:
            word = "the same version" if order == 0 else "a downgrade"
            problems.append(f"{s.op.file}: {old.tag} → {new.tag} is {word}")
        else:
            a, b = tag_version(old.tag), tag_version(new.tag)
            target = listed_target(inventory, s.op)
            if a is not None and b is not None and b.major > a.major and not (target and target.allow_major):
                problems.append(
                    f"{s.op.file}: {old.tag} → {new.tag} is a major bump; the inventory does not allow_major"
                )
            else:
                shown.append(f"{old.tag} → {new.tag}")
    return _result("image_no_downgrade", problems, f"newer versions: {', '.join(shown) or '-'}")


def _check_evidence(subjects: Sequence[_Subject], finding_ids: Collection[str] | None) -> Check:
    problems: list[str] = []
    known = None if finding_ids is None else {normalise_id(i) or i for i in finding_ids}
    count = 0
    for s in subjects:
        ev = s.op.evidence
        bad = [i for i in ev.findings if normalise_id(i) != i]
        if bad:
            problems.append(f"{s.op.file}: not normalised finding ids: {', '.join(repr(b) for b in bad[:5])}")
        if known is not None:
            foreign = [i for i in ev.findings if i not in known]
            if foreign:
                more = f" (+{len(foreign) - 5} more)" if len(foreign) > 5 else ""
                problems.append(f"{s.op.file}: findings not in this group: {', '.join(foreign[:5])}{more}")
        if not ev.report.strip():
            problems.append(f"{s.op.file}: the evidence names no report")
        count += len(ev.findings)
    scope = "" if known is None else ", all of this group's"
    return _result("image_evidence", problems, f"{count} finding id(s) with their report{scope}")


def _check_compare_and_set(subjects: Sequence[_Subject]) -> Check:
    problems: list[str] = []
    for s in subjects:
        if s.change is None or s.loc is None:
            continue
        expect, value = parse_image(s.op.expect), parse_image(s.op.value)
        if s.before is None or s.before != expect:
            held = reference_text(documents(s.change.before_doc), s.loc)[0] or s.before_why
            problems.append(f"{s.op.file}: the file held {held}, not the expected {s.op.expect}")
        if s.after is None or s.after != value:
            held = reference_text(documents(s.change.after_doc), s.loc)[0] or s.after_why
            problems.append(f"{s.op.file}: the file now holds {held}, not {s.op.value}")
    return _result("image_compare_and_set", problems, "each file held expect and now holds value")


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    inventory: Inventory,
    targets: Sequence[str],
    policy: GuardPolicy,
    finding_ids: Collection[str] | None = None,
) -> list[Check]:
    """This family's checks of one proposed change (none when no operation is a ``set_image``)."""
    if not any(isinstance(o, SetImage) for o in ops):
        return []
    subjects = _subjects(changed, ops)
    return [
        _check_target_listed(ops, inventory, targets),
        _check_one_scalar(subjects, ops),
        _check_same_repository(subjects),
        _check_tag_immutable(subjects, policy),
        _check_no_downgrade(subjects, inventory),
        _check_evidence(subjects, finding_ids),
        _check_compare_and_set(subjects),
    ]


def scalar_confined(change: FileChange, op: SetImage) -> str | None:
    """Why the parsed documents of one set_image file differ outside its one allowed scalar, or None.

    For the generic ``only_named_keys`` check: the same proof as ``image_one_scalar``, one file at a time.
    """
    before, after = documents(change.before_doc), documents(change.after_doc)
    loc, problem = locate(before, op.target)
    if loc is None:
        return problem
    if len(before) != len(after):
        return f"{len(before)} document(s) became {len(after)}"
    diffs = differences(before, after)
    allowed = {(*loc.path, f) for f in loc.fields}
    outside = [_shown(p) for p, scalar in diffs if not scalar or p not in allowed]
    if outside:
        return f"values changed outside {op.target}: {', '.join(outside)}"
    if len(diffs) > 1:
        return f"{len(diffs)} scalars of {op.target} changed (one may)"
    return None

"""Where a GitOps file holds an image: the reference an inventory image target points at, as written.

Read-only and small: :func:`locate` parses the file's YAML and finds the one reference of a target kind
(``workload-image``: a container or initContainer ``image`` of a Deployment, StatefulSet, DaemonSet, Job,
CronJob or Pod; ``helm-values``: ``repository``/``tag``/``digest`` (and ``registry``) at ``values_path``;
``kustomize-images``: the ``images:`` entry ``name``'s ``newName``/``newTag``/``digest``). Anything it cannot
read exactly is a sentence saying why, never a guess. The edit itself is :mod:`bot.image_edit`'s.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml

from bot import messages
from bot.core.image_refs import ImageRef, parse_image
from bot.core.inventory import ImageTarget

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Located(NamedTuple):
    """The image reference a target holds: ``written`` as the file has it, parsed as ``ref``."""

    target: str  # the set_image target: container:<name> | values:<path> | kustomize:<name>
    written: str
    ref: ImageRef


def locate(text: str, target: ImageTarget, workload: str | None = None) -> Located | str:
    """The image reference ``target`` points at in a file's text, or why it cannot be read (a sentence).

    ``workload`` (the inventory name) picks the document when several hold the container.
    """
    try:
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except (yaml.YAMLError, RecursionError):
        return messages.image_file_problem(target.path, "is not valid YAML")
    if target.kind == "workload-image":
        return _locate_container(docs, target, workload)
    if target.kind == "helm-values":
        return _locate_values(docs, target)
    return _locate_kustomize(docs, target)


def current_reference(text: str, target: ImageTarget, workload: str | None = None) -> ImageRef | None:
    """The image reference ``target`` holds in a file's text, or None when it holds none readable."""
    found = locate(text, target, workload)
    return found.ref if isinstance(found, Located) else None


def _pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec")
    out: list[dict[str, Any]] = []
    for path in ((), ("template", "spec"), ("jobTemplate", "spec", "template", "spec")):
        node: Any = spec
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("containers"), list):
            out.append(node)
    return out


def _locate_container(docs: list[Any], target: ImageTarget, workload: str | None) -> Located | str:
    found: list[tuple[bool, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata")
        named = isinstance(meta, dict) and meta.get("name") == workload
        for spec in _pod_specs(doc):
            for key in ("initContainers", "containers"):
                items = spec.get(key)
                for c in items if isinstance(items, list) else ():
                    if isinstance(c, dict) and c.get("name") == target.container:
                        found.append((named, c.get("image")))
    if any(named for named, _ in found):
        found = [f for f in found if f[0]]
    where = f"container {target.container}"
    if not found:
        return messages.image_file_problem(target.path, f"has no {where}")
    if len(found) > 1:
        return messages.image_file_problem(
            target.path, f"has {len(found)} containers named {target.container}"
        )
    return _located(f"container:{target.container}", found[0][1], target.path, where)


def _locate_values(docs: list[Any], target: ImageTarget) -> Located | str:
    node: Any = docs[0] if len(docs) == 1 else None
    for key in target.values_path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    where = target.values_path
    if not isinstance(node, dict):
        return messages.image_file_problem(target.path, f"has no mapping at {where}")
    repository, tag, digest, registry = (node.get(k) for k in ("repository", "tag", "digest", "registry"))
    for key, value in (("repository", repository), ("tag", tag), ("digest", digest), ("registry", registry)):
        if value is not None and not isinstance(value, str):
            return messages.image_file_problem(target.path, f"has {where}.{key} that is not a string")
    if not repository:
        return messages.image_file_problem(target.path, f"has no {where}.repository")
    written = (f"{registry}/" if registry else "") + repository
    written += f":{tag}" if tag else ""
    written += f"@{digest}" if digest else ""
    return _located(f"values:{target.values_path}", written, target.path, where, need_version=True)


def _locate_kustomize(docs: list[Any], target: ImageTarget) -> Located | str:
    doc = docs[0] if len(docs) == 1 else None
    items = doc.get("images") if isinstance(doc, dict) else None
    entries = [e for e in items if isinstance(e, dict) and e.get("name") == target.image] if items else []
    where = f"images entry {target.image}"
    if len(entries) != 1:
        return messages.image_file_problem(target.path, f"has {len(entries)} {where}(s), not one")
    entry = entries[0]
    name, tag, digest = (entry.get(k) for k in ("newName", "newTag", "digest"))
    for key, value in (("newName", name), ("newTag", tag), ("digest", digest)):
        if value is not None and not isinstance(value, str):
            return messages.image_file_problem(target.path, f"has a {where} whose {key} is not a string")
    written = str(name or target.image) + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return _located(f"kustomize:{target.image}", written, target.path, where, need_version=True)


def _located(name: str, written: Any, path: str, where: str, *, need_version: bool = False) -> Located | str:
    ref = parse_image(written) if isinstance(written, str) else None
    if ref is None:
        return messages.image_file_problem(path, f"has no readable image reference at {where}")
    if need_version and not (ref.tag or ref.digest):
        return messages.image_file_problem(path, f"sets no tag or digest at {where}")
    return Located(name, written, ref)


def rewritten(written: str, tag: str, digest: str) -> str:
    """``written`` (the file's own form) with a new tag and digest: ``nginx:1.16`` → ``nginx:1.16.1``."""
    rest = written.split("@", 1)[0]
    colon, slash = rest.rfind(":"), rest.rfind("/")
    name = rest[:colon] if colon > slash else rest
    return name + f":{tag}" + (f"@{digest}" if digest else "")

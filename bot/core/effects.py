"""Exact effects of a fix: what it changes in which file of which server, normalised and hashed.

An effect is one observable change to one ConfigMap data key::

    web-01 clusters/prod/web-01/ingress-nginx-controller.yaml ConfigMap ingress-nginx/ingress-nginx-controller
        data.block-cidrs add 91.240.118.172/32

Effects come from the parsed documents before and after a change (the operations are applied to the
parsed data here, so a proposal and a merged commit from the repository's history are compared the same
way). Normalisation: addresses canonical (``91.240.118.172`` and ``91.240.118.172/32`` are one effect),
comments dropped (YAML comments are gone after parsing, ``#`` comments inside a CIDR list are dropped),
whitespace collapsed, effects sorted. Two fixes are the same fix exactly when their effect ids are equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.core.image_refs import parse_image
from bot.core.network import canonical_cidr, split_cidr_list

EffectAction = Literal["add", "remove", "set", "unset"]

#: values up to this length are compared exactly; longer ones (snippets, policies) also by similarity
SHORT_VALUE = 64
_BOOLEANS = {"true": "true", "false": "false", "yes": "true", "no": "false", "on": "true", "off": "false"}


class Where(BaseModel):
    """Which server a file belongs to and what kind of config it is (from the inventory; may be empty)."""

    model_config = ConfigDict(frozen=True)

    server: str = ""
    kind: str = ""
    list_key: str | None = None  # the data key that holds a CIDR list, when the kind has one


class Effect(BaseModel):
    """One normalised change to one ConfigMap data key."""

    model_config = ConfigDict(frozen=True)

    server: str
    file: str
    kind: str
    resource: str  # "ConfigMap namespace/name"
    key: str
    action: EffectAction
    value: str

    @property
    def text(self) -> str:
        """The canonical one-line form; its hash is the effect's id."""
        server = self.server or "?"
        return f"{server} {self.file} {self.resource} data.{self.key} {self.action} {self.value}".rstrip()

    @property
    def id(self) -> str:
        return "e-" + hashlib.sha256(self.text.encode()).hexdigest()[:20]

    @property
    def is_address(self) -> bool:
        """Address effects (a CIDR added to or removed from a block list) are compared only exactly."""
        return self.action in ("add", "remove")

    @property
    def exact_only(self) -> bool:
        """Compared only by id: addresses, and short scalar values (the embedding cannot tell ``TLSv1.2``
        from ``TLSv1.3`` or ``1m`` from ``100m``: measured 0.98-0.99 similar, docs/dedup.md)."""
        return self.is_address or (len(self.value) <= SHORT_VALUE and "\n" not in self.value)

    @property
    def scope(self) -> str:
        """Where a near-duplicate must lie to count: the same server, file, config kind and key."""
        return f"{self.server}|{self.file}|{self.kind}|{self.key}"


def resource_name(doc: Any) -> str:
    """``ConfigMap namespace/name`` of a parsed document (``?`` for missing parts)."""
    if not isinstance(doc, dict):
        return "? ?/?"
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return f"{doc.get('kind') or '?'} {meta.get('namespace') or 'default'}/{meta.get('name') or '?'}"


def _data(doc: Any) -> dict[str, str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        return {}
    return {str(k): _scalar(v) for k, v in doc["data"].items()}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _normal_text(value: str) -> str:
    text = " ".join(value.split())
    return _BOOLEANS.get(text.lower(), text)


@lru_cache(maxsize=1024)
def cidr_entries(value: str) -> frozenset[str] | None:
    """The canonical CIDRs of a list value, or None when any entry is not a CIDR (then it is no list).

    Cached by the value's text: a scan compares the same few block lists for every group.
    """
    out: set[str] = set()
    for entry in split_cidr_list(value):
        canon = canonical_cidr(entry)
        if canon is None:
            return None
        out.add(canon)
    return frozenset(out)


def effects_of_change(path: str, where: Where, before_doc: Any, after_doc: Any) -> tuple[Effect, ...]:
    """Every effect between two parsed versions of one ConfigMap, sorted."""
    resource = resource_name(after_doc if after_doc is not None else before_doc)
    before, after = _data(before_doc), _data(after_doc)
    out: list[Effect] = []

    def effect(key: str, action: EffectAction, value: str) -> None:
        out.append(Effect(server=where.server, file=path, kind=where.kind, resource=resource, key=key,
                          action=action, value=value))  # fmt: skip

    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        old_list = cidr_entries(old) if old is not None else frozenset()
        new_list = cidr_entries(new) if new is not None else frozenset()
        # a key is a CIDR list when the inventory says so or when every entry, before and after, is a CIDR
        both_lists = old_list is not None and new_list is not None
        if both_lists and (key == where.list_key or old_list or new_list):
            assert old_list is not None and new_list is not None
            for cidr in sorted(new_list - old_list):
                effect(key, "add", cidr)
            for cidr in sorted(old_list - new_list):
                effect(key, "remove", cidr)
        elif new is None:
            effect(key, "unset", "")
        elif _normal_text(new) != _normal_text(old or ""):
            effect(key, "set", _normal_text(new))
    return tuple(sorted(out, key=lambda e: e.text))


def effects_of_operations(
    operations: Sequence[Mapping[str, Any]],
    before_docs: Mapping[str, Any],
    where: Mapping[str, Where],
    behaviours: Mapping[str, str] | None = None,
) -> tuple[Effect, ...]:
    """The effects a list of operations (``add_cidr``/``set_key`` dicts) would have on these documents.

    The operations are applied to the parsed data only (formatting does not matter for effects); an
    operation that changes nothing (an address already blocked) has no effect. ``behaviours`` maps an
    ``add_policy``'s file to its behaviour (:func:`policy_behaviour`, computed by the engine outside the
    core); an ``add_policy`` without one has no effect here.
    """
    after_docs: dict[str, Any] = {}
    direct: list[Effect] = []  # effects that need no document: images, policies
    for op in operations:
        name, path, key = op.get("op"), str(op.get("file", "")), str(op.get("key", ""))
        if name == "set_image":
            direct.append(image_effect(op))
            continue
        if name == "add_policy" and behaviours and path in behaviours:
            direct.append(add_policy_effect(op, behaviours[path], where))
            continue
        if name == "set_policy_mode":
            direct.append(policy_mode_effect(op, where))
            continue
        if name not in ("add_cidr", "set_key") or path not in before_docs:
            continue
        doc = after_docs.setdefault(path, _copy_doc(before_docs[path]))
        data = doc.setdefault("data", {})
        value = _scalar(op.get("value"))
        if name == "set_key":
            data[key] = value
            continue
        entries = split_cidr_list(_scalar(data.get(key)))
        entries.append(value)
        data[key] = ",".join(entries)
    effects: list[Effect] = list(direct)
    for path, after in after_docs.items():
        effects.extend(effects_of_change(path, where.get(path, Where()), before_docs[path], after))
    return tuple(sorted(effects, key=lambda e: e.text))


def image_effect(op: Mapping[str, Any]) -> Effect:
    """A ``set_image`` as an effect: which reference of which workload's file becomes which image. The new
    reference is canonical (``nginx:1.16.1`` and ``docker.io/library/nginx:1.16.1`` are one effect), so a
    newer report proposing the same bump folds into the pending proposal and a rejected bump stays rejected."""
    value = str(op.get("value", ""))
    ref = parse_image(value)
    workload = str(op.get("workload", ""))
    return Effect(
        server=workload,
        file=str(op.get("file", "")),
        kind="image",
        resource=f"workload {workload}",
        key=str(op.get("target", "")),
        action="set",
        value=ref.canonical() if ref is not None else value,
    )


# --- policies (issue 14): a policy is what it does, not how it is written ----------------------------------

#: the config kind of policy effects; ``Where.kind`` of a listed kyverno-policies directory
POLICY_KIND = "kyverno-policies"


def policy_behaviour(flagged: Iterable[str] | None, document_digest: str) -> str:
    """A policy's behaviour as a short exact value: the digest of the sorted identities of the resources it
    flags among a fixed set (the catalogue's fixtures and the repository's manifests), so two differently
    written policies (pattern vs CEL, other names, other files) that flag the same resources are one effect.
    ``flagged`` is None when the engine could not evaluate some resource: then only the same document
    (``document_digest``) is the same policy."""
    if flagged is None:
        return "doc-" + document_digest[:20]
    joined = "\n".join(sorted(set(flagged)))
    return "flags-" + hashlib.sha256(joined.encode()).hexdigest()[:20]


def _folder(path: str) -> str:
    return path.rpartition("/")[0]


def add_policy_effect(op: Mapping[str, Any], behaviour: str, where: Mapping[str, Where]) -> Effect:
    """An ``add_policy`` as an effect: this behaviour added to this policy directory (the file name and the
    policy's name and spelling are left out on purpose)."""
    folder = _folder(str(op.get("file", "")))
    w = where.get(folder, Where())
    return Effect(
        server=w.server, file=folder, kind=POLICY_KIND, resource="policy", key="behaviour", action="set",
        value=behaviour,
    )  # fmt: skip


def policy_mode_effect(op: Mapping[str, Any], where: Mapping[str, Where]) -> Effect:
    """A ``set_policy_mode`` as an effect: this policy of this file gets this failure action."""
    path = str(op.get("file", ""))
    w = where.get(_folder(path), Where())
    return Effect(
        server=w.server, file=path, kind=POLICY_KIND, resource=f"policy {op.get('policy', '')}",
        key="failureAction", action="set", value=str(op.get("value", "")),
    )  # fmt: skip


def _copy_doc(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {"data": {}}
    copy = dict(doc)
    copy["data"] = dict(doc["data"]) if isinstance(doc.get("data"), dict) else {}
    return copy


def effect_ids(effects: Iterable[Effect]) -> tuple[str, ...]:
    """Sorted, unique effect ids."""
    return tuple(sorted({e.id for e in effects}))


def describe_fix(effects: Sequence[Effect], defends: str = "") -> str:
    """The canonical description that is embedded: operation, key, config kind, and what it defends against.

    Never the raw diff: diff text is dominated by the file's unchanged context, so a fix blocking a different
    address or touching a different key looks almost identical to it. The server is left out on purpose;
    the scope check (same server, file, kind and key) is exact and done outside the embedding.
    """
    parts: list[str] = []
    groups: dict[tuple[str, str, str], list[str]] = {}
    for e in effects:
        groups.setdefault((e.action, e.kind or "configmap", e.key), []).append(e.value)
    for (action, kind, key), values in sorted(groups.items()):
        if action == "add":
            parts.append(f"block {', '.join(sorted(values))} in the {kind} {key} list")
        elif action == "remove":
            parts.append(f"unblock {', '.join(sorted(values))} in the {kind} {key} list")
        elif action == "set" and kind == "image":
            parts.append(f"bump the image of {key} to {values[0]}")
        elif action == "set" and kind == POLICY_KIND and key == "behaviour":
            parts.append("add a Kyverno admission policy in Audit")
        elif action == "set" and kind == POLICY_KIND:
            parts.append(f"set a Kyverno policy's {key} to {values[0]}")
        elif action == "set":
            parts.append(f"set {key} to {values[0]} in the {kind} config")
        else:
            parts.append(f"remove {key} from the {kind} config")
    text = "; ".join(parts) or "no change"
    defends = " ".join(defends.split())
    return f"{text}; defends against: {defends}" if defends else text

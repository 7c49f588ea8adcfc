"""The guard: deterministic, deny-by-default checks on a proposed change. No model is consulted.

Every check is reported by name with a detail, pass or fail, so a human (or the LLM fixer, on its next
attempt) sees exactly why a change was refused. A proposal that fails any check is ``blocked``: it is
shown, never offered for approval.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.core import fidelity
from bot.core.checks import Check, GuardPolicy, GuardReport
from bot.core.edits import (
    AddCidr,
    AnyOp,
    Escalate,
    FileChange,
    RemoveCidr,
    SetImage,
    SetKey,
    changed_line_count,
    unified_diff,
)
from bot.core.inventory import ConfigRef, ImageTarget, Inventory, Server, Workload
from bot.core.operations import blocklist, images, policies
from bot.core.operations import data_keys as values
from bot.core.paths import WORKLOAD_KINDS, forbidden_path_reason

__all__ = ["Check", "GuardPolicy", "GuardReport", "check_change"]

#: Re-exported: the key tables live with their grammars in :mod:`bot.core.operations.data_keys` (the allow-list is derived
#: from the grammar table, so a key cannot be allowed without a grammar).
SENSITIVE_KEYS = values.SENSITIVE_KEYS
SET_KEYS_BY_KIND = values.SET_KEYS_BY_KIND


Op = AnyOp


def check_change(
    changes: Sequence[FileChange],
    ops: Sequence[Op],
    inventory: Inventory,
    targets: Sequence[str],
    policy: GuardPolicy | None = None,
    *,
    finding_ids: Collection[str] | None = None,
    proofs: Mapping[str, policies.PolicyProof] | None = None,
) -> GuardReport:
    """Run every check on a proposed change and report each one.

    ``targets`` are server names for the data families (block lists, data keys) and workload refs
    (``namespace/name``) for ``set_image``; ``finding_ids``, when given, are the group's finding ids that
    a ``set_image``'s evidence must come from. A proposal with a ``set_image`` gets the image family's checks
    and ``one_operation_family``; one made only of ``set_image`` skips the data families' checks (they are
    about ConfigMap data and would pass vacuously). Policy operations (``add_policy``, ``set_policy_mode``)
    get their family's checks only (:mod:`bot.core.operations.policies`), with ``proofs`` (per file) from
    the Kyverno engine.
    """
    if policies.is_policy_change(ops):
        found = policies.check_policy_change(changes, ops, inventory, proofs)
        return GuardReport(passed=all(c.passed for c in found), checks=tuple(found))
    policy = policy or GuardPolicy()
    changed = [c for c in changes if c.changed]
    allowed = inventory.allowed_configs(targets)
    image_files = _image_files(ops, inventory, targets)
    checks = [
        _check_has_change(changed, ops),
        _check_files_in_inventory(changed, ops, allowed, image_files, inventory, targets),
        _check_no_forbidden_paths(changed, ops, image_files),
        _check_yaml_valid(changed),
        _check_kind_and_name(changed, ops),
        _check_only_named_keys(changed, ops, allowed),
        _check_diff_size(changed, policy),
    ]
    has_images = any(isinstance(o, SetImage) for o in ops)
    if has_images:
        checks.insert(1, _check_one_family(ops))
    if not has_images or not all(isinstance(o, SetImage) for o in ops):
        checks.extend(blocklist.checks(changed, ops, allowed, inventory, policy))
        checks.extend(values.checks(changed, ops, allowed, inventory, policy))
    checks.extend(images.checks(changed, ops, inventory, targets, policy, finding_ids))
    checks.extend(fidelity.checks(changed, ops, allowed, inventory, policy))
    return GuardReport(passed=all(c.passed for c in checks), checks=tuple(checks))


#: Operation families: one per proposal (a block and an image bump are two proposals, two approvals).
_FAMILIES = {"add_cidr": "data", "remove_cidr": "data", "set_key": "data", "set_image": "image"}


def _check_one_family(ops: Sequence[Op]) -> Check:
    names = sorted({o.op for o in ops if not isinstance(o, Escalate)})
    families = {_FAMILIES.get(n, n) for n in names}
    if len(families) > 1:
        return Check(
            name="one_operation_family",
            passed=False,
            detail=f"set_image cannot share a proposal with {', '.join(n for n in names if n != 'set_image')}",
        )
    return Check(name="one_operation_family", passed=True, detail="set_image only")


def _image_files(
    ops: Sequence[Op], inventory: Inventory, targets: Sequence[str]
) -> dict[str, tuple[Workload, ImageTarget]]:
    """The image files that only ``set_image`` operations name, each for a workload of these targets that
    lists the file: the only workload files the guard lets change."""
    wanted = {images.workload_ref(t) for t in targets}
    by_file: dict[str, list[tuple[Workload, ImageTarget] | None]] = {}
    for o in ops:
        if isinstance(o, Escalate):
            continue
        entry = None
        workload = inventory.workload(o.workload) if isinstance(o, SetImage) else None
        if workload is not None and workload.ref in wanted:
            entry = next(((workload, i) for i in workload.images if i.path == o.file), None)
        by_file.setdefault(o.file, []).append(entry)
    return {p: entries[0] for p, entries in by_file.items() if entries[0] and all(entries)}


def _image_owner(inventory: Inventory, path: str) -> str:
    owners = [w.ref for w in inventory.workloads if any(i.path == path for i in w.images)]
    return ", ".join(owners) or "no workload"


def _check_has_change(changed: Sequence[FileChange], ops: Sequence[Op]) -> Check:
    if any(isinstance(o, Escalate) for o in ops):
        return Check(name="has_change", passed=False, detail="escalation: no change to check")
    if not ops:
        return Check(name="has_change", passed=False, detail="no operations")
    if not changed:
        return Check(name="has_change", passed=False, detail="the operations change nothing")
    return Check(name="has_change", passed=True, detail=f"{len(changed)} file(s) changed")


def _check_files_in_inventory(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    image_files: Mapping[str, tuple[Workload, ImageTarget]],
    inventory: Inventory,
    targets: Sequence[str],
) -> Check:
    paths = {c.path for c in changed} | {o.file for o in ops if not isinstance(o, Escalate)}
    if not targets:
        return Check(name="files_in_inventory", passed=False, detail="the alerts name no target server")
    if any(isinstance(o, SetImage) for o in ops):
        return _check_image_files_in_inventory(paths, ops, allowed, image_files, inventory, targets)
    bad = sorted(p for p in paths if p not in allowed)
    if bad:
        owners = [f"{p} (listed for {inventory.owner_of_path(p) or 'no server'})" for p in bad]
        return Check(
            name="files_in_inventory",
            passed=False,
            detail=f"not an allowed config of {', '.join(targets)}: {'; '.join(owners)}",
        )
    servers = sorted({allowed[p][0].name for p in paths})
    return Check(
        name="files_in_inventory", passed=True, detail=f"only configs listed for {', '.join(servers)}"
    )


def _check_image_files_in_inventory(
    paths: set[str],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    image_files: Mapping[str, tuple[Workload, ImageTarget]],
    inventory: Inventory,
    targets: Sequence[str],
) -> Check:
    """An image group's targets are workloads: each file must be an image target listed for one of them
    (a data operation mixed in still needs its server config; ``one_operation_family`` refuses the mix)."""
    data_files = {o.file for o in ops if not isinstance(o, Escalate | SetImage)}
    bad = sorted(p for p in paths if p not in image_files and not (p in data_files and p in allowed))
    if bad:
        owners = [f"{p} (listed for {_image_owner(inventory, p)})" for p in bad]
        return Check(
            name="files_in_inventory",
            passed=False,
            detail=f"not an image file listed for {', '.join(targets)}: {'; '.join(owners)}",
        )
    names = sorted({image_files[p][0].ref for p in paths if p in image_files})
    return Check(
        name="files_in_inventory", passed=True, detail=f"only image files listed for {', '.join(names)}"
    )


def _kind(doc: Any) -> str | None:
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) else None


def _check_no_forbidden_paths(
    changed: Sequence[FileChange], ops: Sequence[Op], image_files: Mapping[str, tuple[Workload, ImageTarget]]
) -> Check:
    problems: list[str] = []
    for path in sorted({c.path for c in changed} | {o.file for o in ops if not isinstance(o, Escalate)}):
        reason = forbidden_path_reason(path)
        if reason:
            problems.append(f"{path}: {reason}")
    for c in changed:
        if c.path in image_files:
            # The one exception (issue 13): a listed image file, named only by set_image operations.
            continue
        for doc in (*images.documents(c.before_doc), *images.documents(c.after_doc)):
            kind = _kind(doc)
            if kind in WORKLOAD_KINDS:
                problems.append(f"{c.path}: {kind} is a workload or access object")
                break
    if problems:
        return Check(name="no_forbidden_paths", passed=False, detail="; ".join(problems))
    if any(c.path in image_files for c in changed):
        return Check(
            name="no_forbidden_paths",
            passed=True,
            detail="no CI/CD or access files; workload files only as listed image targets",
        )
    return Check(name="no_forbidden_paths", passed=True, detail="no CI/CD, workload or access files")


def _check_yaml_valid(changed: Sequence[FileChange]) -> Check:
    bad = [
        f"{c.path}: {c.parse_error or 'not a YAML mapping'}"
        for c in changed
        if c.parse_error
        or not images.documents(c.after_doc)
        or not all(isinstance(d, dict) for d in images.documents(c.after_doc))
    ]
    if bad:
        return Check(name="yaml_valid", passed=False, detail="; ".join(bad))
    return Check(name="yaml_valid", passed=True, detail="every changed file parses")


def _identity(doc: Any) -> tuple[Any, Any, Any, Any]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return (
        _kind(doc),
        doc.get("apiVersion") if isinstance(doc, dict) else None,
        meta.get("name"),
        meta.get("namespace"),
    )


def _check_kind_and_name(changed: Sequence[FileChange], ops: Sequence[Op]) -> Check:
    problems: list[str] = []
    image_paths = {o.file for o in ops if isinstance(o, SetImage)}
    kept: list[str] = []
    for c in changed:
        if c.path in image_paths:
            # A workload, values or kustomization file: every document keeps its identity.
            ids_before = [_identity(d) for d in images.documents(c.before_doc)]
            ids_after = [_identity(d) for d in images.documents(c.after_doc)]
            if ids_before != ids_after:
                problems.append(
                    f"{c.path}: kind/apiVersion/name/namespace changed from {ids_before} to {ids_after}"
                )
            kept.extend(
                f"{i[0]} {i[3] or '-'}/{i[2] or '-'}" if i[0] else f"{c.path} (no kind)" for i in ids_after
            )
            continue
        before, after = _identity(c.before_doc), _identity(c.after_doc)
        if before[0] != "ConfigMap":
            problems.append(f"{c.path}: is a {before[0] or 'non-Kubernetes document'}, not a ConfigMap")
        elif before[1] != "v1":
            # A foreign API group can reuse the kind name; only the core v1 ConfigMap is what the bot edits.
            problems.append(f"{c.path}: is a ConfigMap of apiVersion {before[1]!r}, not v1")
        elif before != after:
            problems.append(f"{c.path}: kind/apiVersion/name/namespace changed from {before} to {after}")
    if problems:
        return Check(name="kind_and_name_kept", passed=False, detail="; ".join(problems))
    if kept:
        return Check(name="kind_and_name_kept", passed=True, detail=f"{', '.join(kept)} kept")
    names = ", ".join(f"{_identity(c.after_doc)[3] or '-'}/{_identity(c.after_doc)[2]}" for c in changed)
    return Check(name="kind_and_name_kept", passed=True, detail=f"ConfigMap {names} kept")


def _data(doc: Any) -> dict[str, Any]:
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, dict) else {}


def _check_only_named_keys(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
) -> Check:
    problems: list[str] = []
    image_ops = {o.file: o for o in ops if isinstance(o, SetImage)}
    for c in changed:
        if c.path in image_ops:
            # Not ConfigMap data: the one image scalar, proved from the documents as image_one_scalar does.
            why = images.scalar_confined(c, image_ops[c.path])
            if why:
                problems.append(f"{c.path}: {why}")
            continue
        if not isinstance(c.before_doc, dict) or not isinstance(c.after_doc, dict):
            continue
        rest_before = {k: v for k, v in c.before_doc.items() if k != "data"}
        rest_after = {k: v for k, v in c.after_doc.items() if k != "data"}
        if rest_before != rest_after:
            problems.append(f"{c.path}: fields outside data changed")
        before, after = _data(c.before_doc), _data(c.after_doc)
        touched = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        named = {o.key for o in ops if not isinstance(o, Escalate) and o.file == c.path}
        extra = sorted(touched - named, key=str)  # a YAML key may be a bool or a number: sort as text
        if extra:
            problems.append(f"{c.path}: keys changed that no operation names: {', '.join(map(str, extra))}")
    unlisted: dict[tuple[str, str], list[str]] = {}
    for o in ops:
        if isinstance(o, Escalate) or o.file not in allowed:
            continue
        cfg = allowed[o.file][1]
        if isinstance(o, AddCidr) and o.key != cfg.block_key:
            problems.append(f"{o.file}: add_cidr only on the block list key {cfg.block_key!r}, not {o.key!r}")
        if isinstance(o, RemoveCidr) and o.key != cfg.block_key:
            problems.append(
                f"{o.file}: remove_cidr only on the block list key {cfg.block_key!r}, not {o.key!r}"
            )
        if isinstance(o, SetKey) and (o.key in SENSITIVE_KEYS or o.key == cfg.block_key):
            problems.append(f"{o.file}: set_key may not change {o.key!r}")
        elif isinstance(o, SetKey) and o.key not in SET_KEYS_BY_KIND.get(cfg.kind, frozenset()) | set(
            cfg.set_keys
        ):
            unlisted.setdefault((o.file, cfg.kind), []).append(o.key)
    for (file, kind), keys in unlisted.items():
        shown = ", ".join(repr(k) for k in keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        problems.append(
            f"{file}: set_key may not change {shown}: not a known hardening key for kind {kind!r} "
            "(an inventory config's set_keys can allow more)"
        )
    if problems:
        return Check(name="only_named_keys", passed=False, detail="; ".join(problems))
    keys = sorted({o.key for o in ops if not isinstance(o, Escalate)})
    return Check(name="only_named_keys", passed=True, detail=f"only {', '.join(keys)} changed")


def _check_diff_size(changed: Sequence[FileChange], policy: GuardPolicy) -> Check:
    n = changed_line_count(unified_diff(changed))
    ok = n <= policy.max_changed_lines
    return Check(
        name="diff_size",
        passed=ok,
        detail=f"{n} changed line(s), limit {policy.max_changed_lines}",
    )

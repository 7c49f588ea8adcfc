"""One candidate fix, tried: parse the operations, apply them to the repository's files in memory, guard.

The scanner (playbook and LLM fixes), thread revisions and the LLM fixer's dry runs all go through
:func:`try_operations`, so there is one path from operations to a guarded diff. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import messages
from bot.core.edits import (
    AddCidr,
    AddPolicy,
    AnyOp,
    Escalate,
    FileChange,
    RemoveCidr,
    SetImage,
    SetKey,
    SetPolicyMode,
    parse_operations,
    unified_diff,
)
from bot.core.errors import DocumentError, OperationError
from bot.core.guard import GuardPolicy, GuardReport, check_change
from bot.core.inventory import Inventory
from bot.core.network import canonical_cidr, split_cidr_list
from bot.core.operations.blocklist import covering_entry
from bot.core.operations.policies import PolicyProof
from bot.yaml_edit import ReadFile, apply_operations, parse_document

if TYPE_CHECKING:
    from bot.policy_env import PolicyEnv

Op = AnyOp


@dataclass(frozen=True)
class TriedChange:
    """What a candidate did. Exactly one of ``error``, ``escalation`` or ``ops`` describes the outcome."""

    ops: tuple[Op, ...] = ()
    changed: tuple[FileChange, ...] = ()
    diff: str = ""
    report: GuardReport | None = None  # None when parsing/applying failed or nothing changed
    error: str | None = None  # the operations do not parse or cannot be applied (names the file/op)
    error_file: str | None = None  # with ``error``: the file that cannot be read or edited exactly
    escalation: str | None = None  # the candidate is a single escalate operation
    operations: tuple[dict[str, Any], ...] = field(default=())  # ``ops`` as plain dicts
    proofs: Mapping[str, PolicyProof] = field(default_factory=dict)  # policy operations: per file

    @property
    def nothing_to_do(self) -> bool:
        return self.error is None and self.escalation is None and not self.changed


def try_operations(
    data: Any,
    *,
    read_file: ReadFile,
    inventory: Inventory,
    targets: Sequence[str],
    policy: GuardPolicy,
    list_styles: dict[str, str],
    finding_ids: Collection[str] | None = None,
    policy_env: PolicyEnv | None = None,
) -> TriedChange:
    """Parse → apply (in memory) → guard. Errors come back as text, never as exceptions.

    ``finding_ids``: the group's finding ids, which a ``set_image``'s evidence must come from (when given).
    Policy operations are applied by :mod:`bot.policy_edit` and proven with ``policy_env`` (the repository's
    manifests and promotion evidence; without it the proof does not run and the guard blocks).
    """
    try:
        ops = tuple(parse_operations(data))
    except OperationError as exc:
        return TriedChange(error=str(exc))
    if isinstance(ops[0], Escalate):
        return TriedChange(ops=ops, escalation=ops[0].reason)
    operations = tuple(o.model_dump() for o in ops)
    if any(isinstance(o, AddPolicy | SetPolicyMode) for o in ops):
        return _try_policy(ops, operations, read_file, inventory, policy_env)
    try:
        changes = apply_operations(ops, read_file, list_styles)
    except DocumentError as exc:
        text = str(exc)
        files = [o.file for o in ops if isinstance(o, AddCidr | SetKey | RemoveCidr | SetImage)]
        named = next((f for f in files if text.startswith(f"{f}:")), None)
        return TriedChange(ops=ops, operations=operations, error=text, error_file=named)
    except OperationError as exc:
        return TriedChange(ops=ops, operations=operations, error=str(exc))
    changed = tuple(c for c in changes if c.changed)
    if not changed:
        return TriedChange(ops=ops, operations=operations)
    report = check_change(changes, ops, inventory, targets, policy, finding_ids=finding_ids)
    return TriedChange(
        ops=ops, changed=changed, diff=unified_diff(changed), report=report, operations=operations
    )


def _try_policy(
    ops: tuple[Op, ...],
    operations: tuple[dict[str, Any], ...],
    read_file: ReadFile,
    inventory: Inventory,
    env: PolicyEnv | None,
) -> TriedChange:
    from bot.policy_edit import apply_policy_operations

    policy_ops = [o for o in ops if isinstance(o, AddPolicy | SetPolicyMode)]
    if len(policy_ops) != len(ops):
        return TriedChange(
            ops=ops,
            operations=operations,
            error="a policy operation cannot share a proposal with other operations",
        )
    try:
        changes = apply_policy_operations(policy_ops, read_file)
    except DocumentError as exc:
        return TriedChange(ops=ops, operations=operations, error=str(exc), error_file=policy_ops[0].file)
    changed = tuple(c for c in changes if c.changed)
    if not changed:
        return TriedChange(ops=ops, operations=operations)
    proofs = env.proofs(policy_ops, changes) if env is not None else {}
    report = check_change(changes, ops, inventory, (), proofs=proofs)
    return TriedChange(
        ops=ops,
        changed=changed,
        diff=unified_diff(changed),
        report=report,
        operations=operations,
        proofs=proofs,
    )


def describe_unchanged(ops: Sequence[Op], read_file: ReadFile) -> list[str]:
    """Why each operation changes nothing: the value is already there, or an existing entry covers it."""
    out = []
    for o in ops:
        if isinstance(o, AddCidr):
            cidr = canonical_cidr(o.value) or o.value
            entry = covering_entry(cidr, _entries(o, read_file))
            if entry is not None and canonical_cidr(entry) != cidr:
                out.append(messages.already_covered(cidr, entry, o.file))
            else:
                out.append(f"{cidr} is already in {o.key} of {o.file}")
        elif isinstance(o, SetKey):
            out.append(f"{o.key} is already {o.value!r} in {o.file}")
        elif isinstance(o, RemoveCidr):
            out.append(f"{o.value} is no longer in {o.key} of {o.file}")
        elif isinstance(o, SetImage):
            out.append(messages.image_already_set(o.workload, o.target, o.value, o.file))
    return out


def _entries(op: AddCidr, read_file: ReadFile) -> list[str]:
    """The block-list entries held under the operation's key (empty when the file cannot be read)."""
    try:
        doc, error = parse_document(read_file(op.file))
    except DocumentError:
        return []
    data = doc.get("data") if error is None and isinstance(doc, dict) else None
    value = data.get(op.key) if isinstance(data, dict) else None
    return split_cidr_list(value) if isinstance(value, str) else []

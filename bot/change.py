"""One candidate fix, tried: parse the operations, apply them to the repository's files in memory, guard.

The scanner (playbook and LLM fixes), thread revisions and the LLM fixer's dry runs all go through
:func:`try_operations`, so there is one path from operations to a guarded diff. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.edits import AddCidr, Escalate, FileChange, SetKey, parse_operations, unified_diff
from bot.core.errors import DocumentError, OperationError
from bot.core.guard import GuardPolicy, GuardReport, check_change
from bot.core.inventory import Inventory
from bot.yaml_edit import ReadFile, apply_operations

Op = AddCidr | SetKey | Escalate


@dataclass(frozen=True)
class TriedChange:
    """What a candidate did. Exactly one of ``error``, ``escalation`` or ``ops`` describes the outcome."""

    ops: tuple[Op, ...] = ()
    changed: tuple[FileChange, ...] = ()
    diff: str = ""
    report: GuardReport | None = None  # None when parsing/applying failed or nothing changed
    error: str | None = None  # the operations do not parse or cannot be applied (names the file/op)
    escalation: str | None = None  # the candidate is a single escalate operation
    operations: tuple[dict[str, Any], ...] = field(default=())  # ``ops`` as plain dicts

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
) -> TriedChange:
    """Parse → apply (in memory) → guard. Errors come back as text, never as exceptions."""
    try:
        ops = tuple(parse_operations(data))
    except OperationError as exc:
        return TriedChange(error=str(exc))
    if isinstance(ops[0], Escalate):
        return TriedChange(ops=ops, escalation=ops[0].reason)
    operations = tuple(o.model_dump() for o in ops)
    try:
        changes = apply_operations(ops, read_file, list_styles)
    except (OperationError, DocumentError) as exc:
        return TriedChange(ops=ops, operations=operations, error=str(exc))
    changed = tuple(c for c in changes if c.changed)
    if not changed:
        return TriedChange(ops=ops, operations=operations)
    report = check_change(changes, ops, inventory, targets, policy)
    return TriedChange(
        ops=ops, changed=changed, diff=unified_diff(changed), report=report, operations=operations
    )

"""Exact edits: the guard's byte-fidelity checks (every line outside the edited value kept as it was)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AddCidr, Escalate, FileChange, SetKey
from bot.core.inventory import ConfigRef, Inventory, Server

Op = AddCidr | SetKey | Escalate


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> list[Check]:
    """This family's checks of one proposed change."""
    return []

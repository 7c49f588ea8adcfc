"""The network block-list family: what ``add_cidr`` may add, and the guard's address checks.

Pure: stdlib + pydantic. The editor asks :func:`covering_entry` before adding an entry, so an attacker already
inside a listed range is never added again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AddCidr, Escalate, FileChange, SetKey
from bot.core.inventory import ConfigRef, Inventory, Server
from bot.core.network import is_global_unicast, parse_cidr, protected_by, split_cidr_list

Op = AddCidr | SetKey | Escalate


def covering_entry(cidr: str, entries: Iterable[str]) -> str | None:
    """The first entry of a block list that already covers ``cidr`` (equal or wider), else None."""
    net = parse_cidr(cidr)
    if net is None:
        return None
    for entry in entries:
        other = parse_cidr(entry)
        if other is not None and other.version == net.version and net.subnet_of(other):  # type: ignore[arg-type]
            return entry
    return None


def _data(doc: Any) -> dict[str, Any]:
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, dict) else {}


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> list[Check]:
    """The block-list checks of one proposed change."""
    return [_check_addresses(changed, allowed, inventory, policy)]


def _check_addresses(
    changed: Sequence[FileChange],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> Check:
    problems: list[str] = []
    added_all: list[str] = []
    for c in changed:
        entry = allowed.get(c.path)
        key = entry[1].block_key if entry else None
        if not key:
            continue
        before_val = _data(c.before_doc).get(key)
        after_val = _data(c.after_doc).get(key)
        before = set(split_cidr_list(str(before_val))) if before_val is not None else set()
        after = split_cidr_list(str(after_val)) if after_val is not None else []
        removed = sorted(before - set(after))
        if removed:
            problems.append(f"{c.path}: entries removed from {key}: {', '.join(removed)}")
        for text in after:
            if text in before:
                continue
            added_all.append(text)
            reason = _address_problem(text, inventory, policy)
            if reason:
                problems.append(f"{text}: {reason}")
    if problems:
        return Check(name="addresses_safe", passed=False, detail="; ".join(problems))
    if not added_all:
        return Check(name="addresses_safe", passed=True, detail="no address added")
    return Check(
        name="addresses_safe",
        passed=True,
        detail=f"{', '.join(dict.fromkeys(added_all))}: global unicast, not protected, narrow enough",
    )


def _address_problem(text: str, inventory: Inventory, policy: GuardPolicy) -> str | None:
    net = parse_cidr(text)
    if net is None:
        return "not a valid CIDR"
    if net.prefixlen == 0:
        return "blocks the whole internet"
    limit = policy.max_prefix_v4 if net.version == 4 else policy.max_prefix_v6
    if net.prefixlen < limit:
        return f"wider than /{limit}"
    if not is_global_unicast(net):
        return "not a global unicast network"
    hit = protected_by(net, inventory.protected)
    if hit is not None:
        return f"overlaps protected network {hit}"
    return None

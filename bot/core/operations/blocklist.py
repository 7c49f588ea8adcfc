"""The network block-list family: what ``add_cidr`` may add, and the guard's address checks.

Pure: stdlib + pydantic. The editor asks :func:`covering_entry` before adding an entry, so an attacker already
inside a listed range is never added again.

Checks: ``addresses_safe`` (each added entry is a valid, narrow, global, unprotected network; nothing removed
but entries the bot added and recorded, named by a ``remove_cidr``: :attr:`GuardPolicy.removable`),
``address_budget`` (the whole proposal adds at most so many entries and so much address space, however it is
split) and ``no_redundant_entries`` (no added entry is covered by another entry of its list).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AnyOp, FileChange, RemoveCidr
from bot.core.inventory import ConfigRef, Inventory, Server
from bot.core.network import (
    IPNetwork,
    embedded_ipv4,
    non_global_range,
    parse_cidr,
    protected_by,
    protected_embedding,
    split_cidr_list,
)

Op = AnyOp


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


@dataclass(frozen=True)
class _ListChange:
    """One block list a change touched: its file, key, entries before and after, and the added ones."""

    path: str
    key: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def added(self) -> list[str]:
        old = set(self.before)
        return [t for t in self.after if t not in old]


def _list_changes(
    changed: Sequence[FileChange], allowed: Mapping[str, tuple[Server, ConfigRef]]
) -> list[_ListChange]:
    out: list[_ListChange] = []
    for c in changed:
        entry = allowed.get(c.path)
        key = entry[1].block_key if entry else None
        if not key:
            continue
        before_val = _data(c.before_doc).get(key)
        after_val = _data(c.after_doc).get(key)
        before = split_cidr_list(str(before_val)) if before_val is not None else []
        after = split_cidr_list(str(after_val)) if after_val is not None else []
        out.append(_ListChange(c.path, key, tuple(before), tuple(after)))
    return out


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> list[Check]:
    """The block-list checks of one proposed change."""
    lists = _list_changes(changed, allowed)
    return [
        _check_addresses(lists, ops, inventory, policy),
        _check_budget(lists, policy),
        _check_redundant(lists),
    ]


def _check_addresses(
    lists: Sequence[_ListChange], ops: Sequence[Op], inventory: Inventory, policy: GuardPolicy
) -> Check:
    problems: list[str] = []
    added_all: list[str] = []
    lifted: list[str] = []
    asked = {(o.file, o.key, o.value) for o in ops if isinstance(o, RemoveCidr)}
    for lc in lists:
        removed = sorted(set(lc.before) - set(lc.after))
        # Only an entry the bot added and recorded, named by a remove_cidr, may go; never one people wrote.
        refused = [t for t in removed if (lc.path, lc.key, t) not in policy.removable & asked]
        if refused:
            problems.append(
                f"{lc.path}: entries removed from {lc.key}: {', '.join(refused)} "
                "(only entries the bot added and recorded may be removed)"
            )
        lifted.extend(t for t in removed if t not in refused)
        for text in lc.added:
            added_all.append(text)
            reason = address_problem(text, inventory.protected, policy)
            if reason:
                problems.append(f"{text}: {reason}")
    if problems:
        return Check(name="addresses_safe", passed=False, detail="; ".join(dict.fromkeys(problems)))
    parts = []
    if added_all:
        parts.append(f"{', '.join(dict.fromkeys(added_all))}: global unicast, not protected, narrow enough")
    if lifted:
        parts.append(f"{', '.join(dict.fromkeys(lifted))}: removed, added and recorded by the bot")
    return Check(name="addresses_safe", passed=True, detail="; ".join(parts) or "no address added")


def address_problem(text: str, protected: Sequence[IPNetwork], policy: GuardPolicy) -> str | None:
    """Why the bot may not add ``text`` to a block list (clear text, without the entry), or None."""
    if "%" in text:
        return "IPv6 zone ids are not allowed"
    net = parse_cidr(text)
    if net is None:
        return "not a valid CIDR"
    if net.prefixlen == 0:
        return "blocks the whole internet"
    limit = policy.max_prefix_v4 if net.version == 4 else policy.max_prefix_v6
    if net.prefixlen < limit:
        return f"wider than /{limit}"
    inside = protected_embedding(net, protected)
    if inside is not None:
        embedded, hit = inside
        return f"{embedded.form} address embeds {embedded.text()}, inside protected network {hit}"
    special = non_global_range(net)
    if special is not None:
        return f"not a global unicast network ({special})"
    for embedded in embedded_ipv4(net):
        inner = non_global_range(embedded.network)
        if inner is not None:
            return f"{embedded.form} address embeds {embedded.text()}, not a global unicast address ({inner})"
    direct = protected_by(net, protected)
    if direct is not None:
        return f"overlaps protected network {direct}"
    return None


def _added_networks(lists: Sequence[_ListChange]) -> list[IPNetwork]:
    """Every valid network the proposal adds, each once (an entry added to several files counts once)."""
    nets: dict[IPNetwork, None] = {}
    for lc in lists:
        for text in lc.added:
            net = parse_cidr(text)
            if net is not None:
                nets[net] = None
    return list(nets)


def _space(nets: Iterable[IPNetwork]) -> int:
    """Addresses covered by ``nets`` (one family), overlapping ranges counted once."""
    collapsed: Iterable[IPNetwork] = ipaddress.collapse_addresses(nets)  # type: ignore[type-var]
    return sum(n.num_addresses for n in collapsed)


def _v6_text(total: int) -> str:
    if total == 0:
        return "0 IPv6"
    if total < 2**64:
        return f"{total} IPv6 address{'' if total == 1 else 'es'}"
    n64 = -(-total // 2**64)  # a partial /64 counts as a whole one
    return f"{n64} IPv6 /64{'' if n64 == 1 else 's'}"


def _check_budget(lists: Sequence[_ListChange], policy: GuardPolicy) -> Check:
    nets = _added_networks(lists)
    entries = len(nets)
    v4 = _space(n for n in nets if n.version == 4)
    v6 = _space(n for n in nets if n.version == 6)
    v6_limit = 2 ** (128 - policy.max_total_v6_prefix)
    over_entries = entries > policy.max_added_entries
    over_v4 = v4 > policy.max_total_v4
    over_v6 = v6 > v6_limit
    parts = [
        f"{entries} entr{'y' if entries == 1 else 'ies'}"
        + (f" (limit {policy.max_added_entries})" if over_entries else ""),
        f"{v4} IPv4 address{'' if v4 == 1 else 'es'}"
        + (f" (limit {policy.max_total_v4})" if over_v4 else ""),
        _v6_text(v6) + (f" (limit one /{policy.max_total_v6_prefix})" if over_v6 else ""),
    ]
    detail = ", ".join(parts)
    if over_entries or over_v4 or over_v6:
        return Check(name="address_budget", passed=False, detail=detail)
    limits = (
        f"limits {policy.max_added_entries} entries, {policy.max_total_v4} IPv4 addresses, "
        f"one /{policy.max_total_v6_prefix} of IPv6"
    )
    return Check(name="address_budget", passed=True, detail=f"{detail} ({limits})")


def _check_redundant(lists: Sequence[_ListChange]) -> Check:
    problems: list[str] = []
    for lc in lists:
        added = set(lc.added)
        nets = [parse_cidr(t) for t in lc.after]
        for i, text in enumerate(lc.after):
            net = nets[i]
            if text not in added or net is None:
                continue
            for j, other in enumerate(nets):
                if j == i or other is None or other.version != net.version:
                    continue
                if not net.subnet_of(other):  # type: ignore[arg-type]
                    continue
                # Two equal added entries: the first stays, the later one is the repeat.
                if other == net and lc.after[j] in added and j > i:
                    continue
                by = " (also added by this proposal)" if lc.after[j] in added else ""
                problems.append(f"{text} is already covered by {lc.after[j]}{by} in {lc.path}")
                break
    if problems:
        return Check(name="no_redundant_entries", passed=False, detail="; ".join(dict.fromkeys(problems)))
    return Check(name="no_redundant_entries", passed=True, detail="no added entry is covered by another")

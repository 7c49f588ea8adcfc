"""Instructions people give the bot in a proposal's Slack thread, parsed without any model.

Understood (case-insensitive, anywhere in the message):

* ``also block 45.155.205.0/24`` / ``block 45.155.205.7`` — add more addresses to the same block lists;
* ``use /24`` — widen the attacker's own entry to its /24 (or any prefix the guard then judges); for a
  campaign (the attacker is a network), block that network itself instead of its addresses, never wider;
* ``refresh`` — recompute the fix against the repository as it is now (also renews an expired proposal);
* ``keep`` — the entries this proposal adds (or an expiry proposal would lift) never expire;
* ``undo`` — back to the adopted revision before the current one (an undo is itself undone by ``undo``);
* ``revert to r2`` — back to any earlier adopted revision.

Undo and revert re-apply the old revision's operations to the repository as it is now, as a new revision.

Anything else is "not understood": the bot says what it understands. The result is a new list of
operations; the guard judges it like any other.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

_BLOCK = re.compile(
    r"\bblock\s+((?:[0-9a-fA-F:.]+(?:/\d{1,3})?)(?:\s*(?:,|and)\s*[0-9a-fA-F:.]+(?:/\d{1,3})?)*)", re.I
)
_ADDR = re.compile(r"[0-9a-fA-F:.]+(?:/\d{1,3})?")
_USE_PREFIX = re.compile(r"\buse\s+/(\d{1,3})\b", re.I)
_REFRESH = re.compile(r"\brefresh\b", re.I)
_KEEP = re.compile(r"^\W*keep\b", re.I)  # the message starts with it: "keep", "keep it blocked"
_UNDO = re.compile(r"\bundo\b", re.I)
_REVERT = re.compile(r"\brevert\s+(?:to\s+)?(?:r(?:evision)?\s*)?(\d{1,6})\b", re.I)


class Instruction(BaseModel):
    """What a thread message asks for."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "block" | "prefix" | "refresh" | "undo" | "revert" | "unknown"
    addresses: tuple[str, ...] = ()
    prefix: int | None = None
    revision: int | None = None  # revert: the revision to go back to


def parse_instruction(text: str) -> Instruction:
    """Parse one message (the bot mention already removed)."""
    m = _REVERT.search(text)
    if m:
        return Instruction(kind="revert", revision=int(m.group(1)))
    if _UNDO.search(text):
        return Instruction(kind="undo")
    m = _USE_PREFIX.search(text)
    if m:
        return Instruction(kind="prefix", prefix=int(m.group(1)))
    m = _BLOCK.search(text)
    if m:
        return Instruction(kind="block", addresses=tuple(_ADDR.findall(m.group(1))))
    if _REFRESH.search(text):
        return Instruction(kind="refresh")
    if _KEEP.search(text):
        return Instruction(kind="keep")
    return Instruction(kind="unknown")


def apply_instruction(
    instruction: Instruction, operations: Sequence[dict[str, Any]], attacker: str | None
) -> list[dict[str, Any]]:
    """The operations after an instruction. Raises ValueError with a reason a person can act on."""
    ops = [dict(o) for o in operations]
    cidr_ops = [o for o in ops if o.get("op") == "add_cidr"]
    if instruction.kind == "refresh":
        return ops
    if instruction.kind == "block":
        if not cidr_ops:
            raise ValueError("this proposal has no block list to add to")
        targets = {(o["file"], o["key"]) for o in cidr_ops}
        for address in instruction.addresses:
            for file, key in sorted(targets):
                ops.append({"op": "add_cidr", "file": file, "key": key, "value": address})
        return ops
    if instruction.kind == "prefix" and attacker and "/" in attacker:
        return use_campaign_network(instruction.prefix, ops, attacker)
    if instruction.kind == "prefix":
        if not attacker or not cidr_ops:
            raise ValueError("this proposal blocks no attacker address to widen")
        ip = ipaddress.ip_address(attacker)
        prefix = instruction.prefix or ip.max_prefixlen
        if prefix > ip.max_prefixlen:
            raise ValueError(f"/{prefix} is not a prefix for {attacker}")
        network = ipaddress.ip_network(f"{attacker}/{prefix}", strict=False).with_prefixlen
        for o in cidr_ops:
            try:
                holds_attacker = ip in ipaddress.ip_network(str(o["value"]), strict=False)
            except ValueError:
                holds_attacker = False
            if holds_attacker:  # the attacker's own entry, however it was widened before
                o["value"] = network
        return ops
    raise ValueError("not understood")


def restore_target(instruction: Instruction, adopted: Sequence[int], current: int) -> int:
    """The earlier revision an ``undo`` or ``revert to rN`` goes back to.

    ``adopted`` are the proposal's adopted revision numbers (any order), ``current`` the one in force.
    Undo goes back to the adopted revision just before the current one. Raises ValueError with a reason a
    person can act on.
    """
    earlier = sorted(r for r in set(adopted) if r < current)
    if instruction.kind == "undo":
        if not earlier:
            raise ValueError(f"revision {current} is the first one, there is nothing to undo")
        return earlier[-1]
    if instruction.kind == "revert" and instruction.revision is not None:
        wanted = instruction.revision
        if wanted == current:
            raise ValueError(f"revision {current} is already the current one")
        if wanted not in earlier:
            known = ", ".join(f"r{r}" for r in earlier) or "none"
            raise ValueError(f"r{wanted} is not an earlier adopted revision (earlier ones: {known})")
        return wanted
    raise ValueError("not an undo or revert")


def _label(operation: dict[str, Any]) -> str:
    if operation.get("op") == "add_cidr":
        return str(operation.get("value", ""))
    return f"{operation.get('key', operation.get('op', '?'))}: {operation.get('value', '')}"


def changed_labels(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a revision added and removed, as short labels (a block entry's value; ``key: value`` else).

    One label per value, however many files it is written to; order as in the operations.
    """
    old = [_label(o) for o in before]
    new = [_label(o) for o in after]
    added = tuple(dict.fromkeys(v for v in new if v not in old))
    removed = tuple(dict.fromkeys(v for v in old if v not in new))
    return added, removed


def use_campaign_network(
    prefix: int | None, operations: Sequence[dict[str, Any]], network: str
) -> list[dict[str, Any]]:
    """A campaign's operations blocking ``network`` itself: every ``add_cidr`` of an entry inside it becomes
    one entry of the network per block list (the addresses it covers are not kept). Only the campaign's own
    prefix is accepted (``use /24`` for IPv4, ``use /48`` for IPv6): never wider, never split. Raises
    ValueError with the reason otherwise."""
    net = ipaddress.ip_network(network, strict=False)
    if prefix != net.prefixlen:
        raise ValueError(
            f"a campaign is blocked address by address or as {net.with_prefixlen} "
            f"(`use /{net.prefixlen}`), never wider or split"
        )
    out: list[dict[str, Any]] = []
    for o in operations:
        op = dict(o)
        if op.get("op") == "add_cidr":
            try:
                inside = ipaddress.ip_network(str(op["value"]), strict=False).subnet_of(net)  # type: ignore[arg-type]
            except (ValueError, TypeError):
                inside = False
            if inside:
                op["value"] = net.with_prefixlen
        if op not in out:
            out.append(op)
    if not any(o.get("op") == "add_cidr" and o.get("value") == net.with_prefixlen for o in out):
        raise ValueError("this proposal blocks no address of the campaign's network")
    return out

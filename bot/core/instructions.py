"""Instructions people give the bot in a proposal's Slack thread, parsed without any model.

Understood (case-insensitive, anywhere in the message):

* ``also block 45.155.205.0/24`` / ``block 45.155.205.7`` — add more addresses to the same block lists;
* ``use /24`` — widen the attacker's own entry to its /24 (or any prefix the guard then judges);
* ``refresh`` — recompute the fix against the repository as it is now (also renews an expired proposal).

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


class Instruction(BaseModel):
    """What a thread message asks for."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "block" | "prefix" | "refresh" | "unknown"
    addresses: tuple[str, ...] = ()
    prefix: int | None = None


def parse_instruction(text: str) -> Instruction:
    """Parse one message (the bot mention already removed)."""
    m = _USE_PREFIX.search(text)
    if m:
        return Instruction(kind="prefix", prefix=int(m.group(1)))
    m = _BLOCK.search(text)
    if m:
        return Instruction(kind="block", addresses=tuple(_ADDR.findall(m.group(1))))
    if _REFRESH.search(text):
        return Instruction(kind="refresh")
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

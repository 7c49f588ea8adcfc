"""The router: a playbook if one applies; otherwise the long-tail fixer if configured; otherwise escalate.

Escalation comes first whenever a fix would be unsafe or meaningless: the host is not in the inventory,
the attacker is protected or not globally routable, no playbook applies, or no config of a usable kind
exists. The router proposes operations; it never decides whether they are allowed (the guard does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agents.playbooks import Playbook, find_playbook
from bot import messages
from bot.core.grouping import AlertGroup
from bot.core.inventory import Inventory
from bot.core.network import host_cidr, is_global_unicast, parse_cidr, protected_by

if TYPE_CHECKING:
    from agents.workspace import Workspace


@dataclass
class RouteDecision:
    """What to do with a group: operations from a fixer, or an escalation with a reason."""

    fixer: str
    operations: list[dict[str, str]] = field(default_factory=list)
    escalation: str | None = None
    notes: list[str] = field(default_factory=list)
    list_styles: dict[str, str] = field(default_factory=dict)
    llm_calls: int = 0
    llm_tokens: int = 0


class LongTailFixer(Protocol):
    """What the router calls when no playbook applies (the LLM fixer implements this)."""

    def fix(
        self,
        group: AlertGroup,
        inventory: Inventory,
        workspace: Workspace,
        request: str | None = None,
        current: Sequence[Any] = (),
    ) -> RouteDecision:
        """Operations for the group (tried against ``workspace``, where the guard judges them), or an escalation.

        With ``request`` (a person's instruction from the thread) and ``current`` it revises an existing fix.
        """
        ...


def list_styles(inventory: Inventory, targets: Sequence[str]) -> dict[str, str]:
    """How each allowed config holds its block list: one CIDR a line (denylist) or comma-separated."""
    return {
        path: ("lines" if cfg.kind == "denylist" else "comma")
        for path, (_server, cfg) in inventory.allowed_configs(targets).items()
    }


def route(
    group: AlertGroup,
    inventory: Inventory,
    catalog: Sequence[Playbook],
    long_tail: LongTailFixer | None = None,
    workspace: Workspace | None = None,
) -> RouteDecision:
    """Decide how to answer one alert group."""
    if not group.targets:
        return RouteDecision(fixer="router", escalation=messages.esc_no_targets())
    known = [t for t in group.targets if inventory.server(t) is not None]
    unknown = [t for t in group.targets if inventory.server(t) is None]
    if not known:
        return RouteDecision(fixer="router", escalation=messages.esc_unknown_hosts(unknown))
    notes = [messages.note_unknown_hosts(unknown)] if unknown else []
    attacker_cidr: str | None = None
    if group.attacker:
        attacker_cidr = host_cidr(group.attacker)
        net = parse_cidr(attacker_cidr) if attacker_cidr else None
        if net is None:
            return RouteDecision(fixer="router", escalation=messages.esc_not_global(group.attacker))
        hit = protected_by(net, inventory.protected)
        if hit is not None:
            return RouteDecision(fixer="router", escalation=messages.esc_protected(group.attacker, str(hit)))
        if not is_global_unicast(net):
            return RouteDecision(fixer="router", escalation=messages.esc_not_global(group.attacker))
    playbook = find_playbook(catalog, group)
    if playbook is None:
        if long_tail is not None and workspace is not None:
            decision = long_tail.fix(group, inventory, workspace)
            decision.notes = notes + decision.notes
            decision.list_styles = list_styles(inventory, known)
            return decision
        return RouteDecision(
            fixer="router",
            escalation=messages.esc_no_playbook(group.rule_ids, group.family, bool(group.attacker)),
            notes=notes,
        )
    ops: list[dict[str, str]] = []
    for path, (_server, cfg) in inventory.allowed_configs(known).items():
        if cfg.kind != playbook.config_kind or not cfg.block_key or attacker_cidr is None:
            continue
        ops.extend(playbook.render(path, cfg.block_key, attacker_cidr))
    if not ops:
        return RouteDecision(
            fixer=f"playbook:{playbook.name}",
            escalation=messages.esc_no_config(playbook.config_kind, known),
            notes=notes,
        )
    return RouteDecision(
        fixer=f"playbook:{playbook.name}",
        operations=ops,
        notes=notes,
        list_styles=list_styles(inventory, known),
    )

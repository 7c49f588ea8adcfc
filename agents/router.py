"""The router: a playbook per target where one applies; otherwise the long-tail fixer if configured;
otherwise escalate.

Each known target gets the highest-priority playbook that applies to the group and whose config kind the
target has a config of, rendered for that target's configs of that kind: one proposal blocks the attacker on
every host it hit. Targets that cannot be fixed (not in the inventory, no playbook for their config kinds)
are listed in ``unfixed``; only a group with no fixable target escalates. Escalation comes first whenever a
fix would be unsafe or meaningless (the attacker is protected or not globally routable). The router
proposes operations; it never decides whether they are allowed (the guard does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agents.playbooks import Playbook
from bot import messages
from bot.core.checks import GuardPolicy
from bot.core.grouping import AlertGroup
from bot.core.image_refs import parse_image
from bot.core.inventory import Inventory
from bot.core.network import host_cidr, is_global_unicast, parse_cidr, protected_by
from bot.core.proposal import AnswerFormat, UnfixedTarget
from bot.core.sanitize import plain

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
    llm_format: AnswerFormat = (
        ""  # how the fixer's answers were read: "schema" (structured output) or "fenced"
    )
    unfixed: list[UnfixedTarget] = field(default_factory=list)
    # Playbook fixes: each fixable target's operations (``operations`` is their concatenation), so that a
    # target whose file cannot be edited can be left out while the others are still fixed.
    per_target: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    #: A campaign's note for the card: how many addresses, and the ``use /24`` it offers or why it blocks the /24.
    campaign: str | None = None
    #: Nothing to do, and why (the fix is already in the repository: a bump to a newer tag was merged, or an
    #: existing policy has the same effect).
    suppressed: str | None = None


@dataclass
class FindingContext:
    """What routing a group of scanner findings needs beyond the inventory: the repository reader and, per
    image repository (``registry/repository``), the candidate scans of other tags given in the same scan."""

    read_file: Callable[[str], str]
    candidates: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    policy_env: Any = None  # bot.policy_env.PolicyEnv: the repository for policy proposals
    #: ``(app repo name, path) -> text`` of an application repository's head (dependency groups, issue 18).
    read_app_file: Callable[[str, str], str] | None = None


@runtime_checkable
class PolicyFixer(Protocol):
    """A long-tail fixer that can also write a Kyverno policy for a misconfiguration no template answers."""

    def fix_policy(self, group: AlertGroup, inventory: Inventory, workspace: Workspace) -> RouteDecision:
        """One ``add_policy`` the guard accepts (or the last one it refused, to show blocked), or an escalation."""
        ...


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
    policy: GuardPolicy | None = None,
    findings: FindingContext | None = None,
) -> RouteDecision:
    """Decide how to answer one group.

    Groups of scanner findings are routed by type (0 tokens): an image's CVEs to the image-bump playbook
    (:mod:`agents.image_bumps`), a misconfiguration to an escalation carrying the scanner's resolution.
    A campaign (``group.attackers``) is fixed by playbooks only: one entry per attacker, or its network
    itself when one entry each would exceed ``policy``'s entry budget or diff size (the reason says so).
    """
    if group.is_findings:
        return route_findings(group, inventory, findings, long_tail, workspace)
    if not group.targets:
        return RouteDecision(fixer="router", escalation=messages.esc_no_targets())
    known = [t for t in group.targets if inventory.server(t) is not None]
    unknown = [t for t in group.targets if inventory.server(t) is None]
    if not known:
        return RouteDecision(fixer="router", escalation=messages.esc_unknown_hosts(unknown))
    notes = [messages.note_unknown_hosts(unknown)] if unknown else []
    unfixed = [UnfixedTarget(target=t, reason=messages.unfixed_not_in_inventory()) for t in unknown]
    attacker_cidr: str | None = None
    # A campaign's members were checked when it was formed (bot.core.campaigns); its attacker is a network.
    if group.attacker and not group.attackers:
        attacker_cidr = host_cidr(group.attacker)
        net = parse_cidr(attacker_cidr) if attacker_cidr else None
        if net is None:
            return RouteDecision(fixer="router", escalation=messages.esc_not_global(group.attacker))
        hit = protected_by(net, inventory.protected)
        if hit is not None:
            return RouteDecision(fixer="router", escalation=messages.esc_protected(group.attacker, str(hit)))
        if not is_global_unicast(net):
            return RouteDecision(fixer="router", escalation=messages.esc_not_global(group.attacker))
    applicable = [pb for pb in catalog if pb.applies_to(group)]  # the catalog is sorted by priority
    if not applicable:
        if long_tail is not None and workspace is not None and not group.attackers:
            decision = long_tail.fix(group, inventory, workspace)
            decision.notes = notes + decision.notes
            decision.unfixed = unfixed + decision.unfixed
            decision.list_styles = list_styles(inventory, known)
            return decision
        return RouteDecision(
            fixer="router",
            escalation=messages.esc_no_playbook(group.rule_ids, group.family, bool(group.attacker)),
            notes=notes,
        )
    cidrs = [attacker_cidr] if attacker_cidr else []
    if group.attackers:
        return _route_campaign(group, inventory, known, applicable, notes, unfixed, policy or GuardPolicy())
    return _playbook_fix(inventory, known, applicable, cidrs, notes, unfixed)


def route_findings(
    group: AlertGroup,
    inventory: Inventory,
    context: FindingContext | None,
    long_tail: LongTailFixer | None = None,
    workspace: Workspace | None = None,
) -> RouteDecision:
    """The router by finding type, a data table (``agents/routes.yaml``, docs/policies.md): image CVEs → image
    bump; a misconfiguration a vetted template answers → ``add_policy``; one no template answers → the LLM
    fixer's ``add_policy`` when one is configured (proven like any other); an Audit policy with evidence →
    ``set_policy_mode``; runtime failures, RBAC escalation and anything unknown → escalate."""
    from agents.policy_catalog import route_for

    chosen = route_for(group.family or "", group.rule_ids)
    no_directory = chosen.action in ("add_policy", "fixer_policy") and not inventory.policy_directories
    if chosen.action == "add_policy" and not no_directory:
        from agents.policy_proposals import route_add_policy

        return route_add_policy(group, inventory, context.policy_env if context else None)
    if (
        chosen.action == "fixer_policy"
        and not no_directory
        and isinstance(long_tail, PolicyFixer)
        and workspace is not None
    ):
        return long_tail.fix_policy(group, inventory, workspace)
    if chosen.action == "set_policy_mode":
        from agents.policy_proposals import route_set_policy_mode

        return route_set_policy_mode(group, context.policy_env if context else None)
    if group.family == "misconfiguration":
        worst = group.findings[0] if group.findings else None
        check = group.rule_ids[0] if group.rule_ids else "?"
        resource = group.subject.split(" ", 1)[1] if " " in group.subject else group.subject
        if group.subject.startswith("policy:"):  # grouped by policy template across resources
            from agents.policy_proposals import finding_resources

            resource = ", ".join(finding_resources(group)[:3]) or resource
        text = messages.esc_misconfiguration(
            check,
            plain(worst.title, 200) if worst else "",
            plain(resource, 200),
            plain(worst.resolution, 500) if worst else "",
            group.alert_count,
        )
        if no_directory and chosen.action == "add_policy":
            text += " " + messages.esc_no_policy_directory(group.subject.removeprefix("policy:"))
        return RouteDecision(fixer="router", escalation=text)
    if group.family == "image" and context is not None:
        from agents.image_bumps import route_image_group

        return route_image_group(
            group,
            inventory,
            list(group.findings),
            context.read_file,
            context.candidates.get(_image_name(group.subject), ()),
        )
    if group.family == "dependency" and context is not None and context.read_app_file is not None:
        from agents.dependency_bumps import route_dependency_group

        return route_dependency_group(group, inventory, list(group.findings), context.read_app_file)
    return RouteDecision(fixer="router", escalation=messages.esc_findings_unrouted(group.family or "?"))


def _image_name(subject: str) -> str:
    ref = parse_image(subject)
    return ref.name if ref is not None else subject


def _route_campaign(
    group: AlertGroup,
    inventory: Inventory,
    known: Sequence[str],
    applicable: Sequence[Playbook],
    notes: list[str],
    unfixed: list[UnfixedTarget],
    policy: GuardPolicy,
) -> RouteDecision:
    """A campaign's fix: one entry per attacker address, or the network when that is over the guard's budget."""
    network = str(group.attacker)
    n = len(group.attackers)
    cidrs = [c for c in (host_cidr(a) for a in group.attackers) if c]
    why: str | None = None
    if n > policy.max_added_entries:
        why = messages.campaign_over_entries(n, policy.max_added_entries)
    else:
        decision = _playbook_fix(inventory, known, applicable, cidrs, notes, list(unfixed))
        styles = list_styles(inventory, known)
        lines = sum(1 for o in decision.operations if styles.get(o.get("file", "")) == "lines")
        if lines > policy.max_changed_lines:
            why = messages.campaign_over_lines(lines, policy.max_changed_lines)
        else:
            decision.campaign = messages.campaign_each(n, network)
            decision.notes = [decision.campaign, *decision.notes]
            return decision
    decision = _playbook_fix(inventory, known, applicable, [network], notes, unfixed)
    decision.campaign = messages.campaign_whole(n, network, why)
    decision.notes = [decision.campaign, *decision.notes]
    return decision


def _playbook_fix(
    inventory: Inventory,
    known: Sequence[str],
    applicable: Sequence[Playbook],
    cidrs: Sequence[str],
    notes: list[str],
    unfixed: list[UnfixedTarget],
) -> RouteDecision:
    """Each known target's fix by the first applicable playbook for its configs, blocking ``cidrs``."""
    per_target: dict[str, list[dict[str, str]]] = {}
    used: list[Playbook] = []
    for target in known:
        pb, ops = _fix_for(target, inventory, applicable, cidrs)
        if pb is None:
            kinds = sorted({cfg.kind for _server, cfg in inventory.allowed_configs([target]).values()})
            wanted = list(dict.fromkeys(p.config_kind for p in applicable))
            unfixed.append(UnfixedTarget(target=target, reason=messages.unfixed_no_playbook(kinds, wanted)))
            continue
        per_target[target] = ops
        if pb not in used:
            used.append(pb)
    if not per_target:
        kinds_wanted = " or ".join(dict.fromkeys(p.config_kind for p in applicable))
        return RouteDecision(
            fixer=f"playbook:{applicable[0].name}",
            escalation=messages.esc_no_config(kinds_wanted, known),
            notes=notes,
            unfixed=unfixed,
        )
    used.sort(key=lambda p: (p.priority, p.name))
    return RouteDecision(
        fixer="playbook:" + "+".join(p.name for p in used),
        operations=concat_operations(per_target.values()),
        notes=notes,
        list_styles=list_styles(inventory, known),
        unfixed=unfixed,
        per_target=per_target,
    )


def _fix_for(
    target: str, inventory: Inventory, applicable: Sequence[Playbook], cidrs: Sequence[str]
) -> tuple[Playbook | None, list[dict[str, str]]]:
    """The first applicable playbook whose config kind the target has (with a block key), rendered for it
    once per CIDR to block (one for an attacker, one per address for a campaign)."""
    server = inventory.server(target)
    if server is None or not cidrs:
        return None, []
    for pb in applicable:
        ops: list[dict[str, str]] = []
        for cfg in server.configs:
            if cfg.kind == pb.config_kind and cfg.block_key:
                for cidr in cidrs:
                    ops.extend(pb.render(cfg.path, cfg.block_key, cidr))
        if ops:
            return pb, ops
    return None, []


def concat_operations(parts: Iterable[Sequence[dict[str, str]]]) -> list[dict[str, str]]:
    """Operations of several targets as one list, each operation once (two servers may list one file)."""
    out: list[dict[str, str]] = []
    for ops in parts:
        for op in ops:
            if op not in out:
                out.append(op)
    return out

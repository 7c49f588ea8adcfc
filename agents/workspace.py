"""What the long-tail fixer may see and try for one alert group, with the guard as the only judge.

A :class:`Workspace` is built by the scanner for one group. It shows the fixer the configs the inventory
allows for the group's targets (and their current text), and :meth:`Workspace.attempt` runs a candidate
list of operations through the same parse → apply → guard path a real proposal takes, in memory. The
answer says precisely why a candidate was refused, so the model can correct itself on the next step.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.change import try_operations
from bot.core.edits import AddCidr, AnyOp
from bot.core.errors import DocumentError
from bot.core.guard import GuardPolicy, GuardReport, check_change
from bot.core.inventory import ConfigRef, Inventory, Server
from bot.core.network import parse_cidr
from bot.yaml_edit import ReadFile


@dataclass(frozen=True)
class Attempt:
    """The outcome of one candidate: accepted (the guard passed and something changed) or why not."""

    accepted: bool
    error: str = ""
    diff: str = ""
    guard: GuardReport | None = None
    escalation: str | None = None  # the candidate was a single escalate operation
    operations: tuple[dict[str, str], ...] = ()  # the candidate, validated and normalised

    @property
    def failed_checks(self) -> tuple[str, ...]:
        """The names of the checks the candidate failed: the guard's, or the fixer's own stage."""
        if self.accepted or self.escalation is not None:
            return ()
        if self.guard is not None and not self.guard.passed:
            return tuple(c.name for c in self.guard.failures)
        if self.error.startswith("add_cidr:") and self.operations:
            return ("attacker_scope",)
        return ("operations_valid",)


@dataclass
class Workspace:
    """One group's editable configs, and a dry run of candidate operations on them."""

    inventory: Inventory
    targets: Sequence[str]
    read_file: ReadFile
    policy: GuardPolicy
    attacker: str | None
    list_styles: dict[str, str] = field(default_factory=dict)
    #: bot.policy_env.PolicyEnv of a scan of scanner reports: a policy answer is proven with it (None: not proven)
    policy_env: Any = None

    def configs(self) -> list[tuple[Server, ConfigRef]]:
        """The configs the inventory lists for the known targets, in inventory order."""
        return list(self.inventory.allowed_configs(self.targets).values())

    def file_text(self, path: str) -> str:
        """The current text of an allowed config, or a one-line reason it cannot be read."""
        try:
            return self.read_file(path)
        except DocumentError as exc:
            return f"(cannot read: {exc})"

    def attempt(self, operations: Any) -> Attempt:
        """Parse, scope-check, apply and guard ``operations``; nothing is written anywhere."""
        tried = try_operations(
            operations,
            read_file=self.read_file,
            inventory=self.inventory,
            targets=self.targets,
            policy=self.policy,
            list_styles=self.list_styles,
            policy_env=self.policy_env,
        )
        if not tried.ops:
            return Attempt(accepted=False, error=tried.error or "")
        if tried.escalation is not None:
            return Attempt(accepted=False, escalation=tried.escalation)
        scope = self._scope_problem(tried.ops)
        if scope:
            return Attempt(accepted=False, error=scope, operations=tried.operations)
        if tried.error is not None:
            return Attempt(accepted=False, error=tried.error, operations=tried.operations)
        report = tried.report
        if report is None:  # nothing changed: the guard's has_change check says so by name
            report = check_change([], tried.ops, self.inventory, self.targets, self.policy)
        if not report.passed:
            refusal = f"the guard refused it: {report.summary()}"
            return Attempt(
                accepted=False, error=refusal, diff=tried.diff, guard=report, operations=tried.operations
            )
        return Attempt(accepted=True, diff=tried.diff, guard=report, operations=tried.operations)

    def _scope_problem(self, ops: Sequence[AnyOp]) -> str | None:
        """The fixer may block only the attacker it was asked about (at most its /24 or /48)."""
        attacker = ipaddress.ip_address(self.attacker) if self.attacker else None
        for o in ops:
            if not isinstance(o, AddCidr):
                continue
            if attacker is None:
                return "add_cidr: these alerts name no attacker address, so there is nothing to block"
            net = parse_cidr(o.value)
            if net is None:
                return f"add_cidr: {o.value!r} is not an address or CIDR"
            if attacker not in net:
                return (
                    f"add_cidr: {o.value} does not contain the attacker {attacker}; block only the attacker"
                )
        return None

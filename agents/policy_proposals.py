"""The policy playbook: a misconfiguration group answered by a vetted template as one ``add_policy``, and an
Audit policy with evidence of zero violations as one ``set_policy_mode``.

The operations go through :func:`bot.change.try_operations` like any other: the proof (every must-fail
fails, every must-pass passes, the finding's own resources fail) and the impact preview are computed there,
on the trusted path, and the guard blocks a policy that is not proven. A policy whose verdicts an existing
policy of the repository already gives (however written) is ``suppressed``, naming that file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.policy_catalog import template_for
from agents.router import RouteDecision
from bot import messages
from bot.core.grouping import AlertGroup
from bot.core.inventory import Inventory
from bot.core.sanitize import plain
from bot.policy_proof import same_effect

if TYPE_CHECKING:
    from bot.policy_env import PolicyEnv


def finding_resources(group: AlertGroup) -> list[str]:
    """The resources the group's findings name: ``ns/Kind/name`` (the owning workload when known) and the
    scanned file for ``trivy config``."""
    out: list[str] = []
    for f in group.findings:
        kind, name = f.workload_kind, f.workload
        if kind and name and kind != "file":
            out.append(f"{f.namespace or '-'}/{kind}/{name}")
        if f.source == "trivy-config" and f.target:
            out.append(f.target)
    return list(dict.fromkeys(out))


def route_add_policy(group: AlertGroup, inventory: Inventory, env: PolicyEnv | None) -> RouteDecision:
    """One ``add_policy`` from the template answering the group's checks (suppressed when one exists)."""
    template = next((t for t in (template_for(i) for i in group.rule_ids) if t is not None), None)
    if template is None:
        return RouteDecision(fixer="router", escalation=messages.esc_no_policy_template(list(group.rule_ids)))
    if not inventory.policy_directories:
        return RouteDecision(
            fixer="playbook:policy", escalation=messages.esc_no_policy_directory(template.name)
        )
    if env is not None:
        existing = same_effect(template.policy, [*template.must_pass, *template.must_fail], env.repo)
        if existing is not None:
            return RouteDecision(
                fixer="playbook:policy",
                suppressed=messages.suppressed_same_policy(template.name, existing.path),
            )
    folder = inventory.policy_directories[0].path
    op: dict[str, Any] = {
        "op": "add_policy",
        "file": f"{folder}/{template.policy_name}.yaml",
        "template": template.name,
        "policy": template.policy,
        "must_pass": list(template.must_pass),
        "must_fail": list(template.must_fail),
        "evidence": {
            "findings": list(group.rule_ids),
            "resources": finding_resources(group)[:500],
            "reason": plain(f"{template.title}: {group.alert_count} finding(s)", 300),
        },
    }
    return RouteDecision(fixer="playbook:policy", operations=[op])


def route_set_policy_mode(group: AlertGroup, env: PolicyEnv | None = None) -> RouteDecision:
    """One ``set_policy_mode`` for a promotion group (subject ``promote:<file>#<policy>``), recording the kind
    of evidence it rests on (re-checked at publish, :mod:`bot.policy_env`)."""
    file, _, name = group.subject.removeprefix("promote:").partition("#")
    op: dict[str, Any] = {
        "op": "set_policy_mode", "file": file, "policy": name, "expect": "Audit", "value": "Enforce"
    }  # fmt: skip
    doc = next((m.doc for m in env.repo.policies if m.path == file), None) if env is not None else None
    if env is not None and doc is not None:
        op["evidence"] = env.evidence(name, doc)
    return RouteDecision(fixer="playbook:policy", operations=[op])

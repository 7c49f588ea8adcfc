"""The LLM fixer's policies: a misconfiguration no vetted template answers, answered with one ``add_policy``.

The model sees the group's checks and resources (checked by the bot), the findings' text and the finding's own
manifests from the repository (both hostile: inside nonce-delimited data blocks), and the policy directories
the inventory lists. It answers with one ``add_policy`` (a kyverno.io ClusterPolicy in Audit with its must-pass
and must-fail fixtures) or one escalation, matching :func:`agents.answer.policy_schema`. What the model may not
decide is set by the bot: ``template`` is "" (it is no vetted template) and ``evidence`` is the group's own
findings and resources, so the proof shows the finding's real resource failing, not one the model picked.
The answer then takes the trusted path of every policy (:func:`bot.change.try_operations`: the engine's
proof, the impact preview, the guard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from agents.answer import policy_schema
from agents.model import Message
from agents.policy_proposals import finding_resources
from agents.prompts import render
from agents.untrusted import block, field
from agents.workspace import Workspace
from bot import messages
from bot.core.grouping import AlertGroup
from bot.core.inventory import Inventory
from bot.core.sanitize import plain

#: A policy with fixtures is longer than a ConfigMap edit.
MAX_POLICY_REPLY_TOKENS = 2048
MAX_FINDINGS_SHOWN = 10
MAX_MANIFESTS_SHOWN = 3
MAX_MANIFEST_CHARS = 2500


def policy_prompt(group: AlertGroup, workspace: Workspace, nonce: str, now: str) -> list[Message]:
    """The first conversation for a misconfiguration group (system + user), from the prompt YAML."""
    env = workspace.policy_env
    resources = finding_resources(group)
    evidence = [
        f"{field(f.id, 40)} {field(f.severity, 12)} on {field(f.workload_ref or f.subject, 200)}: "
        f"{field(f.title, 300)}; resolution: {field(f.resolution, 400)}"
        + (f"; file {field(f.target, 200)}" if f.target else "")
        for f in group.findings[:MAX_FINDINGS_SHOWN]
    ]
    if len(group.findings) > MAX_FINDINGS_SHOWN:
        evidence.append(f"(and {len(group.findings) - MAX_FINDINGS_SHOWN} more findings)")
    manifests: list[str] = []
    existing: list[str] = []
    directories = [d.path for d in workspace.inventory.policy_directories]
    if env is not None:
        from bot.policy_proof import own_resources

        own, _missing = own_resources(resources, env.repo)
        for m in own[:MAX_MANIFESTS_SHOWN]:
            text = yaml.safe_dump(m.doc, sort_keys=False)[:MAX_MANIFEST_CHARS]
            manifests += [f"# {m.path}: {m.ref}", *text.splitlines()]
        existing = [m.path for m in env.repo.policies if m.path.rpartition("/")[0] in directories]
    user = render(
        "fixer",
        "policy_user",
        now=now,
        checks=", ".join(field(r, 40) for r in group.rule_ids[:12]),
        count=str(group.alert_count),
        resources=", ".join(field(r, 120) for r in resources[:5]) or "none named",
        findings_block=block("findings", "\n".join(evidence), nonce),
        manifests_block=block("repository manifests", "\n".join(manifests) or "(not found)", nonce),
        directories=", ".join(directories),
        namespaced=_namespaced_line(*policy_namespace(group, workspace)),
        existing=", ".join(field(e, 200) for e in existing[:20]) or "none",
    )
    return [("system", render("fixer", "policy_system")), ("user", user)]


def policy_namespace(group: AlertGroup, workspace: Workspace) -> tuple[str, list[str]]:
    """The one namespace every resource of the finding is in (as the repository holds them, each naming its
    namespace) and the listed policy directories that list it for a namespaced ``Policy``; ("", []) when the
    resources are not all in one such namespace. The guard decides what is created (docs/policies.md)."""
    env = workspace.policy_env
    if env is None:
        return "", []
    from bot.policy_proof import own_resources

    own, missing = own_resources(finding_resources(group), env.repo)
    spaces = {str((m.doc.get("metadata") or {}).get("namespace") or "") for m in own}
    if missing or len(spaces) != 1 or "" in spaces:
        return "", []
    (namespace,) = spaces
    dirs = [d.path for d in workspace.inventory.policy_directories if namespace in d.namespaces]
    return (namespace, dirs) if dirs else ("", [])


def _namespaced_line(namespace: str, directories: list[str]) -> str:
    if not namespace:
        return "Only a ClusterPolicy is allowed here."
    return (
        f"A namespaced Policy is allowed too: kind Policy with metadata.namespace {namespace}, in "
        f"{', '.join(directories)}; it applies only to resources in {namespace}, so its fixtures must be too."
    )


def fixer_policy_schema(group: AlertGroup, inventory: Inventory, workspace: Workspace) -> dict[str, Any]:
    """The answer schema for this group: a ClusterPolicy in any listed directory, or a Policy in the finding's
    one namespace where a directory lists it (:func:`policy_namespace`)."""
    namespace, dirs = policy_namespace(group, workspace)
    return policy_schema([d.path for d in inventory.policy_directories], namespace, dirs)


def policy_operations(
    operations: Sequence[Any], group: AlertGroup, model: str
) -> tuple[list[dict[str, Any]] | None, str]:
    """The answer as the one operation the bot tries: an escalation as it is, or an ``add_policy`` with the
    fields the bot decides filled in (no template; the group's findings and resources as evidence)."""
    op = operations[0] if len(operations) == 1 else None
    if not isinstance(op, Mapping) or op.get("op") not in ("add_policy", "escalate"):
        return None, messages.esc_fixer_policy_operation()
    if op["op"] == "escalate":
        return [dict(op)], ""
    out = dict(op)
    out["template"] = ""
    out["evidence"] = {
        "findings": list(group.rule_ids)[:500],
        "resources": finding_resources(group)[:500],
        "reason": plain(messages.fixer_policy_reason(model, list(group.rule_ids), group.alert_count), 300),
    }
    return [out], ""


def describe_policy(op: Mapping[str, Any]) -> str:
    """A short, sanitised line for humans: the policy the model wrote."""
    policy = op.get("policy")
    meta = policy.get("metadata") if isinstance(policy, Mapping) else None
    name = meta.get("name", "?") if isinstance(meta, Mapping) else "?"
    counts = [len(v) if isinstance(v, list) else 0 for v in (op.get("must_pass"), op.get("must_fail"))]
    return field(
        f"add_policy {name} in {op.get('file')} ({counts[0]} must-pass, {counts[1]} must-fail fixtures)", 300
    )

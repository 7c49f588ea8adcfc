"""One policy's verdict on one resource, as admission would give it on CREATE: the unit of the proof, the
impact preview and policy dedup (bot/policy_proof.py)."""

from __future__ import annotations

from typing import Any

from tools.kyverno.engine import evaluate_policy
from tools.kyverno.match import Admission

FAIL, PASS, SKIP, NOT_APPLICABLE, UNSUPPORTED, ERROR = (
    "fail",
    "pass",
    "skip",
    "not applicable",
    "unsupported",
    "error",
)


def verdict(policy: dict[str, Any], resource: dict[str, Any]) -> str:
    """``fail`` when any rule fails (or warns), ``unsupported``/``error`` when any rule cannot be evaluated,
    ``pass`` when a rule passed, ``skip`` when the rules skipped, ``not applicable`` when none applies. A
    namespaced ``Policy`` applies only to resources of its own namespace, as at admission."""
    namespace = ""
    if policy.get("kind") == "Policy":
        meta = policy.get("metadata")
        namespace = str((meta.get("namespace") if isinstance(meta, dict) else None) or "default")
    try:
        results = evaluate_policy(policy, resource, Admission("CREATE", policy_namespace=namespace))
    except Exception:  # a shape the engine did not anticipate is never a verdict
        return UNSUPPORTED
    statuses = {r.status for r in results}
    if UNSUPPORTED in statuses:
        return UNSUPPORTED
    if ERROR in statuses:
        return ERROR
    if statuses & {"fail", "warn"}:
        return FAIL
    if PASS in statuses:
        return PASS
    return SKIP if statuses else NOT_APPLICABLE


def flags(status: str) -> bool | None:
    """True when the verdict flags the resource, False when it admits it, None when it is no verdict."""
    if status == FAIL:
        return True
    if status in (PASS, SKIP, NOT_APPLICABLE):
        return False
    return None

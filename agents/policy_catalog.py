"""The vetted policy template catalogue (package data ``agents/policy_templates/*.yaml``) and the router's
table by finding type (``agents/routes.yaml``); see docs/policies.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError

HERE = Path(__file__).parent


@dataclass(frozen=True)
class PolicyTemplate:
    """One vetted policy, the finding ids it answers, and the resources it must admit and flag."""

    name: str
    title: str
    findings: tuple[str, ...]
    policy: dict[str, Any]
    must_pass: tuple[dict[str, Any], ...]
    must_fail: tuple[dict[str, Any], ...]

    @property
    def policy_name(self) -> str:
        return str(self.policy["metadata"]["name"])


@lru_cache(maxsize=1)
def templates() -> tuple[PolicyTemplate, ...]:
    """Every template, sorted by name."""
    return tuple(load_template(p) for p in sorted((HERE / "policy_templates").glob("*.yaml")))


def load_template(path: Path) -> PolicyTemplate:
    """One template file; a key given twice in one mapping is refused (the safe loader would keep the last)."""
    from tools.kyverno.policy import safe_load_unique

    try:
        data = safe_load_unique(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"policy template {path.name}: {exc.problem}") from None
    return PolicyTemplate(
        name=str(data["name"]),
        title=str(data["title"]),
        findings=tuple(data["findings"]),
        policy=data["policy"],
        must_pass=tuple(data["must_pass"]),
        must_fail=tuple(data["must_fail"]),
    )


def template_for(finding_id: str) -> PolicyTemplate | None:
    """The template that answers ``finding_id``, if any."""
    for t in templates():
        if finding_id in t.findings:
            return t
    return None


def by_check() -> dict[str, str]:
    """Finding id → template name (grouping: one proposal per template across resources)."""
    return {fid: t.name for t in templates() for fid in t.findings}


@dataclass(frozen=True)
class Route:
    action: str
    reason: str = ""


@lru_cache(maxsize=1)
def routes() -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load((HERE / "routes.yaml").read_text(encoding="utf-8"))["routes"])


def route_for(family: str, ids: Sequence[str]) -> Route:
    """The first route of the table that holds for a group of this family and these finding ids."""
    for r in routes():
        if "family" in r and r["family"] != family:
            continue
        if "ids" in r and not set(ids) & set(r["ids"]):
            continue
        if "id_prefix" in r and not any(i.startswith(r["id_prefix"]) for i in ids):
            continue
        if "template" in r and bool(r["template"]) != any(template_for(i) for i in ids):
            continue
        return Route(str(r["action"]), str(r.get("reason", "")))
    return Route("escalate", "no route")

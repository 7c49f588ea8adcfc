"""The playbook catalog: deterministic fixes for common alerts, no LLM, no tokens.

Playbooks are YAML package data (``agents/playbooks/*.yaml``) written in the same edit-operation format the
LLM fixer answers in. Operation templates may use only ``{block_key}`` (the config's block-list key) and
``{attacker_cidr}`` (the attacker as a canonical /32 or /128): alert text never reaches a template.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.errors import InputError
from bot.core.grouping import AlertGroup

_TEMPLATE_VARS = ("{block_key}", "{attacker_cidr}")
DEFAULT_BAN_DAYS = 30.0


class MatchAlternative(BaseModel):
    """One way a group can match: every given condition must hold.

    Wazuh 4.x rules have numeric ids and groups; Wazuh 5.x rules have UUIDs, ``tags`` (``attack.t1110``,
    the integration) and a ``title``. The reader carries 5.x tags as the alert's groups, so ``tags_any``
    matches the same set as ``groups_any`` (named for the 5.x reader of a playbook); ``titles_any`` are
    case-insensitive substrings of a rule's description (4.x) or title (5.x).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups_all: tuple[str, ...] = ()
    groups_any: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    titles_any: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()

    def matches(self, group: AlertGroup) -> bool:
        groups = {g.lower() for g in group.rule_groups}
        if self.groups_all and not {g.lower() for g in self.groups_all} <= groups:
            return False
        if self.groups_any and not groups & {g.lower() for g in self.groups_any}:
            return False
        if self.tags_any and not groups & {t.lower() for t in self.tags_any}:
            return False
        if self.titles_any:
            titles = [d.lower() for d in group.rule_descriptions.values()]
            if not any(t.lower() in d for t in self.titles_any for d in titles):
                return False
        return not (self.rule_ids and not set(self.rule_ids) & set(group.rule_ids))


class Match(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requires_attacker: bool = True
    any: tuple[MatchAlternative, ...] = Field(min_length=1)


class OperationTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    op: str
    key: str
    value: str


class Playbook(BaseModel):
    """A deterministic fix for one kind of alert on one kind of config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    defends: str
    priority: int = 100
    match: Match
    config_kind: str
    operations: tuple[OperationTemplate, ...] = Field(min_length=1)
    #: How long an entry this playbook adds stays blocked before the bot proposes removing it (days;
    #: a thread's ``keep`` makes it permanent).
    ban_time: float = Field(default=DEFAULT_BAN_DAYS, gt=0, le=3650)

    def applies_to(self, group: AlertGroup) -> bool:
        if self.match.requires_attacker and not group.attacker:
            return False
        return any(alt.matches(group) for alt in self.match.any)

    def render(self, file: str, block_key: str, attacker_cidr: str) -> list[dict[str, str]]:
        """The concrete operations for one config file."""
        out = []
        for t in self.operations:
            out.append(
                {
                    "op": t.op,
                    "file": file,
                    "key": t.key.replace("{block_key}", block_key),
                    "value": t.value.replace("{attacker_cidr}", attacker_cidr),
                }
            )
        return out


def _check_templates(pb: Playbook, source: str) -> None:
    for t in pb.operations:
        for text in (t.key, t.value):
            stripped = text
            for var in _TEMPLATE_VARS:
                stripped = stripped.replace(var, "")
            if "{" in stripped or "}" in stripped:
                raise InputError(f"{source}: only {', '.join(_TEMPLATE_VARS)} may appear in templates")


def load_catalog(directory: Path | None = None) -> list[Playbook]:
    """Load every playbook (the packaged ones by default), sorted by priority."""
    if directory is None:
        files = [
            (f.name, f.read_text(encoding="utf-8"))
            for f in resources.files("agents").joinpath("playbooks").iterdir()
            if f.name.endswith(".yaml")
        ]
    else:
        files = [(f.name, f.read_text(encoding="utf-8")) for f in sorted(directory.glob("*.yaml"))]
    catalog: list[Playbook] = []
    for name, text in sorted(files):
        try:
            pb = Playbook.model_validate(yaml.safe_load(text))
        except (yaml.YAMLError, ValidationError) as exc:
            raise InputError(f"playbook {name}: {str(exc).splitlines()[0]}") from None
        _check_templates(pb, name)
        catalog.append(pb)
    catalog.sort(key=lambda p: (p.priority, p.name))
    return catalog


def ban_days(catalog: Sequence[Playbook], fixer: str) -> float:
    """The ban time (days) of a proposal's fixer (``playbook:a+b``: the shortest of them; any other
    fixer, e.g. the LLM: the default)."""
    if not fixer.startswith("playbook:"):
        return DEFAULT_BAN_DAYS
    names = set(fixer.removeprefix("playbook:").split("+"))
    times = [pb.ban_time for pb in catalog if pb.name in names]
    return min(times, default=DEFAULT_BAN_DAYS)


def find_playbook(catalog: Sequence[Playbook], group: AlertGroup) -> Playbook | None:
    """The first playbook (by priority) that applies to the group."""
    for pb in catalog:
        if pb.applies_to(group):
            return pb
    return None

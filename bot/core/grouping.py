"""Grouping: one attacker = one group.

Alerts that name a source address are grouped by that address; a group stays open while its alerts keep
coming less than ``window`` seconds apart (a session window), so a slow, steady attacker is still one
proposal. Alerts without an attacker are grouped by (agent, rule family). Groups whose highest level is
below ``min_level`` are dropped. Group ids are derived from content only, so the same alerts always give
the same ids.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from bot.core.alert import Alert

DEFAULT_WINDOW_S = 15 * 60
DEFAULT_MIN_LEVEL = 7
MAX_SAMPLES = 5
MAX_ALERT_IDS = 50

#: Wazuh groups that say where an event came from rather than what it is; skipped when naming a family.
_GENERIC_GROUPS = frozenset({"syslog", "ossec", "wazuh", "local", "json", "accesslog", "windows", "linux"})


class AlertSample(BaseModel):
    """A few alerts kept as evidence for humans (text is hostile; sanitise before display)."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    ts: float | None
    rule_id: str
    level: int
    description: str
    log: str


class AlertGroup(BaseModel):
    """Alerts that one fix (or one escalation) answers."""

    model_config = ConfigDict(frozen=True)

    id: str
    key: str
    attacker: str | None
    family: str | None
    targets: tuple[str, ...]
    alert_count: int
    rule_ids: tuple[str, ...]
    rule_descriptions: dict[str, str]
    rule_groups: tuple[str, ...]
    max_level: int
    mitre: tuple[str, ...]
    first_ts: float | None
    last_ts: float | None
    alert_ids: tuple[str, ...]
    samples: tuple[AlertSample, ...]
    source: str = "wazuh"

    @property
    def subject(self) -> str:
        """What the group is about: the attacker, or ``agent/family``."""
        if self.attacker:
            return self.attacker
        return f"{','.join(self.targets) or '?'}/{self.family}"


def rule_family(groups: tuple[str, ...], rule_id: str) -> str:
    """The family of a rule: its first specific Wazuh group, or ``rule-<id>`` when it has none."""
    for g in groups:
        if g not in _GENERIC_GROUPS:
            return g
    return groups[0] if groups else f"rule-{rule_id}"


_family = lru_cache(maxsize=4096)(rule_family)


class _Acc:
    """Mutable accumulator used while scanning; frozen into an :class:`AlertGroup` at the end."""

    __slots__ = (
        "alert_ids",
        "attacker",
        "count",
        "descriptions",
        "family",
        "first_ts",
        "last_ts",
        "max_level",
        "mitre",
        "rule_groups",
        "rule_ids",
        "samples",
        "source",
        "targets",
    )

    def __init__(self, alert: Alert, attacker: str | None, family: str | None) -> None:
        self.attacker = attacker
        self.family = family
        self.source = alert.source
        self.count = 0
        self.max_level = -1
        self.first_ts = alert.ts
        self.last_ts = alert.ts
        self.targets: set[str] = set()
        self.rule_ids: set[str] = set()
        self.descriptions: dict[str, str] = {}
        self.rule_groups: set[str] = set()
        self.mitre: set[str] = set()
        self.alert_ids: list[str] = []
        self.samples: list[Alert] = []

    def add(self, alert: Alert) -> None:
        # Hot path (once per alert): unpack once, touch each container at most once.
        alert_id, ts, rid, level, description, groups, agent, _src, mitre, _log, _line, _s = alert
        self.count += 1
        if level > self.max_level:
            self.max_level = level
        if ts is not None:
            first, last = self.first_ts, self.last_ts
            if first is None or ts < first:
                self.first_ts = ts
            if last is None or ts > last:
                self.last_ts = ts
        if agent:
            self.targets.add(agent)
        if rid not in self.descriptions:
            # groups and MITRE ids belong to the rule: read them once per rule, not once per alert
            self.rule_ids.add(rid)
            self.descriptions[rid] = description
            self.rule_groups.update(groups)
            self.mitre.update(mitre)
        if len(self.alert_ids) < MAX_ALERT_IDS:
            self.alert_ids.append(alert_id)
        samples = self.samples
        if len(samples) < MAX_SAMPLES:
            samples.append(alert)
        elif level > samples[-1].level:
            # keep the most severe evidence, not just the first lines
            samples[-1] = alert

    def freeze(self) -> AlertGroup:
        if self.attacker:
            key = f"src:{self.attacker}:{_ts_key(self.first_ts)}"
        else:
            key = f"host:{','.join(sorted(self.targets))}:{self.family}:{_ts_key(self.first_ts)}"
        gid = "g-" + hashlib.sha256(key.encode()).hexdigest()[:10]
        return AlertGroup(
            id=gid,
            key=key,
            attacker=self.attacker,
            family=self.family,
            targets=tuple(sorted(self.targets)),
            alert_count=self.count,
            rule_ids=tuple(sorted(self.rule_ids, key=_rule_sort)),
            rule_descriptions=dict(sorted(self.descriptions.items(), key=lambda kv: _rule_sort(kv[0]))),
            rule_groups=tuple(sorted(self.rule_groups)),
            max_level=self.max_level,
            mitre=tuple(sorted(self.mitre)),
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            alert_ids=tuple(self.alert_ids),
            samples=tuple(
                AlertSample(
                    alert_id=a.alert_id,
                    ts=a.ts,
                    rule_id=a.rule_id,
                    level=a.level,
                    description=a.description,
                    log=a.log[:500],
                )
                for a in self.samples
            ),
            source=self.source,
        )


def _rule_sort(rule_id: str) -> tuple[int, str]:
    return (int(rule_id), "") if rule_id.isdigit() else (1 << 62, rule_id)


def _ts_key(ts: float | None) -> str:
    if ts is None:
        return "undated"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")


def group_alerts(
    alerts: Iterable[Alert],
    *,
    window_s: float = DEFAULT_WINDOW_S,
    min_level: int = DEFAULT_MIN_LEVEL,
) -> list[AlertGroup]:
    """Group alerts: by attacker within a session window, else by (agent, rule family).

    Returns the groups whose highest level reaches ``min_level``, ordered by severity then first time.
    """
    # Grouping allocates no reference cycles; pausing the cyclic GC keeps it from re-scanning millions
    # of alert tuples on every generation-2 pass.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        closed = _scan(alerts, window_s)
    finally:
        if gc_was_enabled:
            gc.enable()
    groups = [acc.freeze() for acc in closed if acc.max_level >= min_level]
    groups.sort(key=lambda g: (-g.max_level, g.first_ts or 0.0, g.id))
    return groups


def _scan(alerts: Iterable[Alert], window_s: float) -> list[_Acc]:
    open_groups: dict[str | tuple[str, ...], _Acc] = {}
    closed: list[_Acc] = []
    for alert in alerts:
        # Hot path: tuple indexes (7 = srcip, 1 = ts) are cheaper than the named properties.
        attacker = alert[7]
        gkey: str | tuple[str, ...]
        if attacker is not None:
            gkey = attacker  # a plain string: cannot collide with the tuple keys below
            family = None
        else:
            family = _family(alert.groups, alert.rule_id)
            gkey = ("host", alert.agent, family)
        acc = open_groups.get(gkey)
        ts = alert[1]
        if acc is not None and ts is not None and acc.last_ts is not None and ts - acc.last_ts > window_s:
            closed.append(acc)  # the attacker went quiet for longer than the window: a new session
            acc = None
        if acc is None:
            acc = _Acc(alert, attacker, family)
            open_groups[gkey] = acc
        acc.add(alert)
    closed.extend(open_groups.values())
    return closed

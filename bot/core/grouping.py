"""Grouping: one attacker = one group.

Alerts that name a source address are grouped by that address; a group is a session of alerts no more than
``window`` seconds apart in *event time* (a session window), so a slow, steady attacker is still one
proposal. Lines written out of order join the session their time falls in, and an alert that bridges two
sessions merges them: the sessions are the same whatever the order of the lines. Alerts without an
attacker are grouped by (agent, rule family). Undated alerts join the key's latest session (or form their
own when it has none). Groups whose highest level is below ``min_level`` are dropped. Group ids are
derived from content only, so the same alerts in any order give the same ids.

Memory is bounded by the number of sessions, not alerts: each session keeps counts, sets of rule ids,
targets and MITRE ids, 50 alert ids and 5 samples.
"""

from __future__ import annotations

import gc
import hashlib
import math
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from bot.core.alert import Alert
from bot.core.findings import Finding

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
    #: A campaign (:mod:`bot.core.campaigns`): the addresses of its attackers, and ``attacker`` is their
    #: network (``91.240.118.0/24``). Empty for a group of one attacker or of no attacker.
    attackers: tuple[str, ...] = ()
    #: A group of scanner findings (:mod:`bot.core.finding_groups`): its subject (the image, or the check and
    #: resource), its findings (most severe first, capped; ``alert_count`` is the exact number) and the reports
    #: they were read from. Empty for alert groups.
    subject_key: str = ""
    findings: tuple[Finding, ...] = ()
    reports: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        """What the group is about: the attacker, the image or misconfiguration, or ``agent/family``."""
        if self.subject_key:
            return self.subject_key
        if self.attacker:
            return self.attacker
        return f"{','.join(self.targets) or '?'}/{self.family}"

    @property
    def is_findings(self) -> bool:
        """A group of scanner findings rather than alerts."""
        return bool(self.subject_key)


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

    def merge(self, other: _Acc) -> None:
        """Take in another session of the same key (an alert bridged the two)."""
        self.count += other.count
        self.max_level = max(self.max_level, other.max_level)
        for ts in (other.first_ts, other.last_ts):
            if ts is not None:
                if self.first_ts is None or ts < self.first_ts:
                    self.first_ts = ts
                if self.last_ts is None or ts > self.last_ts:
                    self.last_ts = ts
        self.targets |= other.targets
        self.rule_ids |= other.rule_ids
        for rid, description in other.descriptions.items():
            self.descriptions.setdefault(rid, description)
        self.rule_groups |= other.rule_groups
        self.mitre |= other.mitre
        self.alert_ids = (self.alert_ids + other.alert_ids)[:MAX_ALERT_IDS]
        both = self.samples + other.samples
        both.sort(key=lambda a: (-a.level, a.ts if a.ts is not None else 0.0, a.alert_id))
        self.samples = both[:MAX_SAMPLES]

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
    # numeric ids in numeric order without int(): a 5000-digit id is past int()'s limit
    if rule_id.isascii() and rule_id.isdigit():
        digits = rule_id.lstrip("0") or "0"
        return (len(digits), digits + ":" + rule_id)
    return (1 << 62, rule_id)


def _ts_key(ts: float | None) -> str:
    if ts is None or not math.isfinite(ts):
        return "undated"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")
    except (ValueError, OverflowError, OSError):
        return f"t{ts!r}"  # outside the calendar (readers refuse these; other callers may not)


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


def _first(acc: _Acc) -> float:
    return acc.first_ts  # type: ignore[return-value]  # dated sessions only


def _scan(alerts: Iterable[Alert], window_s: float) -> list[_Acc]:
    # Per key: the dated sessions, sorted by first time and more than window_s apart, and one for the
    # undated alerts.
    sessions: dict[str | tuple[str, ...], list[_Acc]] = {}
    undated: dict[str | tuple[str, ...], _Acc] = {}
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
        ts = alert[1]
        if ts is None or ts != ts:  # undated (or NaN from a reader that let it through)
            acc = undated.get(gkey)
            if acc is None:
                acc = undated[gkey] = _Acc(alert, attacker, family)
                acc.first_ts = acc.last_ts = None
            acc.add(alert)
            continue
        keyed = sessions.get(gkey)
        if keyed is None:
            acc = _Acc(alert, attacker, family)
            sessions[gkey] = [acc]
        else:
            acc = keyed[-1]
            if ts >= acc.first_ts:  # type: ignore[operator]  # the common case: in order, at the end
                if ts - acc.last_ts > window_s:  # type: ignore[operator]
                    acc = _Acc(alert, attacker, family)  # quiet for longer than the window: a new session
                    keyed.append(acc)
            else:
                acc = _place(keyed, alert, ts, window_s, attacker, family)
        acc.add(alert)
    closed: list[_Acc] = []
    for gkey, keyed in sessions.items():
        lone = undated.pop(gkey, None)
        if lone is not None:
            max(keyed, key=_last).merge(lone)
        closed.extend(keyed)
    closed.extend(undated.values())
    return closed


def _last(acc: _Acc) -> float:
    return acc.last_ts  # type: ignore[return-value]  # dated sessions only


def _place(
    keyed: list[_Acc], alert: Alert, ts: float, window_s: float, attacker: str | None, family: str | None
) -> _Acc:
    """The session an out-of-order alert joins: the one before it, the one after it, both merged, or new.

    Sessions of a key are more than ``window_s`` apart, so an alert is within the window of at most two:
    the last one starting at or before it and the first one starting after it.
    """
    i = bisect_right(keyed, ts, key=_first)
    before = keyed[i - 1] if i > 0 and ts - keyed[i - 1].last_ts <= window_s else None  # type: ignore[operator]
    after = keyed[i] if i < len(keyed) and keyed[i].first_ts - ts <= window_s else None  # type: ignore[operator]
    if before is not None and after is not None:
        before.merge(after)
        del keyed[i]
        return before
    if before is not None:
        return before
    if after is not None:
        return after
    acc = _Acc(alert, attacker, family)
    keyed.insert(i, acc)
    return acc

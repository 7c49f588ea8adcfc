"""Grouping findings: one subject = one group = one proposal.

- Image vulnerabilities group by the image (``Finding.subject``: registry/repository and tag, or digest), across
  every workload that runs it: all CVEs of one image are one card, and its workloads are the group's targets
  (``namespace/name``, as the inventory lists workloads).
- Misconfigurations group by check and resource (their subject), so one check on one resource is one card;
  those a policy template answers group by the template across resources (``by_check``).

The owning workload is normalised against the inventory: a ReplicaSet ``nginx-6d4cf56db6`` (or a Pod
``nginx-6d4cf56db6-x7k2p``) is the Deployment ``nginx`` when the inventory lists it; a Job ``backup-28473920``
is the CronJob ``backup``. Anything else keeps the name the report gives.

The group key holds the subject and the day of the earliest report (a newer report of the same image on the same
day is the same proposal; a later day's report is a new group, folded into a pending proposal with the same
effect by dedup). Group ids are derived from content only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from bot.core.findings import MISCONFIGURATION, VULNERABILITY, Finding, severity_rank
from bot.core.grouping import DEFAULT_MIN_LEVEL, MAX_ALERT_IDS, MAX_SAMPLES, AlertGroup, AlertSample
from bot.core.inventory import Inventory

#: At most this many findings are kept in a group (most severe first); the count is always exact.
MAX_FINDINGS = 500

_RS_HASH = re.compile(
    r"^(?P<base>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-(?P<hash>[bcdfghjklmnpqrstvwxz2456789]{5,10})$"
)
_POD = re.compile(
    r"^(?P<base>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-(?P<hash>[bcdfghjklmnpqrstvwxz2456789]{5,10})-[bcdfghjklmnpqrstvwxz2456789]{5}$"
)
_JOB = re.compile(r"^(?P<base>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-[0-9]{6,12}$")
_SET_POD = re.compile(
    r"^(?P<base>[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)-(?:[0-9]+|[bcdfghjklmnpqrstvwxz2456789]{5})$"
)


def owner_ref(finding: Finding, inventory: Inventory) -> str:
    """The workload a finding belongs to, ``namespace/name``, normalised to what the inventory lists."""
    ns, kind, name = finding.namespace or "default", finding.workload_kind, finding.workload
    if not name:
        return ""
    direct = f"{ns}/{name}"
    if inventory.workload(direct) is not None:
        return direct
    candidates: list[str] = []
    if kind == "ReplicaSet":
        m = _RS_HASH.match(name)
        if m:
            candidates.append(m.group("base"))
    elif kind == "Pod":
        m = _POD.match(name)
        if m:
            candidates.append(m.group("base"))
        m = _SET_POD.match(name)
        if m:
            candidates.append(m.group("base"))  # StatefulSet pods (web-0) and DaemonSet pods (agent-x7k2p)
    elif kind == "Job":
        m = _JOB.match(name)
        if m:
            candidates.append(m.group("base"))
    for base in candidates:
        ref = f"{ns}/{base}"
        if inventory.workload(ref) is not None:
            return ref
    return direct


class _Acc:
    __slots__ = (
        "count",
        "findings",
        "first_ts",
        "ids",
        "kind",
        "last_ts",
        "reports",
        "source",
        "subject",
        "targets",
    )

    def __init__(self, finding: Finding) -> None:
        self.subject = finding.subject
        self.kind = finding.kind
        self.source = finding.source
        self.count = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.targets: set[str] = set()
        self.ids: dict[str, Finding] = {}  # the most severe finding per id (with the first package seen)
        self.findings: dict[tuple[str, str, str, str], Finding] = {}
        self.reports: set[str] = set()

    def add(self, f: Finding, owner: str) -> None:
        self.count += 1
        if f.ts is not None and f.ts == f.ts:
            if self.first_ts is None or f.ts < self.first_ts:
                self.first_ts = f.ts
            if self.last_ts is None or f.ts > self.last_ts:
                self.last_ts = f.ts
        if owner:
            self.targets.add(owner)
        known = self.ids.get(f.id)
        if known is None or severity_rank(f.severity) < severity_rank(known.severity):
            self.ids[f.id] = f
        # One entry per (id, package, installed, path): the same CVE in the same package seen by many
        # ReplicaSet reports is one finding of the image. A misconfiguration is also one per resource and
        # text: a policy group holds one check on forty workloads, and two unknown K8sGPT failures of one
        # resource share their id.
        if f.kind == MISCONFIGURATION:
            key = (f.id, f"{f.namespace}/{f.workload_kind}/{f.workload}", f.target, f.title)
        else:
            key = (f.id, f.package, f.installed, f.package_path)
        self.findings.setdefault(key, f)
        if f.where:
            self.reports.add(f.where.split(": ", 1)[0])

    def freeze(self) -> AlertGroup:
        dependency = self.kind == VULNERABILITY and self.subject.startswith("pkg:")
        prefix = "dep" if dependency else "img" if self.kind == VULNERABILITY else "cfg"
        key = f"{prefix}:{self.subject}:{_day(self.first_ts)}"
        ordered = sorted(self.findings.values(), key=lambda f: (severity_rank(f.severity), f.id, f.package))
        ids = sorted(self.ids, key=lambda i: (severity_rank(self.ids[i].severity), i))
        worst = max((self.ids[i].level for i in ids), default=0)
        samples = tuple(
            AlertSample(
                alert_id=f"{f.id}:{f.package}" if f.package else f.id,
                ts=f.ts,
                rule_id=f.id,
                level=f.level,
                description=f.title[:300],
                log=(f.resolution or f.target)[:500],
            )
            for f in ordered[:MAX_SAMPLES]
        )
        return AlertGroup(
            id="g-" + hashlib.sha256(key.encode()).hexdigest()[:10],
            key=key,
            attacker=None,
            family="dependency"
            if dependency
            else "image"
            if self.kind == VULNERABILITY
            else "misconfiguration",
            targets=tuple(sorted(self.targets)),
            alert_count=len(self.findings),
            rule_ids=tuple(ids),
            rule_descriptions={i: self.ids[i].title[:300] for i in ids},
            rule_groups=(self.kind,),
            max_level=worst,
            mitre=(),
            first_ts=self.first_ts,
            last_ts=self.last_ts,
            alert_ids=tuple(f"{f.id}:{f.package}" if f.package else f.id for f in ordered[:MAX_ALERT_IDS]),
            samples=samples,
            source=self.source,
            subject_key=self.subject,
            findings=tuple(ordered[:MAX_FINDINGS]),
            reports=tuple(sorted(self.reports)),
        )


def _day(ts: float | None) -> str:
    if ts is None:
        return "undated"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d")
    except (ValueError, OverflowError, OSError):
        return "undated"


def group_findings(
    findings: Iterable[Finding],
    inventory: Inventory,
    *,
    min_level: int = DEFAULT_MIN_LEVEL,
    by_check: Mapping[str, str] | None = None,
) -> list[AlertGroup]:
    """One group per subject; groups whose most severe finding is below ``min_level`` are dropped.

    ``by_check`` maps misconfiguration ids to a policy template: those findings group by the template
    (subject ``policy:<template>``) across every resource and scanner, since one admission policy answers
    them all (one policy for forty workloads); other misconfigurations keep one group per check and resource.
    Ordered by severity, then subject. Findings of kinds other than vulnerabilities and misconfigurations
    are ignored here (their own family groups them).
    """
    by_check = by_check or {}
    accs: dict[tuple[str, str], _Acc] = {}
    owners: dict[tuple[str, str, str], str] = {}
    for f in findings:
        if f.kind not in (VULNERABILITY, MISCONFIGURATION) or not f.subject:
            continue
        if f.kind == MISCONFIGURATION and f.id in by_check:
            f = f._replace(subject=f"policy:{by_check[f.id]}")
        key = (f.kind, f.subject)
        acc = accs.get(key)
        if acc is None:
            acc = accs[key] = _Acc(f)
        okey = (f.namespace, f.workload_kind, f.workload)
        owner = owners.get(okey)
        if owner is None:
            owner = owners[okey] = owner_ref(f, inventory)
        acc.add(f, owner)
    groups = [acc.freeze() for acc in accs.values()]
    groups = [g for g in groups if g.max_level >= min_level]
    groups.sort(key=lambda g: (-g.max_level, g.subject, g.id))
    return groups

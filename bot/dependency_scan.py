"""``scan --deps REPORT --app-repo NAME``: dependency advisories of application repositories to proposals.

Each report (pip-audit, osv-scanner, npm audit, trivy fs/repo) is read by
:func:`tools.sources.findings_file.read_findings` and belongs to one application repository of the inventory.
Its language-package findings are grouped by package (``pkg:<ecosystem>/<name>``) per repository: one package of
one repository = one proposal, all its advisories in one card. Advisories often carry no severity (pip-audit
gives none), so no group is dropped for its level. A report that could not be audited says so
(:attr:`FindingsRead.not_audited`) and proposes nothing for what it did not audit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from agents.router import FindingContext
from bot import messages
from bot.core.finding_groups import group_findings
from bot.core.findings import VULNERABILITY, Finding
from bot.core.grouping import AlertGroup
from bot.core.proposal import proposal_id
from bot.dependency_bump import DependencyBumper
from bot.dependency_memory import DEFAULT_REJECT_PERIOD, BumpMemory
from bot.pipeline import Scanner, ScanReport
from bot.state import StateStore
from tools.sources.advisories import TRIVY_TYPES, dependency_subject
from tools.sources.findings_file import FindingsRead, read_findings
from tools.sources.wazuh import ReadResult


def dependency_findings(read: FindingsRead, ecosystem: str) -> list[Finding]:
    """The report's language-package advisories of ``ecosystem``, each with its package subject."""
    out = []
    for f in read.findings:
        if f.kind != VULNERABILITY or not f.package:
            continue
        eco = TRIVY_TYPES.get(f.package_type, f.package_type)
        if eco != ecosystem:
            continue
        out.append(f._replace(subject=dependency_subject(eco, f.package), package_type=eco))
    return out


def app_groups(findings: Sequence[Finding], app: str, scanner: Scanner) -> list[AlertGroup]:
    """One group per package of the repository ``app``, keyed (and so identified) by the repository too, by
    the installed version the report names and by the advisories it reports: a later report of the package at
    another version (after a merged bump), or with a new advisory at the same version, is a group of its own,
    which the memory of merged and rejected bumps then judges (bot/dependency_memory.py) and a pending card of
    the package takes in as a new revision (bot/dependency_candidates.py); the same report read again is the
    same group."""
    out = []
    for g in group_findings(findings, scanner.inventory, min_level=0):
        if g.family != "dependency":
            continue
        installed = ",".join(sorted({f.installed for f in g.findings if f.installed}))
        ids = ",".join(sorted({f.id for f in g.findings}))
        key = (
            f"dep:{app}:{g.key.removeprefix('dep:')}"
            + (f":{installed[:200]}" if installed else "")
            + (f":a-{hashlib.sha256(ids.encode()).hexdigest()[:10]}" if ids else "")
        )
        out.append(_keyed(g.model_copy(update={"targets": (app,)}), key))
    return out


def _keyed(group: AlertGroup, key: str) -> AlertGroup:
    gid = "g-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    return group.model_copy(update={"key": key, "id": gid})


#: how many times one report's group may be made anew after rejections (a bound, never reached in practice)
MAX_AGAIN = 100


def reopened(group: AlertGroup, state: StateStore, memory: BumpMemory) -> AlertGroup:
    """The group to decide for ``group``: itself, or, when its proposal was rejected and the reject period is
    over (a report without dates names the same group every time), the next one (``…:again<n>``), whose new
    proposal the memory then judges like any other."""
    base, current = group.key, group
    for again in range(1, MAX_AGAIN + 1):
        stored = state.get(proposal_id(current))
        if stored is None or not memory.reopens(stored):
            return current
        current = _keyed(group, f"{base}:again{again}")
    return current


def scan_dependency_reports(
    scanner: Scanner, bumper: DependencyBumper, reports: Sequence[tuple[Path, str]]
) -> ScanReport:
    """Read each ``(report, app repo name)`` and decide one proposal per package of each repository."""
    report = ScanReport(read=ReadResult(path=""))
    groups: list[AlertGroup] = []
    for path, name in reports:
        read = read_findings(path)
        report.reports.append(read)
        app = scanner.inventory.app_repo(name)
        if app is None:
            continue
        found = dependency_findings(read, app.ecosystem)
        others = sorted(
            {TRIVY_TYPES.get(f.package_type, f.package_type) or f.kind for f in read.findings}
            - {app.ecosystem}
        )
        if len(found) < len(read.findings):
            read.problem(
                messages.deps_findings_not_of_app(
                    read.name, len(read.findings) - len(found), others, app.name, app.ecosystem
                )
            )
        report.findings += len(found)
        groups.extend(app_groups(found, app.name, scanner))
    report.groups = len(groups)
    if bumper.memory is None:  # merged and rejected bumps of this state (bot/dependency_memory.py)
        policy = getattr(scanner.dedup, "policy", None)
        period = getattr(policy, "reject_period", DEFAULT_REJECT_PERIOD)
        bumper.memory = BumpMemory(scanner.state, scanner.clock, reject_period=period)
    groups = [reopened(g, scanner.state, bumper.memory) for g in groups]
    scanner.audit.flush()
    with scanner.audit.batch():
        scanner.dependencies = bumper
        scanner._findings = FindingContext(read_file=scanner.read_file, read_app_file=bumper.read_app_file)
        try:
            scanner._decide_groups(groups, report)  # the scanner's own loop: state, dedup, audit per proposal
        finally:
            scanner._findings = None
            scanner.dependencies = None
        scanner.audit.append(
            "scan",
            {
                "source": "deps",
                "reports": [[str(p), n] for p, n in reports],
                "not_audited": [r for read in report.reports for r in read.not_audited][:50],
                "findings": report.findings,
                "groups": report.groups,
                "new_proposals": sorted(report.new_ids),
            },
        )
    return report

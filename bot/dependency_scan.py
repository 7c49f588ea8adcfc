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
from bot.dependency_bump import DependencyBumper
from bot.dependency_memory import DEFAULT_REJECT_PERIOD, BumpMemory
from bot.pipeline import Scanner, ScanReport
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
    """One group per package of the repository ``app``, keyed (and so identified) by the repository too, and
    by the installed version the report names: a later report of the package at another version (after a
    merged bump, with a new advisory) is a group of its own, which the memory of merged and rejected bumps
    then judges (bot/dependency_memory.py); the same report read again is the same group."""
    out = []
    for g in group_findings(findings, scanner.inventory, min_level=0):
        if g.family != "dependency":
            continue
        installed = ",".join(sorted({f.installed for f in g.findings if f.installed}))
        key = f"dep:{app}:{g.key.removeprefix('dep:')}" + (f":{installed[:200]}" if installed else "")
        gid = "g-" + hashlib.sha256(key.encode()).hexdigest()[:10]
        out.append(g.model_copy(update={"key": key, "id": gid, "targets": (app,)}))
    return out


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

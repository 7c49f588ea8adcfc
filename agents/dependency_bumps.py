"""The dependency-bump playbook: which version of one package removes its advisories, as a ``bump_dependency``.

Deterministic, 0 tokens, no I/O (the application repository's files are read through ``read_app_file``). The
group is one package of one application repository (``group.targets[0]``), with every advisory of it from every
report (``pip-audit``, ``osv-scanner``, ``npm audit``, ``trivy fs``): advisories that share an id or alias are
one. The installed version is the lockfile's at the repository's head, not the report's (a report is a
snapshot; a bump merged since covers it: nothing to do). The version rule is
:func:`bot.core.operations.dependencies.choose_version`. Whether the result is allowed stays the guard's decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agents.router import RouteDecision
from bot import messages
from bot.core.findings import VULNERABILITY, Finding
from bot.core.grouping import AlertGroup
from bot.core.inventory import AppRepo, Inventory
from bot.core.lockfiles import resolution
from bot.core.operations.dependencies import Advisory, advisories_of, choose_version
from bot.core.sanitize import plain
from bot.core.versions import normalise_name, parse_ranges, parse_version

FIXER = "playbook:dependency-bump"

#: ``read_app_file(app repo name, path)``: a file of the application repository at its head.
ReadAppFile = Callable[[str, str], str]


def advisories_from(findings: Sequence[Finding]) -> list[Advisory]:
    """The group's advisories, merged by id and alias, most severe first as the group orders them."""
    rows = []
    for f in findings:
        if f.kind != VULNERABILITY:
            continue
        ids = tuple(dict.fromkeys([f.id, *f.aliases.split()]))
        fixed = tuple(p.strip() for p in f.fixed.split(",") if p.strip())
        rows.append((ids, parse_ranges(f.affected), fixed, f.severity, plain(f.title, 200)))
    return advisories_of(rows)


def installed_version(app: AppRepo, package: str, read_app_file: ReadAppFile) -> tuple[str, str] | str:
    """``(version, name as written)`` the repository resolves ``package`` to at its head (the top-level entry of an
    npm lockfile), or why it cannot tell."""
    name = normalise_name(app.ecosystem, package)
    for path in (*app.lockfiles, app.manifest):
        try:
            text = read_app_file(app.name, path)
        except Exception as exc:  # a file that cannot be read escalates this group only
            return messages.dep_file_unreadable(app.name, path, plain(str(exc), 200))
        res = resolution(app.ecosystem, path, text)
        if res is None:
            continue
        top = res.packages.get(f"node_modules/{name}") or res.packages.get(name)
        if top is not None and top.version:
            return top.version, top.written or package
        versions = sorted(res.versions(name))
        if versions:
            return versions[0], package
    return messages.dep_not_in_lockfile(plain(package, 100), app.name)


def route_dependency_group(
    group: AlertGroup, inventory: Inventory, findings: Sequence[Finding], read_app_file: ReadAppFile
) -> RouteDecision:
    """One ``bump_dependency`` for the group's package in its application repository, an escalation with a
    reason a person can act on, or no operation with a note when the head is already fixed."""
    app = inventory.app_repo(group.targets[0]) if group.targets else None
    if app is None:
        return RouteDecision(fixer=FIXER, escalation=messages.dep_esc_no_app_repo(plain(group.subject, 200)))
    vulns = [f for f in findings if f.kind == VULNERABILITY and f.package]
    if not vulns:
        return RouteDecision(
            fixer=FIXER, escalation=messages.image_esc_no_findings(plain(group.subject, 200))
        )
    package = vulns[0].package
    if app.ecosystem != (vulns[0].package_type or app.ecosystem):
        return RouteDecision(
            fixer=FIXER,
            escalation=messages.dep_esc_other_ecosystem(plain(package, 100), app.name, app.ecosystem),
        )
    found = installed_version(app, package, read_app_file)
    if isinstance(found, str):
        return RouteDecision(fixer=FIXER, escalation=found)
    installed, written = found
    advisories = advisories_from(vulns)
    current = parse_version(app.ecosystem, installed)
    if current is not None and all(a.affects(current) is False for a in advisories):
        return RouteDecision(
            fixer=FIXER, notes=[messages.dep_already_fixed(plain(package, 100), installed, app.name)]
        )
    choice = choose_version(app.ecosystem, installed, advisories, allow_major=app.allow_major)
    if choice.version is None:
        return RouteDecision(
            fixer=FIXER,
            escalation=messages.dep_esc_no_version(
                plain(package, 100), installed, choice.reason, [plain(n, 200) for n in choice.notes]
            ),
        )
    op: dict[str, Any] = {
        "op": "bump_dependency",
        "app_repo": app.name,
        "ecosystem": app.ecosystem,
        "package": written,
        "from": installed,
        "to": str(choice.version),
        "files": list(app.files),
        "advisories": [a.id for a in advisories if a.id not in choice.unfixed][:200] or [advisories[0].id],
    }
    notes = [plain(n, 200) for n in choice.notes[:3]]
    if choice.unfixed:
        notes.append(messages.dep_not_all_fixed(list(choice.unfixed)))
    return RouteDecision(fixer=FIXER, operations=[op], notes=notes)

"""The dependency family (issue 18): advisories of one package, which version removes them, and the guard's
checks on a ``bump_dependency`` made in an application repository.

Hard-rule amendment: for an application repository the inventory lists, the bot may change the manifest and
lockfiles of **one package per proposal**, with the ecosystem's own tool; never code, CI/CD files or anything
else. The checks here judge the tool's result, not the tool:

- ``only_listed_files``: every changed path is the repository's manifest or one of its lockfiles;
- ``version_rule``: the new version is above the old one, on the same major line unless the inventory allows;
- ``package_set``: the named package resolves to the new version, and every other package that changed is a
  dependency of it in the lockfile (each listed); nothing else moved;
- ``no_new_source``: no package comes from a registry, index, URL or git source the files did not use before;
- ``advisory_absent``: the scanner, re-run on the result, no longer reports the advisories (or, where its
  database could not be reached, the new version is outside every advisory's affected ranges and fixed
  versions: "not re-audited");
- ``diff_size``: the changed lines are within the ecosystem's limit;
- ``tests``: no test fails after the bump that passed before (unless the inventory allows it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.checks import Check, GuardReport
from bot.core.edits import BumpDependency, FileChange, changed_line_count, unified_diff
from bot.core.inventory import AppRepo
from bot.core.lockfiles import Resolution, resolution
from bot.core.suite_results import Comparison
from bot.core.versions import Range, Version, fixed_by_list, normalise_name, parse_version

#: Changed lines a bump may have per ecosystem (a pin is 2 lines; a lockfile entry about 6 plus its deps).
MAX_CHANGED_LINES = {"pip": 20, "npm": 300}


@dataclass(frozen=True)
class Advisory:
    """One advisory of one package: its ids (the first is shown), affected ranges and fixed versions."""

    ids: tuple[str, ...]
    ranges: tuple[Range, ...] = ()
    fixed: tuple[str, ...] = ()
    severity: str = "UNKNOWN"
    title: str = ""

    @property
    def id(self) -> str:
        return self.ids[0]

    def affects(self, version: Version) -> bool | None:
        """Whether ``version`` is affected: by its ranges when it has them, else by its fixed versions (each
        fixes its own line); None when neither says."""
        if self.ranges:
            verdicts = [r.affects(version) for r in self.ranges]
            if any(v is True for v in verdicts):
                return True
            return None if any(v is None for v in verdicts) else False
        fixes = [v for v in (parse_version(version.ecosystem, f) for f in self.fixed) if v is not None]
        if not fixes:
            return None
        return not fixed_by_list(version, fixes)


@dataclass(frozen=True)
class VersionChoice:
    """The target version, or why there is none (``reason``); ``notes`` are what was ignored and why."""

    version: Version | None
    reason: str = ""
    notes: tuple[str, ...] = ()
    unfixed: tuple[str, ...] = ()  # advisories the choice does not remove


def choose_version(
    ecosystem: str, installed: str, advisories: Sequence[Advisory], *, allow_major: bool = False
) -> VersionChoice:
    """The smallest version above ``installed`` that every advisory's fixed versions and ranges say is fixed,
    within the installed version's major line (a major step only with ``allow_major``).

    Fixed versions at or below the installed one are ignored (a "fix" that is a downgrade), and so are fixed
    versions that do not parse (text carrying instructions, commit hashes); each is noted.
    """
    current = parse_version(ecosystem, installed)
    if current is None:
        return VersionChoice(None, f"the installed version {installed!r} is not a {ecosystem} version")
    notes: list[str] = []
    candidates: set[Version] = set()
    for adv in advisories:
        for text in (*adv.fixed, *(f for r in adv.ranges for f in r.fixed)):
            v = parse_version(ecosystem, text)
            if v is None:
                notes.append(f"{adv.id}: fixed version {text[:40]!r} is not a version (ignored)")
            elif v <= current:
                notes.append(f"{adv.id}: fixed version {v} is not above the installed {current} (ignored)")
            elif v.prerelease and not current.prerelease:
                notes.append(f"{adv.id}: fixed version {v} is a pre-release (ignored)")
            elif v.line != current.line and not allow_major:
                notes.append(f"{adv.id}: fixed version {v} is a major step from {current} (not allowed)")
            else:
                candidates.add(v)
    affecting = [a for a in advisories if a.affects(current) is not False]
    if not affecting:
        return VersionChoice(
            None, f"no advisory affects the installed {current}", tuple(dict.fromkeys(notes))
        )
    best: Version | None = None
    best_left: list[str] = []
    for v in sorted(candidates):
        left = [a.id for a in affecting if a.affects(v) is not False]
        if not left:
            return VersionChoice(v, "", tuple(dict.fromkeys(notes)))
        if best is None or len(left) < len(best_left):
            best, best_left = v, left
    if best is None:
        return VersionChoice(
            None, "no fixed version is above the installed one on its major line", tuple(dict.fromkeys(notes))
        )
    return VersionChoice(best, "", tuple(dict.fromkeys(notes)), tuple(best_left))


# --- the guard ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReAudit:
    """The scanner run again on the result: ``audited`` False when its database could not be reached."""

    audited: bool
    remaining: frozenset[str] = frozenset()  # advisory ids (and aliases) it still reports for the package
    detail: str = ""


@dataclass(frozen=True)
class BumpResult:
    """What the tool did in the throwaway worktree: every changed path, and the listed files before/after."""

    changed_paths: tuple[str, ...]
    before: Mapping[str, str]
    after: Mapping[str, str]
    tool_error: str = ""
    package_changes: tuple[str, ...] = field(default=())

    def changes(self) -> tuple[FileChange, ...]:
        paths = sorted(set(self.before) | set(self.after))
        return tuple(
            FileChange(path=p, before=self.before.get(p, ""), after=self.after.get(p, ""))
            for p in paths
            if self.before.get(p, "") != self.after.get(p, "")
        )

    @property
    def diff(self) -> str:
        return unified_diff(self.changes())


def _resolutions(app: AppRepo, files: Mapping[str, str]) -> Resolution:
    merged = Resolution()
    for path in app.files:
        text = files.get(path)
        if text is None:
            continue
        res = resolution(app.ecosystem, path, text)
        if res is not None:
            merged.packages.update({f"{path}:{k}": p for k, p in res.packages.items()})
            merged.sources |= res.sources
            merged.problems.extend(f"{path}: {p}" for p in res.problems)
    return merged


def package_changes(app: AppRepo, before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Each resolved package that changed, as ``name a → b`` (``+name b`` added, ``-name a`` removed)."""
    b, a = _resolutions(app, before), _resolutions(app, after)
    out: list[str] = []
    for key in sorted(set(b.packages) | set(a.packages)):
        old, new = b.packages.get(key), a.packages.get(key)
        if old and new and (old.version, old.source) != (new.version, new.source):
            out.append(f"{new.name} {old.version} → {new.version}")
        elif new and not old:
            out.append(f"+{new.name} {new.version}")
        elif old and not new:
            out.append(f"-{old.name} {old.version}")
    return list(dict.fromkeys(out))


def _dependents_closure(res: Resolution, root: str) -> set[str]:
    """``root`` and every package name reachable from it through ``requires``."""
    graph: dict[str, set[str]] = {}
    for p in res.packages.values():
        graph.setdefault(p.name, set()).update(p.requires)
    seen, todo = {root}, [root]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def check_bump(
    op: BumpDependency,
    app: AppRepo,
    result: BumpResult,
    advisories: Sequence[Advisory],
    reaudit: ReAudit | None,
    tests: Comparison | None,
    *,
    allow_major: bool = False,
) -> GuardReport:
    """Every check on one bump (deny by default: a check that cannot tell fails)."""
    checks = [
        _only_listed_files(app, result),
        _version_rule(op, allow_major or app.allow_major),
        _package_set(op, app, result),
        _no_new_source(app, result),
        _advisory_absent(op, advisories, reaudit),
        _diff_size(app, result),
        _tests(app, tests),
    ]
    return GuardReport(passed=all(c.passed for c in checks), checks=tuple(checks))


def _only_listed_files(app: AppRepo, result: BumpResult) -> Check:
    if result.tool_error:
        return Check(name="only_listed_files", passed=False, detail=f"the tool failed: {result.tool_error}")
    if not result.changed_paths:
        return Check(name="only_listed_files", passed=False, detail="the tool changed no file")
    extra = [p for p in result.changed_paths if p not in app.files]
    if extra:
        return Check(
            name="only_listed_files",
            passed=False,
            detail=f"changed files the inventory does not list for {app.name}: {', '.join(sorted(extra)[:10])}",
        )
    return Check(name="only_listed_files", passed=True, detail=", ".join(sorted(result.changed_paths)))


def _version_rule(op: BumpDependency, allow_major: bool) -> Check:
    old, new = parse_version(op.ecosystem, op.from_version), parse_version(op.ecosystem, op.to_version)
    if old is None or new is None:
        return Check(name="version_rule", passed=False, detail="a version does not parse")
    if new <= old:
        return Check(name="version_rule", passed=False, detail=f"{new} is not above {old} (a downgrade)")
    if new.line != old.line and not allow_major:
        return Check(name="version_rule", passed=False, detail=f"{old} → {new} is a major step (not allowed)")
    return Check(name="version_rule", passed=True, detail=f"{old} → {new}")


def _package_set(op: BumpDependency, app: AppRepo, result: BumpResult) -> Check:
    before, after = _resolutions(app, result.before), _resolutions(app, result.after)
    name = normalise_name(op.ecosystem, op.package)
    target = parse_version(op.ecosystem, op.to_version)
    now = {parse_version(op.ecosystem, v) for v in after.versions(name)}
    if target is None or target not in now:
        shown = ", ".join(sorted(after.versions(name))) or "nothing"
        return Check(
            name="package_set", passed=False, detail=f"{op.package} resolves to {shown}, not {op.to_version}"
        )
    reach = _dependents_closure(after, name) | _dependents_closure(before, name)
    stray: list[str] = []
    listed: list[str] = []
    for key in sorted(set(before.packages) | set(after.packages)):
        old, new = before.packages.get(key), after.packages.get(key)
        if old is not None and new is not None and (old.version, old.source) == (new.version, new.source):
            continue
        pkg = new or old
        assert pkg is not None
        if pkg.name == name:
            continue
        line = f"{pkg.name} {old.version if old else '∅'} → {new.version if new else '∅'}"
        (listed if pkg.name in reach else stray).append(line)
    if stray:
        return Check(
            name="package_set",
            passed=False,
            detail=f"packages changed that are not dependencies of {op.package}: {'; '.join(stray[:10])}",
        )
    detail = f"{op.package} → {op.to_version}"
    if listed:
        detail += f"; transitive: {'; '.join(listed[:20])}" + (" …" if len(listed) > 20 else "")
    return Check(name="package_set", passed=True, detail=detail)


def _no_new_source(app: AppRepo, result: BumpResult) -> Check:
    before, after = _resolutions(app, result.before), _resolutions(app, result.after)
    new = sorted(after.all_sources() - before.all_sources())
    if new:
        return Check(name="no_new_source", passed=False, detail=f"new sources: {', '.join(new[:5])}")
    return Check(name="no_new_source", passed=True, detail="no new registry, index or URL")


def _advisory_absent(op: BumpDependency, advisories: Sequence[Advisory], reaudit: ReAudit | None) -> Check:
    new = parse_version(op.ecosystem, op.to_version)
    if new is None:
        return Check(name="advisory_absent", passed=False, detail="the new version does not parse")
    mine = [a for a in advisories if set(a.ids) & set(op.advisories)] or list(advisories)
    if reaudit is not None and reaudit.audited:
        left = sorted({a.id for a in mine if set(a.ids) & reaudit.remaining})
        if left:
            return Check(
                name="advisory_absent", passed=False, detail=f"re-audit still reports {', '.join(left)}"
            )
        return Check(
            name="advisory_absent", passed=True, detail="re-audited: " + (reaudit.detail or "absent")
        )
    still = [a.id for a in mine if a.affects(new) is not False]
    why = f" ({reaudit.detail})" if reaudit is not None and reaudit.detail else ""
    if still:
        return Check(
            name="advisory_absent",
            passed=False,
            detail=f"not re-audited{why}; {new} is still in the range of {', '.join(still)}",
        )
    return Check(
        name="advisory_absent",
        passed=True,
        detail=f"not re-audited{why}; {new} is outside every advisory's ranges and fixed versions",
    )


def _diff_size(app: AppRepo, result: BumpResult) -> Check:
    limit = app.max_changed_lines or MAX_CHANGED_LINES.get(app.ecosystem, 20)
    n = changed_line_count(result.diff)
    return Check(name="diff_size", passed=n <= limit, detail=f"{n} changed lines (limit {limit})")


def _tests(app: AppRepo, tests: Comparison | None) -> Check:
    if tests is None:
        return Check(name="tests", passed=False, detail="the tests did not run")
    if tests.regressed and not app.approve_failing_tests:
        return Check(name="tests", passed=False, detail=tests.line)
    return Check(name="tests", passed=True, detail=tests.line)


@dataclass
class _Merging:
    ids: list[str]
    ranges: list[Range]
    fixed: list[str]
    severity: str
    title: str


def advisories_of(
    rows: Iterable[tuple[tuple[str, ...], tuple[Range, ...], tuple[str, ...], str, str]],
) -> list[Advisory]:
    """Advisories from (ids, ranges, fixed versions, severity, title) rows, merged when they share an id
    (pip-audit's PYSEC id and Trivy's CVE alias are one advisory)."""
    merged: list[_Merging] = []
    for ids, ranges, fixed, severity, title in rows:
        hit = next((m for m in merged if set(m.ids) & set(ids)), None)
        if hit is None:
            merged.append(_Merging(list(ids), list(ranges), list(fixed), severity, title))
            continue
        hit.ids = list(dict.fromkeys([*hit.ids, *ids]))
        hit.ranges = list(dict.fromkeys([*hit.ranges, *ranges]))
        hit.fixed = list(dict.fromkeys([*hit.fixed, *fixed]))
        hit.title = hit.title or title
    return [Advisory(tuple(m.ids), tuple(m.ranges), tuple(m.fixed), m.severity, m.title) for m in merged]


# --- dedup: a bump someone else already opened ---------------------------------------------------------------

_DEPENDABOT_TITLE = re.compile(r"\b[Bb]ump (?P<name>\S+) from \S+ to v?(?P<version>\S+?)(?: in \S+)?$")
_RENOVATE_TITLE = re.compile(r"\b[Uu]pdate dependency (?P<name>\S+) to v?(?P<version>[^\s)]+)")
#: ``dependabot/<ecosystem>/[<directory>/]<name>-<version>`` (Renovate's ``renovate/<name>-<major>.x`` names none).
_DEPENDABOT_BRANCH = re.compile(r"^dependabot/[^/]+/(?:[^/]+/)*(?P<name>[^/]+?)-(?P<version>v?[0-9][^/-]*)$")


def other_bot_bump(title: str, branch: str, ecosystem: str, package: str, version: str) -> str | None:
    """The version an open Dependabot or Renovate pull request bumps ``package`` to, when it is at or above
    ``version`` (that pull request already does this bump), else None."""
    if not branch.startswith(("dependabot/", "renovate/")):
        return None
    for pattern, text in ((_DEPENDABOT_TITLE, title), (_RENOVATE_TITLE, title), (_DEPENDABOT_BRANCH, branch)):
        m = pattern.search(text.strip()[:500])
        if m is None or normalise_name(ecosystem, m.group("name")) != normalise_name(ecosystem, package):
            continue
        theirs, ours = parse_version(ecosystem, m.group("version")), parse_version(ecosystem, version)
        if theirs is not None and ours is not None and theirs >= ours:
            return str(theirs)
    return None


@dataclass(frozen=True)
class OpenPull:
    """An open pull request of an application repository (for Dependabot/Renovate dedup)."""

    number: int
    title: str
    branch: str
    url: str = ""


class OpenPulls(Protocol):
    def open_pulls(self, app: AppRepo) -> Sequence[OpenPull]:
        """The repository's open pull requests (empty when it cannot tell: dedup then proposes anyway)."""
        ...

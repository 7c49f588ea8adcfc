"""Dependency reports in ``serve`` (issue 18): ``SECOPS_DEPS_REPORTS`` read on every poll, like the Trivy reports.

Each ``REPORT=APP`` pair is a snapshot belonging to one application repository. Its watermark is its identity
(inode, size, modification time, as :meth:`bot.pipeline.Scanner.scan_reports` keeps for Trivy reports): a report
that did not change since the last scan is not read again (and its tests are not run again); a changed one is
read and decided by :func:`bot.dependency_scan.scan_dependency_reports` (one proposal per package, tests twice,
re-audit, guard). The watermark moves only after the proposals are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import messages
from bot.core.errors import ConfigError
from bot.core.operations.dependencies import OpenPulls
from bot.dependency_bump import DependencyBumper
from bot.pipeline import Scanner, ScanReport, Since
from bot.settings import Settings
from bot.state import Offset
from tools.github_pulls import open_pulls_from_settings
from tools.sources.wazuh import ReadResult


def _mark(path: Path) -> Offset | None:
    """A report's identity for the watermark: inode, size and modification time (ns)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return Offset(st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class DependencyReports:
    """The ``REPORT=APP`` pairs ``serve`` scans, and the bumper that turns them into proposals."""

    pairs: tuple[tuple[Path, str], ...]
    bumper: DependencyBumper

    def scan(self, scanner: Scanner, since: Since | None = None) -> ScanReport:
        """The pairs whose report changed since the last scan (all of them for ``Since("all")``), decided."""
        from bot.dependency_scan import scan_dependency_reports

        since = since or Since("offset")
        marks = [(f"deps:{p.resolve()}={app}", _mark(p)) for p, app in self.pairs]
        changed, unchanged = [], []
        for (path, app), (source, mark) in zip(self.pairs, marks, strict=True):
            if since.mode == "offset" and mark is not None and scanner.state.get_offset(source) == mark:
                unchanged.append(str(path))
            elif mark is None:
                unchanged.append(str(path))  # not there (yet): nothing to read, nothing lost
            else:
                changed.append((path, app))
        if not changed:
            report = ScanReport(read=ReadResult(path=""))
        else:
            report = scan_dependency_reports(scanner, self.bumper, changed)
        report.unchanged = unchanged
        wanted = {(str(p), a) for p, a in changed}
        for (path, app), (source, mark) in zip(self.pairs, marks, strict=True):
            if mark is not None and (str(path), app) in wanted:
                scanner.state.set_offset(source, mark, scanner.clock.now())
        return report


def dependency_reports(
    settings: Settings, scanner: Scanner, pulls: OpenPulls | None = None
) -> DependencyReports | None:
    """``SECOPS_DEPS_REPORTS`` as :class:`DependencyReports` (None when unset); app repository paths are
    relative to the inventory file (``SECOPS_CMDB``)."""
    if not settings.deps_reports:
        return None
    unknown = unknown_apps(settings.deps_reports, scanner)
    if unknown:
        raise ConfigError(messages.serve_unknown_app_repos(unknown))
    assert settings.cmdb is not None
    bumper = DependencyBumper(
        scanner.inventory,
        base_dir=settings.cmdb.resolve().parent,
        work_dir=settings.data_dir / "deps",
        osv_url=settings.osv_url,
        pulls=pulls if pulls is not None else open_pulls_from_settings(settings),
    )
    return DependencyReports(tuple(settings.deps_reports), bumper)


def unknown_apps(pairs: Sequence[tuple[Path, str]], scanner: Scanner) -> list[str]:
    """The pairs' application repositories the inventory does not list (``serve`` refuses to start)."""
    return sorted({app for _p, app in pairs if scanner.inventory.app_repo(app) is None})

"""One dependency bump end to end (issue 18): lock update, the fixture app's tests twice, the re-audit, the guard.

Prints the phases of one bump of each fixture application (pip: ``Jinja2 2.10 → 2.10.1`` with pip-audit against a
loopback OSV server; npm: ``lodash 4.17.11 → 4.17.12`` with ``npm install --package-lock-only``, only when the
registry is reachable), then the whole ``scan_dependency_reports`` of one report. Figures only, no asserts.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from bot.dependency_scan import scan_dependency_reports
from tests.dependency_fixtures import APPS, app_repo, bumper, inventory_with, npm_app, py_app, scanner
from tests.test_dependency_bump import _pip_audit
from tools import app_repos
from tools.sources.findings_file import read_findings


def _phases(
    app, repo: Path, package: str, old: str, new: str, osv_url: str | None, home: Path
) -> dict[str, float]:
    t: dict[str, float] = {}
    base = app_repos.head(repo)
    s = time.perf_counter()
    with app_repos.worktree(repo, base) as tree:
        t["worktree add+remove (baseline)"] = 0.0
        b = time.perf_counter()
        app_repos.run_tests(app, tree, home / "b")
        t["tests, baseline"] = time.perf_counter() - b
    t["worktree add+remove (baseline)"] = time.perf_counter() - s - t["tests, baseline"]
    with app_repos.worktree(repo, base) as tree:
        b = time.perf_counter()
        err = app_repos.apply_bump(app, tree, package, old, new, home / "t")
        t["lock update (tool)"] = time.perf_counter() - b
        assert not err, err
        b = time.perf_counter()
        if app.ecosystem == "pip":
            app_repos.reaudit_pip(app, tree, package, osv_url, home / "a")
        else:
            app_repos.reaudit_npm(app, tree, package, home / "a")
        t["re-audit"] = time.perf_counter() - b
        b = time.perf_counter()
        app_repos.run_tests(app, tree, home / "u")
        t["tests, bump"] = time.perf_counter() - b
    return t


def _print(title: str, phases: dict[str, float], whole: float) -> None:
    print(f"{title}: whole proposal {whole:.2f} s")
    for name, secs in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"  {name:32s} {secs:6.2f} s")


def main() -> None:
    from tests.tools.osv_server import OsvServer, corpus_records

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "a").mkdir()
        repo = app_repo(tmp / "a", "py-app")
        inv = inventory_with(py_app(repo))
        app = inv.app_repos[0]
        with OsvServer(corpus_records()).running() as url:
            report = _pip_audit(repo, url, tmp / "audit.json")
            (tmp / "h").mkdir()
            phases = _phases(app, repo, "Jinja2", "2.10", "2.10.1", url, tmp / "h")
            s = time.perf_counter()
            result = scan_dependency_reports(
                scanner(inv, tmp / "a"), bumper(inv, tmp / "a", osv_url=url), [(report, "billing")]
            )
            whole = time.perf_counter() - s
        n = len(result.proposals)
        _print(f"pip (py-app, {n} packages in one report; phases of one bump)", phases, whole / max(n, 1))
        print(f"  report read: {len(read_findings(report).findings)} findings")
        ok = subprocess.run(
            ["npm", "view", "lodash@4.17.12", "version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if ok.stdout.strip() != "4.17.12":
            print("npm: skipped (the registry is not reachable)")
            return
        (tmp / "n").mkdir()
        repo = app_repo(tmp / "n", "npm-app")
        inv = inventory_with(npm_app(repo))
        (tmp / "hn").mkdir()
        phases = _phases(inv.app_repos[0], repo, "lodash", "4.17.11", "4.17.12", None, tmp / "hn")
        s = time.perf_counter()
        result = scan_dependency_reports(
            scanner(inv, tmp / "n"), bumper(inv, tmp / "n"), [(APPS / "npm-app-audit.json", "orders-web")]
        )
        whole = time.perf_counter() - s
        _print(
            f"npm (npm-app, {len(result.proposals)} packages; phases of one bump)",
            phases,
            whole / max(len(result.proposals), 1),
        )


if __name__ == "__main__":
    main()

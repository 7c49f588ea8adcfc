"""pip-compile and ``uv pip compile`` run for real (issue 18): a bump of a compiled lockfile against a loopback
package index, read by the guard; the re-audit is the real pip-audit against a loopback OSV server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bot.core.inventory import AppRepo
from bot.core.operations.dependencies import Advisory, check_bump
from bot.core.suite_results import SuiteRun, compare
from bot.dependency_scan import scan_dependency_reports
from tests.dependency_fixtures import APPS, bumper, inventory_with, scanner
from tests.deps_lock.index_server import Dist, PackageIndex
from tests.deps_lock.lock_fixtures import (
    LOCKED_THEN,
    RELEASED_SINCE,
    VARIANTS,
    compile_fresh,
    lock_tools,
    variant_app,
    variant_repo,
)
from tests.test_dependency_bump import _pip_audit, git_status_clean
from tests.tools.osv_server import OsvServer, corpus_records
from tools import app_repos
from tools.lock_tools import LockTools

pytestmark = pytest.mark.integration
VARIANT_NAMES = sorted(VARIANTS)


@pytest.fixture
def osv():
    with OsvServer(corpus_records()).running() as url:
        yield url


@pytest.fixture
def index():
    server = PackageIndex((*LOCKED_THEN, *RELEASED_SINCE))
    with server.running() as url:
        yield server, url


def _scan(tmp_path, repo, variant, osv_url, tools, **fields):
    inv = inventory_with(variant_app(repo, variant, **fields))
    report = _pip_audit(repo, osv_url, tmp_path / "audit.json")
    result = scan_dependency_reports(
        scanner(inv, tmp_path),
        bumper(inv, tmp_path, osv_url=osv_url, lock_tools=tools),
        [(report, "billing")],
    )
    return {p.operations[0]["package"] if p.operations else p.group.subject: p for p in result.proposals}


def _changed(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_fixture_lockfile_is_what_the_tool_makes(tmp_path, variant):
    (tmp_path / "requirements.in").write_text((APPS / variant / "requirements.in").read_text())
    with PackageIndex(LOCKED_THEN).running() as url:
        made = compile_fresh(tmp_path, variant, url)
    python = re.compile(r"with Python \d+\.\d+")  # pip-compile names the interpreter it ran on
    committed = (APPS / variant / "requirements.txt").read_text()
    assert python.sub("", made) == python.sub("", committed)


def test_pip_compile_bump_changes_only_the_named_package(tmp_path, osv, index):
    server, url = index
    repo = variant_repo(tmp_path, "py-app-pip-compile")
    got = _scan(tmp_path, repo, "py-app-pip-compile", osv, lock_tools(url))
    jinja = got["jinja2"]
    assert jinja.action == "propose", jinja.reason
    assert jinja.files == ("requirements.txt",)
    assert _changed(jinja.diff) == ["-jinja2==2.10", "+jinja2==2.10.1"]
    assert jinja.notes == ("tests: 4 passed before, 4 passed after", "advisories: re-audited, gone")
    assert [c.name for c in jinja.guard.checks if not c.passed] == []
    assert _changed(got["urllib3"].diff) == ["-urllib3==1.26.5", "+urllib3==1.26.17"]
    assert _changed(got["pyyaml"].diff) == [
        '-pyyaml==5.3.1 ; python_version >= "3.8"',
        '+pyyaml==5.4 ; python_version >= "3.8"',
    ]
    assert "/simple/jinja2/" in server.requests  # the real tool resolved against the loopback index
    assert git_status_clean(repo)


def test_uv_bump_keeps_hashes_and_header(tmp_path, osv, index):
    _server, url = index
    repo = variant_repo(tmp_path, "py-app-uv")
    jinja = _scan(tmp_path, repo, "py-app-uv", osv, lock_tools(url))["jinja2"]
    assert jinja.action == "propose", jinja.reason
    changed = [line.split(":")[0] for line in _changed(jinja.diff)]
    assert changed == ["-jinja2==2.10 \\", "-    --hash=sha256", "+jinja2==2.10.1 \\", "+    --hash=sha256"]
    assert jinja.notes[1] == "advisories: re-audited, gone"
    assert "uv pip compile --generate-hashes --python-version 3.11" in (repo / "requirements.txt").read_text()


def test_missing_lock_tool_escalates_and_stops_nothing_else(tmp_path, osv, index):
    _server, url = index
    repo = variant_repo(tmp_path, "py-app-pip-compile")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    got = _scan(tmp_path, repo, "py-app-pip-compile", osv, lock_tools(url, dirs=(empty,)))
    assert {p.action for p in got.values()} == {"escalate"}
    assert got["pkg:pip/jinja2"].reason == (
        "pip-compile is not installed where the bot runs (pip-tools provides it): billing's lockfile is made "
        "by pip-compile, so the bump cannot be made. Install it beside the bot, or bump the package by hand."
    )
    assert git_status_clean(repo)


def test_exact_pin_in_the_manifest_is_moved_too(tmp_path, osv, index):
    _server, url = index
    manifest = "Jinja2==2.10  # invoice templates\nurllib3<2\nPyYAML\n"
    repo = variant_repo(tmp_path, "py-app-pip-compile", {"requirements.in": manifest})
    jinja = _scan(tmp_path, repo, "py-app-pip-compile", osv, lock_tools(url))["jinja2"]
    assert jinja.action == "propose", jinja.reason
    assert jinja.files == ("requirements.in", "requirements.txt")
    assert "-Jinja2==2.10  # invoice templates\n+Jinja2==2.10.1  # invoice templates\n" in jinja.diff


def test_manifest_that_excludes_the_fix_blocks_with_the_tool_error(tmp_path, osv, index):
    _server, url = index
    manifest = "Jinja2<2.10.1\nurllib3<2\nPyYAML\n"
    repo = variant_repo(tmp_path, "py-app-pip-compile", {"requirements.in": manifest})
    jinja = _scan(tmp_path, repo, "py-app-pip-compile", osv, lock_tools(url))["jinja2"]
    assert jinja.action == "blocked"
    check = next(c for c in jinja.guard.checks if c.name == "only_listed_files")
    assert check.detail.startswith("the tool failed: `")
    assert "ResolutionImpossible" in check.detail
    assert "pip-compile --quiet" in check.detail and "--upgrade-package=jinja2==2.10.1" in check.detail


# --- a bump that moves a dependency along (the tool's ``# via`` says why) -------------------------------------

TRANSITIVE_THEN = (
    Dist("acme-templates", "1.0", ("acme-escape>=1.0",)),
    Dist("acme-escape", "1.0"),
    Dist("acme-unrelated", "1.0"),
)
TRANSITIVE_SINCE = (
    Dist("acme-templates", "1.1", ("acme-escape>=2.0",)),
    Dist("acme-escape", "2.0"),
    Dist("acme-escape", "2.1"),
    Dist("acme-unrelated", "1.1"),
)


def _locked_repo(tmp_path: Path, variant: str) -> Path:
    repo = tmp_path / "acme"
    repo.mkdir()
    (repo / "requirements.in").write_text("acme-templates\nacme-unrelated\n")
    with PackageIndex(TRANSITIVE_THEN).running() as url:
        compile_fresh(repo, variant, url)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "requirements.in", "requirements.txt"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "lock"], cwd=repo, check=True
    )
    return repo


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_transitive_change_is_listed_and_accepted(tmp_path, variant):
    repo = _locked_repo(tmp_path, variant)
    app = AppRepo.model_validate(variant_app(repo, variant, name="acme"))
    before = {p: app_repos.read_at(repo, "HEAD", p) for p in app.files}
    index = PackageIndex((*TRANSITIVE_THEN, *TRANSITIVE_SINCE))
    with index.running() as url, app_repos.worktree(repo, "HEAD") as tree:
        error = app_repos.apply_bump(
            app, tree, "acme-templates", "1.0", "1.1", tmp_path / "h", lock_tools(url)
        )
        result = app_repos.bump_result(app, tree, before, error)
    assert error == ""
    changed = [line.split(" \\")[0] for line in _changed(result.diff) if "--hash" not in line]
    assert changed == [
        "-acme-escape==1.0",
        "+acme-escape==2.1",
        "-acme-templates==1.0",
        "+acme-templates==1.1",
    ]
    from bot.core.edits import BumpDependency

    op = BumpDependency.model_validate(
        {"app_repo": "acme", "ecosystem": "pip", "package": "acme-templates", "from": "1.0", "to": "1.1",
         "files": list(app.files), "advisories": ["TEST-2026-1"]}
    )  # fmt: skip
    tests = compare(SuiteRun("passed", 1, 0, 0), SuiteRun("passed", 1, 0, 0))
    report = check_bump(op, app, result, [Advisory(("TEST-2026-1",), fixed=("1.1",))], None, tests)
    assert report.passed, report.summary()
    package_set = next(c for c in report.checks if c.name == "package_set")
    assert package_set.detail == "acme-templates → 1.1; transitive: acme-escape 1.0 → 2.1"


def test_stray_change_without_annotation_fails_the_guard(tmp_path):
    repo = _locked_repo(tmp_path, "py-app-pip-compile")
    app = AppRepo.model_validate(variant_app(repo, "py-app-pip-compile", name="acme"))
    before = {p: app_repos.read_at(repo, "HEAD", p) for p in app.files}
    after = dict(before)
    after["requirements.txt"] = before["requirements.txt"].replace(
        "acme-unrelated==1.0", "acme-unrelated==1.1"
    )
    after["requirements.txt"] = after["requirements.txt"].replace(
        "acme-templates==1.0", "acme-templates==1.1"
    )
    from bot.core.edits import BumpDependency
    from bot.core.operations.dependencies import BumpResult

    op = BumpDependency.model_validate(
        {"app_repo": "acme", "ecosystem": "pip", "package": "acme-templates", "from": "1.0", "to": "1.1",
         "files": list(app.files), "advisories": ["TEST-2026-1"]}
    )  # fmt: skip
    result = BumpResult(("requirements.txt",), before, after)
    report = check_bump(op, app, result, [Advisory(("TEST-2026-1",), fixed=("1.1",))], None, None)
    package_set = next(c for c in report.checks if c.name == "package_set")
    assert not package_set.passed
    assert (
        package_set.detail
        == "packages changed that are not dependencies of acme-templates: acme-unrelated 1.0 → 1.1"
    )


def test_lock_tools_default_finds_the_tools_beside_the_interpreter():
    tools = LockTools(search_path=False)
    assert tools.find("pip-compile") is not None and tools.find("uv") is not None

"""Dependency bumps end to end: real pip-audit against a loopback OSV server, real tests run twice, the guard."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.core.operations.dependencies import OpenPull
from bot.dependency_scan import scan_dependency_reports
from tests.dependency_fixtures import PIP_AUDIT, app_repo, bumper, inventory_with, py_app, scanner
from tests.tools.osv_server import OsvServer, corpus_records

pytestmark = pytest.mark.integration


def _pip_audit(repo: Path, url: str, out: Path) -> Path:
    subprocess.run(
        [str(PIP_AUDIT), "-r", "requirements.txt", "--no-deps", "--disable-pip", "-s", "osv", "--osv-url", url,
         "-f", "json", "-o", str(out), "--progress-spinner", "off", "--cache-dir", str(out.parent / "cache")],
        cwd=repo, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return out


@pytest.fixture
def osv():
    server = OsvServer(corpus_records())
    with server.running() as url:
        yield server, url


def _scan(tmp_path, repo, url, report, **kw):
    inv = inventory_with(py_app(repo, **kw.pop("app", {})))
    sc = scanner(inv, tmp_path)
    return scan_dependency_reports(sc, bumper(inv, tmp_path, osv_url=url, **kw), [(report, "billing")])


def _by_package(result):
    return {p.operations[0]["package"] if p.operations else p.group.subject: p for p in result.proposals}


def test_real_pip_audit_report_becomes_one_bump_per_package(tmp_path, osv):
    server, url = osv
    repo = app_repo(tmp_path, "py-app")
    report = _pip_audit(repo, url, tmp_path / "audit.json")
    rows = json.loads(report.read_text())["dependencies"]
    assert {d["name"]: [v["id"] for v in d["vulns"]] for d in rows} == {
        "jinja2": ["PYSEC-2019-217"], "urllib3": ["PYSEC-2023-192"], "pyyaml": ["PYSEC-2021-142"],
    }  # fmt: skip
    result = _scan(tmp_path, repo, url, report)
    got = _by_package(result)
    assert sorted(got) == ["Jinja2", "PyYAML", "urllib3"]
    jinja = got["Jinja2"]
    assert jinja.action == "propose", jinja.reason
    assert (jinja.operations[0]["from"], jinja.operations[0]["to"]) == ("2.10", "2.10.1")
    assert "-Jinja2==2.10  # invoice templates\n+Jinja2==2.10.1  # invoice templates\n" in jinja.diff
    assert jinja.files == ("requirements.txt",)
    assert jinja.notes[0] == "tests: 4 passed before, 4 passed after"
    assert jinja.notes[1] == "advisories: re-audited, gone"
    assert got["urllib3"].operations[0]["to"] == "1.26.17"  # 2.0.6 is another major line
    assert got["PyYAML"].operations[0]["to"] == "5.4"
    assert git_status_clean(repo)


def git_status_clean(repo: Path) -> bool:
    out = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True
    )
    return out.stdout == "" and len(worktrees.stdout.splitlines()) == 1


def test_new_test_failure_is_shown_blocked_and_named(tmp_path, osv):
    _server, url = osv
    pin_test = (
        "import unittest\n\n\nclass PinTest(unittest.TestCase):\n"
        "    def test_templates_need_jinja_2_10(self):\n"
        "        text = open('requirements.txt').read()\n"
        "        self.assertIn('Jinja2==2.10 ', text)\n"
    )
    repo = app_repo(tmp_path, "py-app", {"tests/test_pins.py": pin_test})
    report = _pip_audit(repo, url, tmp_path / "audit.json")
    jinja = _by_package(_scan(tmp_path, repo, url, report))["Jinja2"]
    assert jinja.action == "blocked"
    assert jinja.notes[0] == "⚠ tests newly fail after this bump: not approvable"
    assert jinja.notes[1].startswith("tests: 5 passed before, 4 passed, 1 failed after; newly failing: ")
    assert "test_templates_need_jinja_2_10" in jinja.notes[1]
    failed = [c for c in jinja.guard.checks if not c.passed]
    assert [c.name for c in failed] == ["tests"]


def test_unreachable_osv_service_means_not_reaudited(tmp_path, osv):
    _server, url = osv
    repo = app_repo(tmp_path, "py-app")
    report = _pip_audit(repo, url, tmp_path / "audit.json")
    jinja = _by_package(_scan(tmp_path, repo, "http://127.0.0.1:9/v1/query", report))["Jinja2"]
    assert jinja.action == "propose"
    assert jinja.notes[1].startswith("advisories: not re-audited (pip-audit wrote no report")
    check = next(c for c in jinja.guard.checks if c.name == "advisory_absent")
    assert check.detail.endswith("2.10.1 is outside every advisory's ranges and fixed versions")


def test_open_dependabot_pull_request_suppresses_the_bump(tmp_path, osv):
    _server, url = osv
    repo = app_repo(tmp_path, "py-app")
    report = _pip_audit(repo, url, tmp_path / "audit.json")

    class Pulls:
        def open_pulls(self, app):
            return [
                OpenPull(
                    7, "Bump jinja2 from 2.10 to 2.10.1", "dependabot/pip/jinja2-2.10.1", "https://gh/pr/7"
                )
            ]

    jinja = _by_package(_scan(tmp_path, repo, url, report, pulls=Pulls()))["Jinja2"]
    assert jinja.action == "suppressed"
    assert jinja.reason == (
        "Dependabot pull request #7 (https://gh/pr/7) already bumps Jinja2 to 2.10.1: review that one."
    )


def test_merged_bump_covers_a_later_report(tmp_path, osv):
    _server, url = osv
    repo = app_repo(tmp_path, "py-app")
    report = _pip_audit(repo, url, tmp_path / "audit.json")
    text = (repo / "requirements.txt").read_text().replace("Jinja2==2.10 ", "Jinja2==2.11.3 ")
    (repo / "requirements.txt").write_text(text)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "bump"], cwd=repo, check=True
    )
    jinja = _by_package(_scan(tmp_path, repo, url, report))["pkg:pip/jinja2"]
    assert jinja.action == "suppressed"
    assert jinja.reason == (
        "billing already resolves jinja2 to 2.11.3, outside every advisory: a bump since the report covers it."
    )

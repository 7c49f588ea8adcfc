"""Sweep of `secops-bot scan --deps REPORT --app-repo NAME` inputs (issue 18): real samples and hostile variants.
Every report that cannot be read, or whose entries are skipped, is named on stderr; nothing stops the scan."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.dependency_fixtures import app_repo, npm_app, py_app

ROOT = Path(__file__).resolve().parents[2]
OSV = ROOT / "fixtures" / "osv"
NPM_AUDIT = ROOT / "fixtures" / "apps" / "npm-app-audit.json"
DEAD_OSV = "http://127.0.0.1:9"  # nothing listens: the re-audit says "not re-audited"


@pytest.fixture
def world(tmp_path):
    py, npm = app_repo(tmp_path, "py-app"), app_repo(tmp_path, "npm-app")
    cmdb = tmp_path / "cmdb.yaml"
    cmdb.write_text(yaml.safe_dump({"app_repos": [py_app(py), npm_app(npm)]}))
    gitops = tmp_path / "gitops"
    gitops.mkdir()
    return tmp_path, cmdb, gitops


def deps(world, report: Path, app: str = "billing", *extra: str) -> tuple[int, list[dict], str]:
    tmp_path, cmdb, gitops = world
    out, err = io.StringIO(), io.StringIO()
    argv = ["scan", "--deps", str(report), "--app-repo", app, "--repo", str(gitops), "--cmdb", str(cmdb)]
    code = main([*argv, "--osv-url", DEAD_OSV, "--json", *extra], out=out, err=err,
                env={"SECOPS_DATA_DIR": str(tmp_path / "data")})  # fmt: skip
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _file(world, name: str, data: bytes | str) -> Path:
    path = world[0] / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _pip_audit(*deps_: dict) -> str:
    return json.dumps({"dependencies": list(deps_), "fixes": []})


def test_deps_truncated_report_named_on_stderr(world):
    text = _pip_audit(
        {"name": "Jinja2", "version": "2.10", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"]}]}
    )
    code, rows, err = deps(world, _file(world, "trunc.json", text[:60]))
    assert code == 0 and rows == []
    assert "trunc.json" in err and "not valid JSON" in err


def test_deps_empty_report_named_on_stderr(world):
    code, rows, err = deps(world, _file(world, "empty.json", ""))
    assert code == 0 and rows == []
    assert "empty.json: empty file" in err


def test_deps_report_not_utf8_named_on_stderr(world):
    code, _rows, err = deps(world, _file(world, "latin.json", b'{"dependencies": [{"name": "caf\xe9"}]}'))
    assert code == 0
    assert "latin.json: not UTF-8 text" in err


def test_deps_advisory_record_is_not_a_report_corpus_ghsa(world):
    ghsa = (
        OSV
        / "github-advisory-database/advisories/github-reviewed/2019/07/GHSA-jf85-cpcp-j695/GHSA-jf85-cpcp-j695.json"
    )
    code, rows, err = deps(world, ghsa, "orders-web")
    assert code == 0 and rows == []
    assert "GHSA-jf85-cpcp-j695.json" in err and "not a" in err


def test_deps_wrong_types_inside_report_named_with_place(world):
    bad = _pip_audit({"name": "Jinja2", "version": "2.10", "vulns": "PYSEC-2019-217"},
                     {"name": "PyYAML", "version": "5.3.1", "vulns": [{"id": "PYSEC-2021-142", "fix_versions": ["5.4"]}]})  # fmt: skip
    code, rows, err = deps(world, _file(world, "types.json", bad))
    assert code == 0
    assert [r["subject"] for r in rows] == ["pkg:pip/pyyaml"]
    assert "types.json: dependencies[0]: vulns is not a list" in err


def test_deps_other_ecosystem_report_named_not_dropped_silently(world):
    code, rows, err = deps(world, NPM_AUDIT, "billing")  # an npm report given for the pip repository
    assert code == 0 and rows == []
    assert "npm-app-audit.json" in err and "npm" in err and "billing" in err


def test_deps_osv_scanner_other_ecosystems_named_corpus_sample(world):
    code, rows, err = deps(world, OSV / "osv-scanner" / "test-vuln-results-a.json")
    assert code == 0 and rows == []
    assert "test-vuln-results-a.json: packages of ecosystems the bot does not bump were not read" in err


def test_deps_every_dependency_skipped_not_audited_never_clean(world):
    skipped = _pip_audit({"name": "Jinja2", "skip_reason": "Dependency not found on PyPI"},
                         {"name": "PyYAML", "skip_reason": "Dependency not found on PyPI"})  # fmt: skip
    code, rows, err = deps(world, _file(world, "skipped.json", skipped))
    assert code == 0 and rows == []
    assert "skipped.json: NOT AUDITED (this is not a clean result)" in err
    assert "audited none of its 2 dependencies" in err


def test_deps_npm_via_cycle_reads_the_advisory_once(world):
    doc = json.loads(NPM_AUDIT.read_text())
    lodash = doc["vulnerabilities"]["lodash"]
    doc["vulnerabilities"]["lodash"] = {**lodash, "via": [*lodash["via"], "minimist"]}
    doc["vulnerabilities"]["minimist"]["via"] = [*doc["vulnerabilities"]["minimist"]["via"], "lodash"]
    code, rows, err = deps(world, _file(world, "cycle.json", json.dumps(doc)), "orders-web")
    assert code == 0, err
    assert sorted(r["subject"] for r in rows) == ["pkg:npm/lodash", "pkg:npm/minimist"]
    assert all(len(r["findings"]) == 1 for r in rows)


def test_deps_package_name_case_and_punctuation_pep503(world):
    report = _pip_audit({"name": "pyYAML", "version": "5.3.1", "vulns": [{"id": "PYSEC-2021-142", "fix_versions": ["5.4"]}]},
                        {"name": "JINJA2", "version": "2.10", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"]}]})  # fmt: skip
    code, rows, err = deps(world, _file(world, "case.json", report))
    assert code == 0, err
    assert sorted((r["subject"], r["action"]) for r in rows) == [
        ("pkg:pip/jinja2", "propose"),
        ("pkg:pip/pyyaml", "propose"),
    ]
    assert {r["operations"][0]["package"] for r in rows} == {"Jinja2", "PyYAML"}  # as the lockfile spells it


def test_deps_downgrade_and_non_version_fixes_ignored_smallest_real_fix(world):
    report = _pip_audit({"name": "Jinja2", "version": "2.10", "vulns": [
        {"id": "PYSEC-2019-217", "fix_versions": ["2.9", "latest; rm -rf /", "2.10.1"]}]})  # fmt: skip
    code, rows, err = deps(world, _file(world, "down.json", report))
    assert code == 0, err
    (row,) = rows
    assert row["operations"][0]["to"] == "2.10.1"
    assert "fixed version 2.9 is not above the installed 2.10 (ignored)" in row["reason"]


def test_deps_only_downgrade_fix_proposes_nothing(world):
    report = _pip_audit(
        {"name": "Jinja2", "version": "2.10", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.9"]}]}
    )
    code, rows, err = deps(world, _file(world, "onlydown.json", report))
    assert code == 0, err
    (row,) = rows
    assert row["action"] != "propose"
    assert row["operations"] == []


def test_deps_findings_not_of_app_message_exact_text():
    from bot.messages import deps_findings_not_of_app

    assert deps_findings_not_of_app("a.json", 2, ["npm"], "billing", "pip") == (
        "a.json: 2 finding(s) skipped (npm): billing is a pip repository; "
        "is --app-repo billing the repository this report is of?"
    )


@pytest.mark.parametrize("hostile_range", ["<4.17.12 || garbage", "*", ">=99.0.0 <1.0.0", "<4.17.10"])
def test_deps_npm_hostile_range_never_proposes_a_wrong_bump(world, hostile_range):
    doc = json.loads(NPM_AUDIT.read_text())
    doc["vulnerabilities"]["lodash"]["via"][0]["range"] = hostile_range
    del doc["vulnerabilities"]["minimist"]
    code, rows, err = deps(world, _file(world, "range.json", json.dumps(doc)), "orders-web")
    assert code == 0, err
    for row in rows:  # whatever the range says, a proposal is a real upgrade the range itself calls fixed
        for op in row["operations"]:
            assert op["from"] == "4.17.11" and op["to"] not in ("", "4.17.11")
    if hostile_range == "<4.17.10":  # the installed 4.17.11 is outside the range: nothing to bump
        assert all(r["action"] != "propose" for r in rows)


def test_deps_npm_unreadable_range_named_on_stderr(world):
    doc = json.loads(NPM_AUDIT.read_text())
    doc["vulnerabilities"]["lodash"]["via"][0]["range"] = "<4.17.12 || garbage"
    code, _rows, err = deps(world, _file(world, "garbage.json", json.dumps(doc)), "orders-web")
    assert code == 0
    assert (
        "garbage.json: vulnerabilities['lodash'].via[0]: range '<4.17.12 || garbage' is not a semver range"
        in err
    )

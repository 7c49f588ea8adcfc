"""``secops-bot scan --deps REPORT --app-repo NAME``: what a person sees."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from bot.cli import main
from tests.dependency_fixtures import app_repo, py_app
from tests.test_dependency_bump import _pip_audit
from tests.tools.osv_server import OsvServer, corpus_records

pytestmark = pytest.mark.integration


def _run(tmp_path, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env={"SECOPS_DATA_DIR": str(tmp_path / "data")})
    return code, out.getvalue(), err.getvalue()


def _world(tmp_path):
    repo = app_repo(tmp_path, "py-app")
    cmdb = tmp_path / "cmdb.yaml"
    cmdb.write_text(yaml.safe_dump({"app_repos": [py_app(repo)]}))
    gitops = tmp_path / "gitops"
    gitops.mkdir()
    return repo, cmdb, gitops


def test_scan_deps_prints_one_json_row_per_package(tmp_path):
    repo, cmdb, gitops = _world(tmp_path)
    with OsvServer(corpus_records()).running() as url:
        report = _pip_audit(repo, url, tmp_path / "audit.json")
        code, out, _err = _run(tmp_path, "scan", "--deps", str(report), "--app-repo", "billing", "--repo",
                               str(gitops), "--cmdb", str(cmdb), "--osv-url", url, "--json")  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["subject"] for r in rows) == ["pkg:pip/jinja2", "pkg:pip/pyyaml", "pkg:pip/urllib3"]
    assert {r["action"] for r in rows} == {"propose"}
    assert all(r["targets"] == ["billing"] for r in rows)


def test_scan_deps_with_an_unknown_app_repo_says_so(tmp_path):
    _repo, cmdb, gitops = _world(tmp_path)
    report = tmp_path / "r.json"
    report.write_text('{"dependencies": [], "fixes": []}')
    code, _out, err = _run(tmp_path, "scan", "--deps", str(report), "--app-repo", "shop", "--repo", str(gitops),
                           "--cmdb", str(cmdb))  # fmt: skip
    assert code == 2
    assert "--app-repo shop: not an application repository of the inventory (app_repos:)" in err


def test_scan_deps_report_that_audited_nothing_says_not_audited(tmp_path):
    _repo, cmdb, gitops = _world(tmp_path)
    report = tmp_path / "r.json"
    report.write_text(
        '{"dependencies": [{"name": "jinja2", "skip_reason": "service unreachable"}], "fixes": []}'
    )
    code, _out, err = _run(tmp_path, "scan", "--deps", str(report), "--app-repo", "billing", "--repo", str(gitops),
                           "--cmdb", str(cmdb))  # fmt: skip
    assert code == 0
    assert "r.json: NOT AUDITED (this is not a clean result):" in err

"""`dedup import` then `scan` and `dedup query` through the CLI, on a real git repo, Chroma and the model."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main
from tests.conftest import FIXTURES, git

pytestmark = pytest.mark.integration

INGRESS = "clusters/prod/web-01/ingress-nginx-controller.yaml"


def _run(*argv: str, data) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--data-dir", str(data), *argv], out=out, err=err, env={})
    return code, out.getvalue() or err.getvalue()


def test_imported_bot_commit_suppresses_the_same_block_and_is_queryable(gitops, tmp_path):
    path = gitops / INGRESS
    path.write_text(path.read_text().replace('"198.51.100.23/32,', '"198.51.100.23/32,91.240.118.172/32,'))
    git("-c", "user.name=secops-bot", "-c", "user.email=b@example.com", "commit", "-qam",
        "Block 91.240.118.172 on web-01 (#12)", cwd=gitops)  # fmt: skip
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "revert", "--no-edit", "HEAD", cwd=gitops)
    cmdb = str(FIXTURES / "cmdb.yaml")
    data = tmp_path / "data"

    code, text = _run("dedup", "import", "--repo", str(gitops), "--cmdb", cmdb, data=data)
    assert (code, text) == (
        0,
        "1 commit(s) by the bot read, 1 fix(es) with 1 effect(s) recorded as merged.\n",
    )
    code, text = _run("scan", "--alerts", str(FIXTURES / "alerts" / "demo-alerts.json"), "--repo", str(gitops),
                      "--cmdb", cmdb, "--since", "all", "--json", data=data)  # fmt: skip
    rows = {r["attacker"]: r for r in map(json.loads, filter(None, text.splitlines())) if r.get("attacker")}
    assert (
        code == 0 and rows["91.240.118.172"]["action"] == "propose"
    )  # targets web-01 and web-02: web-02 is new
    code, text = _run("dedup", "query", "block 91.240.118.172 on the ingress", "-k", "1", data=data)
    assert code == 0 and "#12 (merged)  block 91.240.118.172/32 in the ingress-nginx block-cidrs list" in text

"""A deployment with only application repositories (no GITHUB_REPOSITORY: no GitOps repository on GitHub) still
learns its bump pull requests' merges and closes through ``secops-bot sync``."""

from __future__ import annotations

import io

import pytest
import yaml

from bot.cli import main
from tests.deps_publish.conftest import TOKEN, DepWorld, app_remote, published

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path, osv, gh):
    work, bare = app_remote(tmp_path)
    return DepWorld(tmp_path, work, bare, osv, gh)


def _sync(world, env):
    cmdb = world.tmp / "inventory.yaml"
    app = world.inventory().app_repo("billing")
    cmdb.write_text(yaml.safe_dump({"app_repos": [app.model_dump(mode="json", exclude_none=True)]}))
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--data-dir", str(world.tmp / "data"), "sync", "--cmdb", str(cmdb)],
        out=out, err=err, env=env, clock=world.clock,
    )  # fmt: skip
    return code, out.getvalue(), err.getvalue()


def test_sync_without_gitops_repository_learns_the_merge(world, gh):
    p, result = published(world)
    gh.merge(result.pr_number, "alice")
    code, out, err = _sync(world, {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": gh.url})
    assert code == 0, err
    assert "Checked 1 open bot pull request(s): 1 merged, 0 closed without merge" in out
    assert "Merged by alice: Jinja2 2.10 → 2.10.1 in billing" in out
    assert world.state.get(p.id).status == "merged"


def test_sync_without_gitops_repository_learns_the_close(world, gh):
    p, result = published(world)
    gh.close_by(result.pr_number, "bob", "Not now.")
    code, out, err = _sync(world, {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": gh.url})
    assert code == 0, err
    assert "1 merged" not in out and "1 closed without merge" in out
    assert world.state.get(p.id).status == "rejected"


def test_sync_without_gitops_repository_or_token_says_not_configured(world, gh):
    p, _ = published(world)
    code, out, _err = _sync(world, {})
    assert code == 0
    from bot import messages

    assert out == messages.cli_sync_not_configured() + "\n"
    assert world.state.get(p.id).status == "published"  # nothing learned without a token

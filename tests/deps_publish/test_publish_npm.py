"""npm: the approved bump made again with ``npm install --package-lock-only`` on the latest default branch and
published (the registry must be reachable; skipped when it is not)."""

from __future__ import annotations

import pytest

from tests.conftest import git
from tests.dependency_fixtures import APPS
from tests.deps_publish.conftest import DepWorld, app_remote, approval
from tests.test_dependency_bump_npm import _registry_reachable
from tests.tools.github_server import GitHubServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry():
    if not _registry_reachable():
        pytest.skip("the npm registry is not reachable: `npm install --package-lock-only` cannot resolve")


def test_npm_bump_pushes_manifest_and_lockfile_only(tmp_path, registry):
    work, bare = app_remote(tmp_path, "npm-app")
    with GitHubServer("acme", "orders-web") as gh:
        world = DepWorld(tmp_path, work, bare, "", gh, npm=True)
        lodash = world.proposals(APPS / "npm-app-audit.json")["lodash"]
        assert lodash.action == "propose", lodash.reason
        result = world.publisher().publish(lodash, approval(lodash))
        assert result.ok, result.message
        body = gh.repo.pulls[1]["body"]
    assert git("diff", "--name-only", "main", result.branch, cwd=bare).split() == [
        "package-lock.json",
        "package.json",
    ]
    package_json = git("diff", "--unified=0", "main", result.branch, "--", "package.json", cwd=bare)
    assert '-    "lodash": "4.17.11",\n+    "lodash": "4.17.12",' in package_json
    assert "**Version:** `4.17.11` → `4.17.12`" in body
    assert "Made by the ecosystem's tool (npm, npm) on the latest default branch" in body
    assert "**Tests:** tests: 5 passed before, 5 passed after" in body

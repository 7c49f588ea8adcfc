"""npm: ``npm install --package-lock-only`` for real (the registry must be reachable; skipped when it is not)."""

from __future__ import annotations

import subprocess

import pytest

from bot.dependency_scan import scan_dependency_reports
from tests.dependency_fixtures import APPS, app_repo, bumper, inventory_with, npm_app, scanner

pytestmark = pytest.mark.integration


def _registry_reachable() -> bool:
    try:
        out = subprocess.run(
            ["npm", "view", "lodash@4.17.12", "version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "4.17.12"


@pytest.fixture(scope="module")
def registry():
    if not _registry_reachable():
        pytest.skip("the npm registry is not reachable: `npm install --package-lock-only` cannot resolve")


def test_npm_bump_changes_manifest_and_lockfile_with_npm(tmp_path, registry):
    repo = app_repo(tmp_path, "npm-app")
    inv = inventory_with(npm_app(repo))
    result = scan_dependency_reports(
        scanner(inv, tmp_path), bumper(inv, tmp_path), [(APPS / "npm-app-audit.json", "orders-web")]
    )
    got = {p.operations[0]["package"]: p for p in result.proposals}
    lodash = got["lodash"]
    assert (lodash.operations[0]["from"], lodash.operations[0]["to"]) == ("4.17.11", "4.17.12")
    assert lodash.files == ("package-lock.json", "package.json")
    assert (
        '-    "lodash": "4.17.11",\n+    "lodash": "4.17.12",\n' in lodash.diff
    )  # --save-exact kept the pin
    assert lodash.notes[0] == "tests: 5 passed before, 5 passed after"
    assert lodash.action == "propose", lodash.reason
    checks = {c.name: c for c in lodash.guard.checks}
    assert checks["only_listed_files"].passed and checks["package_set"].passed and checks["tests"].passed
    assert got["minimist"].operations[0]["to"] == "1.2.6"  # 0.2.4 is below the installed 1.2.5

"""Fixture application repositories (real git), their inventory, and a scanner for dependency scans."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.inventory import Inventory, inventory_from_data
from bot.dependency_bump import DependencyBumper
from bot.pipeline import Scanner
from bot.state import StateStore
from tests.conftest import FIXTURES, git

APPS = FIXTURES / "apps"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def app_repo(tmp_path: Path, name: str, extra: dict[str, str] | None = None) -> Path:
    """A copy of ``fixtures/apps/<name>`` committed in a fresh git repository (plus ``extra`` files)."""
    repo = tmp_path / name
    shutil.copytree(APPS / name, repo)
    for path, text in (extra or {}).items():
        (repo / path).write_text(text)
    git("init", "-q", "-b", "main", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=repo)
    return repo


def py_app(repo: Path, **fields: Any) -> dict[str, Any]:
    return {
        "name": "billing",
        "repository": str(repo),
        "ecosystem": "pip",
        "manifest": "requirements.txt",
        "test_command": [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-v"],
        "test_timeout": 120,
        "owner": "team-billing",
        **fields,
    }


def npm_app(repo: Path, **fields: Any) -> dict[str, Any]:
    return {
        "name": "orders-web",
        "repository": str(repo),
        "ecosystem": "npm",
        "manifest": "package.json",
        "lockfiles": ["package-lock.json"],
        "test_command": ["npm", "test"],
        "test_timeout": 120,
        **fields,
    }


def inventory_with(*apps: dict[str, Any]) -> Inventory:
    return inventory_from_data({"app_repos": list(apps)})


def scanner(inventory: Inventory, tmp_path: Path) -> Scanner:
    clock = FixedClock(1_795_000_000)
    gitops = tmp_path / "gitops"
    gitops.mkdir(exist_ok=True)
    return Scanner(
        inventory=inventory,
        repo_root=gitops,
        catalog=load_catalog(),
        state=StateStore(tmp_path / "state.db"),
        audit=AuditLog(tmp_path / "audit.jsonl", clock),
        clock=clock,
    )


def bumper(inventory: Inventory, tmp_path: Path, **kw: Any) -> DependencyBumper:
    return DependencyBumper(inventory, base_dir=tmp_path, work_dir=tmp_path / "work", **kw)

"""Shared fixtures: the shipped demo data, copied into temporary real git repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.core.alert import Alert
from bot.core.inventory import Inventory
from tools.cmdb import load_inventory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def git(*args: str, cwd: Path) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30)
    return out.stdout


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    """A fresh copy of the sample GitOps repository, committed in a real git repository."""
    repo = tmp_path / "gitops"
    shutil.copytree(FIXTURES / "gitops", repo)
    git("init", "-q", "-b", "main", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=repo)
    return repo


@pytest.fixture
def inventory() -> Inventory:
    return load_inventory(FIXTURES / "cmdb.yaml")


def make_alert(
    *,
    srcip: str | None = "91.240.118.172",
    agent: str = "web-01",
    rule_id: str = "31103",
    level: int = 10,
    groups: tuple[str, ...] = ("web", "accesslog", "attack", "sql_injection"),
    ts: float | None = 1_700_000_000.0,
    log: str = "GET /?id=1 OR 1=1",
    alert_id: str = "1.1",
    mitre: tuple[str, ...] = ("T1190",),
) -> Alert:
    return Alert(
        alert_id=alert_id,
        ts=ts,
        rule_id=rule_id,
        level=level,
        description="SQL injection attempt.",
        groups=groups,
        agent=agent,
        srcip=srcip,
        mitre=mitre,
        log=log,
        line=1,
    )


@pytest.fixture
def world(tmp_path: Path, inventory: Inventory):
    """A bare GitOps remote with its state, audit log and fake clock (see ``tests.publish_fixtures.World``)."""
    from tests.publish_fixtures import World, bare_remote  # imports this module: only once it is loaded

    return World(tmp_path, bare_remote(tmp_path), inventory)


@pytest.fixture
def gh():
    """A loopback GitHub REST server that accepts ``tests.publish_fixtures.FAKE_TOKEN``."""
    from tests.publish_fixtures import FAKE_TOKEN
    from tests.tools.github_server import GitHubServer

    with GitHubServer(token=FAKE_TOKEN) as server:
        yield server


# --- PostgreSQL (issue 17: scale-out) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the session (tests/pg_fixtures.py); skipped with the reason if it cannot start."""
    from tests.pg_fixtures import running_server

    with running_server() as (server, why):
        if server is None:
            pytest.skip(why)
        yield server


@pytest.fixture
def pg_url(postgres_server):
    """The URL of a new, empty database on the session's server."""
    return postgres_server.fresh_database()

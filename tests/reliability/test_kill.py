"""kill -9 at random moments of approve → publish under `serve`, and of `scan`; then restart and check.

Crashes are real SIGKILLs at random times (no crash hooks in the product); a slow loopback GitHub widens the
window between the push and the pull request. After each restart: nothing approved is lost, every approved
revision has exactly one pull request, and `audit verify` passes. `make test` runs a few rounds,
``SECOPS_RELIABILITY=full`` many more; each run prints its figures.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import FIXTURES
from tests.reliability.serve_harness import ROOT, Serve, SlowGitHub, World, approve_buttons, wait_until

pytestmark = pytest.mark.integration
FULL = os.environ.get("SECOPS_RELIABILITY") == "full"
SERVE_RUNS = 20 if FULL else 2
SCAN_RUNS = 20 if FULL else 2


def _audit_ok(data: Path) -> bool:
    err = io.StringIO()
    return main(["--data-dir", str(data), "audit", "verify"], out=io.StringIO(), err=err, env={}) == 0


def _published(world: World) -> set[str]:
    return {r[0] for r in world.rows("SELECT id FROM proposals WHERE status = 'published'")}


def _one_serve_run(tmp: Path, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    with SlowGitHub(delay=lambda: rng.uniform(0.0, 0.4)) as github:
        world = World(tmp, github=github)
        try:
            serve = Serve(world)
            wait_until(lambda: len(approve_buttons(world)) == 3, 60, "three proposals posted")
            buttons = approve_buttons(world)
            for pid in rng.sample(sorted(buttons), len(buttons)):
                serve.click_approve(*buttons[pid])
            time.sleep(rng.uniform(0.0, 2.0))
            serve.kill()  # SIGKILL: somewhere between the votes, the pushes and the pull requests
            approved = {r[0] for r in world.rows("SELECT proposal_id FROM outbox")}
            queued = world.rows("SELECT COUNT(*) FROM outbox WHERE state = 'queued'")[0][0]
            no_pr = world.rows("SELECT COUNT(*) FROM publications WHERE pr_number IS NULL")[0][0]
            serve = Serve(world)  # resumes what was approved on start
            wait_until(lambda: approved <= _published(world), 60, "approved revisions published")
            for pid in sorted(set(buttons) - _published(world)):  # votes the kill cut short: click again
                serve.click_approve(*buttons[pid])
            wait_until(lambda: set(buttons) <= _published(world), 60, "every proposal published")
            assert serve.stop(signal.SIGTERM) == 0, serve.stderr
        finally:
            world.close()
    per_branch = github.prs_by_branch()
    figures = {
        "approved_at_kill": len(approved),
        "interrupted_at_kill": queued,
        "pushed_without_pr_at_kill": no_pr,
        "lost": len(approved - _published(world)),
        "duplicates": sum(n - 1 for n in per_branch.values()),
        "prs": len(per_branch),
        "branches": len(world.bot_branches()),
        "audit_ok": int(_audit_ok(world.data)),
    }
    print(f"serve kill run {seed}: {json.dumps(figures)}")
    return figures


@pytest.mark.parametrize("seed", range(SERVE_RUNS))
def test_kill_during_approve_and_publish_loses_and_duplicates_nothing(tmp_path, seed):
    figures = _one_serve_run(tmp_path, seed)
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["prs"] == figures["branches"] == 3
    assert figures["audit_ok"] == 1


# --- scan ------------------------------------------------------------------------------------------------


def _big_alerts(path: Path, attackers: int = 300) -> None:
    """``attackers`` web attackers, four alerts each, from the demo file's first attacker."""
    docs = [
        json.loads(line) for line in (FIXTURES / "alerts" / "demo-alerts.json").read_text().splitlines()[:4]
    ]
    lines = []
    for a in range(attackers):
        ip = f"45.{a // 250 + 1}.{a % 250 + 1}.7"
        for i, doc in enumerate(docs):
            d = json.loads(json.dumps(doc).replace(doc["data"]["srcip"], ip))
            d["id"] = f"{a}-{i}"
            d["timestamp"] = f"2026-11-20T{9 + a // 60:02d}:{a % 60:02d}:{i:02d}.000+0000"
            lines.append(json.dumps(d))
    path.write_text("\n".join(lines) + "\n")


def _scan(alerts: Path, data: Path) -> subprocess.Popen[str]:
    argv = [
        "--data-dir",
        str(data),
        "scan",
        "--json",
        "--alerts",
        str(alerts),
        "--repo",
        str(FIXTURES / "gitops"),
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *argv, "--cmdb", str(FIXTURES / "cmdb.yaml")],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SECOPS_")} | {"HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _proposals(data: Path) -> list[tuple[str, str, str]]:
    import sqlite3

    db = sqlite3.connect(data / "state.db")
    try:
        return sorted(db.execute("SELECT id, action, revision_hash FROM proposals").fetchall())
    finally:
        db.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same file scanned once without interruption: what every killed-and-rerun scan must end with."""
    tmp = tmp_path_factory.mktemp("reference")
    alerts = tmp / "alerts.json"
    _big_alerts(alerts)
    started = time.monotonic()
    proc = _scan(alerts, tmp / "data")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return alerts, _proposals(tmp / "data"), time.monotonic() - started


@pytest.mark.parametrize("seed", range(SCAN_RUNS))
def test_kill_during_scan_then_rescan_loses_and_duplicates_nothing(tmp_path, reference, seed):
    alerts, expected, duration = reference
    rng = random.Random(1000 + seed)
    data = tmp_path / "data"
    proc = _scan(alerts, data)
    time.sleep(rng.uniform(0.3, duration))
    proc.kill()
    proc.wait(30)
    rerun = _scan(alerts, data)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    got = _proposals(data)
    ids = [p[0] for p in got]
    figures = {
        "lost": len(set(expected) - set(got)),
        "duplicates": len(ids) - len(set(ids)) + len(set(got) - set(expected)),
        "proposals": len(got),
        "audit_ok": int(_audit_ok(data)),
    }
    print(f"scan kill run {seed}: {json.dumps(figures)}")
    assert figures["lost"] == 0 and figures["duplicates"] == 0 and figures["audit_ok"] == 1

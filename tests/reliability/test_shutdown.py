"""Graceful shutdown of `serve` as a real process: SIGTERM/SIGINT stop the loops, wait for a publish, exit 0."""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.reliability.serve_harness import Serve, SlowGitHub, World, approve_buttons, wait_until

pytestmark = pytest.mark.integration
CYCLES = 20


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path, poll_interval="0.05")  # the poller is busy with the store when the signal lands
    yield w
    w.close()


def test_twenty_start_stop_cycles_exit_cleanly(world):
    rng = random.Random(11)
    for cycle in range(CYCLES):
        serve = Serve(world)
        time.sleep(rng.uniform(0, 0.4))
        code = serve.stop(signal.SIGINT if cycle % 2 else signal.SIGTERM)
        assert code == 0, f"cycle {cycle}: rc {code}\n{serve.stderr}"
        assert "Traceback" not in serve.stderr, f"cycle {cycle}:\n{serve.stderr}"
        assert serve.stderr.rstrip().endswith("secops-bot stopped."), serve.stderr
    assert world.rows("PRAGMA integrity_check") == [("ok",)]  # every cycle shared one intact store
    assert world.rows("SELECT COUNT(*) FROM proposals")[0][0] > 0


def test_sigterm_waits_for_the_publish_in_flight(tmp_path):
    with SlowGitHub(delay=lambda: 1.5, token="") as github:
        world = World(tmp_path, github=github)
        try:
            serve = Serve(world)
            wait_until(lambda: approve_buttons(world), 30, "proposals posted")
            pid, (value, ts) = sorted(approve_buttons(world).items())[0]
            assert serve.click_approve(value, ts) == 200
            assert github.writes_seen.wait(30)  # the PR is being opened right now
            code = serve.stop(signal.SIGTERM)
        finally:
            world.close()
    assert code == 0 and "Traceback" not in serve.stderr, serve.stderr
    assert serve.stderr.rstrip().endswith("secops-bot stopped.")
    assert list(github.prs_by_branch().values()) == [1]
    assert world.rows(f"SELECT status FROM proposals WHERE id = '{pid}'") == [("published",)]
    assert world.rows("SELECT state, attempts FROM outbox") == [("done", 1)]


def test_failing_poll_keeps_serve_running_and_unhealthy_until_it_recovers(tmp_path):
    world = World(tmp_path, poll_interval="0.2")
    try:
        serve = Serve(world)
        wait_until(lambda: serve.health().get("last_poll"), 30, "first poll")
        world.alerts.unlink()
        world.alerts.mkdir()  # every poll now fails (unreadable input), as on a broken disk
        wait_until(lambda: not serve.health()["ok"], 30, "unhealthy")
        assert "poll" in serve.health()["errors"]
        world.alerts.rmdir()
        world.alerts.write_text("")
        wait_until(lambda: serve.health()["ok"], 30, "healthy again")
        assert serve.stop() == 0
    finally:
        world.close()
    assert world.rows("SELECT COUNT(*) FROM proposals")[0][0] > 0

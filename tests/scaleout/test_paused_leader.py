"""Three `secops-bot serve` processes on one real PostgreSQL; the leader is paused (SIGSTOP) past its lease.

Another replica takes over and posts the next alert's card; the old leader, resumed (SIGCONT), notices that it
lost the lease (its log, ``/healthz``, ``/readyz`` and ``secops_leader`` say standby) and makes no Slack call
for what the new leader handled. No alert is lost or doubled: one card per proposal on the Slack recorder,
one ``proposal`` record per proposal (and per alert) in the audit chain, which verifies.
"""

from __future__ import annotations

import io
import json
import signal
import urllib.error
import urllib.request
from collections import Counter

import pytest

from bot.cli import main
from tests.reliability.serve_harness import Serve, wait_until
from tests.scaleout.replica_harness import (
    PgWorld,
    Replica,
    append_alerts,
    audit_records,
    buttons,
    calls_by,
    card_ids,
    cards,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]
WHILE_PAUSED, AFTER_WAKING = "185.220.101.78", "185.220.101.79"


def _leader(world: PgWorld) -> tuple[str, int, float]:
    ((holder, epoch, expires),) = world.rows("SELECT holder, epoch, expires_at FROM leases")
    return str(holder), int(epoch), float(expires)


def _readiness(serve: Serve) -> dict:
    """``/readyz`` (200 or 503: the role is there either way)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{serve.port}/readyz", timeout=10) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as err:
        return dict(json.loads(err.read()))


def _leader_gauge(serve: Serve) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{serve.port}/metrics", timeout=5) as resp:
        lines = resp.read().decode().splitlines()
    return next(line.split()[1] for line in lines if line.startswith("secops_leader "))


def test_leader_paused_past_its_lease_wakes_as_standby_and_posts_nothing(tmp_path, pg_url):
    world = PgWorld(tmp_path, poll_interval="1")
    world.url = pg_url
    world.extra = {"SECOPS_DATABASE_URL": pg_url, "SECOPS_LEADER_LEASE": "3s"}
    members = {name: Replica(world, name) for name in ("r1", "r2", "r3")}
    serves: dict[str, Serve] = {}
    paused: Serve | None = None
    try:
        for name, member in members.items():
            serves[name] = Serve(member)  # type: ignore[arg-type]
        wait_until(lambda: len(buttons(world)) == 3, 90, "the demo alerts' three cards")
        old, epoch, _ = _leader(world)
        paused = serves[old]
        paused.proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: _leader(world)[0] != old, 60, "another replica taking the lease over")
        new, new_epoch, _ = _leader(world)
        assert new_epoch > epoch
        before = len(calls_by(world, members[old]))  # its last calls have arrived by now

        append_alerts(world.alerts, WHILE_PAUSED)
        wait_until(lambda: len(buttons(world)) == 4, 60, "the new leader posting the next alert's card")
        paused.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: "lost the leader lease" in paused.stderr, 60, "the old leader noticing")
        wait_until(lambda: paused.health().get("role") == "standby", 30, "/healthz saying standby")
        assert _leader_gauge(paused) == "0.0" and _leader_gauge(serves[new]) == "1.0"
        append_alerts(world.alerts, AFTER_WAKING)
        wait_until(lambda: len(buttons(world)) == 5, 60, "the new leader posting the alert after the wake")
        assert _leader(world)[:2] == (new, new_epoch)  # the old leader did not take it back

        assert calls_by(world, members[old])[before:] == []  # nothing posted or updated once paused
        by_new = card_ids(
            [body for method, body in calls_by(world, members[new]) if method == "chat.postMessage"]
        )
        assert len(by_new) >= 2 and set(cards(world).values()) == {1}  # 5 cards, none twice
        proposals = audit_records(world, "proposal")  # cards, and escalations and repeats too
        recorded = Counter(r["proposal"] for r in proposals)
        assert set(recorded.values()) == {1} and set(cards(world)) <= set(recorded)
        alerts = [a for r in proposals for a in r["alert_ids"]]
        assert len(alerts) == len(set(alerts))  # no alert in two proposals
        err = io.StringIO()
        assert (
            main(["audit", "verify"], out=io.StringIO(), err=err, env={"SECOPS_DATABASE_URL": pg_url}) == 0
        ), err.getvalue()
        assert _readiness(paused)["role"] == "standby" and _readiness(serves[new])["role"] == "leader"
    except AssertionError:
        for name, serve in serves.items():
            print(f"--- {name} ---\n{serve.stderr[-4000:]}")
        raise
    finally:
        if paused is not None and paused.proc.poll() is None:
            paused.proc.send_signal(signal.SIGCONT)
        for serve in serves.values():
            serve.stop()
        world.close()

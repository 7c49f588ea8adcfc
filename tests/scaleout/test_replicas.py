"""Three `secops-bot serve` processes against one real PostgreSQL: one leader, any replica serves Slack.

kill -9 the leader: another takes over (a newer epoch) and posts the alerts that arrived after the kill, with
no alert lost or posted twice; 50 approvals spread over the replicas give one pull request per revision; an
event retried to another replica has no second effect; `audit verify` passes on the shared chain.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from tests.reliability.serve_harness import ALICE, SECRET, Serve, SlowGitHub, World, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NEW_ATTACKER = "185.220.101.77"


class PgWorld(World):
    """The harness's world with its rows read from PostgreSQL."""

    url: str = ""

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            return [tuple(r) for r in conn.execute(query).fetchall()]


class Replica:
    """What ``Serve`` needs of a world, with this replica's own name and data directory."""

    def __init__(self, world: PgWorld, name: str) -> None:
        self.world, self.name, self.slack = world, name, world.slack

    def env(self) -> dict[str, str]:
        return self.world.env() | {
            "SECOPS_REPLICA_ID": self.name,
            "SECOPS_DATA_DIR": str(self.world.tmp / f"data-{self.name}"),
        }


def _cards(world: World) -> Counter[str]:
    """How many proposal cards were posted per proposal id."""
    out: Counter[str] = Counter()
    for body in world.slack.calls("chat.postMessage"):
        for block in body.get("blocks") or []:
            for el in block.get("elements", []):
                if el.get("action_id") == "approve":
                    out[json.loads(el["value"])["p"]] += 1
    return out


def _buttons(world: World) -> dict[str, tuple[str, str]]:
    where = dict(world.rows("SELECT proposal_id, ts FROM messages"))
    out = {}
    for body in world.slack.calls("chat.postMessage"):
        for block in body.get("blocks") or []:
            for el in block.get("elements", []):
                if el.get("action_id") == "approve":
                    pid = json.loads(el["value"])["p"]
                    if pid in where:
                        out[pid] = (el["value"], where[pid])
    return out


def _event(serve: Serve, event_id: str) -> int:
    body = json.dumps({
        "type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": ALICE, "tab": "home"},
    })  # fmt: skip
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"http://127.0.0.1:{serve.port}/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}",
            "X-Slack-Retry-Num": "1",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


def _append_alerts(path: Path, ip: str) -> None:
    lines = path.read_text().splitlines()
    extra = [line.replace("91.240.118.172", ip) for line in lines if "91.240.118.172" in line]
    with path.open("a") as f:
        f.write("\n".join(extra) + "\n")


def test_three_replicas_share_one_leader_one_pr_per_revision_and_one_chain(tmp_path, pg_url):
    with SlowGitHub(delay=lambda: 0.05) as github:
        world = PgWorld(tmp_path, github=github, poll_interval="1")
        world.url = pg_url
        world.extra = {"SECOPS_DATABASE_URL": pg_url, "SECOPS_LEADER_LEASE": "3s"}
        replicas: dict[str, Serve] = {}
        try:
            for name in ("r1", "r2", "r3"):
                replicas[name] = Serve(Replica(world, name))  # type: ignore[arg-type]
            wait_until(lambda: len(_buttons(world)) == 3, 90, "three proposals posted")
            ((leader, epoch),) = world.rows("SELECT holder, epoch FROM leases")
            replicas.pop(leader).kill()  # SIGKILL the leader
            _append_alerts(world.alerts, NEW_ATTACKER)
            wait_until(
                lambda: len(_buttons(world)) == 4, 90, "the alert after the kill posted by the new leader"
            )
            ((new_leader, new_epoch),) = world.rows("SELECT holder, epoch FROM leases")
            assert new_leader != leader and new_epoch > epoch
            assert set(_cards(world).values()) == {1}  # no alert lost (4 cards) and none posted twice

            buttons = _buttons(world)
            live = list(replicas.values())
            clicks = [(live[i % len(live)], buttons[pid]) for i, pid in enumerate(sorted(buttons) * 13)][:50]
            threads = [threading.Thread(target=s.click_approve, args=b) for s, b in clicks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            try:
                wait_until(
                    lambda: len(world.rows("SELECT id FROM proposals WHERE status = 'published'")) == 4,
                    120,
                    "four revisions published",
                )
            except AssertionError:
                print(world.rows("SELECT proposal_id, state, attempts, last_error, claimed_by FROM outbox"))
                print(world.rows("SELECT id, status, action FROM proposals"))
                for s in live:
                    print(s.stderr[-3000:])
                raise
            assert sorted(github.prs_by_branch().values()) == [1, 1, 1, 1]  # one PR per revision

            before = len(world.slack.calls("views.publish"))
            assert _event(live[0], "Ev0RETRY") == 200
            assert _event(live[1], "Ev0RETRY") == 200  # the retry, delivered to another replica
            wait_until(lambda: len(world.slack.calls("views.publish")) >= before + 1, 30, "home published")
            time.sleep(1.0)  # a second publish would have come by now (no timing is asserted)
            assert len(world.slack.calls("views.publish")) == before + 1

            err = io.StringIO()
            code = main(["audit", "verify"], out=io.StringIO(), err=err, env={"SECOPS_DATABASE_URL": pg_url})
            assert code == 0, err.getvalue()
        finally:
            for serve in replicas.values():
                serve.stop()
            world.close()

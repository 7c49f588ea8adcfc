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

import pytest

from bot.cli import main
from tests.reliability.serve_harness import ALICE, SECRET, Serve, SlowGitHub, wait_until
from tests.scaleout.replica_harness import PgWorld, Replica, append_alerts, buttons, cards

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # an exception in a helper thread (a click answered with an HTTP error) fails the test, not a warning
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]
NEW_ATTACKER = "185.220.101.77"


def _click_all(clicks: list[tuple[Serve, tuple[str, str]]]) -> list[int]:
    """Every click at once, each from its own thread; the HTTP statuses (an error fails the thread)."""
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda s=s, b=b: statuses.append(s.click_approve(*b))) for s, b in clicks
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


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


def test_three_replicas_share_one_leader_one_pr_per_revision_and_one_chain(tmp_path, pg_url):
    with SlowGitHub(delay=lambda: 0.05) as github:
        world = PgWorld(tmp_path, github=github, poll_interval="1")
        world.url = pg_url
        world.extra = {"SECOPS_DATABASE_URL": pg_url, "SECOPS_LEADER_LEASE": "3s"}
        replicas: dict[str, Serve] = {}
        try:
            for name in ("r1", "r2", "r3"):
                replicas[name] = Serve(Replica(world, name))  # type: ignore[arg-type]
            wait_until(lambda: len(buttons(world)) == 3, 90, "three proposals posted")
            ((leader, epoch),) = world.rows("SELECT holder, epoch FROM leases")
            replicas.pop(leader).kill()  # SIGKILL the leader
            append_alerts(world.alerts, NEW_ATTACKER)
            wait_until(
                lambda: len(buttons(world)) == 4, 90, "the alert after the kill posted by the new leader"
            )
            ((new_leader, new_epoch),) = world.rows("SELECT holder, epoch FROM leases")
            assert new_leader != leader and new_epoch > epoch
            assert set(cards(world).values()) == {1}  # no alert lost (4 cards) and none posted twice

            shown = buttons(world)
            live = list(replicas.values())
            clicks = [(live[i % len(live)], shown[pid]) for i, pid in enumerate(sorted(shown) * 13)][:50]
            assert _click_all(clicks) == [200] * 50  # each acked, however many wait for one publication
            try:
                # the status says "published" from the claim on; the outbox entry is done once the PR is open
                wait_until(
                    lambda: len(world.rows("SELECT proposal_id FROM outbox WHERE state = 'done'")) == 4,
                    120,
                    "four revisions published",
                )
            except AssertionError:
                print(world.rows("SELECT proposal_id, state, attempts, last_error, claimed_by FROM outbox"))
                print(world.rows("SELECT id, status, action FROM proposals"))
                for s in live:
                    print(s.stderr[-3000:])
                raise
            prs = github.prs_by_branch()
            assert sorted(prs.values()) == [1, 1, 1, 1]  # one PR per revision
            assert len(world.rows("SELECT id FROM proposals WHERE status = 'published'")) == 4

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

"""Approve → PR URL and Slack ack latency: three `serve` replicas on one PostgreSQL next to one on SQLite.

Both setups are real processes on loopback (issue 17): ``secops-bot serve --http`` with the Slack Web API on a
loopback recorder, the loopback GitHub and a bare git remote (``tests/reliability/serve_harness.py``); the
PostgreSQL one is three replicas on one real server (``tests/pg_fixtures.py``, as in
``tests/scaleout/test_replicas.py``). ``SECOPS_BENCH_APPROVALS`` proposals (default 30: one alert each, every
attacker in its own network so that neither grouping nor campaigns merge them) are approved one every
``SECOPS_BENCH_APPROVE_GAP`` seconds (default 0.5), round-robin over the replicas; the time from sending the
click to the thread reply with the PR URL is "approve → PR URL". Then ``SECOPS_BENCH_ACKS`` signed requests
(default 200) per kind, ``ACK_CONCURRENCY`` at a time, spread over the replicas: time to the HTTP response
(Slack's 3 s ack budget); each kind starts once the background work of the one before is done (no Web API
call for a second). Prints p50/p95/p99/max per setup and the PostgreSQL/SQLite ratios; asserts nothing
about timings.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.slack_load import percentile
from tests.conftest import FIXTURES
from tests.pg_fixtures import running_server
from tests.reliability.serve_harness import Serve, SlowGitHub, World, approve_buttons, wait_until
from tests.scaleout.test_replicas import PgWorld, Replica, _event
from tests.slack.conftest import MALLORY

N_APPROVALS = int(os.environ.get("SECOPS_BENCH_APPROVALS", "30"))
N_ACKS = int(os.environ.get("SECOPS_BENCH_ACKS", "200"))
APPROVE_GAP = float(os.environ.get("SECOPS_BENCH_APPROVE_GAP", "0.5"))
ACK_CONCURRENCY = 10
BASE_IP = "91.240.118.172"
Samples = dict[str, list[float]]


def _alerts(n: int) -> str:
    """``n`` alerts of the demo's first kind (SQL injection on web-01), each its own attacker and network."""
    first = (FIXTURES / "alerts" / "demo-alerts.json").read_text().splitlines()[0]
    base = json.loads(first)
    out = []
    for i in range(n):
        alert = json.loads(first.replace(BASE_IP, f"45.{60 + i}.7.{10 + i}"))
        alert["id"] = f"{base['id'].split('.')[0]}.{900000 + i}"
        alert["timestamp"] = base["timestamp"].replace(":00:00.", f":{i // 60:02d}:{i % 60:02d}.")
        out.append(json.dumps(alert))
    return "\n".join(out) + "\n"


def _setting(world: World) -> None:
    world.alerts.write_text(_alerts(N_APPROVALS))
    world.extra |= {
        "SECOPS_SLACK_POSTS_PER_POLL": str(N_APPROVALS + 10),  # post every card in the first poll
        "SECOPS_SLACK_POSTS_PER_HOUR": str(N_APPROVALS + 10),
        "SECOPS_SYNC_INTERVAL": "3600",  # no merge checks in the middle of the measurement
    }


def _pr_reply(ts: str) -> Callable[[dict[str, object]], bool]:
    return lambda b: b.get("thread_ts") == ts and "PR opened:" in str(b.get("text", ""))


def _settle(world: World) -> None:
    """Wait until the replicas' background work is done: no Slack Web API call for a second (at most 120 s)."""
    deadline = time.monotonic() + 120
    seen = -1
    while time.monotonic() < deadline and len(world.slack.requests) != seen:
        seen = len(world.slack.requests)
        time.sleep(1.0)


def _measure(world: World, serves: list[Serve], github: SlowGitHub) -> Samples:
    wait_until(lambda: len(approve_buttons(world)) == N_APPROVALS, 300, f"{N_APPROVALS} proposals posted")
    buttons = approve_buttons(world)
    _settle(world)  # the cards' evidence and diff replies are out
    publish = [0.0] * len(buttons)  # in click order
    approve_ack = [0.0] * len(buttons)
    failures: list[str] = []
    lock = threading.Lock()

    def approve(i: int, serve: Serve, value: str, ts: str) -> None:
        t0 = time.perf_counter()
        status = serve.click_approve(value, ts)
        acked = time.perf_counter()
        try:
            world.slack.wait_for("chat.postMessage", _pr_reply(ts), timeout=180)
        except AssertionError as exc:
            with lock:
                failures.append(str(exc)[:200])
            return
        with lock:
            approve_ack[i] = (acked - t0) * 1000
            publish[i] = (time.perf_counter() - t0) * 1000
            if status != 200:
                failures.append(f"approve answered {status}")

    threads = []
    for i, pid in enumerate(sorted(buttons)):
        t = threading.Thread(target=approve, args=(i, serves[i % len(serves)], *buttons[pid]))
        t.start()
        threads.append(t)
        time.sleep(APPROVE_GAP)
    for t in threads:
        t.join()
    if failures or sorted(github.prs_by_branch().values()) != [1] * N_APPROVALS:
        for s in serves:
            print(s.stderr[-2000:])
        raise RuntimeError(f"publishing went wrong: {failures[:3]} PRs {github.prs_by_branch()}")
    _settle(world)

    value, ts = next(iter(buttons.values()))
    count = iter(range(10**9))
    kinds: dict[str, Callable[[Serve], int]] = {
        "event app_home_opened (new event_id, recorded)": lambda s: _event(s, f"EvBench{next(count)}"),
        "Approve click refused (not an approver)": lambda s: s.click_approve(value, ts, user=MALLORY),
    }
    samples: Samples = {"approve → PR URL": publish, "Approve click ack (approver)": approve_ack}

    def timed(fn: Callable[[Serve], int], serve: Serve) -> float:
        t0 = time.perf_counter()
        status = fn(serve)
        if status != 200:
            raise RuntimeError(f"ack answered {status}")
        return (time.perf_counter() - t0) * 1000

    with ThreadPoolExecutor(ACK_CONCURRENCY) as pool:
        for name, fn in kinds.items():
            samples[name] = list(pool.map(lambda i, fn=fn: timed(fn, serves[i % len(serves)]), range(N_ACKS)))
            _settle(world)  # the home views and ephemerals sent after these acks: not the next kind's wait
    return samples


def _sqlite(tmp: Path) -> Samples:
    github = SlowGitHub(delay=lambda: 0.0)  # no delay: only its count of PRs per branch is used
    with github:
        world = World(tmp, github=github)
        _setting(world)
        serve = Serve(world)
        try:
            return _measure(world, [serve], github)
        finally:
            serve.stop()
            world.close()


def _postgres(tmp: Path, url: str) -> Samples:
    github = SlowGitHub(delay=lambda: 0.0)
    with github:
        world = PgWorld(tmp, github=github)
        world.url = url
        _setting(world)
        world.extra["SECOPS_DATABASE_URL"] = url
        serves: list[Serve] = []
        try:
            for name in ("r1", "r2", "r3"):
                serves.append(Serve(Replica(world, name)))  # type: ignore[arg-type]
            return _measure(world, serves, github)
        finally:
            for serve in serves:
                serve.stop()
            world.close()


def _row(name: str, values: list[float]) -> str:
    p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
    return f"  {name:48s} n={len(values):3d} p50={p50:6.0f} p95={p95:6.0f} p99={p99:6.0f} max={max(values):6.0f} ms"


def _print(title: str, samples: Samples) -> None:
    print(title)
    for name, values in samples.items():
        print(_row(name, values))
    publish = samples["approve → PR URL"]
    slowest = sorted(range(len(publish)), key=lambda i: -publish[i])[:3]
    print(
        "  slowest approvals (click number: ms): " + ", ".join(f"{i + 1}: {publish[i]:.0f}" for i in slowest)
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sqlite").mkdir()
        (root / "pg").mkdir()
        t0 = time.perf_counter()
        lite = _sqlite(root / "sqlite")
        _print(f"one replica on SQLite ({time.perf_counter() - t0:.0f} s):", lite)
        with running_server() as (server, why):
            if server is None:
                print(f"three replicas on PostgreSQL: not run ({why})")
                return
            t0 = time.perf_counter()
            pg = _postgres(root / "pg", server.fresh_database())
        _print(f"three replicas on one PostgreSQL ({time.perf_counter() - t0:.0f} s):", pg)
    print("ratio three replicas on PostgreSQL / one on SQLite:")
    for name in lite:
        ratios = "  ".join(
            f"{label} {percentile(pg[name], p) / percentile(lite[name], p):4.2f}"
            for label, p in (("p50", 50), ("p95", 95), ("p99", 99))
        )
        print(f"  {name:48s} {ratios}")


if __name__ == "__main__":
    main()

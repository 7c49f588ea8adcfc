"""Time from approval to PR URL on loopback: ``GitHubPublisher.publish`` against a bare git remote and the
loopback GitHub server (fetch, re-apply operations, guard, commit, push, open PR, label).

``SECOPS_BENCH_PUBLISH`` approvals (default 40), each a different attacker on web-01, so every publish
fetches a growing set of bot branches, as a busy day would. Prints p50/p99/max; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bot.publisher import GitHubPublisher
from tests.publish_fixtures import FAKE_TOKEN, World, approval, bare_remote
from tests.tools.github_server import GitHubServer
from tools.cmdb import load_inventory
from tools.github import GitHubPulls, github_client

N = int(os.environ.get("SECOPS_BENCH_PUBLISH", "40"))
ROOT = Path(__file__).resolve().parents[2]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, GitHubServer(token=FAKE_TOKEN) as gh:
        tmp_path = Path(tmp)
        world = World(tmp_path, bare_remote(tmp_path), load_inventory(ROOT / "fixtures" / "cmdb.yaml"))
        proposals = [world.proposal(srcip=f"45.155.{i // 200}.{i % 200 + 1}") for i in range(N)]
        pulls = GitHubPulls(github_client(FAKE_TOKEN, gh.url, timeout=5), "acme/gitops")
        publisher = GitHubPublisher(
            world.builder(), pulls, state=world.state, audit=world.audit, clock=world.clock
        )
        first: list[float] = []
        for p in proposals:
            t0 = time.perf_counter()
            result = publisher.publish(p, approval(p))
            first.append(time.perf_counter() - t0)
            assert result.ok and result.pr_url, result.message
        retries: list[float] = []
        for p in proposals[:10]:
            t0 = time.perf_counter()
            publisher.publish(p, approval(p))
            retries.append(time.perf_counter() - t0)
        requests = len(gh.requests)
    print(f"approve → PR URL, {N} publishes on loopback (bare git remote + loopback GitHub API):")
    print(
        f"  p50 {1000 * statistics.median(first):.0f} ms  p99 {1000 * _pct(first, 0.99):.0f} ms  "
        f"max {1000 * max(first):.0f} ms  (first one, cold clone: {1000 * first[0]:.0f} ms)"
    )
    print(f"  repeat approval of a published revision: p50 {1000 * statistics.median(retries):.1f} ms")
    print(f"  GitHub requests in all: {requests}")


if __name__ == "__main__":
    main()

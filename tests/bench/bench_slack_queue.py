"""Flood control with 20,000 held-back proposals: the poll's posting pass (budget + digest) and the acks.

One scan of 20,000 attackers (12,000 escalations, 6,000 blocked by one inventory problem, 2,000 to approve)
is stored without posting; then the poster's pass is timed (collapse the inventory problem, post the budget,
post the digest), and `/secops-scan queue` and `queue next 1` acks are measured as in
bench_slack_ack.py: 50 concurrent signed requests, 6 rounds per kind, time to the HTTP response.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.bench_slack_ack import CONCURRENCY, ROUNDS, _pct
from tests.conftest import git
from tests.slack.conftest import ALICE, start
from tests.slack.test_flood import DB01, WEB01, WEB03, _alerts


def main() -> None:
    from tests.publish_fixtures import bare_remote

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bare = bare_remote(tmp_path)
        checkout = tmp_path / "checkout"
        git("clone", "-q", str(bare), str(checkout), cwd=tmp_path)
        text = _alerts([(DB01, 12_000), (WEB03, 6_000), (WEB01, 2_000)])
        gen = start(tmp_path, (bare, checkout), alerts_text=text)
        slack = next(gen)
        try:
            t0 = time.perf_counter()
            outcome = slack.service.scan(trigger="bench")
            print(f"scan of 20,000 attackers: {time.perf_counter() - t0:.1f} s, {len(outcome.new)} new")
            t0 = time.perf_counter()
            posted = slack.runtime.poster.post_new(outcome.new)
            print(
                f"posting pass (collapse, {posted} posted, digest): {(time.perf_counter() - t0) * 1000:.0f} ms; "
                f"digest: {slack.posted()[-1]['text']}"
            )
            t0 = time.perf_counter()
            slack.runtime.poster.post_new([])
            print(f"next poll's pass (digest updated in place): {(time.perf_counter() - t0) * 1000:.0f} ms")

            def timed(fn) -> float:
                t0 = time.perf_counter()
                status, _ = fn()
                assert status == 200, status
                return (time.perf_counter() - t0) * 1000

            kinds = {
                "/secops-scan queue (20,000 held back)": lambda: slack.command("queue", user=ALICE),
                "/secops-scan queue next 1 (the ack)": lambda: slack.command("queue next 1", user=ALICE),
            }
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                for name, fn in kinds.items():
                    samples: list[float] = []
                    for _ in range(ROUNDS):
                        samples += list(pool.map(lambda _, fn=fn: timed(fn), range(CONCURRENCY)))
                    print(
                        f"{name:45s} n={len(samples)} p50={_pct(samples, 50):6.1f} ms "
                        f"p99={_pct(samples, 99):6.1f} ms max={max(samples):6.1f} ms "
                        f"mean={statistics.mean(samples):6.1f} ms"
                    )
        finally:
            gen.close()


if __name__ == "__main__":
    main()

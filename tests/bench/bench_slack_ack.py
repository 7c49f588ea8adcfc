"""Ack latency of the Slack app under 50 concurrent requests on loopback (slash commands and button clicks).

Measures the time from sending a signed request to `serve --http` until its HTTP response (Slack's 3 s ack
budget), with the Web API on a loopback recorder. Prints p50/p99 per request kind.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import git
from tests.slack.conftest import ALICE, MALLORY, start

CONCURRENCY = 50
ROUNDS = 6


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    from tests.publish_fixtures import bare_remote

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bare = bare_remote(tmp_path)
        checkout = tmp_path / "checkout"
        git("clone", "-q", str(bare), str(checkout), cwd=tmp_path)
        gen = start(tmp_path, (bare, checkout))
        slack = next(gen)
        try:
            slack.command("")
            slack.recorder.wait_for(
                "respond", lambda b: b.get("text", "").startswith("Scan done"), timeout=60
            )
            web = "91.240.118.172"
            value, ts = slack.approve_value(slack.message_of(web)), slack.ts_of(web)

            def timed(fn) -> float:
                t0 = time.perf_counter()
                status, _ = fn()
                assert status == 200, status
                return (time.perf_counter() - t0) * 1000

            kinds = {
                "/secops-scan status": lambda: slack.command("status", user=ALICE),
                "/secops-scan help": lambda: slack.command("help", user=ALICE),
                "Approve click (refused: not an approver)": lambda: slack.click(
                    "approve", value, MALLORY, ts
                ),
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

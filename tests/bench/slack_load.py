"""What the Slack benchmarks share: a running `serve --http` in a temporary folder, and ack timing under
concurrent signed requests (time to the HTTP response, Slack's 3 s ack budget)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import git
from tests.slack.conftest import SlackEnv, start

CONCURRENCY = 50
ROUNDS = 6


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def serving(alerts_text: str | None = None) -> Iterator[SlackEnv]:
    """`serve --http` on loopback over a fresh bare remote, with the demo alerts or ``alerts_text``."""
    from tests.publish_fixtures import bare_remote

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        bare = bare_remote(tmp_path)
        checkout = tmp_path / "checkout"
        git("clone", "-q", str(bare), str(checkout), cwd=tmp_path)
        gen = start(tmp_path, (bare, checkout), alerts_text=alerts_text)
        try:
            yield next(gen)
        finally:
            gen.close()


def print_ack_latency(kinds: dict[str, Callable[[], tuple[int, str]]]) -> None:
    """Send each kind of request CONCURRENCY at a time, ROUNDS times; print p50/p99/max/mean per kind."""

    def timed(fn: Callable[[], tuple[int, str]]) -> float:
        t0 = time.perf_counter()
        status, _ = fn()
        assert status == 200, status
        return (time.perf_counter() - t0) * 1000

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for name, fn in kinds.items():
            samples: list[float] = []
            for _ in range(ROUNDS):
                samples += list(pool.map(lambda _, fn=fn: timed(fn), range(CONCURRENCY)))
            print(
                f"{name:45s} n={len(samples)} p50={percentile(samples, 50):6.1f} ms "
                f"p99={percentile(samples, 99):6.1f} ms max={max(samples):6.1f} ms "
                f"mean={statistics.mean(samples):6.1f} ms"
            )

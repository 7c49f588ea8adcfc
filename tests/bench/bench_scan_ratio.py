"""The whole ``scan`` next to read + group alone, on the same generated file, in one run.

Many attackers make the per-group work (route, apply, guard, dedup, store, audit) dominate: this measures
it as a ratio, which holds across machines better than a time. ``SECOPS_BENCH_RATIO_ALERTS`` (default
100,000) alerts from ``SECOPS_BENCH_RATIO_ATTACKERS`` (default 5,000) attackers; ``SECOPS_BENCH_PROFILE=1``
also prints the top of a cProfile of the scan.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
import time
from pathlib import Path

from bot.core.grouping import group_alerts
from tests.bench.bench_scan import alerts_file
from tools.sources.wazuh import AlertStream

N = int(os.environ.get("SECOPS_BENCH_RATIO_ALERTS", "100000"))
ATTACKERS = int(os.environ.get("SECOPS_BENCH_RATIO_ATTACKERS", "5000"))


def read_and_group(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    groups = group_alerts(AlertStream(path))
    return time.perf_counter() - t0, len(groups)


def scan(path: Path, profile: bool = False) -> tuple[float, dict[str, int], str]:
    """One full scan on the shipped inventory and GitOps fixture, with dedup (exact effects), into a fresh data dir."""
    from agents.playbooks import load_catalog
    from bot.audit_log import AuditLog
    from bot.clock import SystemClock
    from bot.dedup import DedupService
    from bot.pipeline import Scanner, Since
    from bot.state import StateStore
    from bot.yaml_edit import repo_reader
    from tests.conftest import FIXTURES
    from tools.cmdb import load_inventory

    with tempfile.TemporaryDirectory() as tmp:
        clock = SystemClock()
        state = StateStore(Path(tmp) / "state.db")
        inventory = load_inventory(FIXTURES / "cmdb.yaml")
        repo = FIXTURES / "gitops"
        dedup = DedupService(
            state=state,
            inventory=inventory,
            read_file=repo_reader(repo),
            clock=clock,
            store=None,
            embedder=None,
        )
        scanner = Scanner(
            inventory=inventory,
            repo_root=repo,
            catalog=load_catalog(),
            state=state,
            audit=AuditLog(Path(tmp) / "audit.jsonl", clock),
            clock=clock,
            dedup=dedup,
        )
        profiler = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = scanner.scan_file(path, Since("all"))
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - t0
        state.close()
    top = ""
    if profiler is not None:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(30)
        top = buf.getvalue()
    return elapsed, report.counts(), top


def main() -> None:
    path = alerts_file(N, ATTACKERS)
    t_group, groups = min(read_and_group(path) for _ in range(3))
    t_scan, counts, _ = scan(path)
    print(f"alerts file: {N:,} alerts from {ATTACKERS:,} attackers ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"read + parse + group: {t_group:.2f} s ({groups:,} groups at min_level 7, best of 3)")
    print(
        f"whole scan:           {t_scan:.2f} s ({', '.join(f'{k} {v:,}' for k, v in sorted(counts.items()))})"
    )
    print(f"ratio scan / read+group: {t_scan / t_group:.1f}x (target <= 3x)")
    if os.environ.get("SECOPS_BENCH_PROFILE"):
        print(scan(path, profile=True)[2])


if __name__ == "__main__":
    main()

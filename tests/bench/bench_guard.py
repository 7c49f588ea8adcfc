"""The guard and editor per group: the playbook path (route → apply operations → guard) on the shipped GitOps
fixture, p50/p99 per group.

Each group is a different attacker hitting web-01 (ingress-nginx ConfigMap, comma list) or bastion-01 (denylist,
one CIDR a line), so no two groups share a result cache entry for their operations. Only ``Scanner.build`` is
used, an API that older commits have too, so a baseline checkout can run this same file side by side::

    git worktree add /tmp/secops-base <commit>
    PYTHONPATH=/tmp/secops-base .venv/bin/python tests/bench/bench_guard.py   # baseline
    .venv/bin/python -m tests.bench.bench_guard                                # this tree
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.alert import Alert
from bot.core.grouping import group_alerts
from bot.pipeline import Scanner
from bot.state import StateStore
from tools.cmdb import load_inventory

ROOT = Path(__file__).resolve().parents[2]
GROUPS = int(os.environ.get("SECOPS_BENCH_GROUPS", "2000"))


def _alerts(n: int) -> list[Alert]:
    out = []
    for i in range(n):
        attacker = f"{45 + i // 250}.{i % 250}.{(i * 7) % 250}.9"
        web = i % 2 == 0
        out.append(
            Alert(
                alert_id=f"1700000000.{i}",
                ts=1_700_000_000.0 + i,
                rule_id="31103" if web else "5763",
                level=10,
                description="SQL injection attempt." if web else "sshd: brute force",
                groups=("web", "accesslog", "attack", "sql_injection")
                if web
                else ("sshd", "authentication_failures"),
                agent="web-01" if web else "bastion-01",
                srcip=attacker,
                mitre=("T1190",) if web else ("T1110",),
                log="GET /?id=1 OR 1=1",
                line=i + 1,
            )
        )
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(1_700_000_000.0)
        scanner = Scanner(
            inventory=load_inventory(ROOT / "fixtures" / "cmdb.yaml"),
            repo_root=ROOT / "fixtures" / "gitops",
            catalog=load_catalog(),
            state=StateStore(Path(tmp) / "state.db"),
            audit=AuditLog(Path(tmp) / "audit.jsonl", clock),
            clock=clock,
        )
        groups = group_alerts(_alerts(GROUPS))
        for g in groups[:20]:  # warm the parse caches, as a running poller has them
            scanner.build(g)
        times = []
        actions: dict[str, int] = {}
        for g in groups:
            t0 = time.perf_counter()
            p = scanner.build(g)
            times.append(time.perf_counter() - t0)
            actions[p.action] = actions.get(p.action, 0) + 1
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99) - 1] * 1000
    print(f"groups: {len(groups)}  outcomes: {dict(sorted(actions.items()))}")
    print(
        f"per group (route + apply + guard): p50 {p50:.3f} ms  p99 {p99:.3f} ms  mean {statistics.fmean(times) * 1000:.3f} ms"
    )
    print(f"python {sys.version.split()[0]}, tree {ROOT}")


if __name__ == "__main__":
    main()

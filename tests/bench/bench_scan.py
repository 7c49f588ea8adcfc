"""Read + parse + group throughput on a generated alerts.json, next to orjson/json parse-only.

Generates (once, cached in $TMPDIR) ``SECOPS_BENCH_ALERTS`` alerts (default 1,000,000) of realistic size
from ~1,000 attackers hitting 40 hosts with web and SSH rules, plus FIM noise without a source address.
"""

from __future__ import annotations

import json
import os
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bot.core.grouping import group_alerts
from tools.sources.wazuh import AlertStream

N = int(os.environ.get("SECOPS_BENCH_ALERTS", "1000000"))
ATTACKERS = 1000
START = datetime(2026, 11, 20, tzinfo=UTC)


def _template(i: int, rng: random.Random, attackers: int = ATTACKERS) -> dict:
    kind = rng.random()
    # ten alerts a second, so 1M alerts span about 28 hours
    ts = (START + timedelta(milliseconds=100 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    agent = {"id": f"{rng.randrange(40):03d}", "name": f"web-{rng.randrange(40):02d}", "ip": "10.20.1.11"}
    a = rng.randrange(attackers)
    attacker = f"{45 + a // 250}.{a % 250}.{(a * 7) % 250}.7"
    if kind < 0.6:
        return {
            "timestamp": ts,
            "rule": {
                "level": 7, "description": "SQL injection attempt.", "id": "31103", "firedtimes": 3,
                "mail": False, "groups": ["web", "accesslog", "attack", "sql_injection"],
                "mitre": {"id": ["T1190"], "tactic": ["Initial Access"], "technique": ["Exploit Public-Facing Application"]},
                "pci_dss": ["6.5", "11.4", "6.5.1"], "gdpr": ["IV_35.7.d"], "nist_800_53": ["SA.11", "SI.4"],
            },
            "agent": agent, "manager": {"name": "wazuh-manager"}, "id": f"1700000000.{i}",
            "full_log": f'{attacker} - - [20/Nov/2026:10:00:00 +0000] "GET /users/?id=SELECT+*+FROM+users HTTP/1.1" 404 153 "-" "curl/7.68.0"',
            "decoder": {"name": "web-accesslog"},
            "data": {"protocol": "GET", "srcip": attacker, "id": "404", "url": "/users/?id=SELECT+*+FROM+users"},
            "location": "/var/log/nginx/access.log",
        }  # fmt: skip
    if kind < 0.9:
        return {
            "timestamp": ts,
            "rule": {
                "level": 5 if rng.random() < 0.8 else 10, "description": "sshd: Attempt to login using a non-existent user",
                "id": "5710", "firedtimes": 7, "mail": False,
                "groups": ["syslog", "sshd", "invalid_login", "authentication_failed"],
                "pci_dss": ["10.2.4", "10.2.5", "10.6.1"], "gdpr": ["IV_35.7.d", "IV_32.2"],
            },
            "agent": agent, "manager": {"name": "wazuh-manager"}, "id": f"1700000000.{i}",
            "full_log": f"Nov 20 10:00:00 {agent['name']} sshd[29205]: Invalid user admin from {attacker} port 48928",
            "predecoder": {"program_name": "sshd", "timestamp": "Nov 20 10:00:00", "hostname": agent["name"]},
            "decoder": {"parent": "sshd", "name": "sshd"},
            "data": {"srcip": attacker, "srcport": "48928", "srcuser": "admin"}, "location": "/var/log/auth.log",
        }  # fmt: skip
    return {
        "timestamp": ts,
        "rule": {"level": 7, "description": "Integrity checksum changed.", "id": "550", "groups": ["ossec", "syscheck"]},
        "agent": agent, "manager": {"name": "wazuh-manager"}, "id": f"1700000000.{i}", "data": {},
        "syscheck": {"path": "/etc/nginx/nginx.conf", "event": "modified", "size_after": "2048"},
        "full_log": "File '/etc/nginx/nginx.conf' modified", "location": "syscheck",
    }  # fmt: skip


def alerts_file(n: int = N, attackers: int = ATTACKERS) -> Path:
    suffix = "" if attackers == ATTACKERS else f"-{attackers}a"
    path = Path(tempfile.gettempdir()) / f"secops-bench-alerts-v2-{n}{suffix}.json"
    if not path.exists():
        rng = random.Random(42)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            for i in range(n):
                f.write(orjson.dumps(_template(i, rng, attackers)) + b"\n")
        tmp.rename(path)
    return path


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    t0 = time.perf_counter()
    path = alerts_file()
    size = path.stat().st_size
    print(
        f"alerts file: {N:,} alerts, {size / 1e6:.0f} MB ({size / N:.0f} bytes/alert), ready in {time.perf_counter() - t0:.1f} s"
    )

    def parse_orjson() -> None:
        with path.open("rb") as f:
            for line in f:
                orjson.loads(line)

    def parse_json() -> None:
        with path.open("rb") as f:
            for line in f:
                json.loads(line)

    result: dict = {}

    def read_and_group() -> None:
        stream = AlertStream(path)
        result["groups"] = group_alerts(stream)
        result["alerts"] = stream.result.alert_count

    t_orjson = _best(parse_orjson)
    t_json = _best(parse_json, repeat=1)
    t_full = _best(read_and_group)
    print(f"parse only, orjson:      {N / t_orjson:>10,.0f} alerts/s ({t_orjson:.2f} s)")
    print(f"parse only, json:        {N / t_json:>10,.0f} alerts/s ({t_json:.2f} s)")
    print(f"read + parse + group:    {N / t_full:>10,.0f} alerts/s ({t_full:.2f} s)")
    print(f"groups: {len(result['groups']):,} (min_level 7) from {result['alerts']:,} alerts")
    print(f"overhead over orjson parse-only: {t_full / t_orjson:.2f}x")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"end-to-end `scan` (read, group, route, apply, guard, store, audit): {_end_to_end(path):.1f} s")


def _end_to_end(path: Path) -> float:
    """The whole scan a user runs, on the shipped inventory and GitOps fixture."""
    from agents.playbooks import load_catalog
    from bot.audit_log import AuditLog
    from bot.clock import SystemClock
    from bot.pipeline import Scanner, Since
    from bot.state import StateStore
    from tests.conftest import FIXTURES
    from tools.cmdb import load_inventory

    with tempfile.TemporaryDirectory() as tmp:
        clock = SystemClock()
        scanner = Scanner(
            inventory=load_inventory(FIXTURES / "cmdb.yaml"),
            repo_root=FIXTURES / "gitops",
            catalog=load_catalog(),
            state=StateStore(Path(tmp) / "state.db"),
            audit=AuditLog(Path(tmp) / "audit.jsonl", clock),
            clock=clock,
        )
        t0 = time.perf_counter()
        scanner.scan_file(path, Since("all"))
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()

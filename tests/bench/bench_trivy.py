"""Reading a large ``trivy k8s -f json`` report, next to a plain ``json.load`` of the same file.

Generates (once, cached in $TMPDIR) a report of about ``SECOPS_BENCH_TRIVY_MB`` megabytes (default 100) by
replicating the resources of the real kind-cluster report (fixtures/trivy) under varied names and
namespaces, plus the misconfigurations of Trivy's documented k8s example. Prints MB/s of ``json.load``,
``orjson.loads``, ``read_findings`` (parse + checks + findings) and read + ``group_findings``, and the ratio
of each to ``json.load`` (target: read within 3 times).
"""

from __future__ import annotations

import copy
import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bot.core.finding_groups import group_findings
from tools.cmdb import load_inventory
from tools.sources.findings_file import read_findings

ROOT = Path(__file__).resolve().parents[2]
TRIVY = ROOT / "fixtures" / "trivy"
MB = float(os.environ.get("SECOPS_BENCH_TRIVY_MB", "100"))
ROUNDS = 3


def report_file(megabytes: float = MB) -> Path:
    """The generated report (cached by size: generating it takes longer than reading it)."""
    path = Path(tempfile.gettempdir()) / f"secops-bench-trivy-k8s-{megabytes:g}MB.json"
    if path.exists():
        return path
    kind = json.loads((TRIVY / "trivy-k8s-cluster-report-kind.json").read_text())
    legacy = json.loads((TRIVY / "trivy-k8s-docs-example-legacy-format.json").read_text())
    templates: list[dict[str, Any]] = [r for r in kind["Resources"] if r.get("Results") or r.get("Error")]
    templates += [r for r in legacy["Misconfigurations"] if r.get("Results")]
    unit = len(orjson.dumps(templates, option=orjson.OPT_INDENT_2))  # Trivy indents by 2 too
    copies = max(1, int(megabytes * 1e6 / unit))
    resources: list[dict[str, Any]] = []
    for i in range(copies):
        for t in templates:
            r = copy.copy(t)  # shallow: the nested results are shared, the file still holds every copy
            r["Name"] = f"{t['Name']}-{i}"
            r["Namespace"] = f"{t.get('Namespace') or 'default'}-{i % 50}"
            resources.append(r)
        resources.append({"Kind": "", "Name": ""})
    path.write_bytes(
        orjson.dumps({"ClusterName": "bench", "Resources": resources}, option=orjson.OPT_INDENT_2)
    )
    return path


def _best(fn: Any) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(ROUNDS):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        del out
        out = None
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return min(best, time.perf_counter() - t0), out


def _paused(fn: Any) -> Any:
    """``fn()`` with the cyclic GC paused, as read_findings runs (parsed JSON holds no cycles)."""
    gc.disable()
    try:
        return fn()
    finally:
        gc.enable()


def main() -> None:
    path = report_file()
    size_mb = path.stat().st_size / 1e6
    inventory = load_inventory(ROOT / "fixtures" / "cmdb.yaml")

    def plain_json() -> Any:
        with path.open("rb") as f:
            return json.load(f)

    t_json, _ = _best(plain_json)
    t_orjson, _ = _best(lambda: _paused(lambda: orjson.loads(path.read_bytes())))
    t_read, read = _best(lambda: read_findings(path))
    t_group, groups = _best(lambda: group_findings(read_findings(path).findings, inventory, min_level=0))
    print(f"report: {size_mb:.1f} MB, {len(read.findings):,} findings, {read.malformed} malformed, "
          f"{len(groups):,} groups (min_level 0)")  # fmt: skip
    for label, t in (
        ("json.load", t_json),
        ("orjson.loads (gc paused)", t_orjson),
        ("read_findings", t_read),
        ("read + group_findings", t_group),
    ):
        print(f"{label:>24}: {t:6.2f} s  {size_mb / t:7.1f} MB/s  {t / t_json:5.2f}x json.load")
    print(f"findings per second (read_findings): {len(read.findings) / t_read:,.0f}")


if __name__ == "__main__":
    main()

"""Run every benchmark in this folder (``make bench``): each ``bench_*.py`` module's ``main()``.

Benchmarks print their figures; they never assert on timings. ``BENCH=name`` runs only modules whose name
contains ``name``.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path


def main() -> int:
    only = os.environ.get("BENCH", "")
    here = Path(__file__).parent
    failures = 0
    for path in sorted(here.glob("bench_*.py")):
        if only and only not in path.stem:
            continue
        print(f"\n=== {path.stem} ===", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.bench.{path.stem}")
            module.main()
        except Exception as exc:  # a broken benchmark must not hide the others
            failures += 1
            print(f"{path.stem} failed: {exc!r}", file=sys.stderr)
        print(f"--- {path.stem}: {time.perf_counter() - t0:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

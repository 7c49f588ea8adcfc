"""The dedup effect of one add_policy against a repository of 1,000 manifests (issue 14 follow-up).

Run with ``python -m tests.bench.bench_policy_effect``. Builds the same 1,000-Deployment checkout as
``bench_policy_proof``, then times what the dedup gate does per policy proposal: load the checkout, and the
policy's behaviour (its verdicts on every catalogue fixture and every manifest). Prints figures; asserts
nothing about time.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from agents.policy_catalog import templates
from bot.dedup import behaviour_of
from bot.policy_proof import load_repository
from tests.bench.bench_policy_proof import _write


def main() -> None:
    template = next(t for t in templates() if t.name == "disallow-privileged")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root)
        t0 = time.perf_counter()
        repo = load_repository(root)
        loaded = time.perf_counter() - t0
        best = float("inf")
        for _ in range(3):
            t1 = time.perf_counter()
            behaviour = behaviour_of(template.policy, repo)
            best = min(best, time.perf_counter() - t1)
    print(f"manifests: {len(repo.manifests)}, load (once per policy proposal checked): {loaded:.2f} s")
    print(f"behaviour (catalogue fixtures + manifests): {best:.3f} s (best of 3), {behaviour}")


if __name__ == "__main__":
    main()

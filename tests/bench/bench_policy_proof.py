"""Proof plus impact preview of one policy against a repository of 1,000 manifests (issue 14).

Run with ``python -m tests.bench.bench_policy_proof``. Builds a temporary checkout of 1,000 Deployments in
20 namespaces (every seventh one privileged), loads it once, then times the proof of the
``disallow-privileged`` template (its fixtures, the finding's resource) plus the impact preview over all
manifests. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from agents.policy_catalog import templates
from bot.policy_proof import load_repository, prove

MANIFESTS = 1000


def _write(root: Path) -> None:
    for i in range(MANIFESTS):
        ns = f"ns-{i % 20}"
        container = {
            "name": "app",
            "image": f"ghcr.io/acme/app-{i}:1.{i}",
            "resources": {"limits": {"cpu": "1"}},
        }
        if i % 7 == 0:
            container["securityContext"] = {"privileged": True}
        doc = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"app-{i}", "namespace": ns},
            "spec": {
                "selector": {"matchLabels": {"app": f"app-{i}"}},
                "template": {
                    "metadata": {"labels": {"app": f"app-{i}"}},
                    "spec": {"containers": [container]},
                },
            },
        }
        folder = root / "apps" / ns
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"app-{i}.yaml").write_text(yaml.safe_dump(doc))


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
            proof = prove(
                "p.yaml",
                template.policy,
                template.must_pass,
                template.must_fail,
                ["ns-0/Deployment/app-0"],
                repo,
            )
            best = min(best, time.perf_counter() - t1)
    print(f"manifests: {len(repo.manifests)}, load (read + parse once per scan): {loaded:.2f} s")
    print(
        f"proof + impact preview: {best:.3f} s (best of 3), flagged {proof.flagged_count}, passed {proof.passed}"
    )


if __name__ == "__main__":
    main()

"""Kyverno evaluator timings: the whole conformance corpus, and one rule on one resource.

Run with ``python -m tests.bench.bench_kyverno``. Prints the corpus wall time (YAML loading included,
single core) and the per-rule evaluation time of a few representative rules, pre-loaded.
"""

from __future__ import annotations

import time
from pathlib import Path

from tools.kyverno.autogen import expand_rules
from tools.kyverno.conformance import DEFAULT_CORPUS, run_corpus
from tools.kyverno.context import Values
from tools.kyverno.engine import evaluate_rule
from tools.kyverno.match import Admission
from tools.kyverno.policy import load_documents
from tools.kyverno.testsuite import prepare_resource

CASES = (
    (
        "pattern",
        "pod-security/baseline/disallow-privileged-containers",
        "disallow-privileged-containers.yaml",
    ),
    ("anyPattern", "pod-security/restricted/require-run-as-nonroot", "require-run-as-nonroot.yaml"),
    (
        "foreach+deny",
        "pod-security/restricted/disallow-capabilities-strict",
        "disallow-capabilities-strict.yaml",
    ),
    ("podSecurity", "pod-security/subrule/restricted/restricted-latest", "restricted-latest.yaml"),
)


def bench_corpus() -> float:
    tally = run_corpus(DEFAULT_CORPUS)
    return tally.seconds


def bench_rule(directory: Path, policy_file: str, repeat: int = 2000) -> tuple[float, int]:
    policy = load_documents(directory / policy_file)[0]
    resources = [prepare_resource(r) for r in load_documents(directory / ".kyverno-test" / "resource.yaml")]
    pairs = [(rule, res) for res in resources for rule in expand_rules(policy, str(res.get("kind")))]
    admission, values = Admission(), Values()
    start = time.perf_counter()
    for _ in range(repeat // max(len(pairs), 1) + 1):
        for rule, res in pairs:
            evaluate_rule(policy, rule, res, admission, values)
    evaluations = (repeat // max(len(pairs), 1) + 1) * len(pairs)
    return (time.perf_counter() - start) / evaluations, evaluations


def main() -> None:
    print(f"corpus: {bench_corpus():.2f} s for all suites (one core, YAML loading included)")
    for label, path, policy_file in CASES:
        per_rule, n = bench_rule(DEFAULT_CORPUS / path, policy_file)
        print(f"{label:<14} {per_rule * 1e6:8.1f} us per rule evaluation (match included), {n} evaluations")


if __name__ == "__main__":
    main()

"""Run the Kyverno conformance corpus and tally agreement per bucket.

``python -m tools.kyverno.conformance [CORPUS] [--markdown] [--show-wrong]`` runs every suite listed in the
corpus's ``index.json`` files (kyverno/policies and kyverno/kyverno's CLI tests) and prints a table.
The bucket of each expected result comes from ``index.json`` (``tested_rules[].bucket``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tools.kyverno.errors import KyvernoError
from tools.kyverno.testsuite import ExpectedResult, run_suite

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "kyverno-policies"
BUCKETS = ("a", "b", "c", "d", "e", "unsupported")
TARGET_BUCKETS = ("a", "b", "c", "d", "e")  # buckets that must agree 100 %
INDEXES = ("index.json", "_kyverno-cli-testdata/index.json")


@dataclass
class Tally:
    """Counts per bucket, plus every result that was wrong and every suite that failed to load."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: {b: Counter() for b in BUCKETS})
    wrong: list[tuple[str, ExpectedResult]] = field(default_factory=list)
    load_errors: list[str] = field(default_factory=list)
    unsupported_in_target: list[tuple[str, ExpectedResult]] = field(default_factory=list)
    unsupported_reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    suites: int = 0

    def add(self, bucket: str, result: ExpectedResult) -> None:
        counts = self.counts.setdefault(bucket, Counter())
        counts["total"] += 1
        if result.actual == "unsupported":
            counts["unsupported"] += 1
            self.unsupported_reasons[reason_family(result.detail)] += 1
            if bucket in TARGET_BUCKETS:
                self.unsupported_in_target.append((bucket, result))
        elif result.wrong:
            counts["disagree"] += 1
            self.wrong.append((bucket, result))
        elif result.excluded:
            counts["agree_excluded"] += 1
        else:
            counts["agree"] += 1


_REASONS = (
    ("CEL policy kinds: ValidatingPolicy autogen", "ValidatingPolicy autogen rules (Pod controllers)"),
    ("CEL policy kinds:", "ValidatingPolicy features we do not reproduce (selectors, params, ...)"),
    ("CEL policy kinds with values", "CEL policy kinds with values, userinfo or context files"),
    ("CEL policy kinds", "CEL policy kinds (ValidatingPolicy, MutatingPolicy, ...)"),
    ("rows without a rule", "CEL policy kinds (ValidatingPolicy, MutatingPolicy, ...)"),
    ("cel-python cannot parse", "validate.cel: optional syntax (.?field, orValue) cel-python cannot parse"),
    ("CEL evaluation failed", "validate.cel: evaluation error in cel-python (cel-go may answer)"),
    ("validate.cel autogen", "validate.cel autogen rules (Pod controllers)"),
    ("params, namespaceObject or authorizer", "validate.cel using params/namespaceObject/authorizer"),
    ("validate.cel", "validate.cel rules"),
    ("validate.podSecurity", "validate.podSecurity rules"),
    ("mutate", "mutate rules"),
    ("generate", "generate rules"),
    ("verifyImages", "verifyImages rules"),
    ("has no rule", "rows naming a rule the policy does not have"),
    ("needs a cluster", "lookups (apiCall/configMap/imageRegistry) without a mock"),
    ("JMESPath function", "JMESPath functions that need a clock, cluster or registry"),
)


def reason_family(detail: str) -> str:
    """A short, stable name for why a result is unsupported (for the summary)."""
    for needle, family in _REASONS:
        if needle in detail:
            return family
    return detail


def _bucket_map(suite: dict[str, object]) -> dict[tuple[str, str], str]:
    out = {}
    for tested in suite.get("tested_rules") or []:  # type: ignore[attr-defined]
        out[(str(tested.get("policy")), str(tested.get("rule") or ""))] = str(tested.get("bucket"))
    return out


def run_corpus(corpus: Path = DEFAULT_CORPUS) -> Tally:
    """Run every suite of the corpus and tally the results."""
    tally = Tally()
    start = time.perf_counter()
    for index_name in INDEXES:
        index_path = corpus / index_name
        if not index_path.exists():
            continue
        root = index_path.parent
        for suite in json.loads(index_path.read_text(encoding="utf-8"))["suites"]:
            tally.suites += 1
            buckets = _bucket_map(suite)
            test_file = root / suite["test_file"]
            display = str(test_file.relative_to(corpus))
            try:
                results = run_suite(test_file, display)
            except KyvernoError as exc:
                tally.load_errors.append(f"{display}: {exc}")
                continue
            for result in results:
                policy = result.policy.rpartition("/")[2]
                bucket = buckets.get((policy, result.rule), "unsupported")
                tally.add(bucket, result)
    tally.seconds = time.perf_counter() - start
    return tally


def render_markdown(tally: Tally) -> str:
    """The per-bucket summary table committed as docs/kyverno-conformance.md."""
    lines = [
        "| bucket | expected results | agree | agree (excluded) | unsupported | wrong | agreement |",
        "|---|---|---|---|---|---|---|",
    ]
    total: Counter[str] = Counter()
    for bucket in BUCKETS:
        c = tally.counts.get(bucket, Counter())
        total.update(c)
        lines.append(_row(bucket, c))
    lines.append(_row("**all**", total))
    return "\n".join(lines)


def render_document(tally: Tally) -> str:
    """The whole docs/kyverno-conformance.md (deterministic: no timings)."""
    reasons = "\n".join(
        f"| {name} | {n} |" for name, n in sorted(tally.unsupported_reasons.items(), key=lambda x: -x[1])
    )
    return DOC_TEMPLATE.format(table=render_markdown(tally), suites=tally.suites, reasons=reasons)


DOC_TEMPLATE = """\
# Kyverno conformance of the pure-Python evaluator

Generated by `python -m tools.kyverno.conformance --doc > docs/kyverno-conformance.md`; do not edit by hand.

The corpus is `fixtures/kyverno-policies/` ({suites} `kyverno test` suites: kyverno/policies and the CLI
tests of kyverno/kyverno; see its `PROVENANCE.md`). Buckets come from the corpus's `index.json`:
(a) patterns, match/exclude, autogen; (b) + deny, preconditions, JMESPath, context variables, values and
userinfo files; (c) + foreach; (d) + podSecurity; (e) + lookups mocked by the values file.

- **agree**: our result equals the expected one.
- **agree (excluded)**: the rule does not apply to the resource, which `kyverno test` counts as satisfied.
- **unsupported**: we refuse to evaluate the rule (never a guessed pass or fail).
- **wrong**: a concrete answer that differs from Kyverno's; the conformance test fails on any.

{table}

## Why results are unsupported

| reason | results |
|---|---|
{reasons}
"""


def _row(label: str, c: Counter[str]) -> str:
    agreed = c["agree"] + c["agree_excluded"]
    share = f"{100.0 * agreed / c['total']:.1f} %" if c["total"] else "n/a"
    return (
        f"| {label} | {c['total']} | {c['agree']} | {c['agree_excluded']} | {c['unsupported']} "
        f"| {c['disagree']} | {share} |"
    )


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Command-line entry point; exit 1 when any result is wrong or a target bucket is not at 100 %."""
    parser = argparse.ArgumentParser(prog="python -m tools.kyverno.conformance", description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--markdown", action="store_true", help="print only the markdown table")
    parser.add_argument("--doc", action="store_true", help="print docs/kyverno-conformance.md")
    parser.add_argument("--show-wrong", action="store_true", help="list wrong and unsupported target results")
    args = parser.parse_args(argv)
    tally = run_corpus(args.corpus)
    print(
        render_document(tally) if args.doc else render_markdown(tally), file=out, end="" if args.doc else "\n"
    )
    if not (args.markdown or args.doc):
        print(f"\n{tally.suites} suites in {tally.seconds:.1f} s", file=out)
        for line in tally.load_errors:
            print(f"load error: {line}", file=out)
    if args.show_wrong:
        for bucket, r in tally.wrong + tally.unsupported_in_target:
            print(
                f"[{bucket}] {r.test_file} {r.policy}/{r.rule} {r.resource}: expected {r.expected}, "
                f"got {r.actual} ({r.detail})",
                file=out,
            )
    return 1 if tally.wrong or tally.unsupported_in_target or tally.load_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

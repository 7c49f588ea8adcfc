"""The conformance gate: every suite of the Kyverno corpus in fixtures/, scored per bucket."""

import pytest

from tools.kyverno.conformance import (
    DEFAULT_CORPUS,
    TARGET_BUCKETS,
    render_document,
    render_markdown,
    run_corpus,
)


@pytest.fixture(scope="module")
def tally():
    result = run_corpus(DEFAULT_CORPUS)
    print("\n" + render_markdown(result))
    print(f"{result.suites} suites in {result.seconds:.1f} s")
    return result


def test_corpus_loads_every_suite(tally):
    assert tally.suites == 570
    assert tally.load_errors == []


def test_no_result_anywhere_is_wrong(tally):
    wrong = [
        f"[{b}] {r.test_file} {r.policy}/{r.rule} {r.resource}: {r.expected} != {r.actual}"
        for b, r in tally.wrong
    ]
    assert wrong == []


@pytest.mark.parametrize("bucket", TARGET_BUCKETS)
def test_target_bucket_agrees_fully(tally, bucket):
    counts = tally.counts[bucket]
    assert counts["total"] > 0
    assert counts["agree"] + counts["agree_excluded"] == counts["total"], [
        f"{r.test_file} {r.policy}/{r.rule} {r.resource}: {r.detail}"
        for b, r in tally.unsupported_in_target
        if b == bucket
    ]


# Results outside buckets a-e that agree: all are CEL (validate.cel, ValidatingPolicy), since mutate,
# generate and verifyImages are never evaluated. Raise the floor when support grows; never lower it.
CEL_AGREE_FLOOR = 2107


def test_cel_agreement_does_not_regress(tally):
    assert tally.counts["unsupported"]["agree"] >= CEL_AGREE_FLOOR


def test_committed_conformance_doc_is_current(tally):
    doc = DEFAULT_CORPUS.parents[1] / "docs" / "kyverno-conformance.md"
    assert doc.read_text(encoding="utf-8") == render_document(tally)

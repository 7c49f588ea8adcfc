"""Every line the ``secops-bot policy`` commands print (exact-text tests live in tests/tools/kyverno)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_VIOLATIONS = 1  # a rule failed or errored (apply), or an expected result disagreed (test)
EXIT_USAGE = 2  # a file is unreadable or malformed, or the requested engine is missing
EXIT_UNVERIFIED = 3  # nothing failed, but some results use features we do not evaluate

RESULT_LINE = "{status:<11} {policy}/{rule}  {resource}  {message}"
APPLY_SUMMARY = (
    "pass: {pass}, fail: {fail}, warn: {warn}, error: {error}, skip: {skip}, unsupported: {unsupported}"
)
NO_RESULTS = "no rule of the policy applies to the given resources"

TEST_MISMATCH = (
    "MISMATCH    {test_file}: {policy}/{rule} {resource}: expected {expected}, got {actual} ({detail})"
)
TEST_UNSUPPORTED = "UNSUPPORTED {test_file}: {policy}/{rule} {resource}: {detail}"
TEST_SUMMARY = (
    "{suites} test files, {total} expected results: {agree} agree ({excluded} excluded), "
    "{wrong} mismatch, {unsupported} unsupported"
)
NO_TEST_FILES = "no kyverno-test.yaml under {path}"

INPUT_ERROR = "error: {error}"
NO_BINARY = (
    "error: --engine kyverno needs the kyverno CLI: put it on PATH or set SECOPS_KYVERNO_BIN "
    "(or use the default --engine ours)"
)
BINARY_FAILED = "error: {error}"

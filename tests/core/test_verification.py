"""The pure rules of post-merge verification, and a still-firing fix in the dedup rule."""

from __future__ import annotations

from bot.core.dedup import DedupPolicy, PastFix, binding
from bot.core.verification import block_outcome, finding_outcome, findings_remaining, is_deployed

M = "a" * 40


def test_deployed_needs_healthy_and_a_revision_containing_the_merge():
    descendant = lambda rev, commit: rev == "b" * 40  # noqa: E731 (git says b descends from a)
    assert is_deployed("Healthy", ["b" * 40], M, descendant)
    assert is_deployed("Healthy", [M], M, lambda r, c: False)
    assert not is_deployed("Progressing", [M], M, descendant)
    assert not is_deployed("Healthy", ["c" * 40], M, descendant)
    assert not is_deployed("Healthy", [M], "", descendant)


def test_block_outcome_is_verified_only_without_alerts():
    assert (block_outcome(0), block_outcome(14)) == ("verified", "still_firing")


def test_findings_remaining_are_those_still_in_the_next_report():
    assert findings_remaining(["CVE-1", "CVE-2"], {"CVE-2", "CVE-9"}) == ("CVE-2",)
    assert finding_outcome(["CVE-1"], {"CVE-9"}) == "verified"
    assert finding_outcome(["CVE-1"], ["CVE-1"]) == "still_firing"


def test_still_firing_merged_fix_binds_nothing():
    fix = PastFix(fix_id="p1", outcome="merged", at=0.0)
    assert binding(fix, 1e9, DedupPolicy())
    assert not binding(fix.model_copy(update={"ineffective": True}), 1e9, DedupPolicy())

"""Exact text of the policy messages (PR title, headings, proof summary, evidence, fold)."""

from bot import messages


def test_pr_title_add_policy_names_mode_and_directory():
    assert messages.pr_title_add_policy(
        "disallow-privileged-containers", "clusters/prod/policies", "p-1", 2
    ) == ("secops: add policy disallow-privileged-containers (Audit) in clusters/prod/policies (p-1 r2)")


def test_pr_title_set_policy_mode_names_both_modes():
    assert messages.pr_title_set_policy_mode("disallow-capabilities", "Audit", "Enforce", "p-2", 1) == (
        "secops: enforce policy disallow-capabilities (Audit → Enforce) (p-2 r1)"
    )


def test_pr_headings_for_both_operations():
    assert messages.pr_heading_add_policy("x") == "Add Kyverno policy x in Audit"
    assert (
        messages.pr_heading_set_policy_mode("x", "Audit", "Enforce")
        == "Promote Kyverno policy x: Audit → Enforce"
    )


def test_pr_policy_answers_with_and_without_resources():
    assert messages.pr_policy_answers(2, ["KSV-0017"], ["shop/Deployment/web"]) == (
        "Answers 2 finding(s) (KSV-0017) on shop/Deployment/web."
    )
    assert messages.pr_policy_answers(1, [], []) == "Answers 1 finding(s) (none named)."


def test_pr_policy_document_says_who_wrote_it():
    assert messages.pr_policy_document("p", "ClusterPolicy", "", "d/p.yaml", ["Audit"]) == (
        "**Policy** p (ClusterPolicy, written by the fixer, no vetted template) in d/p.yaml, failure action Audit:"
    )
    assert messages.pr_policy_document("p", "ClusterPolicy", "t", "d/p.yaml", []).endswith(
        "(ClusterPolicy, template t) in d/p.yaml, failure action unset:"
    )


def test_pr_policy_rule_without_kinds_or_message():
    assert messages.pr_policy_rule("r", [], "") == "- rule r on any kind: no message"
    assert messages.pr_policy_rule("r", ["Pod", "Deployment"], "m") == "- rule r on Pod, Deployment: m"


def test_pr_proof_summary_passed_and_failed():
    assert messages.pr_proof_summary(True, 5) == (
        "5 resources: every must-fail fixture fails, every must-pass fixture passes, "
        "the finding's own resources fail."
    )
    assert messages.pr_proof_summary(False, 3) == "3 resources: the proof FAILED (see the rows marked ✗)."


def test_pr_promotion_evidence_with_and_without():
    assert messages.pr_promotion_evidence("PolicyReports: 2 results") == (
        "**Evidence of zero violations:** PolicyReports: 2 results."
    )
    assert messages.pr_promotion_evidence("") == (
        "**Evidence of zero violations:** none (the guard refuses this change)."
    )


def test_dedup_folded_policy_names_the_pending_proposal():
    assert messages.dedup_folded_policy("p-9") == (
        "Repeat of pending proposal p-9: it proposes a policy with the same effect (no second message)."
    )

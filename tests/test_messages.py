"""Exact texts of user-facing messages that other tests do not already pin."""

from __future__ import annotations

from bot import messages


def test_escalation_texts():
    assert messages.esc_protected("10.20.3.44", "10.0.0.0/8") == (
        "Source 10.20.3.44 is inside protected network 10.0.0.0/8; the bot never blocks it. "
        "An internal source usually means a compromised host or a misconfigured scanner: investigate."
    )
    assert messages.esc_no_config("ingress-nginx", ["db-01"]) == (
        "No ingress-nginx config is listed in the inventory for db-01, so there is nothing the bot may edit. "
        "Add one to the CMDB or block by hand."
    )
    assert messages.esc_no_playbook([str(i) for i in range(10)], None, True) == (
        "No playbook applies to rule(s) 0, 1, 2, 3, 4, 5, 6, 7 …. A human should look."
    )


def test_cli_texts():
    assert messages.cli_malformed("a.json", 25, [(3, "not JSON")]) == (
        "a.json: skipped 25 malformed line(s):\n  line 3: not JSON\n  … and 24 more"
    )
    assert messages.cli_scan_summary(20, 9, {"propose": 3, "escalate": 4}, 2) == (
        "20 alert(s) read, 9 group(s): 3 propose, 0 blocked, 4 escalate, 0 suppressed; 2 malformed line(s)."
    )


def test_slack_decision_texts():
    assert messages.slack_approved("<@UALICE>", "10:42") == ":white_check_mark: Approved by <@UALICE> 10:42"
    assert (
        messages.slack_rejected("UBOB", "10:43", "CDN") == ":no_entry_sign: Rejected by <@UBOB> at 10:43: CDN"
    )
    assert messages.slack_revision(2, "UBOB", "propose") == (
        ":pencil2: Revision 2 for <@UBOB> (propose). Earlier revisions can no longer be approved."
    )
    assert messages.approval_recorded(1) == "Approval recorded. 1 more approver(s) needed."
    assert messages.publish_failed("the guard refused it") == (
        "Publishing failed and nothing was pushed: the guard refused it. If the repository changed, mention me "
        "with `refresh` to recompute the fix; otherwise approve again to retry once the cause is fixed."
    )


def test_approved_reply_says_a_pr_was_opened_never_published():
    assert messages.slack_approved_published("UA", "https://github.example/pr/12", "`b`") == (
        ":white_check_mark: Approved by <@UA>. PR opened: https://github.example/pr/12 "
        "(nothing changes until it is merged)"
    )
    assert messages.slack_approved_published("UA", None, "`secops/p-1-r1`") == (
        ":white_check_mark: Approved by <@UA>. Branch `secops/p-1-r1` pushed; no pull request opened"
    )

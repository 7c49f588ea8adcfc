"""Every user-facing text of the CLI (and, later, Slack) in one place, with exact-text tests.

Functions take plain values and return plain strings; callers sanitise hostile alert text first.
"""

from __future__ import annotations

from collections.abc import Sequence

# --- escalation reasons (shown in Slack, the CLI and the audit log) --------------------------------------


def esc_no_targets() -> str:
    return "The alerts name no monitored host, so there is no server to protect. A human should look."


def esc_unknown_hosts(hosts: Sequence[str]) -> str:
    return (
        f"Host(s) {', '.join(hosts)} are not in the inventory: the bot only edits configs the inventory "
        "lists. Add the server to the CMDB or handle this by hand."
    )


def esc_protected(attacker: str, network: str) -> str:
    return (
        f"Source {attacker} is inside protected network {network}; the bot never blocks it. "
        "An internal source usually means a compromised host or a misconfigured scanner: investigate."
    )


def esc_not_global(attacker: str) -> str:
    return (
        f"Source {attacker} is not a global unicast address (private, reserved, loopback or multicast); "
        "blocking it at the edge would not help. A human should look."
    )


def esc_no_playbook(rule_ids: Sequence[str], family: str | None, has_attacker: bool) -> str:
    rules = ", ".join(rule_ids[:8]) + (" …" if len(rule_ids) > 8 else "")
    if not has_attacker:
        return (
            f"No playbook applies to rule(s) {rules} ({family or 'unknown family'}) and the alerts name "
            "no source address to block. A human should look."
        )
    return f"No playbook applies to rule(s) {rules}. A human should look."


def esc_no_config(kind: str, servers: Sequence[str]) -> str:
    return (
        f"No {kind} config is listed in the inventory for {', '.join(servers)}, so there is nothing the "
        "bot may edit. Add one to the CMDB or block by hand."
    )


def esc_document(error: str) -> str:
    return f"The config file could not be edited: {error}. Fix the file in the GitOps repository."


def note_unknown_hosts(hosts: Sequence[str]) -> str:
    return f"Not in the inventory (left alone): {', '.join(hosts)}."


def suppressed_already(entries: Sequence[str]) -> str:
    return f"Already in place, nothing to change: {'; '.join(entries)}."


def blocked_by_guard(summary: str) -> str:
    return f"Refused by the guard: {summary}"


def proposed(playbook: str) -> str:
    return f"Playbook {playbook}: all guard checks passed."


# --- CLI --------------------------------------------------------------------------------------------------


def cli_malformed(path: str, count: int, shown: Sequence[tuple[int, str]]) -> str:
    lines = [f"{path}: skipped {count} malformed line(s):"]
    lines += [f"  line {n}: {reason}" for n, reason in shown]
    if count > len(shown):
        lines.append(f"  … and {count - len(shown)} more")
    return "\n".join(lines)


def cli_rotated(path: str) -> str:
    return f"{path}: the file was rotated or truncated since the last scan; reading it from the start."


def cli_scan_summary(alerts: int, groups: int, counts: dict[str, int], malformed: int) -> str:
    parts = [f"{counts.get(a, 0)} {a}" for a in ("propose", "blocked", "escalate", "suppressed")]
    return f"{alerts} alert(s) read, {groups} group(s): {', '.join(parts)}; {malformed} malformed line(s)."


def cli_no_new_alerts(path: str) -> str:
    return f"{path}: no new alerts since the last scan (use --since all to rescan the whole file)."


def cli_repo_untouched() -> str:
    return "Nothing was written to the GitOps repository (scan only proposes)."


def cli_error(message: str) -> str:
    return f"error: {message}"


def cli_audit_ok(lines: int, head: str) -> str:
    return f"audit log OK: {lines} record(s), head {head[:16]}"


def cli_audit_bad(path: str, line: int, reason: str) -> str:
    return f"audit log BROKEN: {path} line {line}: {reason}"


def cli_audit_truncated(path: str, lines: int, expected: int) -> str:
    return (
        f"audit log BROKEN: {path} has {lines} record(s) but {expected} were written: "
        "records were removed from the end"
    )


def cli_audit_missing(path: str) -> str:
    return f"audit log {path} does not exist yet (nothing has been recorded)."


def cli_bad_since(value: str) -> str:
    return f"--since {value!r}: use 'offset', 'all', a duration such as 2h or 7d, or an ISO-8601 time"


def cli_bad_duration(flag: str, value: str) -> str:
    return f"{flag} {value!r}: use a duration such as 90s, 15m, 2h or 1d"


# --- LLM fixer and reviewer (issue: LangChain + Ollama) ---------------------------------------------------


def llm_same_family(fixer: str, reviewer: str, family: str, fixer_source: str, reviewer_source: str) -> str:
    return (
        f"SECOPS_REVIEWER_MODEL {reviewer!r} is from the same family ({family}) as SECOPS_FIXER_MODEL "
        f"{fixer!r} (fixer family from {fixer_source}, reviewer family from {reviewer_source}). A model "
        "reviewing its own family's work approves nearly everything: pick a reviewer from another family "
        "(e.g. gemma3:12b against a Qwen fixer), or unset SECOPS_REVIEWER_MODEL."
    )


def esc_llm_no_config(servers: Sequence[str]) -> str:
    return (
        f"No playbook applies and the inventory lists no editable config for {', '.join(servers)}, so the "
        "LLM fixer was not asked. A human should look."
    )


def esc_llm_unavailable(error: str, tried: Sequence[str]) -> str:
    before = f" Before that: {' '.join(tried)}" if tried else ""
    return (
        f"No playbook applies and the LLM fixer is unavailable ({error}). Nothing was changed; a human "
        f"should look, or rescan once Ollama answers.{before}"
    )


def esc_llm_escalated(model: str, reason: str) -> str:
    return f"The LLM fixer ({model}) found no safe config change: {reason}"


def esc_llm_gave_up(budget: int | None, tried: Sequence[str]) -> str:
    why = f"its token budget ({budget}) ran out" if budget is not None else "it ran out of attempts"
    attempts = " ".join(tried) if tried else "No attempt was made."
    return f"The LLM fixer found no change the guard accepts before {why}. {attempts} A human should look."


def llm_attempt(step: int, tried: str, refusal: str) -> str:
    return f"Attempt {step}: {tried} → refused: {refusal}."


def note_llm_tries(tried: Sequence[str]) -> str:
    return f"Earlier LLM attempts: {' '.join(tried)}"


def proposed_llm(model: str) -> str:
    return f"LLM fixer {model}: all guard checks passed. Check the change with care: no playbook covers it."


def review_unreachable(error: str) -> str:
    return f"not reviewed: the reviewer model is unavailable ({error})"


def review_no_verdict() -> str:
    return "no verdict: the reviewer did not answer with a VERDICT line"


def review_conflicting() -> str:
    return "no verdict: the reviewer's answer holds conflicting VERDICT lines"


def review_no_reason() -> str:
    return "(the reviewer gave no reason)"


# --- memory of past fixes (dedup) ------------------------------------------------------------------------


def dedup_fix_label(fix_id: str, pr_url: str | None) -> str:
    """How a past fix is named to people: ``PR #12``, a commit, or a proposal id."""
    if pr_url:
        tail = pr_url.rstrip("/").rsplit("/", 1)[-1].lstrip("#")
        return f"PR #{tail}" if tail.isdigit() else pr_url
    if fix_id.startswith("git-"):
        return f"commit {fix_id.removeprefix('git-')[:12]}"
    return f"proposal {fix_id}"


def dedup_suppressed_merged(label: str, similarity: float | None) -> str:
    if similarity is None:
        return f"Same fix as {label} (merged): every change it makes is already merged; not proposed again."
    return f"Near-duplicate ({similarity:.2f}) of {label} (merged); not proposed again."


def dedup_suppressed_rejected(label: str, by: str, reason: str, until: str, similarity: float | None) -> str:
    how = "Same fix as" if similarity is None else f"Near-duplicate ({similarity:.2f}) of"
    who = f" by {by}" if by else ""
    why = f": {reason}" if reason else ""
    return f"{how} {label}, rejected{who}{why}. Not proposed again until {until}."


def dedup_folded(target: str) -> str:
    return f"Repeat of pending proposal {target}: its alerts were added there instead of a second message."


def dedup_note_similar(label: str, similarity: float) -> str:
    return f"similar to {label} ({similarity:.2f})"


def dedup_note_shared(label: str, outcome: str) -> str:
    return f"related to {label} ({outcome}: same address or change)"


def dedup_store_down(where: str, why: str) -> str:
    return f"fix store {where} unavailable ({why}); dedup uses exact effects only"


def cli_dedup_imported(commits: int, fixes: int, effects: int) -> str:
    return (
        f"{commits} commit(s) by the bot read, {fixes} fix(es) with {effects} effect(s) recorded as merged."
    )


def cli_dedup_no_commits(repo: str, author: str) -> str:
    return f"{repo}: no commits by {author!r} changed a file the inventory lists; nothing imported."


def cli_dedup_query_row(similarity: float, label: str, outcome: str, description: str) -> str:
    return f"{similarity:.2f}  {label} ({outcome})  {description}"


def cli_dedup_query_empty() -> str:
    return "no past fixes stored yet (they are recorded when proposals are merged or rejected)."


# --- publishing: branches, pull requests, sync (issue: GitHub PRs) --------------------------------------


def publish_not_proposed(action: str) -> str:
    return f"only a guarded proposal can be published and this one is {action}"


def publish_wrong_revision(approved: int, current: int) -> str:
    return (
        f"the approval is for revision {approved} but the proposal is at revision {current}; "
        "approve the current revision"
    )


def publish_already_applied(branch: str) -> str:
    return f"the default branch {branch} already contains this change (someone applied it meanwhile)"


def publish_cannot_apply(error: str) -> str:
    return f"the change no longer applies to the latest default branch ({error}); refresh the proposal"


def publish_guard_refused(summary: str) -> str:
    return (
        "the file changed since this proposal was made and the change now fails the guard on the latest "
        f"default branch ({summary}); refresh the proposal"
    )


def publish_git_error(error: str) -> str:
    return f"{error}; check SECOPS_GIT_REMOTE_URL, GITHUB_TOKEN and GITHUB_REPOSITORY"


def published_branch(branch: str, reused: bool) -> str:
    return f"Branch {branch} {'was already pushed' if reused else 'pushed'}; open a pull request from it."


def published_pr(url: str, reused: bool) -> str:
    return f"Pull request {'already open' if reused else 'opened'}: {url}"


def pr_title(subject: str, targets: Sequence[str], proposal_id: str, revision: int) -> str:
    return f"secops: block {subject} on {', '.join(targets)} ({proposal_id} r{revision})"


def pr_title_findings(
    family: str, change: str, targets: Sequence[str], proposal_id: str, revision: int
) -> str:
    verb = "bump" if family == "image" else "fix"
    return f"secops: {verb} {change} on {', '.join(targets)} ({proposal_id} r{revision})"


def pr_merged(by: str, url: str) -> str:
    return f"Merged by {by}: {url}"


def pr_rejected(by: str, reason: str, url: str) -> str:
    said = f': "{reason}"' if reason else " (no comment)"
    return f"Pull request closed without merge by {by}{said}. Recorded as rejected in review. {url}"


def pr_rebased(default_branch: str, sha: str) -> str:
    return (
        f"{default_branch} changed the same file, so the bot re-applied this proposal's edit operations on "
        f"{default_branch} at {sha[:12]} and force-pushed its own branch. The guard passed again."
    )


def pr_obsolete(reason: str) -> str:
    return f"Closing: {reason} The bot closes only its own pull requests."


def pr_obsolete_applied(default_branch: str) -> str:
    return f"{default_branch} already contains this change (the address is already blocked)."


def pr_obsolete_refused(default_branch: str, why: str) -> str:
    return f"the edit operations no longer pass on {default_branch}: {why}."


def pr_branch_foreign(branch: str) -> str:
    return (
        f"Someone else pushed to {branch}; the bot will not overwrite it. Rebase it by hand or close the "
        "pull request."
    )


def cli_sync_summary(checked: int, merged: int, rejected: int, rebased: int, closed: int) -> str:
    return (
        f"Checked {checked} open bot pull request(s): {merged} merged, {rejected} closed without merge, "
        f"{rebased} rebased, {closed} closed as obsolete."
    )


def cli_sync_not_configured() -> str:
    return (
        "Nothing to sync: set GITHUB_REPOSITORY and GITHUB_TOKEN (and SECOPS_GIT_REMOTE_URL) to publish "
        "pull requests."
    )


def webhook_unsigned() -> str:
    return "missing or invalid X-Hub-Signature-256"


def webhook_no_secret() -> str:
    return "webhooks are disabled: GITHUB_WEBHOOK_SECRET is not set"


# --- Slack app (issue: Slack) ------------------------------------------------------------------------------


def scan_failed(error: str) -> str:
    return f"The scan failed: {error}. Nothing was lost: the next scan starts from the same place."


def unknown_proposal(proposal_id: str) -> str:
    return f"Proposal {proposal_id} is unknown to this bot (was the data directory reset?)."


def not_authorized() -> str:
    return "You are not an approver for secops-bot proposals, so nothing happened. Ask a SOC lead."


def stale_revision(current: int) -> str:
    return (
        f"This button belongs to an earlier revision; revision {current} is current. "
        "Review the updated message and approve that one."
    )


def not_approvable(action: str) -> str:
    return f"This proposal is '{action}', not an approvable change."


def expired() -> str:
    return "This proposal has expired. Mention me in its thread with `refresh` to recompute it, then approve."


def already_decided(status: str) -> str:
    return f"This proposal is already {status}; nothing changed."


def already_voted() -> str:
    return "Your approval was already recorded."


def approval_recorded(still_needed: int) -> str:
    return f"Approval recorded. {still_needed} more approver(s) needed."


def no_publisher() -> str:
    return "Approved. No publisher is configured, so nothing was pushed."


def publish_failed(message: str) -> str:
    return (
        f"Publishing failed and nothing was pushed: {message}. If the repository changed, mention me with "
        "`refresh` to recompute the fix; otherwise approve again to retry once the cause is fixed."
    )


def instructions_help() -> str:
    return (
        "I understand: `also block 45.155.205.0/24` (add addresses), `use /24` (widen the attacker's entry), "
        "and `refresh` (recompute against the repository as it is now)." + revision_history_help()
    )


def instruction_refused(reason: str) -> str:
    return f"I can't do that: {reason}. " + instructions_help()


def revision_note(user: str, text: str) -> str:
    return f"Revised at the request of <@{user}>."


def scan_summary(new: int, escalations: int, suppressed: int, malformed: int) -> str:
    return (
        f"Scan done: {new} new proposal(s), {escalations} escalation(s), {suppressed} suppressed, "
        f"{malformed} malformed line(s)."
    )


def scan_started() -> str:
    return "Scanning new alerts…"


def command_help() -> str:
    return (
        "`/secops-scan` scans new alerts now · `/secops-scan status` shows pending proposals and the last poll "
        "· `/secops-scan help` shows this."
    )


def wrong_channel(channel: str) -> str:
    return f"secops-bot only works in <#{channel}>."


def status_text(pending: int, last_poll: str, suppressed_today: int = 0) -> str:
    return f"{pending} pending proposal(s). Last poll: {last_poll}. Suppressed repeats today: {suppressed_today}."


def serve_token_refused(error: str) -> str:
    return f"Slack refused SLACK_BOT_TOKEN ({error}). Check the token and the app's installation."


def serve_http(port: int) -> str:
    return f"secops-bot listening on port {port}: POST /slack/events, GET /healthz."


def serve_socket() -> str:
    return "secops-bot connected to Slack in Socket Mode."


def fixer_declined(fixer: str, reason: str) -> str:
    return f"The fixer ({fixer}) made no revision: {reason}"


def revision_note_llm(user: str, fixer: str) -> str:
    return f"Revised by {fixer} at the request of <@{user}>; the guard checked the result."


# --- Slack messages (Block Kit text; callers escape hostile parts) ----------------------------------------


def slack_no_reviewer() -> str:
    return ":speech_balloon: Reviewer: no reviewer configured"


def slack_review(model: str, verdict: str, reason: str) -> str:
    return f":speech_balloon: Reviewer {model}: *{verdict}*. {reason}"


def slack_diff_truncated() -> str:
    return ":scissors: Diff truncated here; the full diff is in the thread."


def slack_blocked(reason: str) -> str:
    return f":no_entry: *Blocked by the guard; cannot be approved.* {reason}"


def slack_evidence_in_thread() -> str:
    return "Evidence (sanitised log lines and alert ids) is in the thread."


def slack_nothing_pending() -> str:
    return "Nothing waiting for approval."


def slack_no_decisions() -> str:
    return "No decisions yet."


def slack_rejected(user: str, at: str, reason: str) -> str:
    return f":no_entry_sign: Rejected by <@{user}> at {at}: {reason}"


def slack_partly_approved(approvers: str, note: str) -> str:
    return f":hourglass_flowing_sand: Approved by {approvers}; {note}"


def slack_approved(approvers: str, at: str) -> str:
    return f":white_check_mark: Approved by {approvers} {at}"


def slack_approved_published(user: str, pr_url: str | None, branch: str) -> str:
    """The thread reply once an approved revision is out: a pull request (or a pushed branch), never "deployed"."""
    if pr_url:
        return f":white_check_mark: Approved by <@{user}>. PR opened: {pr_url} (nothing changes until it is merged)"
    return f":white_check_mark: Approved by <@{user}>. Branch {branch} pushed; no pull request opened"


def slack_revision(revision: int, user: str, action: str) -> str:
    return f":pencil2: Revision {revision} for <@{user}> ({action}). Earlier revisions can no longer be approved."


def slack_revision_by_scan(revision: int, note: str) -> str:
    return f":pencil2: Revision {revision}: {note}. Earlier revisions can no longer be approved."


def slack_folded(new_alerts: int, total: int) -> str:
    return f":repeat: {new_alerts} more alert(s) from the same attack, folded into this proposal ({total} in all)."


# --- per-target fixes, contained errors, `secops-bot check` --------------------------------------------------


def unfixed_not_in_inventory() -> str:
    return "not in the inventory: the bot only edits configs the inventory lists"


def unfixed_no_playbook(kinds: Sequence[str], wanted: Sequence[str]) -> str:
    have = ", ".join(kinds) if kinds else "none"
    return f"no playbook for its config kinds (has: {have}; the alert's playbooks edit {' or '.join(wanted)})"


def unfixed_document(error: str) -> str:
    return f"its config file could not be edited: {error}"


def unfixed_guard(summary: str) -> str:
    return f"the guard refuses its change: {summary}"


def esc_no_fixable_target(unfixed: Sequence[tuple[str, str]]) -> str:
    reasons = "; ".join(f"{target}: {reason}" for target, reason in unfixed)
    return f"No target can be fixed ({reasons}). Fix the files or the CMDB, or block by hand."


def esc_internal(error_class: str, message: str) -> str:
    return (
        f"Deciding this group failed ({error_class}: {message}); nothing is proposed for it. "
        "A human should look; the bot's log names this proposal id."
    )


def already_covered(cidr: str, entry: str, file: str) -> str:
    return f"{cidr} is already covered by {entry} in {file}"


def slack_unfixed(lines: Sequence[str]) -> str:
    return "*Not fixed on:*\n" + "\n".join(f"• {line}" for line in lines)


def cli_check_result(passed: bool) -> str:
    return "Guard: PASSED" if passed else "Guard: BLOCKED"


def cli_check_unchanged(entries: Sequence[str]) -> str:
    detail = f": {'; '.join(entries)}" if entries else ""
    return f"Nothing to change{detail}. The guard has nothing to judge."


def cli_check_files(files: Sequence[str]) -> str:
    return f"Files changed: {', '.join(files)}"


def cli_check_bad_ops(path: str, error: str) -> str:
    return f"{path}: {error}"


def cli_check_escalate(reason: str) -> str:
    return f"the operations are an escalation ({reason}); there is nothing to check"


def cli_check_unknown_targets(names: Sequence[str]) -> str:
    return f"target(s) {', '.join(names)} are not in the inventory"


def cli_check_no_targets() -> str:
    return "--targets names no server"


def cli_check_bad_attacker(value: str) -> str:
    return f"--attacker {value!r} is not an IP address"


def check_covers_attacker(attacker: str, missing: Sequence[str]) -> str:
    if not missing:
        return f"every add_cidr covers {attacker}"
    return f"add_cidr without {attacker}: {', '.join(missing)}"


def check_no_add_cidr(attacker: str) -> str:
    return f"no add_cidr operation blocks {attacker}"


# --- publication outbox and shutdown (issue 11) ---------------------------------------------------------


def publish_resumed(revision: int, where: str) -> str:
    return (
        f"Publication of revision {revision} was interrupted (the bot stopped after the approval) and has "
        f"now been completed: {where}"
    )


def shutting_down() -> str:
    return "secops-bot is restarting, so nothing happened. Click again in a minute."


def serve_stopping(in_flight: bool) -> str:
    if in_flight:
        return "secops-bot stopped with a publication still running; it resumes on the next start."
    return "secops-bot stopped."


# --- revision rules (issue 12) ---------------------------------------------------------------------------


def revision_history_help() -> str:
    return " `undo` goes back to the previous revision, `revert to r2` to any earlier one."


def revise_not_authorized() -> str:
    return "Only approvers can revise secops-bot proposals, so nothing changed. Ask a SOC lead."


def revision_not_adopted(revision: int, why: str, approvable: bool) -> str:
    if not approvable:
        return f":no_entry: Not adopted: {why}. Revision {revision} stays current."
    return (
        f":no_entry: Not adopted: {why}. Revision {revision} stays current and can still be approved "
        "(its Approve button still works)."
    )


def revision_blocked_why(failing: str) -> str:
    return f"the guard blocked the change ({failing})"


def revision_escalated_why(reason: str) -> str:
    return f"the change could not be applied ({reason})"


def revision_change(added: Sequence[str], removed: Sequence[str]) -> str:
    """What a thread revision changed in the operations (the card's "what changed" line)."""
    parts = []
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    if not parts:
        return "Recomputed against the repository as it is now"
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def revision_undo_note(restored: int) -> str:
    return f"Undo: back to the changes of revision {restored}"


def revision_revert_note(restored: int) -> str:
    return f"Reverted to the changes of revision {restored}"


# --- campaigns (many attackers from one /24 or /48) -------------------------------------------------------


def campaign_each(count: int, network: str) -> str:
    prefix = network.rsplit("/", 1)[-1]
    return (
        f"Campaign: {count} attackers from {network} within the window, one entry each. "
        f"Reply `use /{prefix}` in the thread to block {network} itself."
    )


def campaign_over_entries(count: int, limit: int) -> str:
    return f"{count} entries, one per address, are more than the guard's {limit} entries per proposal"


def campaign_over_lines(lines: int, limit: int) -> str:
    return f"one entry per address would change {lines} lines, more than the guard's {limit}"


def campaign_whole(count: int, network: str, why: str) -> str:
    return (
        f"Campaign: {count} attackers from {network} within the window; this blocks {network} itself: {why}."
    )


# --- the card, escalations people can act on, App Home (issue 12) ----------------------------------------


def card_action_block(cidrs: str, targets: str) -> str:
    return f"Block {cidrs} on {targets}"


def card_action_unblock(cidrs: str, targets: str) -> str:
    return f"Unblock {cidrs} on {targets}"


def card_action_change(files: int, targets: str) -> str:
    return f"Change {files} file(s) on {targets}"


def card_action_none(subject: str, targets: str) -> str:
    return f"No change for {subject} on {targets}"


def card_alert_count(count: int) -> str:
    return "1 alert" if count == 1 else f"{count} alerts"


def card_guard_blocked_headline(line: str) -> str:
    return f":no_entry: Blocked · {line}"


def card_guard_not_run() -> str:
    return ":grey_question: Guard: not run"


def card_guard_passed(passed: int, total: int) -> str:
    return f":white_check_mark: Guard: {passed}/{total} checks passed (all in the thread)"


def card_guard_failed(passed: int, total: int, failed: Sequence[str]) -> str:
    return f":x: Guard: {passed}/{total} checks passed · failed: " + "; ".join(failed)


def card_guard_list(revision: int) -> str:
    return f"*Guard checks* (revision {revision}):"


def card_reviewer_disagrees(model: str, reason: str) -> str:
    return f":warning: *Reviewer {model} says REJECT.* {reason}"


def card_confirm_despite_reviewer(model: str, reason: str) -> str:
    return f"The reviewer {model} says REJECT: {reason}. Approve anyway?"


def card_revision(revision: int, note: str, by: str | None) -> str:
    asked = f" (asked by {by})" if by else ""
    return f":pencil2: Revision {revision}: {note}{asked}"


def card_pr_opened(number: int | None, url: str) -> str:
    return f"<{url}|PR #{number}> opened" if number else f"<{url}|pull request> opened"


def card_branch_pushed(branch: str) -> str:
    return f"branch {branch} pushed, no pull request opened"


def esc_owners(owners: str) -> str:
    return f"*Owner:* {owners}"


def esc_no_owner() -> str:
    return "no owner in the inventory"


def esc_acknowledged(user: str, at: str) -> str:
    return f":eyes: Acknowledged by {user} {at}"


def esc_assigned(user: str, at: str) -> str:
    return f":bust_in_silhouette: Assigned to {user} {at}"


def esc_muted(user: str, at: str, pairs: str, until: str) -> str:
    return f":mute: Muted by {user} {at}: {pairs} not posted until {until}"


def esc_mute_confirm(rules: str, hosts: str) -> str:
    return f"Rule(s) {rules} on {hosts}: new escalations are not posted for 24 hours (they stay in the audit log)."


def esc_not_an_escalation() -> str:
    return "That message is not an escalation any more, so nothing was recorded."


def esc_mute_refused() -> str:
    return "Only approvers can mute: a mute hides alerts for 24 hours. Acknowledge or assign it instead."


def esc_already(kind: str) -> str:
    return f"You already {kind} this escalation."


def home_pending_header(count: int) -> str:
    return f"Waiting for approval ({count})"


def home_escalations_header(count: int) -> str:
    return f"Escalations ({count})"


def home_no_escalations() -> str:
    return "No open escalations."


def home_more(count: int) -> str:
    return f"… and {count} more (lowest severity, newest)."


def home_not_posted() -> str:
    return "not posted yet"


def home_decision_verb(kind: str) -> str:
    return {
        "approved": "approved",
        "published": "opened the PR for",
        "rejected": "rejected",
        "revised": "revised",
        "acknowledged": "acknowledged",
        "assigned": "took",
        "muted": "muted",
    }.get(kind, kind)


# --- flood control: the digest, inventory problems, /secops-scan queue (issue 12) -------------------------


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def slack_digest(approvable: int, blocked: int, escalations: int) -> str:
    """The one digest message for held-back proposals (updated in place each poll)."""
    total = approvable + blocked + escalations
    if total == 0:
        return ":white_check_mark: No proposals held back: every one is in the channel."
    parts = [
        text
        for n, text in (
            (approvable, f"{approvable:,} to approve"),
            (blocked, f"{blocked:,} blocked"),
            (escalations, _count(escalations, "escalation", "escalations")),
        )
        if n
    ]
    what = "proposal" if total == 1 else "proposals"
    return f"{total:,} more {what} held back: {', '.join(parts)} · `/secops-scan queue`"


def slack_inventory_problem(server: str, path: str, reason: str, held: int) -> str:
    """One escalation for many blocked proposals caused by one inventory entry (``reason`` as the guard said)."""
    joined = f" {reason}" if reason.startswith("is ") else f": {reason}"
    return (
        f"{server}: its listed config {path}{joined}; "
        f"{_count(held, 'proposal', 'proposals')} held: fix the CMDB"
    )


def slack_inventory_problem_header(severity: str) -> str:
    return f":rotating_light: Inventory problem · {severity}"


def queue_help() -> str:
    return (
        "`/secops-scan queue` lists held-back proposals · `/secops-scan queue next [N]` posts the next N "
        "(default 5, at most 20)."
    )


def queue_empty() -> str:
    return "Nothing is held back: every proposal is in the channel."


def queue_header(approvable: int, blocked: int, escalations: int) -> str:
    total = approvable + blocked + escalations
    return (
        f"{_count(total, 'proposal', 'proposals')} held back ({approvable:,} to approve, {blocked:,} blocked, "
        f"{_count(escalations, 'escalation', 'escalations')}), highest severity first:"
    )


def queue_more(count: int) -> str:
    return f"… and {count:,} more · `/secops-scan queue next` posts the next ones."


def queue_problems_header() -> str:
    return "Held behind inventory problems (fix the CMDB, then they are proposed again):"


def queue_posting(count: int) -> str:
    return f"Posting the next {_count(count, 'held-back proposal', 'held-back proposals')}…"


def queue_posted(posted: int, left: int) -> str:
    return f"Posted {_count(posted, 'proposal', 'proposals')}; {left:,} still held back."


def queue_bad_count(text: str) -> str:
    return f"`{text}` is not a number: use `/secops-scan queue next 5` (at most 20)."


def status_escalations(count: int) -> str:
    return f"{_count(count, 'open escalation', 'open escalations')}:"


# --- blocks that expire (bot/expiry.py, `keep`) --------------------------------------------------------


def block_expired(entries: Sequence[str], days: int, pr_number: int | None, proposal_id: str) -> str:
    """The reason of a removal proposal: which entries expired, after how long, and where they came from."""
    shown = ", ".join(list(dict.fromkeys(entries))[:5]) + (
        f" (+{len(set(entries)) - 5} more)" if len(set(entries)) > 5 else ""
    )
    word = "Block" if len(set(entries)) == 1 else "Blocks"
    source = f"PR #{pr_number}" if pr_number is not None else f"proposal {proposal_id}"
    return f"{word} of {shown} expired after {days} day{'' if days == 1 else 's'} (added by {source})"


def block_removal_impossible(reason: str, detail: str) -> str:
    """An expired block the bot cannot remove exactly: people decide."""
    return f"{reason}, but the bot cannot remove it exactly: {detail}"


def blocks_kept(entries: Sequence[str]) -> str:
    """The thread's answer to ``keep``."""
    if not entries:
        return (
            "Kept: the entries this proposal adds will never expire once merged; "
            "the bot will not propose lifting them."
        )
    shown = ", ".join(list(dict.fromkeys(entries))[:10])
    return f"Kept: {shown} will stay blocked (no expiry); the bot will not propose lifting them."


def cli_sync_expired(count: int) -> str:
    return f"Proposed lifting {count} expired block(s); serve posts them for approval."


# --- Wazuh indexer pull (issue 15: tools/sources/wazuh_indexer.py) ----------------------------------------


def indexer_unauthorized(where: str, call: str) -> str:
    return (
        f"Wazuh indexer {where}: {call} was refused (401): the credentials are wrong or missing. "
        "Check SECOPS_INDEXER_USERNAME and SECOPS_INDEXER_PASSWORD (or SECOPS_INDEXER_API_KEY)."
    )


def indexer_forbidden(where: str, call: str, reason: str) -> str:
    return (
        f"Wazuh indexer {where}: {call} was forbidden (403): the user may not read these indices ({reason}). "
        "Give it read access to the index pattern (SECOPS_INDEXER_INDEX)."
    )


def indexer_failed(where: str, call: str, status: int, reason: str) -> str:
    return f"Wazuh indexer {where}: {call} failed (HTTP {status}: {reason}). The next poll tries again."


def indexer_timeout(where: str, call: str, seconds: float) -> str:
    return (
        f"Wazuh indexer {where}: {call} did not answer within {seconds:g} s (SECOPS_INDEXER_TIMEOUT). "
        "The next poll tries again from the stored watermark."
    )


def indexer_unreachable(where: str, detail: str) -> str:
    return f"Wazuh indexer {where} is unreachable ({detail}). Check SECOPS_INDEXER_URL."


def indexer_tls(where: str, detail: str) -> str:
    return (
        f"Wazuh indexer {where}: the TLS certificate was not accepted ({detail}). "
        "Give the CA with SECOPS_INDEXER_CA_BUNDLE."
    )


def indexer_bad_answer(where: str, call: str, what: str) -> str:
    return f"Wazuh indexer {where}: {call} answered unusably ({what})."


def indexer_no_index(where: str) -> str:
    return (
        f"Wazuh indexer {where}: no index matches the pattern; nothing to read (deleted, or not created yet)."
    )


def indexer_index_gone(where: str) -> str:
    return (
        f"Wazuh indexer {where}: an index was deleted during the pull; what was read is kept, "
        "the next poll goes on from there."
    )


def indexer_pit_reopened(where: str) -> str:
    return f"Wazuh indexer {where}: the point in time expired; reopened, reading on after the last page."


def indexer_pit_lost(where: str, times: int) -> str:
    return (
        f"Wazuh indexer {where}: the point in time expired {times} times in one pull; stopped. "
        "The next poll resumes from the stored watermark."
    )


def indexer_shards_failed(where: str, failed: int) -> str:
    return (
        f"Wazuh indexer {where}: {failed} shard(s) failed to answer; their alerts may come in a later poll."
    )


def cli_indexer_malformed(where: str, count: int, shown: Sequence[tuple[int, str]]) -> str:
    lines = [f"{where}: skipped {count} malformed document(s):"]
    lines += [f"  #{n}: {reason}" for n, reason in shown]
    if count > len(shown):
        lines.append(f"  … and {count - len(shown)} more")
    return "\n".join(lines)


def cli_indexer_or_alerts() -> str:
    return (
        "give --alerts (SECOPS_ALERTS) or --indexer (SECOPS_INDEXER_URL), not both: they are the same alerts"
    )


def cli_indexer_no_new_alerts(where: str) -> str:
    return f"{where}: no new alerts since the last scan (use --since all to read every document again)."


# --- post-merge verification (issue 15: bot/verification.py, tools/argocd.py) ----------------------------


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def verify_deployed_watching(at: str, attacker: str, period_s: float) -> str:
    return f"Deployed {at} · watching alerts from {attacker} for {_minutes(period_s)}."


def verify_deployed(at: str) -> str:
    return f"Deployed {at}."


def verify_quiet(at: str, attacker: str, period_s: float) -> str:
    return f"Deployed {at} · no alerts from {attacker} since (0 in {_minutes(period_s)})."


def verify_still_firing(alerts: int, period_s: float) -> str:
    return (
        f"Still firing: {alerts} alert(s) since deployment (in {_minutes(period_s)}). This fix no longer "
        "suppresses new proposals for this attacker; the next ones are escalated."
    )


def verify_not_deployed(deadline_s: float, why: str) -> str:
    tail = f" {why}" if why else ""
    return f"Not deployed after {_minutes(deadline_s)}.{tail}"


def verify_app_state(app: str, sync: str, health: str, revisions: Sequence[str]) -> str:
    shown = ", ".join(r[:12] for r in revisions) or "none"
    return f"Argo CD application {app}: {sync}, {health}, revision {shown}."


def verify_no_app(targets: Sequence[str]) -> str:
    return (
        f"No Argo CD application in the inventory for {', '.join(targets) or 'these files'} (argocd_app): "
        "deployment not followed."
    )


def verify_no_commit() -> str:
    return "GitHub gave no merge commit: deployment not followed."


def esc_still_firing(fix_id: str, alerts: int, attacker: str) -> str:
    return (
        f"Still firing: the block of {attacker} merged in {fix_id} is deployed, yet {alerts} alert(s) came "
        "after it. The block does not stop this attacker (another path in, or the config is not used): "
        "a person has to look."
    )


def suppressed_still_firing_escalated(escalation_id: str) -> str:
    return f"Still firing; already escalated in {escalation_id}."


def argocd_refused(url: str, app: str, status: int) -> str:
    return (
        f"Argo CD {url}: reading application {app} was refused ({status}). Check SECOPS_ARGOCD_TOKEN "
        "(a read-only token with `applications, get`)."
    )


def argocd_no_app(url: str, app: str) -> str:
    return f"Argo CD {url}: no application {app} (404). Check argocd_app in the inventory."


def argocd_failed(url: str, app: str, status: int) -> str:
    return f"Argo CD {url}: reading application {app} failed (HTTP {status}). The next pass tries again."


def argocd_timeout(url: str, app: str, seconds: float) -> str:
    return f"Argo CD {url}: application {app} did not answer within {seconds:g} s. The next pass tries again."


def argocd_unreachable(url: str, detail: str) -> str:
    return f"Argo CD {url} is unreachable ({detail}). Check SECOPS_ARGOCD_URL."


# --- operations kit: config show, health, start-up checks (issue 16) ---------------------------------------


def config_secret_masked() -> str:
    return "******** (set)"


def config_show_header(config_file: str | None) -> str:
    where = f"config file {config_file}" if config_file else "no config file (--config or SECOPS_CONFIG)"
    return f"Effective settings ({where}); precedence: flag > env > file > default."


def ready_state_unwritable(path: str, error: str) -> str:
    return f"the state store {path} does not take writes ({error}): give the data directory a writable volume"


def ready_repo_unreadable(path: str, error: str) -> str:
    return f"{path} cannot be read ({error}): check SECOPS_REPO / SECOPS_CMDB and the volume that holds them"


def ready_slack_auth(error: str) -> str:
    return f"Slack refused SLACK_BOT_TOKEN ({error}): check the token and the app's installation"


def ready_not_in_channel(channel: str, name: str | None, bot: str | None) -> str:
    where = f"#{name}" if name else channel
    return f"the bot is not a member of {where}: invite the bot to {where}: /invite @{bot or 'secops-bot'}"


def ready_channel_unknown(channel: str, error: str) -> str:
    if error == "missing_scope":
        return (
            f"cannot check membership of {channel}: the app lacks the channels:read scope "
            "(private channel: groups:read); reinstall it with deploy/slack-app-manifest.yaml"
        )
    return (
        f"Slack cannot see channel {channel} ({error}): check SECOPS_SLACK_CHANNEL (a channel id, C…); "
        "for a private channel, invite the bot first"
    )


def ready_github_unreachable(repository: str, why: str) -> str:
    return f"GitHub repository {repository} is not reachable ({why}): check GITHUB_TOKEN, GITHUB_API_URL and egress"


def ready_chroma_unreachable(why: str) -> str:
    return f"Chroma is not reachable ({why}): check SECOPS_CHROMA_URL and that Chroma runs"


def serve_not_ready(failing: Sequence[tuple[str, str]]) -> str:
    lines = "\n".join(f"  {name}: {reason}" for name, reason in failing)
    return f"secops-bot started, but is not ready (GET /readyz says the same until fixed):\n{lines}"


def serve_health_port(port: int) -> str:
    return f"secops-bot health on port {port}: GET /healthz, /readyz, /metrics."


# --- Scanner findings (Trivy, trivy-operator): grouping, reading, escalation ---------------------------------


def esc_misconfiguration(check_id: str, title: str, resource: str, resolution: str, count: int) -> str:
    """A misconfiguration finding, escalated with the scanner's own resolution text (the policy issue fixes them)."""
    what = f"{check_id} ({title})" if title else check_id
    more = f" ({count} findings)" if count > 1 else ""
    fix = f" Resolution: {resolution}" if resolution else ""
    return (
        f"Misconfiguration {what} on {resource}{more}. The bot does not edit workloads for this; fix the "
        f"manifest or add a policy.{fix}"
    )


def esc_image_no_workload(image: str) -> str:
    return (
        f"No workload in the inventory runs {image}: the bot only bumps image references the inventory lists "
        "(workloads: … images:). Add the workload and its file, or bump it by hand."
    )


def esc_findings_unrouted(family: str) -> str:
    return f"No fixer handles {family} findings yet. A human should look."


def cli_findings_read(path: str, findings: int, layout: str) -> str:
    return f"{path}: {findings} finding(s) ({layout})"


def cli_findings_problems(path: str, count: int, shown: Sequence[str]) -> str:
    lines = [f"{path}: {count} malformed or unreadable part(s) skipped:"]
    lines.extend(f"  {text}" for text in shown[:10])
    if count > len(shown[:10]):
        lines.append(f"  … and {count - len(shown[:10])} more")
    return "\n".join(lines)


# --- input sweep (issues 14 and 18): what could not be read of an input file ---


def cli_policy_report_problems(shown: Sequence[str]) -> str:
    """The problems of the ``--policy-reports`` files (each names its file); what was read is still evidence."""
    lines = [f"policy reports: {len(shown)} problem(s); those parts are no evidence:"]
    lines.extend(f"  {text}" for text in shown[:10])
    if len(shown) > 10:
        lines.append(f"  … and {len(shown) - 10} more")
    return "\n".join(lines)


def deps_findings_not_of_app(report: str, count: int, kinds: Sequence[str], app: str, ecosystem: str) -> str:
    """A ``--deps`` report's findings that are not advisories of the repository's ecosystem (skipped)."""
    shown = ", ".join(kinds[:5]) or "other"
    return (
        f"{report}: {count} finding(s) skipped ({shown}): {app} is a {ecosystem} repository; "
        f"is --app-repo {app} the repository this report is of?"
    )


def cli_report_unchanged(path: str) -> str:
    return f"{path}: unchanged since the last scan (use --since all to decide it again)"


def cli_findings_summary(findings: int, reports: int, groups: int, counts: dict[str, int]) -> str:
    parts = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no proposals"
    return f"{findings} finding(s) from {reports} report(s) → {groups} group(s): {parts}"


def cli_need_input() -> str:
    return (
        "nothing to scan: give --alerts (or SECOPS_ALERTS), --trivy REPORT and/or --deps REPORT, "
        "or --indexer URL (or SECOPS_INDEXER_URL)"
    )


# --- image bumps: which version (issue 13, agents/image_bumps.py) ------------------------------------------


def image_esc_no_findings(image: str) -> str:
    return f"No vulnerability finding names {image}, so there is nothing to bump."


def image_esc_no_fixed_version(image: str, count: int) -> str:
    if count == 1:
        return f"The CVE of {image} has no fixed version yet, so no bump can fix it; mitigate it by hand or wait for a fix."
    return (
        f"None of the {count:,} CVEs of {image} has a fixed version yet, so no bump can fix them; "
        "mitigate them by hand or wait for a fix."
    )


def image_esc_no_version_tag(image: str, tagged: bool) -> str:
    if tagged:
        return (
            f"{image} is not a version tag, so no newer version can be proven; write the version it runs in the "
            "file, then rerun with `--trivy`."
        )
    return (
        f"{image} has no tag, so no newer version can be proven; write its tag with the digest (name:tag@digest), "
        "then rerun with `--trivy`."
    )


def image_esc_no_evidence(
    cve: str, package: str, fixed: str, repository: str, more: int, no_fix: int, details: Sequence[str]
) -> str:
    """No evidence for any bump: the most severe fixable CVE, how many others, and the evidence not used."""
    first = f"{cve} is fixed in {package} {fixed}"
    if more:
        first += f", and {_count(more, 'more CVE has a fixed version', 'more CVEs have fixed versions')}"
    text = (
        f"{first}; no {repository} tag is known to contain {'the fixes' if more else 'it'}; "
        "scan a candidate tag and rerun with `--trivy`"
    )
    if no_fix:
        text += f" ({_count(no_fix, 'more CVE has', 'more CVEs have')} no fixed version)"
    if details:
        text += ". Not used: " + "; ".join(details)
    return text


def image_detail_primary(package: str, fixed: str, kind: str, tag: str) -> str:
    why = {
        "older": f"is not newer than {tag}",
        "major": f"is a major bump from {tag} (allow_major is off)",
    }.get(kind, f"does not map to a tag like {tag}")
    return f"{package} {fixed} {why}"


def image_detail_primary_pinned(package: str, image: str) -> str:
    return f"{package}'s fixed version gives no digest, and {image} is pinned by digest"


def image_detail_candidate(label: str, problem: str, current: str) -> str:
    why = {
        "another": "is of another repository",
        "untagged": "has no tag (a digest alone is never proposed)",
        "mutable": "is of a mutable tag",
        "style": f"does not compare with {current} (another tag style)",
        "older": f"is older than {current}",
        "major": "is a major bump (allow_major is off)",
        "no-digest": f"gives no digest, and {current} is pinned by digest",
        "still": "still has every CVE",
    }.get(problem, problem)
    return f"the scan of {label} {why}"


def image_detail_more(count: int) -> str:
    return f"{count:,} more"


def image_reason_primary(tag: str, package: str) -> str:
    return (
        f"{tag} is the fixed version of {package}, the image's primary package, in the repository's tag style"
    )


def image_reason_candidate(reference: str, report: str, fixed: int, total: int) -> str:
    source = f"the scan of {reference}" + (f" ({report})" if report else "")
    if fixed == total:
        return f"{source} lacks {'the CVE' if total == 1 else f'all {total:,} CVEs'}"
    return f"{source} lacks {fixed:,} of the {total:,} CVEs"


def image_not_fixed(unproven: Sequence[str], no_fix: int) -> str:
    parts = []
    if unproven:
        shown = ", ".join(unproven[:3]) + (f" and {len(unproven) - 3:,} more" if len(unproven) > 3 else "")
        parts.append(f"{shown} not proven fixed")
    if no_fix:
        parts.append(f"{_count(no_fix, 'CVE', 'CVEs')} without a fixed version")
    return "; not fixed: " + ", ".join(parts)


def image_file_problem(path: str, problem: str) -> str:
    return f"{path} {problem}"


def image_file_unreadable(path: str, error: str) -> str:
    return error if error.startswith(f"{path}:") else f"{path}: cannot read ({error})"


def image_file_moved_on(path: str, current: str, scanned: str) -> str:
    return (
        f"{path} holds {current}, but the report scanned {scanned}: scan {current} and rerun with `--trivy`"
    )


def image_unfixed_not_listed() -> str:
    return "not in the inventory's workloads: the bot only bumps images the inventory lists"


def image_unfixed_no_target(image: str) -> str:
    return f"no image target listed for this workload holds {image}"


def image_partly(reason: str) -> str:
    return f"bumped in part; not: {reason}"


def image_esc_no_fixable_workload(image: str, unfixed: Sequence[tuple[str, str]]) -> str:
    reasons = "; ".join(f"{target}: {reason}" for target, reason in unfixed)
    return f"No workload running {image} can be bumped ({reasons}). Fix the files or the CMDB, or bump it by hand."


def card_action_bump(where: str, old: str, new: str, top: str, top_severity: str, more: int) -> str:
    """The card's action for an image bump: "Bump shop-web web nginx:1.16 → 1.16.1 (fixes CVE-… HIGH and 3 more)"."""
    fixes = ""
    if top:
        fixes = (
            f" (fixes {top}{' ' + top_severity if top_severity else ''}{f' and {more} more' if more else ''})"
        )
    return f"Bump {where} {old} → {new}{fixes}"


def card_action_findings(subject: str, family: str, targets: str) -> str:
    what = "Image" if family == "image" else "Misconfiguration"
    return f"{what} {subject} on {targets}: no change proposed"


def card_finding_count(count: int, family: str) -> str:
    noun = {"image": "CVE", "dependency": "advisory"}.get(family, "finding")
    if count == 1:
        return f"1 {noun}"
    return f"{count} advisories" if noun == "advisory" else f"{count} {noun}s"


def thread_findings_header(proposal_id: str, count: int, subject: str) -> str:
    return (
        f"*Findings* for `{proposal_id}` ({count} on {subject}; :white_check_mark: = fixed by this change):"
    )


def thread_findings_more(count: int) -> str:
    return f"… and {count} more (all of them in `secops-bot scan --json`)"


def thread_findings_reports(reports: str) -> str:
    return f"Read from: {reports}"


def pr_findings_heading(family: str, subject: str) -> str:
    return f"Bump {subject}" if family == "image" else f"Fix {subject}"


# --- set_image: the exact image edit (issue 13) ------------------------------------------------------------


def image_already_set(workload: str, target: str, value: str, file: str) -> str:
    return f"{workload} {target} already holds {value} in {file}"


IMAGE_ALREADY_NEWER = "Already in place:"


def image_already_newer(path: str, holds: str, scanned: str) -> str:
    return (
        f"{IMAGE_ALREADY_NEWER} {path} holds {holds}, newer than the scanned {scanned} (a bump was merged since "
        "the report was written; the next report will show whether its CVEs are gone)"
    )


def verify_deployed_findings(at: str, count: int) -> str:
    return f"Deployed {at} · waiting for the next scanner report to show its {count} finding(s) gone."


def verify_findings_gone(at: str, count: int) -> str:
    return f"Deployed {at} · the next report no longer has its {count} finding(s)."


def verify_findings_remain(remaining: Sequence[str]) -> str:
    shown = ", ".join(remaining[:10]) + (f" and {len(remaining) - 10} more" if len(remaining) > 10 else "")
    return f"Still there after deployment: the next report still has {shown}."


def candidate_revision(values: Sequence[str], reports: Sequence[str]) -> str:
    """A revision the bot made itself: a newer scan proved a newer tag."""
    shown = ", ".join(values[:3])
    source = f" ({', '.join(reports[:2])})" if reports else ""
    return f"A newer scan proves a better candidate: now {shown}{source}"


def candidate_became_revision(proposal_id: str, revision: int) -> str:
    return f"A better candidate: became revision {revision} of {proposal_id} (no second card)"


def candidate_not_better(proposal_id: str, revision: int) -> str:
    return f"Folded into {proposal_id}: its revision {revision} is as good a bump (no more fixes, no smaller step)"


def dedup_folded_findings(proposal_id: str) -> str:
    return f"Repeat of pending proposal {proposal_id}: a newer report proposes the same bump (no second message)."


# --- policies: misconfigurations to Kyverno policies (issue 14) -------------------------------------------------


def esc_no_policy_template(ids: list[str]) -> str:
    return f"No vetted policy template answers {', '.join(ids[:5]) or 'these findings'}: a person decides."


def esc_no_policy_directory(template: str) -> str:
    return (
        f"The {template} policy would answer these findings, but the inventory lists no kyverno-policies "
        "directory (policy_directories:) to create it in."
    )


def suppressed_same_policy(template: str, path: str) -> str:
    return f"The repository already has a policy with the same effect as {template}: {path}."


def proposed_policy(template: str) -> str:
    return f"Proposed policy {template} in Audit, proven by the Kyverno engine."


def impact_preview(count: int, namespaces: int, shown: list[str], manifests: int, unsupported: int) -> str:
    """The card's impact line: what the policy would flag among the repository's manifests."""
    if count == 0:
        text = f"Would flag no existing resource ({manifests} manifests checked)"
    else:
        names = ", ".join(shown) + (", ..." if count > len(shown) else "")
        text = (
            f"Would flag {count} resource{'s' if count != 1 else ''} in {namespaces} "
            f"namespace{'s' if namespaces != 1 else ''}: {names}"
        )
    if unsupported:
        text += f" ({unsupported} manifests the engine could not evaluate)"
    return text + "."


def proof_table(rows: list[tuple[str, str, str, str]]) -> str:
    """The proof as a small Markdown table (source, resource, expected, engine)."""
    lines = ["| fixture | resource | expected | engine |", "|---|---|---|---|"]
    lines += [f"| {s} | {r} | {e} | {a} |" for s, r, e, a in rows]
    return "\n".join(lines)


def cli_policy_preview(path: str, preview: str) -> str:
    return f"{path}: {preview}"


# --- policies: the LLM fixer's policies, the proof table on the card, promotion at publish (issue 14 gaps) ----


def promotion_engine_disagrees(count: int, shown: Sequence[str]) -> str:
    more = ", ..." if count > len(shown) else ""
    return (
        f"The engine flags {count} repository manifest{'s' if count != 1 else ''} the reports pass "
        f"({', '.join(shown)}{more}): check them before Enforce."
    )


def promotion_rechecked(evidence: str, known: int) -> str:
    beyond = f"beyond the {known} known at the scan" if known else "at all"
    return (
        f"{evidence.rstrip('.')}. Re-checked on the latest default branch: the same policy document, and no "
        f"repository manifest the engine flags {beyond}"
    )


def promotion_policy_changed(file: str) -> str:
    return (
        f"{file} changed since its evidence was gathered: the evidence is about another version of the policy. "
        "Scan again (with fresh PolicyReports) to promote this one"
    )


def promotion_engine_violations(file: str) -> str:
    return (
        f"the engine no longer finds zero violations of {file} across the repository's manifests on the latest "
        "default branch (or cannot evaluate some): fix them, then scan again"
    )


def promotion_new_violations(count: int, shown: Sequence[str]) -> str:
    more = ", ..." if count > len(shown) else ""
    return (
        f"since the scan, {count} repository manifest{'s' if count != 1 else ''} the policy flags (or the engine "
        f"cannot evaluate) appeared that the PolicyReports never saw: {', '.join(shown)}{more}. In Enforce "
        "they would be rejected on their next sync: fix them, or scan again with fresh PolicyReports"
    )


def esc_fixer_policy_operation() -> str:
    return (
        "a misconfiguration is answered with exactly one add_policy operation (a new policy file with its "
        "must_pass and must_fail fixtures), or one escalate"
    )


def fixer_policy_reason(model: str, ids: Sequence[str], count: int) -> str:
    return f"written by the LLM fixer {model} for {', '.join(ids[:5])}: {count} finding(s)"


def esc_fixer_policy_no_repository() -> str:
    return (
        "No vetted policy template answers this misconfiguration, and the repository is not available to prove "
        "a policy the LLM fixer would write: a person decides."
    )


def slack_proof_heading(rows: int, shown: int) -> str:
    more = f" (first {shown} of {rows} rows; all of them in the pull request)" if rows > shown else ""
    return f"*Proof* (the Kyverno engine on this exact document){more}"


# --- policies: pull request text and the memory of past policies (issue 14 follow-up) -----------------------


def dedup_folded_policy(proposal_id: str) -> str:
    return (
        f"Repeat of pending proposal {proposal_id}: it proposes a policy with the same effect "
        "(no second message)."
    )


def pr_title_add_policy(name: str, folder: str, proposal_id: str, revision: int) -> str:
    return f"secops: add policy {name} (Audit) in {folder} ({proposal_id} r{revision})"


def pr_title_set_policy_mode(name: str, before: str, after: str, proposal_id: str, revision: int) -> str:
    return f"secops: {after.lower()} policy {name} ({before} → {after}) ({proposal_id} r{revision})"


def pr_heading_add_policy(name: str) -> str:
    return f"Add Kyverno policy {name} in Audit"


def pr_heading_set_policy_mode(name: str, before: str, after: str) -> str:
    return f"Promote Kyverno policy {name}: {before} → {after}"


def pr_policy_answers(count: int, ids: Sequence[str], resources: Sequence[str]) -> str:
    on = f" on {', '.join(resources)}" if resources else ""
    return f"Answers {count} finding(s) ({', '.join(ids) or 'none named'}){on}."


def pr_policy_document(name: str, kind: str, template: str, file: str, actions: Sequence[str]) -> str:
    source = f"template {template}" if template else "written by the fixer, no vetted template"
    return f"**Policy** {name} ({kind}, {source}) in {file}, failure action {', '.join(actions) or 'unset'}:"


def pr_policy_rule(name: str, kinds: Sequence[str], message: str) -> str:
    return f"- rule {name} on {', '.join(kinds) or 'any kind'}: {message or 'no message'}"


PR_PROOF_HEADING = (
    "### Proof (the Kyverno engine on this exact document, re-run on the latest default branch)"
)
PR_PROOF_MISSING = "The proof did not run on the latest default branch: the guard refuses this change."
PR_IMPACT_HEADING = "### Impact preview (every manifest of the repository)"
PR_POLICY_FINDINGS_HEADING = "### Findings this policy answers"


def pr_proof_summary(passed: bool, rows: int) -> str:
    if passed:
        return (
            f"{rows} resources: every must-fail fixture fails, every must-pass fixture passes, "
            "the finding's own resources fail."
        )
    return f"{rows} resources: the proof FAILED (see the rows marked ✗)."


def pr_promotion_evidence(evidence: str) -> str:
    return f"**Evidence of zero violations:** {evidence or 'none (the guard refuses this change)'}."


# --- dependency bumps: application repositories, tests as evidence (issue 18) --------------------------------


def dep_esc_no_app_repo(subject: str) -> str:
    return (
        f"{subject}: no application repository of the inventory is named for this report (app_repos:); give "
        "--app-repo NAME with the report, or bump it by hand."
    )


def dep_esc_other_ecosystem(package: str, app: str, ecosystem: str) -> str:
    return f"{package} is not a {ecosystem} package, and {app} is a {ecosystem} repository: nothing to bump."


def dep_file_unreadable(app: str, path: str, error: str) -> str:
    return f"{app}: {path} cannot be read at the repository's head ({error})."


def dep_not_in_lockfile(package: str, app: str) -> str:
    return (
        f"{package} is not in the lockfile of {app} at its head: the report may be of another branch, or the "
        "package was removed. Check the report's repository."
    )


def dep_already_fixed(package: str, version: str, app: str) -> str:
    return f"{app} already resolves {package} to {version}, outside every advisory: a bump since the report covers it."


def dep_nothing_to_do() -> str:
    return "nothing to bump"


def dep_esc_no_version(package: str, installed: str, reason: str, notes: Sequence[str]) -> str:
    why = f" ({'; '.join(notes[:3])})" if notes else ""
    return (
        f"No version of {package} above {installed} removes the advisories: {reason}{why}. A major upgrade "
        "needs allow_major: true on the app repository, or a person."
    )


def dep_not_all_fixed(ids: Sequence[str]) -> str:
    return f"not fixed by this bump: {', '.join(ids[:10])}"


def dep_suppressed_bot_pull(bot: str, number: int, url: str, package: str, version: str) -> str:
    link = f" ({url})" if url else ""
    return f"{bot} pull request #{number}{link} already bumps {package} to {version}: review that one."


def dep_esc_git(app: str, error: str) -> str:
    return f"{app}: the repository could not be read or checked out ({error}). Check its path or remote."


def dep_tests_not_run() -> str:
    return "tests: not run (the tool did not make the bump)"


def dep_reaudited() -> str:
    return "advisories: re-audited, gone"


def dep_not_reaudited(detail: str) -> str:
    why = f" ({detail})" if detail else ""
    return f"advisories: not re-audited{why}; checked against the advisories' ranges and fixed versions"


def dep_reaudit_off() -> str:
    return "re-audit switched off"


def dep_tests_regressed(allowed: bool) -> str:
    if allowed:
        return "⚠ tests newly fail after this bump (the inventory allows approving it anyway)"
    return "⚠ tests newly fail after this bump: not approvable"


def dep_reason(package: str, old: str, new: str, app: str, advisories: int) -> str:
    return f"bump {package} {old} → {new} in {app} ({advisories} advisory(ies); the smallest fixed version)"


def cli_not_audited(path: str, reasons: Sequence[str]) -> str:
    lines = [f"{path}: NOT AUDITED (this is not a clean result):"]
    lines.extend(f"  {r}" for r in reasons[:10])
    return "\n".join(lines)


def cli_deps_app_repos(reports: int, names: int) -> str:
    return (
        f"--deps: give one --app-repo for all reports or one per report ({reports} report(s), {names} "
        "--app-repo given)"
    )


def cli_unknown_app_repo(name: str) -> str:
    return f"--app-repo {name}: not an application repository of the inventory (app_repos:)"


def card_action_add_policy(name: str, folder: str) -> str:
    return f"Add policy {name} (Audit) in {folder}"


def card_action_enforce_policy(name: str, before: str, after: str) -> str:
    return f"Enforce policy {name} ({before} → {after})"


# --- dependency bumps: lock tools, open Dependabot/Renovate pull requests (issue 18) --------------------------


def dep_tool_missing(tool: str, installed_by: str, app: str) -> str:
    return (
        f"{tool} is not installed where the bot runs ({installed_by} provides it): {app}'s lockfile is made by "
        f"{tool}, so the bump cannot be made. Install it beside the bot, or bump the package by hand."
    )


def dep_pulls_refused(repository: str, status: int, detail: str) -> str:
    why = f" {detail}" if detail else ""
    return (
        f"GitHub refused to list the open pull requests of {repository}: HTTP {status}{why} (check "
        "GITHUB_TOKEN's access to that repository and its github_repository in the inventory)"
    )


def dep_pulls_unreachable(repository: str, error: str) -> str:
    return f"GitHub did not answer the list of open pull requests of {repository} ({error}: down or too slow)"


def dep_pulls_not_checked(detail: str) -> str:
    return f"open Dependabot/Renovate pull requests: not checked ({detail}); this bump may duplicate one"


# --- structured LLM answers (issue 19) ---------------------------------------------------------------------


def review_bad_answer() -> str:
    """The reviewer answered JSON that does not match its verdict schema: no verdict, never approval."""
    return "no verdict: the reviewer's JSON answer did not match its verdict schema"


# --- Scale-out: shared state, one leader, several replicas (issue 17) ---------------------------------------


def publishing_elsewhere() -> str:
    return "Approved: another replica of the bot is publishing this revision; its pull request link follows."


def cli_migrated(applied: list[int], version: int, where: str) -> str:
    if not applied:
        return f"{where}: schema is up to date (version {version})."
    done = ", ".join(str(v) for v in applied)
    return f"{where}: applied migration(s) {done}; schema is now at version {version}."


def cli_audit_exported(lines: int, path: str) -> str:
    return f"exported {lines} audit record(s) to {path}"


def cli_audit_empty(where: str) -> str:
    return f"the audit chain in {where} is empty (nothing has been recorded)."


# --- Scale-out gaps: webhook deliveries on several replicas (issue 17) -------------------------------------


def webhook_redelivered() -> str:
    """A GitHub delivery (same ``X-GitHub-Delivery``) that this or another replica already handled."""
    return "delivery already handled (by this or another replica); nothing done"


# --- dependency publishing: an approved bump to its application repository (issue 18) ----------------------


def card_action_dependency(package: str, old: str, new: str, app: str, ids: Sequence[str]) -> str:
    """The card's action for a dependency bump: "Bump urllib3 1.26.5 → 1.26.18 in shop-api (fixes GHSA-…, …)"."""
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"Bump {package} {old} → {new} in {app}" + (f" (fixes {shown})" if shown else "")


def pr_title_dependency(package: str, old: str, new: str, app: str, proposal_id: str, revision: int) -> str:
    return f"secops: bump {package} {old} → {new} in {app} ({proposal_id} r{revision})"


def pr_heading_dependency(package: str, old: str, new: str, app: str) -> str:
    return f"Bump {package} {old} → {new} in {app}"


def pr_dependency_advisories(count: int) -> str:
    return f"### Advisories this bump removes ({count})"


def pr_dependency_transitive(changes: Sequence[str]) -> str:
    if not changes:
        return "**Transitive changes:** none (only the named package moved)."
    return "**Transitive changes** (made by the tool): " + "; ".join(changes)


def pr_dependency_audit(line: str) -> str:
    return f"**Audit:** {line}"


def pr_dependency_tests(line: str, base: str, now: str) -> str:
    where = f" (run on `{base[:12]}`" + (
        f"; the default branch is now at `{now[:12]}`)" if now != base else ")"
    )
    return f"**Tests:** {line}{where if base else ''}"


def pr_dependency_new_failures(names: Sequence[str]) -> str:
    return "**Newly failing tests:** " + ", ".join(names)


def pr_dependency_tool(tool: str, ecosystem: str) -> str:
    return f"Made by the ecosystem's tool ({tool}, {ecosystem}) on the latest default branch; no file was edited by hand."


def dep_publish_failing_tests(app: str, line: str) -> str:
    return (
        f"tests newly fail after this bump ({line}) and {app} does not allow approving that "
        "(approve_failing_tests: false in the inventory); nothing was pushed"
    )


def dep_publish_no_app_repo(app: str) -> str:
    return f"{app} is no longer an application repository of the inventory (app_repos:); nothing was pushed"


def dep_publish_bad_operation(error: str) -> str:
    return f"the bump in this proposal is not a valid bump_dependency ({error}); nothing was pushed"


def dep_publish_moved(package: str, expected: str, found: str, app: str) -> str:
    return (
        f"the default branch of {app} now resolves {package} to {found}, not {expected}: the approved bump no "
        "longer applies; refresh the proposal"
    )


def dep_publish_already(package: str, version: str, app: str, branch: str) -> str:
    return f"the default branch {branch} of {app} already resolves {package} to {version} (someone bumped it meanwhile)"


def dep_publish_guard_refused(summary: str) -> str:
    return (
        "the bump, made again on the latest default branch, fails the guard "
        f"({summary}); nothing was pushed; refresh the proposal"
    )


def dep_publish_deleted(paths: Sequence[str]) -> str:
    return f"the tool deleted {', '.join(paths)}; the bot never deletes files; nothing was pushed"


def dep_publish_git_error(app: str, error: str) -> str:
    return f"{error}; check the repository of {app} (app_repos:), GITHUB_TOKEN and its github_repository"


def dep_publish_no_gitops() -> str:
    return "no GitOps publisher is configured (SECOPS_GIT_REMOTE_URL or SECOPS_REPO); nothing was pushed"


def serve_unknown_app_repos(names: Sequence[str]) -> str:
    return (
        f"SECOPS_DEPS_REPORTS: {', '.join(names)} not an application repository of the inventory (app_repos:); "
        "give each report as REPORT=APP with an app_repos name"
    )


# --- dependency pull requests after they are opened: merged, closed, kept fresh (issue 18, bot/dependency_sync.py)


def _advisories_word(count: int) -> str:
    return "this advisory" if count == 1 else "these advisories"


def dep_pr_merged(by: str, package: str, old: str, new: str, app: str, advisories: int, url: str) -> str:
    return (
        f"Merged by {by}: {package} {old} → {new} in {app}; later reports of {_advisories_word(advisories)} "
        f"at {new} or above are covered. {url}"
    )


def dep_pr_rejected(by: str, reason: str, package: str, new: str, app: str, days: int, url: str) -> str:
    said = f': "{reason}"' if reason else " (no comment)"
    return (
        f"Pull request closed without merge by {by}{said}. Recorded as rejected: the bump of {package} to "
        f"{new} in {app} is not proposed again for {days} days. {url}"
    )


def dep_pr_remade(default_branch: str, base: str, tool: str, tests_ran_on: str) -> str:
    ran = f" (they ran on {tests_ran_on[:12]})" if tests_ran_on else ""
    return (
        f"{default_branch} changed the files of this bump, so the bot made it again with {tool} on "
        f"{default_branch} at {base[:12]} and force-pushed its own branch; the guard passed again. The bot did "
        f"not run the tests again{ran}: this pull request's own checks test the new commit."
    )


def pr_dependency_tests_remade(line: str, ran_on: str, now: str) -> str:
    where = f"`{ran_on[:12]}`" if ran_on else "an earlier base"
    return (
        f"**Tests:** {line} (run by the bot on {where} with the bump made there; this branch was made again "
        f"on `{now[:12]}` and the bot did not run them on it: this pull request's own checks test this commit)"
    )


def dep_commit_tests_remade(line: str, ran_on: str) -> str:
    where = f" on {ran_on[:12]}" if ran_on else ""
    return f"{line} (run{where} before this commit was made again on a newer base; not run on this commit)"


def dep_pr_branch_foreign(branch: str) -> str:
    return (
        f"Someone else pushed to {branch}: the bot will not make the bump again there nor force-push over their "
        "commits. Update it by hand or close the pull request."
    )


def dep_covered_by_merge(package: str, version: str, app: str, url: str) -> str:
    link = f" ({url})" if url else ""
    return (
        f"covered by the merged bump of {package} to {version} in {app}{link}: later reports of its advisories "
        f"at {version} or above are not proposed again."
    )


def dep_rejected_recently(
    package: str, version: str, app: str, by: str, reason: str, url: str, days: int
) -> str:
    said = f' ("{reason}")' if reason else ""
    link = f" {url}" if url else ""
    return (
        f"the bump of {package} to {version} in {app} was rejected by {by}{said}; not proposed again within the "
        f"reject period ({days} days).{link}"
    )


def dep_sync_no_app_repo(app: str, number: int) -> str:
    return f"{app} is no longer an application repository of the inventory: its pull request #{number} is not synced"


def dep_already_proposed(proposal_id: str, status: str) -> str:
    return f"the same bump is already proposal {proposal_id} ({status}): decide that one."


# --- policies: issue 14 loose ends (formats per option, skipped repository files) ---------------------------

#: What each scan option reads, named when a file is none of the formats the findings reader knows.
SCAN_FORMATS = (
    (
        "--trivy",
        "Trivy JSON (`trivy image|fs|config|k8s -f json`) or trivy-operator reports (`kubectl get -o yaml`)",
    ),
    ("--k8sgpt", "`k8sgpt analyze -o json` output or k8sgpt-operator Result objects"),
    ("--deps", "pip-audit, osv-scanner, npm audit or Trivy JSON"),
    ("--policy-reports", "PolicyReport/ClusterPolicyReport objects (`kubectl get -o yaml`)"),
)


def not_a_findings_report(name: str, shape: str) -> str:
    formats = "; ".join(f"{option} takes {what}" for option, what in SCAN_FORMATS)
    return f"{name}: not a report of a known format ({shape}). {formats}"


def no_policy_reports(name: str) -> str:
    return (
        f"{name}: no PolicyReport or ClusterPolicyReport (wgpolicyk8s.io) objects; --policy-reports takes "
        + dict(SCAN_FORMATS)["--policy-reports"]
    )


def cli_preview_skipped(skipped: Sequence[tuple[str, str]], shown: int = 10) -> str:
    """The repository files the impact preview could not read, the first ``shown`` by name and why."""
    lines = [f"{len(skipped)} repository file(s) skipped (not read into the preview):"]
    lines += [f"  {path}: {why}" for path, why in skipped[:shown]]
    if len(skipped) > shown:
        lines.append(f"  ... and {len(skipped) - shown} more")
    return "\n".join(lines)


# --- dependency bumps: a new advisory at the same installed version (issue 18, bot/dependency_candidates.py) -----


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def dep_new_advisory_revision(new: Sequence[str], package: str, old: str, to: str, was: str) -> str:
    """The thread note of the revision a newer report's new advisory made (the target is recomputed)."""
    word = "advisory" if len(new) == 1 else "advisories"
    target = (
        f"the target is still {package} {old} → {to}"
        if to == was
        else f"the target is now {package} {old} → {to} (was {was}: the smallest version fixing all of them)"
    )
    return f"A newer report names a new {word} at {old}: {_ids(new)}; {target}"


def dep_new_advisory_folded(proposal_id: str, revision: int, new: Sequence[str]) -> str:
    return f"A new advisory ({_ids(new)}): became revision {revision} of {proposal_id} (no second card)"


# --- Slack work off Bolt's listener threads: a full work queue (issue 17, bot/slack/work.py) ----------------


def busy_scan() -> str:
    return (
        "The bot is too busy to start a scan now: nothing was scanned. Run `/secops-scan` again in a minute."
    )


def busy_instruction() -> str:
    return (
        "The bot is too busy to work on this instruction now: nothing was changed. "
        "Mention me with it again in a minute."
    )


def busy_click(what: str) -> str:
    """``what``: the button or form, e.g. "Approve"."""
    return f"The bot is too busy to handle your {what} now: nothing was recorded. Try again in a minute."


def busy_home() -> str:
    return "The bot is too busy to show its queue now. Open this tab again in a minute."

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

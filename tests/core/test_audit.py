from __future__ import annotations

import json

from bot.core.audit import GENESIS, make_line, verify_chain
from bot.core.redact import register_secret


def _chain(n: int) -> list[str]:
    lines: list[str] = []
    for i in range(n):
        lines.append(make_line(lines[-1] if lines else None, i + 1, "2026-11-22T00:00:00Z", "e", {"i": i}))
    return lines


def test_verify_chain_accepts_an_intact_log():
    result = verify_chain(_chain(5))
    assert result.ok and result.lines == 5 and result.head_seq == 5
    assert result.head_hash != GENESIS


def test_verify_chain_names_an_edited_line():
    lines = _chain(5)
    record = json.loads(lines[2])
    record["i"] = 99
    lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    result = verify_chain(lines)
    assert (result.ok, result.bad_line, result.reason) == (False, 3, "line was changed")


def test_verify_chain_detects_removed_and_reordered_lines():
    lines = _chain(5)
    assert verify_chain(lines[:2] + lines[3:]).bad_line == 3
    assert verify_chain([lines[0], lines[2], lines[1], *lines[3:]]).bad_line == 2


def test_verify_chain_detects_a_rehashed_edit_by_its_successor():
    lines = _chain(3)
    record = json.loads(lines[0])
    record["i"] = 42
    forged = make_line(None, 1, record["ts"], "e", {"i": 42})
    result = verify_chain([forged, *lines[1:]])
    assert (result.ok, result.bad_line) == (False, 2)


def test_make_line_redacts_registered_secrets():
    register_secret("s3cr3t-token-value")
    line = make_line(None, 1, "t", "approval", {"note": "token s3cr3t-token-value and xoxb-1234567890-abc"})
    assert "s3cr3t" not in line and "xoxb-1234567890" not in line


def test_make_line_redacts_a_token_deep_in_a_record_of_plain_values():
    fields = {
        "checks": [{"name": "n", "detail": "see ghp_abcdefghijklmnopqrstuvwxyz123"}],
        "n": 3,
        "ok": True,
    }
    line = make_line(None, 1, "t", "guard", fields)
    assert "ghp_abc" not in line and json.loads(line)["checks"][0]["detail"] == "see ***"


def test_make_line_keeps_plain_values_unchanged_when_nothing_is_secret():
    fields = {"targets": ("web-01", "web-02"), "count": 2, "none": None}
    record = json.loads(make_line(None, 1, "t", "e", fields))
    assert (record["targets"], record["count"], record["none"]) == (["web-01", "web-02"], 2, None)

"""``secops-bot check``: hand-written operations through try_operations, exit codes 0/1/2 and the JSON shape."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.cli import main
from bot.clock import FixedClock
from tests.conftest import FIXTURES

ING = "clusters/prod/web-01/ingress-nginx-controller.yaml"
CMDB = str(FIXTURES / "cmdb.yaml")


def check(tmp_path: Path, ops: str, *extra: str, targets: str = "web-01") -> tuple[int, str, str]:
    ops_file = tmp_path / "ops.yaml"
    ops_file.write_text(ops)
    out, err = io.StringIO(), io.StringIO()
    argv = ["--data-dir", str(tmp_path / "data"), "check", "--ops", str(ops_file), "--repo",
            str(FIXTURES / "gitops"), "--cmdb", CMDB, "--targets", targets, *extra]  # fmt: skip
    code = main(argv, out=out, err=err, env={}, clock=FixedClock(1_795_000_000))
    return code, out.getvalue(), err.getvalue()


def add(value: str, file: str = ING, key: str = "block-cidrs") -> str:
    return f"- op: add_cidr\n  file: {file}\n  key: {key}\n  value: {value}\n"


def test_check_passing_change_prints_diff_and_checks(tmp_path):
    code, out, _ = check(tmp_path, add("203.0.113.7/32"))
    assert code == 0
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,203.0.113.7/32"' in out
    assert f"Files changed: {ING}\n" in out
    assert "✓ files_in_inventory: " in out and out.endswith("Guard: PASSED\n")


def test_check_json_shape_on_passing_change(tmp_path):
    code, out, _ = check(tmp_path, add("203.0.113.7/32"), "--json")
    row = json.loads(out)
    assert code == 0 and row["passed"] is True
    assert set(row) == {"passed", "checks", "diff", "files", "unchanged", "notes"}
    assert row["files"] == [ING] and row["unchanged"] is False
    assert all(set(c) == {"name", "passed", "detail"} for c in row["checks"])


def test_check_blocked_change_exits_1(tmp_path):
    code, out, _ = check(tmp_path, add("0.0.0.0/0"), "--json")
    row = json.loads(out)
    assert code == 1 and row["passed"] is False
    assert any(not c["passed"] for c in row["checks"])


def test_check_other_servers_file_exits_1(tmp_path):
    code, out, _ = check(
        tmp_path, add("203.0.113.7/32", "clusters/prod/web-02/ingress-nginx-controller.yaml")
    )
    assert code == 1 and "✗ files_in_inventory" in out and out.endswith("Guard: BLOCKED\n")


def test_check_unknown_target_exits_2(tmp_path):
    code, out, err = check(tmp_path, add("203.0.113.7/32"), targets="web-01,ghost-9")
    assert (code, out) == (2, "")
    assert "target(s) ghost-9 are not in the inventory" in err


def test_check_invalid_ops_file_exits_2(tmp_path):
    code, _, err = check(tmp_path, "- op: add_cidr\n  file: [unclosed\n")
    assert code == 2 and "not valid YAML" in err
    code, _, err = check(tmp_path, "- op: drop_table\n")
    assert code == 2 and "operation 1: unknown op 'drop_table'" in err


def test_check_missing_file_exits_2(tmp_path):
    code, _, err = check(tmp_path, add("203.0.113.7/32", "clusters/prod/web-01/nope.yaml"))
    assert code == 2 and "clusters/prod/web-01/nope.yaml: no such file in the repository" in err


def test_check_escalate_op_exits_2(tmp_path):
    code, _, err = check(tmp_path, "- op: escalate\n  reason: not sure\n")
    assert code == 2 and "the operations are an escalation (not sure)" in err


def test_check_bad_cmdb_exits_2(tmp_path):
    (tmp_path / "cmdb.yaml").write_text("servers: [unclosed\n")
    code, _, err = check(tmp_path, add("203.0.113.7/32"), "--cmdb", str(tmp_path / "cmdb.yaml"))
    assert code == 2 and "not valid YAML" in err


def test_check_already_in_place_exits_0_and_says_so(tmp_path):
    code, out, _ = check(tmp_path, add("198.51.100.23/32"))
    assert code == 0
    assert out == (
        f"Nothing to change: 198.51.100.23/32 is already in block-cidrs of {ING}. "
        "The guard has nothing to judge.\n"
    )


def test_check_attacker_not_covered_exits_1(tmp_path):
    code, out, _ = check(tmp_path, add("203.0.113.7/32"), "--attacker", "198.51.100.9", "--json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["covers_attacker"] == {
        "name": "covers_attacker",
        "passed": False,
        "detail": f"add_cidr without 198.51.100.9/32: 203.0.113.7/32 ({ING})",
    }


def test_check_attacker_covered_by_wider_entry_passes(tmp_path):
    code, out, _ = check(tmp_path, add("203.0.113.0/28"), "--attacker", "203.0.113.7")
    assert code == 0 and "✓ covers_attacker: every add_cidr covers 203.0.113.7/32" in out


def test_check_markup_in_values_is_printed_as_is(tmp_path):
    code, out, _ = check(
        tmp_path, f'- op: set_key\n  file: {ING}\n  key: server-tokens\n  value: "[bold]x[/bold]"\n'
    )
    assert code == 1 and '+  server-tokens: "[bold]x[/bold]"' in out


def test_check_bad_targets_and_attacker_exit_2(tmp_path):
    assert check(tmp_path, add("203.0.113.7/32"), targets=" , ")[2] == "error: --targets names no server\n"
    code, _, err = check(tmp_path, add("203.0.113.7/32"), "--attacker", "not-an-ip")
    assert (code, err) == (2, "error: --attacker 'not-an-ip' is not an IP address\n")


def test_check_attacker_without_add_cidr_fails(tmp_path):
    ops = f"- op: set_key\n  file: {ING}\n  key: server-tokens\n  value: 'false'\n"
    code, out, _ = check(tmp_path, ops, "--attacker", "203.0.113.7")
    assert code == 1 and "✗ covers_attacker: no add_cidr operation blocks 203.0.113.7/32" in out


SET_IMAGE = """- op: set_image
  file: apps/shop/deployment.yaml
  workload: shop/shop-web
  target: container:web
  expect: nginx:1.16
  value: {value}
  evidence: {{findings: [CVE-2019-20367], report: reports/shop.json}}
"""


def test_check_set_image_takes_a_workload_target(tmp_path):
    code, out, _ = check(tmp_path, SET_IMAGE.format(value="nginx:1.16.1"), "--json", targets="shop/shop-web")
    row = json.loads(out)
    assert code == 0 and row["passed"] is True, row["checks"]
    assert "+          image: nginx:1.16.1 # the storefront" in row["diff"]


def test_check_set_image_to_latest_exits_1(tmp_path):
    code, out, _ = check(tmp_path, SET_IMAGE.format(value="nginx:latest"), "--json", targets="shop/shop-web")
    failed = {c["name"] for c in json.loads(out)["checks"] if not c["passed"]}
    assert code == 1 and "image_tag_immutable" in failed

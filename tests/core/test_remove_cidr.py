"""remove_cidr: parsing, and the guard's rule that only entries the bot added and recorded may be removed."""

from __future__ import annotations

import pytest

from bot.core.edits import RemoveCidr, parse_operations
from bot.core.errors import OperationError
from bot.core.guard import GuardPolicy, check_change
from bot.yaml_edit import apply_operations, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB01_DENY = "clusters/prod/web-01/denylist.yaml"
READ = repo_reader(FIXTURES / "gitops")
INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")


def guard(ops, removable=()):
    changes = apply_operations(ops, READ, {WEB01_DENY: "lines"})
    report = check_change(changes, ops, INVENTORY, ["web-01"], GuardPolicy(removable=frozenset(removable)))
    return report, {c.name: c for c in report.checks}


def test_parse_remove_cidr_reads_one_entry():
    ops = parse_operations(
        [{"op": "remove_cidr", "file": WEB01, "key": "block-cidrs", "value": "192.0.2.0/24"}]
    )
    assert ops == [RemoveCidr(file=WEB01, key="block-cidrs", value="192.0.2.0/24")]


def test_parse_remove_cidr_refuses_a_list():
    with pytest.raises(OperationError, match="must be one address or CIDR"):
        parse_operations([{"op": "remove_cidr", "file": WEB01, "key": "block-cidrs", "value": "a,b"}])


def test_guard_blocks_removing_an_entry_people_wrote():
    ops = [RemoveCidr(file=WEB01, key="block-cidrs", value="192.0.2.0/24")]
    report, checks = guard(ops)
    assert not report.passed
    assert checks["addresses_safe"].detail == (
        f"{WEB01}: entries removed from block-cidrs: 192.0.2.0/24 "
        "(only entries the bot added and recorded may be removed)"
    )


def test_guard_passes_removing_a_recorded_entry():
    ops = [RemoveCidr(file=WEB01, key="block-cidrs", value="198.51.100.23/32")]
    report, checks = guard(ops, {(WEB01, "block-cidrs", "198.51.100.23/32")})
    assert report.passed, report.summary()
    assert checks["addresses_safe"].detail == "198.51.100.23/32: removed, added and recorded by the bot"


def test_guard_blocks_a_recorded_entry_of_another_file():
    ops = [RemoveCidr(file=WEB01, key="block-cidrs", value="198.51.100.23/32")]
    report, _ = guard(ops, {(WEB01_DENY, "blocked-cidrs", "198.51.100.23/32")})
    assert not report.passed


def test_guard_blocks_remove_cidr_outside_the_block_key():
    ops = [RemoveCidr(file=WEB01, key="ssl-protocols", value="TLSv1.2")]
    report, checks = guard(ops, {(WEB01, "ssl-protocols", "TLSv1.2")})
    assert not report.passed
    assert "remove_cidr only on the block list key 'block-cidrs'" in checks["only_named_keys"].detail


def test_guard_passes_removing_a_line_of_a_denylist():
    ops = [RemoveCidr(file=WEB01_DENY, key="blocked-cidrs", value="198.51.100.77/32")]
    report, checks = guard(ops, {(WEB01_DENY, "blocked-cidrs", "198.51.100.77/32")})
    assert report.passed, report.summary()
    assert checks["only_edited_lines"].passed

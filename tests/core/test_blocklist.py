"""The block-list family's checks: addresses_safe, address_budget, no_redundant_entries; covering_entry;
the inventory's server addresses as protected networks."""

from __future__ import annotations

import pytest

from bot.core.checks import GuardPolicy
from bot.core.edits import AddCidr
from bot.core.errors import InventoryError
from bot.core.inventory import inventory_from_data
from bot.core.operations import blocklist
from bot.yaml_edit import apply_operations, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB01_DENY = "clusters/prod/web-01/denylist.yaml"
READ = repo_reader(FIXTURES / "gitops")
INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")


def run(*values, file=WEB01, inventory=INVENTORY, policy=None):
    """Add ``values`` to ``file`` and return the block-list checks by name."""
    key = "block-cidrs" if file == WEB01 else "blocked-cidrs"
    ops = [AddCidr(file=file, key=key, value=v) for v in values]
    changes = [c for c in apply_operations(ops, READ, {WEB01_DENY: "lines"}) if c.changed]
    allowed = inventory.allowed_configs(["web-01"])
    found = blocklist.checks(changes, ops, allowed, inventory, policy or GuardPolicy())
    return {c.name: c for c in found}


def _cmdb(**web01):
    server = {"name": "web-01", "configs": [{"path": WEB01, "kind": "ingress-nginx"}], **web01}
    return inventory_from_data({"servers": [server]})


def test_addresses_safe_refuses_zone_ids():
    detail = run("fe80::1%eth0")["addresses_safe"].detail
    assert detail == "fe80::1%eth0: IPv6 zone ids are not allowed"


def test_addresses_safe_names_the_embedded_protected_address():
    detail = run("2002:a14:10b::/48")["addresses_safe"].detail
    assert (
        detail == "2002:a14:10b::/48: 6to4 address embeds 10.20.1.11, inside protected network 10.20.1.11/32"
    )


def test_addresses_safe_names_the_embedded_non_global_address():
    detail = run("64:ff9b::7f00:1")["addresses_safe"].detail
    assert detail == (
        "64:ff9b::7f00:1/128: NAT64 address embeds 127.0.0.1, not a global unicast address (127.0.0.0/8 loopback)"
    )


def test_addresses_safe_decodes_the_teredo_client():
    detail = run("2001:0:4136:e378:8000:63bf:f5eb:fef4")["addresses_safe"].detail
    assert "Teredo client address embeds 10.20.1.11, inside protected network 10.20.1.11/32" in detail


def test_addresses_safe_names_the_special_range():
    detail = run("fec0::1")["addresses_safe"].detail
    assert detail == "fec0::1/128: not a global unicast network (fec0::/10 deprecated site-local)"


def test_addresses_safe_passes_a_global_host():
    check = run("91.240.118.172")["addresses_safe"]
    assert check.passed
    assert check.detail == "91.240.118.172/32: global unicast, not protected, narrow enough"


def test_inventory_protects_server_ip_and_ips():
    inv = _cmdb(ip="91.240.118.172", ips=["2a0e:1c80:1:1::45"])
    assert [str(n) for n in inv.protected] == ["91.240.118.172/32", "2a0e:1c80:1:1::45/128"]


def test_inventory_lists_protected_networks_before_server_addresses():
    assert [str(n) for n in INVENTORY.protected][:4] == [
        "10.0.0.0/8",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.168.0.0/16",
    ]
    assert "10.20.1.11/32" in [str(n) for n in INVENTORY.protected]


def test_addresses_safe_refuses_the_servers_public_ip():
    detail = run("91.240.118.0/24", inventory=_cmdb(ip="91.240.118.172"))["addresses_safe"].detail
    assert detail == "91.240.118.0/24: overlaps protected network 91.240.118.172/32"


@pytest.mark.parametrize(
    ("field", "value"),
    [("ip", "web-01.internal"), ("ips", ["2a0e::1%eth0"]), ("ips", ["91.240.118.0/24"])],
)
def test_inventory_refuses_server_addresses_that_are_not_addresses(field, value):
    with pytest.raises(InventoryError, match="is not an IP address"):
        _cmdb(**{field: value})


def test_address_budget_counts_the_whole_proposal():
    check = run("45.155.205.0/24", "45.155.206.1", "45.155.206.2")["address_budget"]
    assert not check.passed
    assert check.detail == "3 entries, 258 IPv4 addresses (limit 256), 0 IPv6"


def test_address_budget_refuses_many_narrow_entries():
    check = run(*[f"45.155.205.{i}" for i in range(1, 34)])["address_budget"]
    assert check.detail == "33 entries (limit 32), 33 IPv4 addresses, 0 IPv6"


def test_address_budget_refuses_ipv6_beyond_one_48():
    check = run("2a0e:1c80:1::/48", "2a0e:1c80:2::45")["address_budget"]
    assert check.detail == "2 entries, 0 IPv4 addresses, 65537 IPv6 /64s (limit one /48)"


def test_address_budget_counts_overlapping_ranges_once():
    lc = blocklist._ListChange(WEB01, "block-cidrs", (), ("45.155.205.0/24", "45.155.205.0/25"))
    check = blocklist._check_budget([lc], GuardPolicy())
    assert check.passed
    assert check.detail.startswith("2 entries, 256 IPv4 addresses, 0 IPv6 (limits")


def test_address_budget_passing_detail_reports_totals_and_limits():
    check = run("91.240.118.172", "2a0e:1c80:1:1::45")["address_budget"]
    assert check.passed
    assert check.detail == (
        "2 entries, 1 IPv4 address, 1 IPv6 address (limits 32 entries, 256 IPv4 addresses, one /48 of IPv6)"
    )


def test_address_budget_follows_the_policy():
    check = run("91.240.118.172", "91.240.118.173", policy=GuardPolicy(max_total_v4=1))["address_budget"]
    assert check.detail == "2 entries, 2 IPv4 addresses (limit 1), 0 IPv6"


def test_no_redundant_entries_names_the_covering_entry_and_file():
    lc = blocklist._ListChange(WEB01, "block-cidrs", ("192.0.2.0/24",), ("192.0.2.0/24", "192.0.2.7/32"))
    check = blocklist._check_redundant([lc])
    assert not check.passed
    assert check.detail == f"192.0.2.7/32 is already covered by 192.0.2.0/24 in {WEB01}"


def test_no_redundant_entries_catches_cover_added_by_the_same_proposal():
    lc = blocklist._ListChange(WEB01, "block-cidrs", (), ("45.155.205.9/32", "45.155.205.0/24"))
    detail = blocklist._check_redundant([lc]).detail
    assert (
        detail
        == f"45.155.205.9/32 is already covered by 45.155.205.0/24 (also added by this proposal) in {WEB01}"
    )


def test_no_redundant_entries_passes_a_wider_range_over_a_listed_host():
    lc = blocklist._ListChange(
        WEB01_DENY, "blocked-cidrs", ("198.51.100.77/32",), ("198.51.100.77/32", "198.51.100.0/24")
    )
    check = blocklist._check_redundant([lc])
    assert check.passed
    assert check.detail == "no added entry is covered by another"


def test_covering_entry_finds_an_equal_or_wider_entry():
    assert blocklist.covering_entry("192.0.2.7/32", ["198.51.100.23/32", "192.0.2.0/24"]) == "192.0.2.0/24"
    assert blocklist.covering_entry("198.51.100.23/32", ["198.51.100.23"]) == "198.51.100.23"
    assert blocklist.covering_entry("192.0.2.0/24", ["192.0.2.7/32"]) is None

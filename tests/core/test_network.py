from __future__ import annotations

import ipaddress

import pytest

from bot.core.network import (
    canonical_address,
    canonical_cidr,
    embedded_ipv4,
    host_cidr,
    is_global_unicast,
    non_global_range,
    parse_address,
    parse_cidr,
    parse_networks,
    protected_by,
    split_cidr_list,
)


def test_host_cidr_single_addresses():
    assert host_cidr("203.0.113.7") == "203.0.113.7/32"
    assert host_cidr("2A0E:1C80:0001:0001::45") == "2a0e:1c80:1:1::45/128"
    assert host_cidr("000.111.222.10") is None
    assert host_cidr("0.0.0.0/0") is None


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("91.240.118.172/32", True),
        ("2a0e:1c80:1:1::45/128", True),
        ("203.0.113.0/24", True),  # documentation range: admitted as a stand-in for real attackers
        ("10.1.2.3/32", False),
        ("192.168.1.1/32", False),
        ("127.0.0.1/32", False),
        ("224.0.0.1/32", False),
        ("169.254.1.1/32", False),
        ("100.64.1.1/32", False),
        ("0.0.0.0/32", False),
        ("fe80::1/128", False),
        ("::1/128", False),
    ],
)
def test_is_global_unicast(cidr, expected):
    net = parse_cidr(cidr)
    assert net is not None
    assert is_global_unicast(net) is expected


def test_canonical_cidr_rejects_host_bits_and_garbage():
    assert canonical_cidr("45.155.205.0/24") == "45.155.205.0/24"
    assert canonical_cidr("45.155.205.7/24") is None
    assert canonical_cidr("nope") is None


def test_split_cidr_list_handles_commas_lines_and_comments():
    assert split_cidr_list("a/32, b/32") == ["a/32", "b/32"]
    assert split_cidr_list("# note\n1.2.3.4/32\n\n5.6.7.8/32  # INC-1\n") == ["1.2.3.4/32", "5.6.7.8/32"]


def _net(text):
    net = parse_cidr(text)
    assert net is not None, text
    return net


PROTECTED = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "192.168.0.0/16", "10.20.1.11/32"))


@pytest.mark.parametrize("text", ["fe80::1%eth0", "2001:db8::1%eth0", "fe80::1%25eth0", "fe80::%1/64"])
def test_zone_ids_never_parse(text):
    assert parse_address(text) is None
    assert parse_cidr(text) is None
    assert host_cidr(text) is None
    assert canonical_cidr(text) is None
    assert canonical_address(text) is None


def test_parse_networks_refuses_zone_ids():
    with pytest.raises(ValueError, match="zone ids are not allowed"):
        parse_networks(["fe80::%eth0/64"])


def test_canonical_address_maps_ipv4_mapped_to_ipv4():
    assert canonical_address("::ffff:91.240.118.172") == "91.240.118.172"
    assert canonical_address("::FFFF:5BF0:76AC") == "91.240.118.172"


def test_canonical_address_compresses_ipv6_and_refuses_garbage():
    assert canonical_address(" 2A0E:1C80:0001:0001::45 ") == "2a0e:1c80:1:1::45"
    assert canonical_address("91.240.118.172") == "91.240.118.172"
    assert canonical_address("000.111.222.10") is None
    assert canonical_address("91.240.118.0/24") is None
    assert canonical_address("") is None


@pytest.mark.parametrize(
    ("cidr", "form", "embedded"),
    [
        ("2002:a14:10b::/48", "6to4", "10.20.1.11/32"),
        ("2002:a14::/32", "6to4", "10.20.0.0/16"),
        ("2001:0:4136:e378:8000:63bf:f5eb:fef4/128", "Teredo client", "10.20.1.11/32"),
        ("2001:0:a14:10b:8000:63bf:a4f5:fef4/128", "Teredo server", "10.20.1.11/32"),
        ("64:ff9b::a14:10b/128", "NAT64", "10.20.1.11/32"),
        ("64:ff9b:1::a14:10b/128", "NAT64", "10.20.1.11/32"),
        ("::ffff:a14:10b/128", "IPv4-mapped", "10.20.1.11/32"),
        ("::a14:10b/128", "IPv4-compatible", "10.20.1.11/32"),
        ("2001:0:4136:e378::/64", "Teredo client", "0.0.0.0/0"),
    ],
)
def test_embedded_ipv4_decodes_each_form(cidr, form, embedded):
    found = {e.form: e.network.with_prefixlen for e in embedded_ipv4(_net(cidr))}
    assert found[form] == embedded


def test_embedded_ipv4_is_empty_for_plain_networks():
    assert embedded_ipv4(_net("2a0e:1c80:1:1::45")) == ()
    assert embedded_ipv4(_net("91.240.118.172")) == ()


@pytest.mark.parametrize(
    "cidr",
    [
        "2002:a14:10b::/48",
        "2001:0:4136:e378:8000:63bf:f5eb:fef4/128",
        "64:ff9b::c0a8:101/128",
        "::ffff:a14:10b/128",
        "::a14:10b/128",
    ],
)
def test_protected_by_catches_embedded_ipv4(cidr):
    assert protected_by(_net(cidr), PROTECTED) is not None


def test_protected_by_names_the_narrowest_network():
    assert str(protected_by(_net("10.20.1.11/32"), PROTECTED)) == "10.20.1.11/32"
    assert str(protected_by(_net("2002:a14:10b::/48"), PROTECTED)) == "10.20.1.11/32"
    assert protected_by(_net("2002:5bf0:76ac::/48"), PROTECTED) is None


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("fec0::1/128", False),  # deprecated site-local: global for Python 3.11
        ("5f00::1/128", False),  # SRv6 SIDs: global for Python 3.11
        ("100:0:0:1::1/128", False),
        ("2001:2::1/128", False),
        ("2001:4:112::1/128", False),  # AS112-v6: anycast infrastructure
        ("192.31.196.1/32", False),
        ("192.52.193.1/32", False),
        ("192.175.48.1/32", False),
        ("192.88.99.1/32", False),
        ("198.18.0.1/32", False),
        ("255.255.255.255/32", False),
        ("4000::1/128", False),
        ("64:ff9b:1::5bf0:76ac/128", False),
        ("::ffff:5bf0:76ac/128", False),  # IPv4-mapped: block the IPv4 address itself
        ("2002:7f00:1::/48", False),  # 6to4 of loopback
        ("2001:0:4136:e378:8000:63bf:80ff:fffe/128", False),  # Teredo client 127.0.0.1
        ("64:ff9b::a9fe:101/128", False),  # NAT64 of link-local
        ("45.155.0.0/16", True),
        ("2002:5bf0:76ac::/48", True),
        ("2001:0:4136:e378:8000:63bf:a4f5:fef4/128", True),
        ("64:ff9b::5bf0:76ac/128", True),
        ("2001:20::1/128", True),  # ORCHIDv2: globally reachable per IANA
        ("2001:db8::1/128", True),  # documentation: a stand-in, like the IPv4 ones
        ("3fff::1/128", True),
    ],
)
def test_is_global_unicast_follows_the_special_purpose_table(cidr, expected):
    assert is_global_unicast(_net(cidr)) is expected


def test_is_global_unicast_refuses_a_network_holding_a_special_range():
    assert is_global_unicast(_net("192.0.0.0/16")) is False
    assert is_global_unicast(_net("2000::/3")) is False


def test_non_global_range_names_the_range():
    assert str(non_global_range(_net("fec0:1::/48"))) == "fec0::/10 deprecated site-local"
    assert str(non_global_range(_net("4000::1/128"))) == "outside the global unicast space 2000::/3"
    assert non_global_range(_net("203.0.113.7/32")) is None

from __future__ import annotations

import pytest

from bot.core.network import canonical_cidr, host_cidr, is_global_unicast, parse_cidr, split_cidr_list


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

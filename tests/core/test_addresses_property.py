"""Properties of the address module and the address budget, over generated addresses."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from bot.core.checks import GuardPolicy
from bot.core.network import (
    canonical_address,
    embedded_ipv4,
    host_cidr,
    is_global_unicast,
    parse_address,
    parse_cidr,
    protected_by,
)
from bot.core.operations import blocklist

PROTECTED = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
POLICY = GuardPolicy()
FILE = "clusters/prod/web-01/ingress-nginx-controller.yaml"

v4_ints = st.integers(min_value=0, max_value=2**32 - 1)
protected_v4 = st.sampled_from(PROTECTED).flatmap(
    lambda n: st.integers(int(n.network_address), int(n.broadcast_address)).map(ipaddress.IPv4Address)
)


def _six_to_four(v4: ipaddress.IPv4Address, rest: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | (rest & (2**80 - 1)))


def _teredo_client(v4: ipaddress.IPv4Address, middle: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x20010000 << 96) | ((middle & (2**64 - 1)) << 32) | (int(v4) ^ 0xFFFFFFFF))


def _teredo_server(v4: ipaddress.IPv4Address, low: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x20010000 << 96) | (int(v4) << 64) | (low & (2**64 - 1)))


def _nat64(v4: ipaddress.IPv4Address, _: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0x64FF9B << 96) | int(v4))


def _mapped(v4: ipaddress.IPv4Address, _: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address((0xFFFF << 32) | int(v4))


FORMS = st.sampled_from([_six_to_four, _teredo_client, _teredo_server, _nat64, _mapped])


@given(FORMS, protected_v4, st.integers(min_value=0, max_value=2**80 - 1))
def test_embedded_protected_ipv4_is_always_refused(form, v4, rest):
    net = ipaddress.ip_network(form(v4, rest))
    assert protected_by(net, PROTECTED) is not None
    assert not is_global_unicast(net)
    assert blocklist.address_problem(str(net), PROTECTED, POLICY) is not None


@given(FORMS, v4_ints, st.integers(min_value=0, max_value=2**80 - 1))
def test_embedded_ipv4_is_decoded_exactly(form, value, rest):
    v4 = ipaddress.IPv4Address(value)
    net = ipaddress.ip_network(form(v4, rest))
    assert ipaddress.ip_network(v4) in [e.network for e in embedded_ipv4(net)]


@given(FORMS, v4_ints, st.integers(min_value=0, max_value=2**80 - 1))
def test_tunnel_form_is_never_more_global_than_its_ipv4(form, value, rest):
    v4 = ipaddress.IPv4Address(value)
    if not is_global_unicast(ipaddress.ip_network(v4)):
        assert not is_global_unicast(ipaddress.ip_network(form(v4, rest)))


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))


@given(addresses)
def test_canonical_address_is_idempotent(ip):
    once = canonical_address(str(ip))
    assert once is not None
    assert canonical_address(once) == once


@given(st.ip_addresses(v=4))
def test_canonical_address_folds_ipv4_mapped_forms(ip):
    assert canonical_address(f"::ffff:{ip}") == str(ip)


zone = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@given(st.ip_addresses(v=6), zone)
def test_zone_ids_never_parse(ip, zone_id):
    text = f"{ip}%{zone_id}"
    assert parse_address(text) is None
    assert parse_cidr(text) is None
    assert parse_cidr(f"{text}/128") is None
    assert host_cidr(text) is None
    assert canonical_address(text) is None
    assert blocklist.address_problem(text, PROTECTED, POLICY) == "IPv6 zone ids are not allowed"


def _split(net, cuts):
    """Split ``net`` into subnets: each cut halves the first piece that is wider than a host."""
    pieces = [net]
    for _ in range(cuts):
        wide = next((p for p in pieces if p.prefixlen < p.max_prefixlen), None)
        if wide is None:
            break
        pieces.remove(wide)
        pieces.extend(wide.subnets())
    return pieces


@given(st.integers(min_value=8, max_value=24), v4_ints, st.integers(min_value=0, max_value=40))
def test_budget_never_admits_a_split_of_a_too_wide_range(prefix, value, cuts):
    net = ipaddress.IPv4Network((value, prefix), strict=False)
    pieces = [p.with_prefixlen for p in _split(net, cuts)]
    lc = blocklist._ListChange(FILE, "block-cidrs", (), tuple(pieces))
    check = blocklist._check_budget([lc], POLICY)
    within = net.num_addresses <= POLICY.max_total_v4 and len(pieces) <= POLICY.max_added_entries
    assert check.passed is within


@given(
    st.integers(min_value=32, max_value=48),
    st.integers(min_value=0, max_value=2**128 - 1),
    st.integers(0, 40),
)
def test_budget_counts_an_ipv6_split_as_the_whole(prefix, value, cuts):
    net = ipaddress.IPv6Network((value, prefix), strict=False)
    pieces = [p.with_prefixlen for p in _split(net, cuts)]
    # The same space twice (a piece and the whole) still counts once.
    lc = blocklist._ListChange(FILE, "block-cidrs", (), (*pieces, net.with_prefixlen))
    check = blocklist._check_budget([lc], POLICY)
    entries = len(set(pieces) | {net.with_prefixlen})
    within = prefix >= POLICY.max_total_v6_prefix and entries <= POLICY.max_added_entries
    assert check.passed is within

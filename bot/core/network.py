"""Addresses and CIDRs: canonical forms and the rules for what the bot may ever block."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Widest prefixes the bot may block (IPv4 /24, IPv6 /48): anything wider blocks innocent neighbours.
MAX_PREFIX_WIDTH = {4: 24, 6: 48}


@lru_cache(maxsize=65536)
def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse one IP address, or return None when ``text`` is not one (hostnames, garbage, ``000.1.2.3``,
    IPv6 zone ids such as ``fe80::1%eth0``)."""
    text = text.strip()
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def canonical_address(text: str) -> str | None:
    """The canonical text of one attacker address, or None for garbage and zone ids.

    IPv4-mapped IPv6 (``::ffff:91.240.118.172``) is the IPv4 address it carries, so one attacker is one group
    whichever form a log wrote; IPv6 is compressed lower case.
    """
    ip = parse_address(text)
    if ip is None:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return ip.compressed


def parse_cidr(text: str) -> IPNetwork | None:
    """Parse a CIDR or a bare address (as /32 or /128); None when invalid or host bits are set."""
    text = text.strip()
    if not text or "%" in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        return None


def host_cidr(address: str) -> str | None:
    """The single-host CIDR for an address: ``203.0.113.7`` → ``203.0.113.7/32``."""
    ip = parse_address(address)
    if ip is None:
        return None
    return f"{ip.compressed}/{ip.max_prefixlen}"


def canonical_cidr(text: str) -> str | None:
    """The canonical text of a CIDR (compressed IPv6, explicit prefix), or None if invalid."""
    net = parse_cidr(text)
    return None if net is None else net.with_prefixlen


def is_global_unicast(net: IPNetwork) -> bool:
    """True for a publicly routable unicast network (not private, loopback, multicast, reserved...)."""
    addr = net.network_address
    if addr.is_multicast or addr.is_unspecified or addr.is_loopback or addr.is_link_local:
        return False
    if addr.is_reserved:
        return False
    # Documentation ranges are not "global" per IANA, but tests and demos use them as stand-ins for real
    # attackers; ipaddress reports them as private, so admit exactly these three.
    if net.version == 4 and any(net.subnet_of(d) for d in _DOC_V4):
        return True
    return bool(addr.is_global and net.broadcast_address.is_global)


_DOC_V4 = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse a list of CIDRs (allowing host bits), skipping nothing: an invalid entry raises ValueError."""
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in texts)


def protected_by(net: IPNetwork, protected: Sequence[IPNetwork]) -> IPNetwork | None:
    """The protected network that overlaps ``net``, if any."""
    for p in protected:
        if p.version == net.version and (net.overlaps(p)):
            return p
    return None


def split_cidr_list(value: str) -> list[str]:
    """Entries of a CIDR list held as text: comma- or newline-separated, blanks and ``#`` comments dropped."""
    items: list[str] = []
    for line in value.replace(",", "\n").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            items.append(entry)
    return items

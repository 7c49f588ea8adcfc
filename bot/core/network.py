"""Addresses and CIDRs: canonical forms and the rules for what the bot may ever block.

Whether a network is blockable is decided by one table, :data:`SPECIAL_RANGES`, built from the IANA IPv4 and
IPv6 Special-Purpose Address Registries (not from :mod:`ipaddress`, whose table lags behind IANA's), and by the
IPv4 address that tunnel and translation forms (6to4, Teredo, NAT64, IPv4-mapped, IPv4-compatible) carry inside
an IPv6 address: that address is judged like any IPv4 address. IPv6 zone ids (``fe80::1%eth0``) never parse.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Widest prefixes the bot may block (IPv4 /24, IPv6 /48): anything wider blocks innocent neighbours.
MAX_PREFIX_WIDTH = {4: 24, 6: 48}

#: ``special``: never blocked (not globally reachable per IANA); ``infrastructure``: globally reachable anycast
#: services (AS112, AMT, PCP/TURN/DNS-SD anycast), never blocked either: no attacker sends from them and blocking
#: them breaks the servers' own DNS or multicast; ``global``: a globally reachable carve-out inside a special range;
#: ``documentation``: admitted as a stand-in for real attackers (demos, tests and fixtures use them);
#: ``tunnel``: judged by the IPv4 address it embeds (:func:`embedded_ipv4`).
RangeKind = Literal["special", "infrastructure", "global", "documentation", "tunnel"]
BLOCKABLE_KINDS: frozenset[str] = frozenset({"global", "documentation", "tunnel"})


@dataclass(frozen=True)
class SpecialRange:
    """One row of the special-purpose table."""

    network: IPNetwork
    name: str
    kind: RangeKind

    def __str__(self) -> str:
        return self.name if self.network.prefixlen == 0 else f"{self.network} {self.name}"


def _rows(rows: Iterable[tuple[str, str, RangeKind]]) -> tuple[SpecialRange, ...]:
    return tuple(SpecialRange(ipaddress.ip_network(n), name, kind) for n, name, kind in rows)


# IANA IPv4 Special-Purpose Address Registry (https://www.iana.org/assignments/iana-ipv4-special-registry/),
# as of 2025; the IANA "Globally Reachable" column is noted where a row is not plainly False.
_V4_ROWS: tuple[tuple[str, str, RangeKind], ...] = (
    ("0.0.0.0/8", "this network", "special"),
    ("10.0.0.0/8", "private-use", "special"),
    ("100.64.0.0/10", "shared address space (CGNAT)", "special"),
    ("127.0.0.0/8", "loopback", "special"),
    ("169.254.0.0/16", "link-local", "special"),
    ("172.16.0.0/12", "private-use", "special"),
    ("192.0.0.0/24", "IETF protocol assignments", "special"),  # 192.0.0.9 and .10: anycast (True)
    ("192.0.2.0/24", "documentation (TEST-NET-1)", "documentation"),
    ("192.31.196.0/24", "AS112-v4", "infrastructure"),  # True
    ("192.52.193.0/24", "AMT", "infrastructure"),  # True
    ("192.88.99.0/24", "deprecated 6to4 relay anycast", "special"),
    ("192.168.0.0/16", "private-use", "special"),
    ("192.175.48.0/24", "direct delegation AS112 service", "infrastructure"),  # True
    ("198.18.0.0/15", "benchmarking", "special"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)", "documentation"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)", "documentation"),
    ("224.0.0.0/4", "multicast", "special"),  # IANA multicast registry
    ("240.0.0.0/4", "reserved", "special"),
    ("255.255.255.255/32", "limited broadcast", "special"),
)

# IANA IPv6 Special-Purpose Address Registry (https://www.iana.org/assignments/iana-ipv6-special-registry/),
# as of 2025, plus from the IPv6 Address Space registry: only 2000::/3 is global unicast, fec0::/10 is the
# deprecated site-local prefix (RFC 3879) and ff00::/8 is multicast.
_V6_ROWS: tuple[tuple[str, str, RangeKind], ...] = (
    ("::/0", "outside the global unicast space 2000::/3", "special"),
    ("2000::/3", "global unicast", "global"),
    ("::/128", "unspecified", "special"),
    ("::1/128", "loopback", "special"),
    ("::ffff:0:0/96", "IPv4-mapped; block the IPv4 address itself", "special"),
    ("64:ff9b::/96", "NAT64 well-known prefix", "tunnel"),  # True
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "special"),
    ("100::/64", "discard-only", "special"),
    ("100:0:0:1::/64", "dummy prefix", "special"),
    ("2001::/23", "IETF protocol assignments", "special"),
    ("2001::/32", "Teredo", "tunnel"),  # N/A
    ("2001:1::1/128", "port control protocol anycast", "infrastructure"),  # True
    ("2001:1::2/128", "TURN anycast", "infrastructure"),  # True
    ("2001:1::3/128", "DNS-SD service registration protocol anycast", "infrastructure"),  # True
    ("2001:2::/48", "benchmarking", "special"),
    ("2001:3::/32", "AMT", "infrastructure"),  # True
    ("2001:4:112::/48", "AS112-v6", "infrastructure"),  # True
    ("2001:10::/28", "deprecated ORCHID", "special"),
    ("2001:20::/28", "ORCHIDv2", "global"),  # True
    ("2001:30::/28", "drone remote ID DETs", "global"),  # True
    ("2001:db8::/32", "documentation", "documentation"),
    ("2002::/16", "6to4", "tunnel"),  # N/A
    ("2620:4f:8000::/48", "direct delegation AS112 service", "infrastructure"),  # True
    ("3fff::/20", "documentation", "documentation"),
    ("5f00::/16", "segment routing (SRv6) SIDs", "special"),
    ("fc00::/7", "unique-local", "special"),
    ("fe80::/10", "link-local", "special"),
    ("fec0::/10", "deprecated site-local", "special"),
    ("ff00::/8", "multicast", "special"),
)

#: The one special-purpose table (both families), most specific rows last within each family.
SPECIAL_RANGES: tuple[SpecialRange, ...] = _rows(_V4_ROWS) + _rows(_V6_ROWS)


@dataclass(frozen=True)
class _Layout:
    """Where a tunnel or translation form carries an IPv4 address inside IPv6."""

    prefix: ipaddress.IPv6Network
    form: str
    offset: int  # first bit of the IPv4 address
    xor: int = 0  # Teredo obfuscates the client address


_LAYOUTS = (
    _Layout(ipaddress.IPv6Network("2002::/16"), "6to4", 16),
    _Layout(ipaddress.IPv6Network("2001::/32"), "Teredo server", 32),
    _Layout(ipaddress.IPv6Network("2001::/32"), "Teredo client", 96, 0xFFFFFFFF),
    _Layout(ipaddress.IPv6Network("64:ff9b::/96"), "NAT64", 96),
    # RFC 8215 lets operators choose the layout inside the local-use prefix; the /96 layout is the usual one.
    _Layout(ipaddress.IPv6Network("64:ff9b:1::/48"), "NAT64", 96),
    _Layout(ipaddress.IPv6Network("::ffff:0:0/96"), "IPv4-mapped", 96),
    _Layout(ipaddress.IPv6Network("::/96"), "IPv4-compatible", 96),
)


@dataclass(frozen=True)
class EmbeddedIPv4:
    """The IPv4 network an IPv6 network carries, and in which form (``6to4``, ``Teredo client``...)."""

    form: str
    network: ipaddress.IPv4Network

    def text(self) -> str:
        """``10.20.1.11`` for one address, else the CIDR."""
        net = self.network
        return str(net.network_address) if net.prefixlen == 32 else net.with_prefixlen


@lru_cache(maxsize=65536)
def parse_address(text: str) -> IPAddress | None:
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


@lru_cache(maxsize=65536)
def parse_cidr(text: str) -> IPNetwork | None:
    """Parse a CIDR or a bare address (as /32 or /128); None when invalid, host bits are set or a zone id
    is given."""
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


def _contains(outer: IPNetwork, inner: IPNetwork) -> bool:
    return outer.version == inner.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


@lru_cache(maxsize=65536)
def range_of(net: IPNetwork) -> SpecialRange | None:
    """The most specific row of :data:`SPECIAL_RANGES` that contains ``net`` (None: ordinary IPv4)."""
    best: SpecialRange | None = None
    for row in SPECIAL_RANGES:
        if _contains(row.network, net) and (best is None or row.network.prefixlen > best.network.prefixlen):
            best = row
    return best


@lru_cache(maxsize=65536)
def non_global_range(net: IPNetwork) -> SpecialRange | None:
    """The special-purpose range that makes ``net`` unblockable, or None.

    That is the most specific range holding ``net`` when it is not blockable, else any unblockable range
    inside ``net`` (a wide network holding a private one is not global). Tunnel forms are judged separately by
    :func:`embedded_ipv4`.
    """
    row = range_of(net)
    if row is not None and row.kind not in BLOCKABLE_KINDS:
        return row
    for inner in SPECIAL_RANGES:
        if inner.kind not in BLOCKABLE_KINDS and _contains(net, inner.network) and inner.network != net:
            return inner
    return None


@lru_cache(maxsize=65536)
def embedded_ipv4(net: IPNetwork) -> tuple[EmbeddedIPv4, ...]:
    """Every IPv4 network that ``net`` carries in a tunnel or translation form (empty for plain networks).

    A network wider than the form's prefix carries every IPv4 address (``0.0.0.0/0``); a Teredo network
    carries both its server and its (bit-inverted) client address.
    """
    if not isinstance(net, ipaddress.IPv6Network):
        return ()
    found: list[EmbeddedIPv4] = []
    for layout in _LAYOUTS:
        if not net.overlaps(layout.prefix):
            continue
        part = net if net.subnet_of(layout.prefix) else layout.prefix
        bits = min(max(part.prefixlen - layout.offset, 0), 32)
        value = (int(part.network_address) >> (96 - layout.offset)) & 0xFFFFFFFF
        value ^= layout.xor
        mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF
        found.append(EmbeddedIPv4(layout.form, ipaddress.IPv4Network((value & mask, bits))))
    return tuple(found)


@lru_cache(maxsize=65536)
def is_global_unicast(net: IPNetwork) -> bool:
    """True for a network the bot may block: publicly routable unicast per the special-purpose table, and for
    tunnel and translation forms an embedded IPv4 that is too.

    Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20) are not
    global per IANA, but tests and demos use them as stand-ins for real attackers; they are admitted.
    """
    if non_global_range(net) is not None:
        return False
    return all(non_global_range(e.network) is None for e in embedded_ipv4(net))


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse a list of CIDRs (allowing host bits), skipping nothing: an invalid entry or a zone id raises
    ValueError."""
    out: list[IPNetwork] = []
    for t in texts:
        if "%" in t:
            raise ValueError(f"{t.strip()!r}: IPv6 zone ids are not allowed")
        out.append(ipaddress.ip_network(t.strip(), strict=False))
    return tuple(out)


def _most_specific_overlap(net: IPNetwork, protected: Sequence[IPNetwork]) -> IPNetwork | None:
    # The narrowest match names the most telling network (a server's own /32 rather than 10.0.0.0/8).
    hits = [p for p in protected if _overlap(net, p)]
    return max(hits, key=lambda p: p.prefixlen) if hits else None


def protected_by(net: IPNetwork, protected: Sequence[IPNetwork]) -> IPNetwork | None:
    """The protected network that overlaps ``net`` or an IPv4 network it embeds (6to4, Teredo, NAT64,
    IPv4-mapped, IPv4-compatible), if any; the narrowest when several do."""
    direct = _most_specific_overlap(net, protected)
    if direct is not None:
        return direct
    inside = protected_embedding(net, protected)
    return None if inside is None else inside[1]


def protected_embedding(
    net: IPNetwork, protected: Sequence[IPNetwork]
) -> tuple[EmbeddedIPv4, IPNetwork] | None:
    """The first embedded IPv4 network of ``net`` that overlaps a protected network, with that network."""
    for embedded in embedded_ipv4(net):
        hit = _most_specific_overlap(embedded.network, protected)
        if hit is not None:
            return embedded, hit
    return None


def split_cidr_list(value: str) -> list[str]:
    """Entries of a CIDR list held as text: comma- or newline-separated, blanks and ``#`` comments dropped."""
    items: list[str] = []
    for line in value.replace(",", "\n").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            items.append(entry)
    return items

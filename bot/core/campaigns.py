"""Campaigns: many attackers from one /24 (IPv4) or /48 (IPv6) at once become one group.

Thirty addresses of one network hitting us in the same few minutes are one attack, not thirty: one card,
one proposal, one PR. :func:`find_campaigns` takes the groups :func:`~bot.core.grouping.group_alerts` made
and merges, per network, the attacker groups whose sessions follow each other within ``window_s`` when they
come from at least ``min_attackers`` distinct addresses. The merged group's ``attacker`` is the network
(``91.240.118.0/24``) and ``attackers`` lists the addresses; its id is derived from that content only.

Only addresses the bot may block at all join a campaign: an attacker that is protected (an inventory server's
own address or a protected network) or not globally routable stays a group of its own, so the router
escalates it exactly as before. Undated sessions of one network count as one cluster of their own.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence

from bot.core.grouping import MAX_ALERT_IDS, MAX_SAMPLES, AlertGroup, _rule_sort, _ts_key
from bot.core.network import (
    MAX_PREFIX_WIDTH,
    IPNetwork,
    host_cidr,
    is_global_unicast,
    parse_cidr,
    protected_by,
)

DEFAULT_MIN_ATTACKERS = 5


def campaign_network(address: str) -> IPNetwork | None:
    """The network a campaign of ``address`` is about: its /24 (IPv4) or /48 (IPv6); None for non-addresses."""
    cidr = host_cidr(address)
    net = parse_cidr(cidr) if cidr else None
    if net is None:
        return None
    return ipaddress.ip_network(f"{net.network_address}/{MAX_PREFIX_WIDTH[net.version]}", strict=False)


def _eligible(group: AlertGroup, protected: Sequence[IPNetwork]) -> IPNetwork | None:
    """The campaign network of a group that may join one, else None."""
    if not group.attacker or group.attackers:
        return None
    cidr = host_cidr(group.attacker)
    net = parse_cidr(cidr) if cidr else None
    if net is None or protected_by(net, protected) is not None or not is_global_unicast(net):
        return None
    return campaign_network(group.attacker)


def find_campaigns(
    groups: Sequence[AlertGroup],
    *,
    min_attackers: int = DEFAULT_MIN_ATTACKERS,
    window_s: float,
    protected: Sequence[IPNetwork] = (),
) -> list[AlertGroup]:
    """The groups with each campaign merged into one group; the others unchanged, in the same order as
    :func:`~bot.core.grouping.group_alerts` (severity, then first time, then id)."""
    by_net: dict[tuple[str, IPNetwork], list[AlertGroup]] = {}
    for g in groups:
        net = _eligible(g, protected)
        if net is not None:
            by_net.setdefault((g.source, net), []).append(g)
    merged: set[str] = set()
    campaigns: list[AlertGroup] = []
    for (_source, net), members in by_net.items():
        if len({m.attacker for m in members}) < min_attackers:
            continue
        for cluster in _clusters(members, window_s):
            if len({m.attacker for m in cluster}) >= min_attackers:
                campaigns.append(merge_campaign(net, cluster))
                merged.update(m.id for m in cluster)
    if not campaigns:
        return list(groups)
    out = [g for g in groups if g.id not in merged] + campaigns
    out.sort(key=lambda g: (-g.max_level, g.first_ts or 0.0, g.id))
    return out


def _clusters(members: Sequence[AlertGroup], window_s: float) -> list[list[AlertGroup]]:
    """Sessions of one network that follow each other within the window, as chains in time (the undated
    ones: one cluster)."""
    undated = [g for g in members if g.first_ts is None or g.last_ts is None]
    ordered = sorted((g for g in members if g not in undated), key=lambda g: (g.first_ts or 0.0, g.id))
    clusters: list[list[AlertGroup]] = [undated] if undated else []
    dated_from = len(clusters)
    last = 0.0
    for g in ordered:
        first, end = g.first_ts or 0.0, g.last_ts or 0.0
        if len(clusters) > dated_from and first - last <= window_s:
            clusters[-1].append(g)
            last = max(last, end)
        else:
            clusters.append([g])
            last = end
    return clusters


def _address_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))


def merge_campaign(network: IPNetwork, members: Sequence[AlertGroup]) -> AlertGroup:
    """One group for a campaign's member groups (each an attacker's session in ``network``)."""
    attackers = tuple(sorted({m.attacker for m in members if m.attacker}, key=_address_key))
    firsts = [m.first_ts for m in members if m.first_ts is not None]
    lasts = [m.last_ts for m in members if m.last_ts is not None]
    first, last = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    digest = hashlib.sha256(",".join(attackers).encode()).hexdigest()[:10]
    key = f"net:{network.with_prefixlen}:{_ts_key(first)}:{len(attackers)}:{digest}"
    ordered = sorted(members, key=lambda m: (m.first_ts or 0.0, m.id))
    descriptions: dict[str, str] = {}
    for m in ordered:
        for rid, text in m.rule_descriptions.items():
            descriptions.setdefault(rid, text)
    samples = tuple(
        sorted(
            (s for m in ordered for s in m.samples),
            key=lambda s: (-s.level, s.ts if s.ts is not None else 0.0, s.alert_id),
        )[:MAX_SAMPLES]
    )
    return AlertGroup(
        id="g-" + hashlib.sha256(key.encode()).hexdigest()[:10],
        key=key,
        attacker=network.with_prefixlen,
        family=None,
        targets=tuple(sorted({t for m in members for t in m.targets})),
        alert_count=sum(m.alert_count for m in members),
        rule_ids=tuple(sorted({r for m in members for r in m.rule_ids}, key=_rule_sort)),
        rule_descriptions=dict(sorted(descriptions.items(), key=lambda kv: _rule_sort(kv[0]))),
        rule_groups=tuple(sorted({r for m in members for r in m.rule_groups})),
        max_level=max(m.max_level for m in members),
        mitre=tuple(sorted({t for m in members for t in m.mitre})),
        first_ts=first,
        last_ts=last,
        alert_ids=tuple(a for m in ordered for a in m.alert_ids)[:MAX_ALERT_IDS],
        samples=samples,
        source=ordered[0].source,
        attackers=attackers,
    )

from __future__ import annotations

import ipaddress

from bot.core.campaigns import find_campaigns
from bot.core.grouping import group_alerts
from tests.conftest import make_alert

PROTECTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("91.240.118.9/32"))


def _groups(*srcips: str, ts: float = 1_700_000_000.0, step: float = 10.0):
    alerts = [make_alert(srcip=ip, ts=ts + i * step, alert_id=f"a{i}") for i, ip in enumerate(srcips)]
    return group_alerts(alerts, min_level=0)


def _campaigns(groups, **kw):
    kw.setdefault("window_s", 900.0)
    kw.setdefault("protected", PROTECTED)
    return find_campaigns(groups, min_attackers=5, **kw)


def test_thirty_attackers_of_one_24_become_one_group():
    (g,) = _campaigns(_groups(*(f"91.240.118.{i}" for i in range(10, 40))))
    assert g.attacker == "91.240.118.0/24"
    assert g.attackers == tuple(f"91.240.118.{i}" for i in range(10, 40))
    assert g.alert_count == 30 and g.targets == ("web-01",)


def test_campaign_id_is_the_same_in_any_order():
    ips = [f"91.240.118.{i}" for i in range(10, 20)]
    (a,) = _campaigns(_groups(*ips, step=0.0))
    (b,) = _campaigns(_groups(*reversed(ips), step=0.0))
    assert a.id == b.id and a.key.startswith("net:91.240.118.0/24:")


def test_attackers_below_the_threshold_stay_groups_of_their_own():
    groups = _campaigns(_groups("91.240.118.10", "91.240.118.11", "91.240.118.12"))
    assert sorted(g.attacker or "" for g in groups) == ["91.240.118.10", "91.240.118.11", "91.240.118.12"]
    assert all(not g.attackers for g in groups)


def test_ipv6_attackers_of_one_48_become_one_group():
    (g,) = _campaigns(_groups(*(f"2a0e:1c80:1:{i:x}::45" for i in range(1, 7))))
    assert g.attacker == "2a0e:1c80:1::/48" and len(g.attackers) == 6


def test_protected_and_non_global_addresses_never_join_a_campaign():
    groups = _campaigns(_groups(*(f"91.240.118.{i}" for i in range(5, 12)), "10.1.1.1", "127.0.0.1"))
    (campaign,) = [g for g in groups if g.attackers]
    assert "91.240.118.9" not in campaign.attackers and len(campaign.attackers) == 6
    assert sorted(g.attacker or "" for g in groups if not g.attackers) == [
        "10.1.1.1",
        "127.0.0.1",
        "91.240.118.9",
    ]


def test_attackers_hours_apart_are_no_campaign():
    groups = _campaigns(_groups(*(f"91.240.118.{i}" for i in range(10, 16)), step=3600.0))
    assert len(groups) == 6 and all(not g.attackers for g in groups)


def test_undated_attackers_of_one_24_are_one_campaign():
    alerts = [make_alert(srcip=f"91.240.118.{i}", ts=None, alert_id=f"a{i}") for i in range(10, 16)]
    (g,) = _campaigns(group_alerts(alerts, min_level=0))
    assert len(g.attackers) == 6 and g.first_ts is None and g.key.startswith("net:91.240.118.0/24:undated:")

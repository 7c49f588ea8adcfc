from __future__ import annotations

from agents.playbooks import load_catalog
from agents.router import route
from bot.core.grouping import group_alerts
from tests.conftest import make_alert

CATALOG = load_catalog()
SSH = ("syslog", "sshd", "authentication_failures")


def _route(inventory, **kw):
    (g,) = group_alerts([make_alert(**kw)], min_level=0)
    return route(g, inventory, CATALOG)


def test_web_attack_blocks_in_every_ingress_config_of_the_targets(inventory):
    d = _route(inventory, agent="web-01")
    assert d.escalation is None and d.fixer == "playbook:block-web-attacker"
    assert d.operations == [
        {
            "op": "add_cidr",
            "file": "clusters/prod/web-01/ingress-nginx-controller.yaml",
            "key": "block-cidrs",
            "value": "91.240.118.172/32",
        }
    ]


def test_brute_force_blocks_in_the_denylist_with_its_key(inventory):
    d = _route(inventory, agent="bastion-01", rule_id="5712", groups=SSH, srcip="2a0e:1c80:1:1::45")
    assert d.operations == [
        {
            "op": "add_cidr",
            "file": "clusters/prod/bastion-01/denylist.yaml",
            "key": "blocked-cidrs",
            "value": "2a0e:1c80:1:1::45/128",
        }
    ]
    assert d.list_styles["clusters/prod/bastion-01/denylist.yaml"] == "lines"


def test_router_escalates_unknown_hosts(inventory):
    d = _route(inventory, agent="../../.github")
    assert d.escalation is not None and d.escalation.startswith(
        "Host(s) ../../.github are not in the inventory"
    )
    assert d.operations == []


def test_router_escalates_protected_and_non_global_sources(inventory):
    d = _route(inventory, srcip="10.20.3.44")
    assert "inside protected network 10.0.0.0/8; the bot never blocks it" in (d.escalation or "")
    d = _route(inventory, srcip="127.0.0.1")
    assert "is not a global unicast address" in (d.escalation or "")


def test_router_escalates_when_no_playbook_or_no_config(inventory):
    d = _route(inventory, srcip=None, rule_id="550", groups=("ossec", "syscheck"))
    assert (d.escalation or "").startswith("No playbook applies to rule(s) 550 (syscheck)")
    d = _route(inventory, agent="db-01")
    assert (d.escalation or "").startswith("No ingress-nginx config is listed in the inventory for db-01")


def _route_all(inventory, *alerts):
    (g,) = group_alerts(list(alerts), min_level=0)
    return route(g, inventory, CATALOG)


def test_web_and_ssh_attacker_is_blocked_on_every_host_it_hit(inventory):
    d = _route_all(
        inventory,
        make_alert(agent="web-01"),
        make_alert(agent="bastion-01", rule_id="5712", groups=SSH, alert_id="1.2"),
    )
    assert d.fixer == "playbook:block-web-attacker+block-ssh-bruteforce"
    assert [(o["file"], o["key"]) for o in d.operations] == [
        ("clusters/prod/bastion-01/denylist.yaml", "blocked-cidrs"),
        ("clusters/prod/web-01/ingress-nginx-controller.yaml", "block-cidrs"),
    ]
    assert d.unfixed == []


def test_target_without_a_playbook_kind_is_listed_as_unfixed(inventory):
    d = _route_all(
        inventory,
        make_alert(agent="web-02", rule_id="5712", groups=SSH),
        make_alert(agent="bastion-01", rule_id="5712", groups=SSH, alert_id="1.2"),
        make_alert(agent="ghost-9", rule_id="5712", groups=SSH, alert_id="1.3"),
    )
    assert [o["file"] for o in d.operations] == ["clusters/prod/bastion-01/denylist.yaml"]
    assert [(u.target, u.reason) for u in d.unfixed] == [
        ("ghost-9", "not in the inventory: the bot only edits configs the inventory lists"),
        (
            "web-02",
            "no playbook for its config kinds (has: ingress-nginx; the alert's playbooks edit denylist)",
        ),
    ]


def _campaign(inventory, srcips, **kw):
    from bot.core.campaigns import find_campaigns

    alerts = [
        make_alert(srcip=ip, ts=1_700_000_000.0 + i, alert_id=f"a{i}", **kw) for i, ip in enumerate(srcips)
    ]
    (g,) = find_campaigns(group_alerts(alerts, min_level=0), min_attackers=5, window_s=900.0)
    return route(g, inventory, CATALOG)


def test_campaign_blocks_each_address_and_offers_its_24(inventory):
    d = _campaign(inventory, [f"91.240.118.{i}" for i in range(10, 40)])
    assert [o["value"] for o in d.operations] == [f"91.240.118.{i}/32" for i in range(10, 40)]
    assert d.notes == [
        "Campaign: 30 attackers from 91.240.118.0/24 within the window, one entry each. "
        "Reply `use /24` in the thread to block 91.240.118.0/24 itself."
    ]


def test_campaign_over_the_entry_budget_blocks_the_24_itself(inventory):
    d = _campaign(inventory, [f"91.240.118.{i}" for i in range(10, 50)])
    assert [o["value"] for o in d.operations] == ["91.240.118.0/24"]
    assert d.notes == [
        "Campaign: 40 attackers from 91.240.118.0/24 within the window; this blocks 91.240.118.0/24 itself: "
        "40 entries, one per address, are more than the guard's 32 entries per proposal."
    ]


def test_campaign_over_the_diff_size_in_a_denylist_blocks_the_24_itself(inventory):
    ips = [f"91.240.118.{i}" for i in range(10, 31)]
    d = _campaign(inventory, ips, agent="bastion-01", rule_id="5712", groups=SSH)
    assert [o["value"] for o in d.operations] == ["91.240.118.0/24"]
    assert d.notes[0].endswith(
        "itself: one entry per address would change 21 lines, more than the guard's 20."
    )

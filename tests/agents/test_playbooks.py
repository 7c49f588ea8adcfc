from __future__ import annotations

import pytest

from agents.playbooks import find_playbook, load_catalog
from bot.core.errors import InputError
from bot.core.grouping import group_alerts
from tests.conftest import make_alert

CATALOG = load_catalog()
SSH = ("syslog", "sshd", "authentication_failures")


def _group(**kw):
    (g,) = group_alerts([make_alert(**kw)], min_level=0)
    return g


@pytest.mark.parametrize(
    ("rule_id", "groups"),
    [
        ("31103", ("web", "accesslog", "attack", "sql_injection")),
        ("31105", ("web", "accesslog", "attack")),
        ("31166", ("web", "accesslog", "attack")),
        ("31151", ("web", "accesslog", "web_scan", "recon")),
        ("31533", ("web", "appsec", "attack")),
    ],
)
def test_web_attack_rules_pick_the_ingress_playbook(rule_id, groups):
    pb = find_playbook(CATALOG, _group(rule_id=rule_id, groups=groups))
    assert pb is not None and (pb.name, pb.config_kind) == ("block-web-attacker", "ingress-nginx")


@pytest.mark.parametrize(
    ("rule_id", "groups"),
    [
        ("5712", SSH),
        ("5720", SSH),
        ("5763", SSH),
        ("5758", ("syslog", "sshd", "authentication_failed")),
        ("5551", ("pam", "syslog", "authentication_failures")),
    ],
)
def test_brute_force_rules_pick_the_denylist_playbook(rule_id, groups):
    pb = find_playbook(CATALOG, _group(rule_id=rule_id, groups=groups))
    assert pb is not None and (pb.name, pb.config_kind) == ("block-ssh-bruteforce", "denylist")


def test_no_playbook_without_an_attacker_or_for_other_rules():
    assert find_playbook(CATALOG, _group(srcip=None)) is None
    assert find_playbook(CATALOG, _group(rule_id="550", groups=("ossec", "syscheck"))) is None
    assert find_playbook(CATALOG, _group(rule_id="5710", groups=("syslog", "sshd", "invalid_login"))) is None


def test_playbook_renders_only_its_template_variables():
    pb = find_playbook(CATALOG, _group())
    assert pb is not None
    assert pb.render("f.yaml", "block-cidrs", "91.240.118.172/32") == [
        {"op": "add_cidr", "file": "f.yaml", "key": "block-cidrs", "value": "91.240.118.172/32"}
    ]


def test_catalog_refuses_unknown_template_variables(tmp_path):
    text = (
        "name: x\ndescription: d\ndefends: d\nmatch: {any: [{groups_any: [web]}]}\nconfig_kind: denylist\n"
        "operations: [{op: add_cidr, key: '{block_key}', value: '{alert_log}'}]\n"
    )
    (tmp_path / "x.yaml").write_text(text)
    with pytest.raises(InputError, match="only {block_key}, {attacker_cidr} may appear"):
        load_catalog(tmp_path)

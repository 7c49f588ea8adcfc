from __future__ import annotations

from bot.core.grouping import group_alerts, rule_family
from tests.conftest import make_alert


def test_group_alerts_one_group_per_attacker_across_targets():
    alerts = [
        make_alert(agent="web-01", ts=0.0, alert_id="a"),
        make_alert(agent="web-02", ts=60.0, alert_id="b", rule_id="31105"),
        make_alert(srcip="45.155.205.233", agent="web-01", ts=30.0, alert_id="c"),
    ]
    groups = {g.attacker: g for g in group_alerts(alerts)}
    assert set(groups) == {"91.240.118.172", "45.155.205.233"}
    g = groups["91.240.118.172"]
    assert g.targets == ("web-01", "web-02")
    assert g.rule_ids == ("31103", "31105")
    assert g.alert_count == 2
    assert g.mitre == ("T1190",)


def test_group_alerts_splits_attacker_after_quiet_window():
    alerts = [make_alert(ts=0.0), make_alert(ts=600.0), make_alert(ts=600.0 + 16 * 60)]
    groups = group_alerts(alerts, window_s=15 * 60)
    assert sorted(g.alert_count for g in groups) == [1, 2]


def test_group_alerts_keeps_slow_steady_attacker_in_one_group():
    alerts = [make_alert(ts=i * 600.0) for i in range(10)]
    assert [g.alert_count for g in group_alerts(alerts, window_s=15 * 60)] == [10]


def test_group_alerts_without_attacker_by_host_and_family():
    fim = ("ossec", "syscheck")
    alerts = [
        make_alert(srcip=None, agent="web-01", rule_id="550", groups=fim),
        make_alert(srcip=None, agent="web-01", rule_id="554", groups=fim),
        make_alert(srcip=None, agent="web-02", rule_id="550", groups=fim),
    ]
    groups = group_alerts(alerts)
    assert sorted((g.targets, g.family, g.alert_count) for g in groups) == [
        (("web-01",), "syscheck", 2),
        (("web-02",), "syscheck", 1),
    ]
    assert all(g.attacker is None for g in groups)


def test_group_alerts_drops_groups_below_min_level():
    alerts = [make_alert(level=5), make_alert(srcip="45.155.205.233", level=5), make_alert(level=7)]
    groups = group_alerts(alerts, min_level=7)
    assert [(g.attacker, g.max_level, g.alert_count) for g in groups] == [("91.240.118.172", 7, 2)]


def test_group_ids_are_deterministic_and_distinct():
    alerts = [make_alert(), make_alert(srcip="45.155.205.233")]
    first = [g.id for g in group_alerts(alerts)]
    second = [g.id for g in group_alerts(list(reversed(alerts)))]
    assert sorted(first) == sorted(second)
    assert len(set(first)) == 2


def test_group_samples_keep_the_most_severe_evidence():
    alerts = [make_alert(level=7, alert_id=str(i), ts=float(i)) for i in range(10)]
    alerts.append(make_alert(level=12, alert_id="severe", ts=11.0))
    (group,) = group_alerts(alerts)
    assert "severe" in [s.alert_id for s in group.samples]
    assert len(group.samples) == 5


def test_rule_family_skips_generic_groups():
    assert rule_family(("syslog", "sshd", "authentication_failed"), "5710") == "sshd"
    assert rule_family(("ossec",), "510") == "ossec"
    assert rule_family((), "99") == "rule-99"

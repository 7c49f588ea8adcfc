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


def test_out_of_order_alert_bridges_two_sessions_into_one():
    alerts = [make_alert(ts=0.0, alert_id="a"), make_alert(ts=1200.0, alert_id="b"), make_alert(ts=600.0)]
    (group,) = group_alerts(alerts, window_s=900)
    assert (group.alert_count, group.first_ts, group.last_ts) == (3, 0.0, 1200.0)


def test_late_line_joins_its_session_not_the_latest():
    alerts = [make_alert(ts=0.0), make_alert(ts=5000.0), make_alert(ts=100.0)]
    groups = sorted(group_alerts(alerts, window_s=900), key=lambda g: g.first_ts)
    assert [(g.first_ts, g.last_ts, g.alert_count) for g in groups] == [(0.0, 100.0, 2), (5000.0, 5000.0, 1)]


def test_group_ids_are_the_same_in_any_order():
    times = [0.0, 700.0, 1400.0, 5000.0, 5600.0, 300.0, 9000.0]
    alerts = [make_alert(ts=t, alert_id=str(t)) for t in times]
    shuffled = [alerts[i] for i in (6, 3, 0, 2, 5, 1, 4)]
    first, second = group_alerts(alerts), group_alerts(shuffled)
    assert [(g.id, g.alert_count, g.first_ts, g.last_ts) for g in first] == [
        (g.id, g.alert_count, g.first_ts, g.last_ts) for g in second
    ]
    assert [g.alert_count for g in first] == [4, 2, 1]


def test_undated_alert_joins_the_latest_session_in_any_order():
    alerts = [make_alert(ts=None, alert_id="u"), make_alert(ts=0.0), make_alert(ts=5000.0)]
    for order in (alerts, alerts[::-1]):
        groups = {g.first_ts: g.alert_count for g in group_alerts(order, window_s=900)}
        assert groups == {0.0: 1, 5000.0: 2}


def test_rule_ids_sort_numerically_even_past_int_limits():
    huge = "9" * 5000
    alerts = [
        make_alert(rule_id=huge),
        make_alert(rule_id="31103"),
        make_alert(rule_id="5710"),
        make_alert(rule_id="x"),
    ]
    (group,) = group_alerts(alerts)
    assert group.rule_ids == ("5710", "31103", huge, "x")


def test_time_outside_the_calendar_still_groups():
    (group,) = group_alerts([make_alert(ts=-1e15), make_alert(ts=-1e15)])
    assert group.alert_count == 2 and group.id == group_alerts([make_alert(ts=-1e15)])[0].id

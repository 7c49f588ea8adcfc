"""A hung or dead Ollama: a clear escalation within the timeout, and nothing lost."""

from __future__ import annotations

import time

from bot.core.grouping import group_alerts
from tests.agents.conftest import long_tail_alert
from tests.agents.ollama_server import Hang
from tests.conftest import make_alert


def test_hung_ollama_escalates_within_the_timeout(rig):
    r = rig(lambda q: Hang(), timeout=1)
    start = time.monotonic()
    p = r.decide(long_tail_alert())
    assert time.monotonic() - start < 2.5
    assert (
        p.action == "escalate"
        and "the LLM fixer is unavailable" in p.reason
        and "no answer within 1 s" in p.reason
    )


def test_dead_ollama_escalates_and_later_groups_skip_the_wait(rig):
    r = rig(lambda q: "unused", host="http://127.0.0.1:9", timeout=1)
    first = r.decide(long_tail_alert())
    start = time.monotonic()
    second = r.decide(long_tail_alert(srcip="203.0.113.9"))
    assert "cannot connect (is Ollama running?)" in first.reason and "cannot connect" in second.reason
    assert time.monotonic() - start < 0.5 and second.llm.calls == 0


def test_outage_loses_no_group(rig):
    from bot.pipeline import ScanReport
    from tools.sources.wazuh import ReadResult

    r = rig(lambda q: Hang(), timeout=1)
    alerts = [long_tail_alert(), make_alert(srcip="198.51.100.9", ts=1_700_000_100.0)]
    report = ScanReport(read=ReadResult(path="alerts.json", alerts=alerts))
    r.scanner.decide(alerts, report)
    actions = sorted((p.fixer.split(":")[0], p.action) for p in report.proposals)
    assert actions == [("llm", "escalate"), ("playbook", "propose")]
    assert len(report.new_ids) == len(group_alerts(alerts, min_level=0))
    assert r.scanner.state.get(report.proposals[0].id) is not None

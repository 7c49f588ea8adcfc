"""Flood control through the real Bolt pipeline: the posting budget, the digest, inventory problems, the queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.slack.conftest import SlackEnv, start

DEMO = (FIXTURES / "alerts" / "demo-alerts.json").read_text().splitlines()
WEB01 = json.loads(DEMO[0])  # SQL injection on web-01, level 7: a proposal to approve
WEB03 = json.loads(DEMO[21])  # web attacks on web-03, level 10: blocked (its listed config is a Deployment)
DB01 = json.loads(DEMO[14])  # Shellshock on db-01, level 10: no config to edit, an escalation


def _ip(i: int) -> str:
    return f"45.{(i // 256) % 256}.{i % 256}.9"  # one address per /24: no campaign folds them together


def _alerts(spec: list[tuple[dict, int]]) -> str:
    """One alert per attacker: ``count`` attackers for each template, every one a different address."""
    lines, i = [], 0
    for template, count in spec:
        for _ in range(count):
            old, new = template["data"]["srcip"], _ip(i)
            line = json.dumps(template).replace(old, new)
            lines.append(line.replace(template["id"], f"{template['id'][:-6]}{i:06d}"))
            i += 1
    return "\n".join(lines) + "\n"


def _flood(tmp_path: Path, bare_remote, spec, **extra: str) -> Iterator[SlackEnv]:
    yield from start(tmp_path, bare_remote, extra=extra, alerts_text=_alerts(spec))


def _top_level(slack: SlackEnv) -> list[str]:
    return [m["text"] for m in slack.posted()]


@pytest.fixture
def small_flood(tmp_path: Path, bare_remote) -> Iterator[SlackEnv]:
    yield from _flood(
        tmp_path, bare_remote, [(WEB01, 6), (WEB03, 4), (DB01, 2)], SECOPS_SLACK_POSTS_PER_POLL="3"
    )


def test_poll_posts_its_budget_highest_severity_first_and_one_digest(small_flood):
    small_flood.runtime.poller.run_once()
    texts = _top_level(small_flood)
    assert len(texts) == 4  # 3 within the budget + the digest
    assert texts[0].startswith(":rotating_light: Inventory problem · HIGH: web-03: its listed config ")
    assert (
        "web-03/ingress-nginx-controller.yaml is a Deployment, not a ConfigMap; 4 proposals held: fix the CMDB"
        in texts[0]
    )
    assert all("db-01" in t for t in texts[1:3])  # the two HIGH escalations next, before the MEDIUM proposals
    assert texts[3] == "6 more proposals held back: 6 to approve · `/secops-scan queue`"


def test_next_poll_updates_the_digest_instead_of_posting_another(small_flood):
    small_flood.runtime.poller.run_once()
    small_flood.clock.t += 60
    small_flood.runtime.poller.run_once()
    texts = _top_level(small_flood)
    assert len(texts) == 7 and sum(1 for t in texts if "held back" in t) == 1
    digest_ts = small_flood.runtime.poster.queue.digest()["ts"]
    update = small_flood.recorder.wait_for("chat.update", lambda b: b["ts"] == digest_ts)
    assert update["text"] == "3 more proposals held back: 3 to approve · `/secops-scan queue`"


def test_hourly_budget_holds_back_even_a_new_poll(tmp_path, bare_remote):
    gen = _flood(
        tmp_path, bare_remote, [(WEB01, 5)], SECOPS_SLACK_POSTS_PER_POLL="3", SECOPS_SLACK_POSTS_PER_HOUR="4"
    )
    slack = next(gen)
    try:
        slack.runtime.poller.run_once()
        slack.clock.t += 60
        slack.runtime.poller.run_once()
        assert len(_top_level(slack)) == 5  # 3 + 1 (the hour's 4) + the digest
        slack.clock.t += 3600
        slack.runtime.poller.run_once()
        assert len(_top_level(slack)) == 6
    finally:
        gen.close()


def test_queue_lists_held_back_by_severity_then_age(small_flood):
    small_flood.runtime.poller.run_once()
    status, body = small_flood.command("queue")
    assert status == 200
    lines = json.loads(body)["text"].splitlines()
    assert (
        lines[0] == "6 proposals held back (6 to approve, 0 blocked, 0 escalations), highest severity first:"
    )
    assert all(line.startswith("• :large_yellow_circle: MEDIUM · 45.") for line in lines[1:7])
    assert lines[7] == "Held behind inventory problems (fix the CMDB, then they are proposed again):"
    assert lines[8].startswith("• web-03: its listed config ") and lines[8].endswith(
        "; 4 proposals held: fix the CMDB"
    )


def test_queue_next_posts_the_next_ones_after_the_ack(small_flood):
    small_flood.runtime.poller.run_once()
    status, body = small_flood.command("queue next 2")
    assert status == 200 and json.loads(body)["text"] == "Posting the next 2 held-back proposals…"
    done = small_flood.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Posted"))
    assert done["text"] == "Posted 2 proposals; 4 still held back."
    assert len(_top_level(small_flood)) == 6
    digest_ts = small_flood.runtime.poster.queue.digest()["ts"]
    update = small_flood.recorder.wait_for("chat.update", lambda b: b["ts"] == digest_ts)
    assert update["text"] == "4 more proposals held back: 4 to approve · `/secops-scan queue`"


def test_queue_next_refuses_a_count_that_is_not_a_number(small_flood):
    _, body = small_flood.command("queue next lots")
    assert json.loads(body)["text"] == "`lots` is not a number: use `/secops-scan queue next 5` (at most 20)."
    _, body = small_flood.command("queue next ²")  # a Unicode digit: str.isdigit() says yes, int() says no
    assert json.loads(body)["text"] == "`²` is not a number: use `/secops-scan queue next 5` (at most 20)."


def test_empty_queue_says_so(slack):
    slack.runtime.poller.run_once()
    _, body = slack.command("queue")
    assert json.loads(body)["text"] == "Nothing is held back: every proposal is in the channel."


def test_status_lists_open_escalations(slack):
    slack.runtime.poller.run_once()
    _, body = slack.command("status")
    text = json.loads(body)["text"]
    assert "\n4 open escalations:\n" in text
    assert "10.20.3.44" in text.split("open escalations:")[1]


@pytest.mark.slow
def test_twenty_thousand_attackers_post_one_screen_and_one_digest(tmp_path, bare_remote):
    gen = _flood(tmp_path, bare_remote, [(DB01, 12_000), (WEB03, 6_000), (WEB01, 2_000)])
    slack = next(gen)
    try:
        slack.runtime.poller.run_once()
        texts = _top_level(slack)
        assert len(texts) == 21  # 20 within the budget (one of them the inventory problem) + the digest
        assert "6,000 proposals held: fix the CMDB" in texts[0]
        assert texts[-1] == (
            "13,981 more proposals held back: 2,000 to approve, 11,981 escalations · `/secops-scan queue`"
        )
        replies = [c for c in slack.recorder.calls("chat.postMessage") if "thread_ts" in c]
        assert len(replies) == 19  # one evidence reply per card; the inventory problem and digest have none
    finally:
        gen.close()

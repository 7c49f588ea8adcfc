"""A campaign through Slack: one card for thirty attackers of one /24, and `use /24` from its thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack.conftest import ALICE, SlackEnv, start

NET = "91.240.118.0/24"
IPS = [f"91.240.118.{i}" for i in range(10, 40)]


def _alerts() -> str:
    return "".join(
        json.dumps(
            {
                "timestamp": f"2025-11-18T10:01:{i % 60:02d}.000+0000",
                "id": f"c{i}",
                "rule": {"id": "31103", "level": 10, "groups": ["web", "attack"], "description": "SQLi."},
                "agent": {"name": "web-01"},
                "data": {"srcip": ip},
                "full_log": "GET /?id=1 OR 1=1",
            }
        )
        + "\n"
        for i, ip in enumerate(IPS)
    )


@pytest.fixture
def campaign(tmp_path: Path, bare_remote: tuple[Path, Path]) -> Iterator[SlackEnv]:
    yield from start(tmp_path, bare_remote, alerts_text=_alerts())


def test_thirty_attackers_of_one_24_post_one_card(campaign):
    campaign.scan()
    (card,) = campaign.posted()
    assert NET in card["text"]
    said = json.dumps(card["blocks"]) + " ".join(campaign.thread(campaign.ts_of(NET)))
    assert "Reply `use /24` in the thread" in said


def test_use_24_in_the_thread_blocks_the_24_and_the_guard_passes(campaign):
    campaign.scan()
    ts = campaign.ts_of(NET)
    campaign.mention(ALICE, "use /24", ts)
    campaign.recorder.wait_for("chat.update", lambda b: b["ts"] == ts and NET in json.dumps(b["blocks"]))
    revised = campaign.proposal_of(NET)
    assert revised.revision == 2 and revised.action == "propose"
    assert revised.guard is not None and revised.guard.passed
    assert {o["value"] for o in revised.operations} == {NET}
    assert NET in revised.diff
    assert not any(f"{ip}/32" in revised.diff for ip in IPS)

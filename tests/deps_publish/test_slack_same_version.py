"""Through the real Bolt app: a newer pip-audit report at the same installed version with a new advisory updates
the card in place (new revision, new Approve hash, the thread names the new advisory); the old Approve is
refused, the new one opens the pull request with the recomputed target."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.deps_publish.conftest import changed_lines
from tests.deps_publish.test_same_version import new_advisory
from tests.deps_publish.test_slack import _card, _scan, slack  # noqa: F401  # the serve fixture
from tests.slack.conftest import ALICE

pytestmark = pytest.mark.integration


def test_new_advisory_updates_the_card_and_its_approve_hash(slack, gh):  # noqa: F811
    _scan(slack)
    card = _card(slack, "Jinja2")
    old_value = slack.approve_value(card)
    pid = json.loads(old_value)["p"]
    ts = slack.service.approvals.message_for(pid).ts
    data = json.loads(slack.report.read_text())
    new_advisory(data)
    slack.report.write_text(json.dumps(data))
    os.utime(slack.report, ns=(time.time_ns(), time.time_ns() + 10**9))
    done = _scan(slack)
    assert done["text"].startswith("Scan done: 0 new proposal(s)")
    update = slack.recorder.wait_for(
        "chat.update", lambda b: b["ts"] == ts and "2.11.3" in json.dumps(b["blocks"]), timeout=30
    )
    assert update["blocks"][0]["text"]["text"] == (
        ":white_circle: *Bump Jinja2 2.10 → 2.11.3 in billing (fixes PYSEC-2019-217, PYSEC-2020-99)* · LOW · "
        "2 advisories"
    )
    stored = slack.service.state.get(pid).proposal
    new_value = slack.approve_value(update)
    assert json.loads(new_value) == {"p": pid, "r": 2, "h": stored.revision_hash}
    assert json.loads(old_value)["h"] != stored.revision_hash
    assert any(
        "A newer report names a new advisory at 2.10: PYSEC-2020-99; the target is now Jinja2 2.10 → 2.11.3"
        in t
        for t in slack.thread(ts)
    )
    assert len([m for m in slack.posted() if "Bump Jinja2" in json.dumps(m)]) == 1  # no second card

    slack.click("approve", old_value, ALICE, ts)  # the revision it was shown for is gone
    assert slack.service.state.get(pid).status == "pending"
    slack.click("approve", new_value, ALICE, ts)
    url = f"{gh.url}/acme/billing/pull/1"
    slack.recorder.wait_for("chat.postMessage", lambda b: url in b.get("text", ""), timeout=60)
    assert len(gh.repo.pulls) == 1
    assert changed_lines(slack.app_bare, "main", gh.repo.pulls[1]["head_ref"]) == [
        "-Jinja2==2.10  # invoice templates",
        "+Jinja2==2.11.3  # invoice templates",
    ]

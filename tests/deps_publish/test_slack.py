"""Dependency bumps through the real Bolt app: SECOPS_DEPS_REPORTS in, one card per package, Approve publishes
to the application repository and the pull request's URL lands in the thread."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import FIXTURES, git
from tests.deps_publish.conftest import TOKEN, app_remote, changed_lines, pip_audit_report
from tests.slack.conftest import ALICE, BOB, start

pytestmark = pytest.mark.integration


@pytest.fixture
def slack(tmp_path: Path, bare_remote, osv, gh):
    work, app_bare = app_remote(tmp_path)
    report = pip_audit_report(work, osv, tmp_path / "billing-audit.json")
    inventory = yaml.safe_load((FIXTURES / "cmdb.yaml").read_text())
    inventory["app_repos"] = [
        {
            "name": "billing",
            "repository": "py-app.git",  # relative to the inventory file
            "ecosystem": "pip",
            "manifest": "requirements.txt",
            "test_command": [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-v"],
            "test_timeout": 120,
            "owner": "team-billing",
            "github_repository": "acme/billing",
        }
    ]
    cmdb = tmp_path / "inventory.yaml"
    cmdb.write_text(yaml.safe_dump(inventory))
    env = {
        "SECOPS_DEPS_REPORTS": f"{report}=billing",
        "SECOPS_OSV_URL": osv,
        "SECOPS_CMDB": str(cmdb),
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": gh.url,
        "SECOPS_PR_REVIEWERS": "team-billing=bob",
    }
    for env_slack in start(tmp_path, bare_remote, env, alerts_text=""):
        env_slack.app_bare, env_slack.report = app_bare, report
        yield env_slack


def _scan(slack) -> dict:
    """`/secops-scan`, waiting for this scan's own summary (the tests run twice, so it takes seconds)."""
    seen = slack.recorder.calls("respond")
    slack.command("")
    return slack.recorder.wait_for(
        "respond",
        lambda b: b.get("text", "").startswith("Scan done") and all(b is not s for s in seen),
        timeout=120,
    )


def _card(slack, package: str) -> dict:
    return next(m for m in slack.posted() if f"Bump {package} " in json.dumps(m["blocks"]))


def test_dependency_card_says_bump_tests_and_audit(slack):
    _scan(slack)
    card = _card(slack, "Jinja2")
    assert card["blocks"][0]["text"]["text"] == (
        ":white_circle: *Bump Jinja2 2.10 → 2.10.1 in billing (fixes PYSEC-2019-217)* · LOW · 1 advisory"
    )
    texts = [b["text"]["text"] for b in card["blocks"] if b.get("type") == "section"]
    assert ":test_tube: tests: 4 passed before, 4 passed after\n:mag: advisories: re-audited, gone" in texts
    actions = [el["action_id"] for b in card["blocks"] for el in b.get("elements", []) if "action_id" in el]
    assert actions == ["approve", "reject"]


def test_approve_opens_the_pull_request_and_posts_its_url_in_the_thread(slack, gh):
    _scan(slack)
    card = _card(slack, "Jinja2")
    value = slack.approve_value(card)
    pid = json.loads(value)["p"]
    ts = slack.service.approvals.message_for(pid).ts
    assert slack.click("approve", value, ALICE, ts)[0] == 200
    url = f"{gh.url}/acme/billing/pull/1"
    slack.recorder.wait_for("chat.postMessage", lambda b: url in b.get("text", ""), timeout=60)
    assert any(url in t and "PR opened" in t for t in slack.thread(ts))
    pr = gh.repo.pulls[1]
    assert pr["reviewers"] == ["bob"]
    assert changed_lines(slack.app_bare, "main", pr["head_ref"]) == [
        "-Jinja2==2.10  # invoice templates",
        "+Jinja2==2.10.1  # invoice templates",
    ]
    assert slack.bot_branches() == []  # nothing went to the GitOps repository


def test_double_approve_gives_one_pull_request(slack, gh):
    _scan(slack)
    card = _card(slack, "Jinja2")
    value = slack.approve_value(card)
    ts = slack.service.approvals.message_for(json.loads(value)["p"]).ts
    slack.click("approve", value, ALICE, ts)
    slack.click("approve", value, BOB, ts)
    slack.click("approve", value, ALICE, ts)
    url = f"{gh.url}/acme/billing/pull/1"
    slack.recorder.wait_for("chat.postMessage", lambda b: url in b.get("text", ""), timeout=60)
    pid = json.loads(value)["p"]
    assert slack.service.state.get(pid).status == "published"
    assert len(gh.repo.pulls) == 1
    assert git("branch", "--list", "secops/*", cwd=slack.app_bare).split() == [gh.repo.pulls[1]["head_ref"]]


def test_unchanged_report_is_not_read_again(slack):
    first = _scan(slack)
    posted = len(slack.posted())
    second = _scan(slack)
    assert first["text"].startswith("Scan done: 3 new proposal(s)")
    assert second["text"].startswith("Scan done: 0 new proposal(s)")
    assert len(slack.posted()) == posted
    assert _deps_scans(slack) == 1  # the second poll did not read the report (nor run its tests) again
    os.utime(slack.report, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new report at the same path
    _scan(slack)
    assert _deps_scans(slack) == 2


def _deps_scans(slack) -> int:
    slack.service.audit.flush()
    lines = slack.runtime.settings.audit_path.read_text().splitlines()
    return sum(1 for r in map(json.loads, lines) if r["event"] == "scan" and r.get("source") == "deps")


def test_open_dependabot_pull_request_suppresses_the_card_and_names_it(slack, gh):
    number = gh.open_by("dependabot[bot]", "Bump jinja2 from 2.10 to 2.10.1", "dependabot/pip/jinja2-2.10.1")
    done = _scan(slack)
    assert done["text"] == "Scan done: 2 new proposal(s), 0 escalation(s), 1 suppressed, 0 malformed line(s)."
    assert not [m for m in slack.posted() if "Bump Jinja2" in json.dumps(m)]  # no card, so nothing to approve
    assert sorted(m["text"].split(" · ")[0] for m in slack.posted()) == [
        "Bump PyYAML 5.3.1 → 5.4 in billing (fixes PYSEC-2021-142)",
        "Bump urllib3 1.26.5 → 1.26.17 in billing (fixes PYSEC-2023-192)",
    ]  # in any order: the order is not what this test is about
    (jinja,) = [
        s.proposal for s in slack.service.state.list() if s.proposal.operations[0].get("package") == "Jinja2"
    ]
    assert (jinja.action, jinja.reason) == (
        "suppressed",
        f"Dependabot pull request #{number} ({gh.url}/acme/billing/pull/{number}) already bumps Jinja2 to "
        "2.10.1: review that one.",
    )
    slack.service.audit.flush()
    lines = slack.runtime.settings.audit_path.read_text().splitlines()
    (audited,) = [
        r for r in map(json.loads, lines) if r.get("proposal") == jinja.id and r["event"] == "proposal"
    ]
    assert f"pull/{number}" in json.dumps(audited)

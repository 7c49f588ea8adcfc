"""`/metrics` after a scripted day: scan → approve → pull request → merge, against the loopback fakes."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sync import build_syncer
from tests.publish_fixtures import FAKE_TOKEN
from tests.slack.conftest import ALICE, MALLORY, start
from tests.tools.github_server import GitHubServer

WEB = "91.240.118.172"


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def flow(tmp_path, bare_remote):
    with GitHubServer() as gh:
        extra = {"GITHUB_REPOSITORY": "acme/gitops", "GITHUB_API_URL": gh.url, "GITHUB_TOKEN": FAKE_TOKEN}
        gen = start(tmp_path, bare_remote, extra=extra)
        slack = next(gen)
        try:
            yield slack, gh
        finally:
            gen.close()


def test_metrics_count_a_scan_an_approval_a_pull_request_and_its_merge(flow):
    slack, gh = flow
    slack.scan()
    card = slack.message_of(WEB)
    ts, value = slack.ts_of(WEB), slack.approve_value(card)
    slack.click("approve", value, MALLORY, ts)  # not an approver: refused, counts nothing
    slack.click("approve", value, ALICE, ts)
    pid = json.loads(value)["p"]
    slack.published_branch(pid)
    # the publish worker's thread note comes after the status: wait for it, so the failure injected below
    # cannot hit it (that made this test count two Slack errors now and then)
    slack.recorder.wait_for(
        "chat.postMessage",
        lambda b: b.get("thread_ts") == ts and "Approved by" in b.get("text", ""),
        timeout=60,
    )
    deadline = time.monotonic() + 60  # the pull request is opened by the publish worker
    while not gh.repo.pulls and time.monotonic() < deadline:
        time.sleep(0.05)
    (number,) = gh.repo.pulls
    gh.merge(number, "octocat")
    runtime = slack.runtime
    syncer = build_syncer(
        runtime.settings, state=runtime.state, audit=runtime.service.audit, clock=slack.clock
    )
    syncer.sync()
    slack.recorder.fail["chat.postMessage"] = "not_in_channel"
    with pytest.raises(Exception):  # noqa: B017 (the Web API error itself is what is counted)
        runtime.client.chat_postMessage(channel="C0SECOPS", text="x")

    m = scrape(slack.port)
    scan = slack.service.state.list()
    # the demo file: 20 alerts and 2 malformed lines in 9 groups (what `secops-bot scan` prints for it)
    assert m[("secops_alerts_read_total", ())] == 20
    assert m[("secops_alerts_malformed_total", ())] == 2
    assert m[("secops_groups_total", ())] == 9
    proposed = sum(1 for s in scan if s.proposal.action == "propose")
    assert m[("secops_proposals_total", (("action", "propose"), ("source", "wazuh")))] == proposed
    assert m[("secops_approvals_total", (("outcome", "claimed"),))] == 1
    assert m[("secops_pull_requests_opened_total", ())] == 1
    assert m[("secops_pull_requests_merged_total", ())] == 1
    assert m[("secops_rejections_total", ())] == 0
    assert m[("secops_alert_to_approval_seconds_count", ())] == 1
    assert m[("secops_scan_duration_seconds_count", (("trigger", "command"),))] == 1
    errors = (("error", "not_in_channel"), ("method", "chat.postMessage"))
    assert m[("secops_slack_api_errors_total", errors)] == 1
    assert m[("secops_proposals_pending", ())] == proposed - 1
    assert m[("secops_queue_length", ())] == 0


def test_metrics_count_slack_rate_limits_by_method(slack):
    slack.recorder.http_errors["auth.test"] = [429]
    slack.runtime.client.auth_test()  # retried after Retry-After, then ok
    m = scrape(slack.port)
    assert m[("secops_slack_rate_limited_total", (("method", "auth.test"),))] == 1

"""The Web API client retries what Slack asks it to: 429 after Retry-After, 5xx with backoff."""

from __future__ import annotations

import time


def test_rate_limited_post_is_retried_after_retry_after(slack):
    slack.recorder.http_errors["chat.postMessage"] = [429]
    t0 = time.monotonic()
    slack.runtime.poller.run_once()
    assert time.monotonic() - t0 >= 1.0  # waited the Retry-After: 1 the recorder sent
    first, second = slack.recorder.calls("chat.postMessage")[:2]
    assert first == second  # the same message, sent again
    assert len(slack.posted()) == 9  # 8 cards + the one that was throttled once; none lost
    assert slack.ts_of("91.240.118.172")


def test_server_error_post_is_retried(slack):
    slack.recorder.http_errors["chat.postMessage"] = [503, 500]
    slack.runtime.poller.run_once()
    stored = slack.service.state.list()
    posted = [s for s in stored if slack.service.approvals.message_for(s.proposal.id)]
    assert len(posted) == 8  # every card made it despite two server errors


def test_rate_limit_that_outlasts_the_retries_leaves_the_card_for_the_next_poll(slack):
    slack.recorder.http_errors["chat.postMessage"] = [429] * 4  # 1 try + 3 retries, all throttled
    slack.runtime.poller.run_once()
    stored = slack.service.state.list()
    assert sum(1 for s in stored if slack.service.approvals.message_for(s.proposal.id)) == 7
    slack.runtime.poller.run_once()
    assert sum(1 for s in stored if slack.service.approvals.message_for(s.proposal.id)) == 8

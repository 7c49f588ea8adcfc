"""Who may approve: user ids, and user-group members fetched through the Web API (loopback recorder)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.app import Approvers
from tests.slack.recorder import SlackRecorder


class FakeMonotonic:
    """A monotonic clock as on a machine booted a moment ago: it starts at 0."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def recorder():
    rec = SlackRecorder(usergroups={"SSOCLEADS": ["UCAROL"]})
    yield rec
    rec.close()


def _approvers(recorder: SlackRecorder, clock: FakeMonotonic) -> Approvers:
    client = WebClient(token="xoxb-test", base_url=recorder.url, timeout=5)
    return Approvers(client, ("UALICE", "SSOCLEADS"), ttl=300.0, monotonic=clock)


def test_group_member_may_approve_on_a_freshly_booted_machine(recorder):
    clock = FakeMonotonic()
    assert _approvers(recorder, clock)("UCAROL") is True


def test_group_membership_is_cached_until_the_ttl_passes(recorder):
    clock = FakeMonotonic()
    approvers = _approvers(recorder, clock)
    assert approvers("UCAROL") and not approvers("UDAVE")
    recorder.usergroups["SSOCLEADS"] = ["UDAVE"]
    clock.t = 299.0
    assert approvers("UCAROL") and not approvers("UDAVE")
    clock.t = 301.0
    assert approvers("UDAVE") and not approvers("UCAROL")
    assert len(recorder.calls("usergroups.users.list")) == 2


def test_listed_user_needs_no_group_lookup(recorder):
    assert _approvers(recorder, FakeMonotonic())("UALICE") is True
    assert recorder.calls("usergroups.users.list") == []

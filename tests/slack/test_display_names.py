"""Approvers by Slack display name in pull request bodies (users.info), falling back to the user id."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot import pull_request
from bot.core.guard import GuardReport
from bot.publishing import Approval
from bot.slack.app import DisplayNames
from tests.slack.test_blocks import _card


class DirectoryClient(WebClient):
    """A Web API client whose users.info answers from a dict (unknown users: ``user_not_found``)."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__(token="xoxb-test")
        self.names = names
        self.asked: list[str] = []

    def users_info(self, *, user: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        self.asked.append(user)
        ok = user in self.names
        data = {"ok": ok, "user": {"id": user, "profile": {"display_name": self.names.get(user, "")}}}
        resp = SlackResponse(
            client=self,
            http_verb="POST",
            api_url="users.info",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )
        if not ok:
            raise SlackApiError("user_not_found", resp)
        return resp


def _approval(names: tuple[str, ...]) -> Approval:
    return Approval(
        proposal_id="p-0123456789",
        revision=1,
        revision_hash="h",
        approvers=("UALICE", "UBOB"),
        approver_names=names,
        approved_at=1_700_000_000.0,
    )


def test_display_names_come_from_users_info_and_fall_back_to_empty():
    client = DirectoryClient({"UALICE": "alice"})
    names = DisplayNames(client)
    assert names(("UALICE", "UBOB")) == ("alice", "")
    assert names(("UALICE",)) == ("alice",) and client.asked == ["UALICE", "UBOB"]  # cached


def test_pr_body_names_approvers_by_display_name_then_id():
    body = pull_request.body(_card(), _approval(("alice", "")), "", GuardReport(passed=True, checks=()), "a1")
    assert "**Approved by:** alice (UALICE), UBOB at 2023-11-14T22:13:20Z" in body


def test_pr_body_display_name_is_inert_markdown():
    body = pull_request.body(
        _card(), _approval(("@here [x](y)", "")), "", GuardReport(passed=True, checks=()), "a1"
    )
    assert "**Approved by:** @\u200bhere \\[x\\](y) (UALICE), UBOB" in body

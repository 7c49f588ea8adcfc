"""GitHub webhooks: HMAC SHA-256 verification first, then pull-request outcomes reach sync."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from bot.webhook import handle_github_webhook, signature_of

SECRET = "whsec-test-1234"


def delivery(event: str, payload: object, secret: str | None = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = signature_of(body, secret)
    return headers, body


def closed(number: int = 7) -> dict[str, object]:
    return {"action": "closed", "pull_request": {"number": number, "merged": True}}


def test_signed_pull_request_close_reaches_sync():
    seen: list[int] = []
    headers, body = delivery("pull_request", closed(7))
    assert handle_github_webhook(headers, body, SecretStr(SECRET), on_pull_request=seen.append) == (
        202,
        "pull request #7 queued for sync",
    )
    assert seen == [7]


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_unsigned_or_badly_signed_gets_401_and_does_nothing(secret):
    seen: list[int] = []
    headers, body = delivery("pull_request", closed(), secret)
    assert handle_github_webhook(headers, body, SECRET, on_pull_request=seen.append) == (
        401,
        "missing or invalid X-Hub-Signature-256",
    )
    assert seen == []


def test_tampered_body_gets_401():
    headers, body = delivery("pull_request", closed(7))
    status, _ = handle_github_webhook(headers, body.replace(b"7", b"8"), SECRET, on_pull_request=print)
    assert status == 401


def test_sha1_signature_alone_is_refused():
    headers, body = delivery("pull_request", closed(), None)
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40
    assert handle_github_webhook(headers, body, SECRET)[0] == 401


def test_without_a_configured_secret_everything_gets_401():
    headers, body = delivery("ping", {"zen": "hi"})
    assert handle_github_webhook(headers, body, None) == (
        401,
        "webhooks are disabled: GITHUB_WEBHOOK_SECRET is not set",
    )


def test_signed_ping_and_other_events():
    assert handle_github_webhook(*delivery("ping", {"zen": "hi"}), SECRET) == (200, "pong")
    assert handle_github_webhook(*delivery("issues", {"action": "opened"}), SECRET) == (200, "ignored")
    labeled = {"action": "labeled", "pull_request": {"number": 3}}
    assert handle_github_webhook(*delivery("pull_request", labeled), SECRET) == (200, "ignored")


def test_header_names_are_case_insensitive():
    headers, body = delivery("ping", {})
    lowered = {k.lower(): v for k, v in headers.items()}
    assert handle_github_webhook(lowered, body, SECRET) == (200, "pong")


def test_signed_non_json_gets_400():
    body = b"not json"
    headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": signature_of(body, SECRET)}
    assert handle_github_webhook(headers, body, SECRET)[0] == 400


@pytest.mark.integration
def test_merged_webhook_records_the_outcome_through_sync(tmp_path, inventory):
    from tests.publish_fixtures import World, bare_remote
    from tests.test_sync import RecordingNotifier, publish, syncer
    from tests.tools.github_server import GitHubServer

    world = World(tmp_path, bare_remote(tmp_path), inventory)
    with GitHubServer() as gh:
        p, result = publish(world, gh)
        gh.merge(result.pr_number, "carol")
        notes = RecordingNotifier()
        sync = syncer(world, gh, notes)
        headers, body = delivery("pull_request", closed(result.pr_number))
        status, _ = handle_github_webhook(headers, body, SECRET, on_pull_request=sync.on_pull_request)
    assert status == 202 and notes.notes == [(p.id, f"Merged by carol: {result.pr_url}")]
    assert world.state.get(p.id).status == "merged"

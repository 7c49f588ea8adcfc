"""`/healthz` and `/readyz` as a probe sees them: each failing readiness check named, with what to do."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request

import pytest

from bot.cli import build_publisher, build_scanner
from bot.clock import FixedClock
from bot.slack.runtime import build_runtime
from tests.conftest import FIXTURES
from tests.disk_fakes import ReadOnlyLater
from tests.slack.conftest import CHANNEL, settings_for
from tests.slack.recorder import SlackRecorder


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def serving(tmp_path, bare_remote):
    """A runtime on a disk that can turn read-only, with readiness checks never cached."""
    remote, checkout = bare_remote
    recorder = SlackRecorder()
    alerts = tmp_path / "alerts.json"
    alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
    settings = settings_for(tmp_path, recorder, remote, checkout, alerts)
    clock, disk = FixedClock(time.time()), ReadOnlyLater()
    runtime = build_runtime(
        settings,
        clock,
        scanner_factory=lambda state, audit: build_scanner(settings, state, audit, clock),
        publisher_factory=lambda state, audit: build_publisher(settings, state, audit, clock),
        http=True,
        readiness_ttl=0,
        disk=disk,
    )
    port = runtime.start_http("127.0.0.1", 0)
    try:
        yield runtime, recorder, port, checkout, disk
    finally:
        runtime.stop()
        recorder.close()


def test_readyz_is_ok_when_every_check_passes(serving):
    _, _, port, _, _ = serving
    status, report = get(port, "/readyz")
    assert status == 200 and report["failing"] == []
    assert report["checks"] == {"state": "ok", "repo": "ok", "slack_auth": "ok", "slack_channel": "ok"}


def test_readyz_names_the_channel_and_the_invite_when_the_bot_is_not_a_member(serving):
    _, recorder, port, _, _ = serving
    recorder.not_member.add(CHANNEL)
    status, report = get(port, "/readyz")
    assert status == 503 and report["failing"] == ["slack_channel"]
    assert report["checks"]["slack_channel"] == (
        "the bot is not a member of #secops: invite the bot to #secops: /invite @secops-bot"
    )


def test_readyz_fails_on_slack_auth_when_the_token_is_revoked(serving):
    _, recorder, port, _, _ = serving
    recorder.fail["auth.test"] = "token_revoked"
    _, report = get(port, "/readyz")
    assert "slack_auth" in report["failing"]
    assert report["checks"]["slack_auth"].startswith("Slack refused SLACK_BOT_TOKEN (token_revoked)")


def test_readyz_fails_on_repo_when_the_checkout_is_unreadable(serving):
    _, _, port, checkout, _ = serving
    shutil.rmtree(checkout)
    status, report = get(port, "/readyz")
    assert status == 503 and report["failing"] == ["repo"]
    assert report["checks"]["repo"].startswith(f"{checkout} cannot be read (not a directory)")


def test_readyz_fails_on_state_when_the_store_is_read_only(serving):
    runtime, _, port, _, disk = serving
    disk.make_read_only()
    status, report = get(port, "/readyz")
    assert status == 503 and report["failing"] == ["state"]
    assert "attempt to write a readonly database" in report["checks"]["state"]
    assert report["checks"]["state"].endswith("give the data directory a writable volume")


def test_healthz_stays_ok_while_readiness_fails(serving):
    _, recorder, port, _, _ = serving
    recorder.not_member.add(CHANNEL)
    status, report = get(port, "/healthz")
    assert status == 200 and report["ok"] is True


def test_socket_mode_health_port_serves_the_probes(tmp_path, bare_remote):
    remote, checkout = bare_remote
    recorder = SlackRecorder()
    alerts = tmp_path / "alerts.json"
    alerts.write_text("")
    settings = settings_for(tmp_path, recorder, remote, checkout, alerts)
    clock = FixedClock(time.time())
    runtime = build_runtime(
        settings,
        clock,
        scanner_factory=lambda state, audit: build_scanner(settings, state, audit, clock),
        publisher_factory=lambda state, audit: build_publisher(settings, state, audit, clock),
        http=True,
    )
    port = runtime.start_health("127.0.0.1", 0)
    try:
        assert get(port, "/readyz")[0] == 200 and get(port, "/healthz")[0] == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            assert "secops_alerts_read_total" in resp.read().decode()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=b"{}"), timeout=10
            )
        assert err.value.code == 404  # no Slack endpoint in Socket Mode
    finally:
        runtime.stop()
        recorder.close()

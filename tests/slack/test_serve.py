"""`serve` as a user runs it: settings checked at start, HTTP mode in a real process, Socket Mode over a websocket."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from websockets.sync.server import serve as ws_serve

from bot.cli import main
from bot.clock import FixedClock
from bot.settings import load_settings
from tests.conftest import FIXTURES
from tests.slack.conftest import ALICE, BOT_TOKEN, CHANNEL, SECRET, runtime_for, settings_for
from tests.slack.recorder import SlackRecorder

APP_TOKEN = "xapp-1-A111-222-SecretAppToken"


def test_serve_refuses_to_start_without_its_settings(tmp_path):
    err = io.StringIO()
    code = main(["--data-dir", str(tmp_path), "serve", "--http"], out=io.StringIO(), err=err, env={})
    assert code == 2
    assert err.getvalue().strip() == (
        "error: serve needs: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SECOPS_SLACK_CHANNEL, SECOPS_APPROVERS, "
        "SECOPS_ALERTS or SECOPS_TRIVY_REPORTS or SECOPS_INDEXER_URL or SECOPS_DEPS_REPORTS, SECOPS_CMDB, "
        "SECOPS_REPO or SECOPS_GIT_REMOTE_URL"
    )
    code = main(["serve"], out=io.StringIO(), err=err, env={"SECOPS_APPROVERS": "alice"})
    assert (
        code == 2 and "SECOPS_APPROVERS (--approvers): Value error, alice: not Slack user" in err.getvalue()
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_http_process_polls_and_posts_without_any_command(tmp_path, bare_remote):
    remote, checkout = bare_remote
    recorder = SlackRecorder()
    alerts = tmp_path / "alerts.json"
    alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": recorder.url,
        "SECOPS_SLACK_CHANNEL": CHANNEL, "SECOPS_APPROVERS": ALICE, "SECOPS_ALERTS": str(alerts),
        "SECOPS_REPO": str(checkout), "SECOPS_CMDB": str(FIXTURES / "cmdb.yaml"),
        "SECOPS_DATA_DIR": str(tmp_path / "data"), "SECOPS_GIT_REMOTE_URL": str(remote),
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        recorder.wait_for("chat.postMessage", lambda b: "91.240.118.172" in b.get("text", ""), timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    health = json.loads(resp.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert health["ok"] and health["pending"] == 3
        assert recorder.headers_of("auth.test")[0]["authorization"] == f"Bearer {BOT_TOKEN}"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        recorder.close()
    assert proc.returncode == 0, err
    assert f"listening on port {port}" in err
    assert BOT_TOKEN not in out + err and SECRET not in out + err


class FakeSocketModeServer:
    """Slack's Socket Mode side: says hello, sends envelopes, collects the app's acks."""

    def __init__(self) -> None:
        self.outbox: queue.Queue[dict] = queue.Queue()
        self.acks: queue.Queue[dict] = queue.Queue()
        self.server = ws_serve(self._handle, "127.0.0.1", 0, compression=None)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"

    def _handle(self, conn) -> None:
        conn.send(json.dumps({"type": "hello", "num_connections": 1}))
        while True:
            try:
                envelope = self.outbox.get(timeout=0.1)
                conn.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                message = conn.recv(timeout=0.1)
            except TimeoutError:
                continue
            except Exception:
                return
            self.acks.put(json.loads(message))

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def socket_mode(tmp_path, bare_remote):
    remote, checkout = bare_remote
    ws = FakeSocketModeServer()
    recorder = SlackRecorder(socket_url=ws.url)
    alerts = tmp_path / "alerts.json"
    alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
    base = settings_for(tmp_path, recorder, remote, checkout, alerts)
    settings = load_settings(
        {}, {**base.model_dump(), "slack_app_token": APP_TOKEN, "slack_signing_secret": None}
    )
    runtime = runtime_for(settings, FixedClock(time.time()), http=False)
    handler = runtime.connect_socket_mode()
    yield ws, recorder
    handler.close()
    runtime.stop()
    recorder.close()
    ws.close()


def test_socket_mode_takes_a_slash_command_over_the_websocket(socket_mode):
    ws, recorder = socket_mode
    assert recorder.headers_of("apps.connections.open")[0]["authorization"] == f"Bearer {APP_TOKEN}"
    ws.outbox.put(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/secops-scan",
                "text": "",
                "user_id": ALICE,
                "channel_id": CHANNEL,
                "team_id": "T1",
                "response_url": recorder.response_url,
                "trigger_id": "t",
            },
        }
    )
    ack = ws.acks.get(timeout=20)
    assert ack["envelope_id"] == "env-1"
    assert ack["payload"] == {"response_type": "ephemeral", "text": "Scanning new alerts…"}
    summary = recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"), timeout=30)
    assert summary["text"].startswith("Scan done: 4 new proposal(s)")
    assert len([c for c in recorder.calls("chat.postMessage") if "thread_ts" not in c]) == 8

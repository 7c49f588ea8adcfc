"""A running `serve --http` on loopback: signed requests in, a recording Slack Web API out, a bare git remote."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.cli import build_publisher, build_scanner
from bot.clock import FixedClock
from bot.settings import Settings, load_settings
from bot.slack.runtime import SlackRuntime, build_runtime
from tests.conftest import FIXTURES, git
from tests.slack.recorder import SlackRecorder
from tools.git_repo import slug

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111-2222-SecretBotToken"
CHANNEL = "C0SECOPS"
ALICE, BOB, MALLORY, CAROL = "UALICE", "UBOB", "UMALLORY", "UCAROL"
_mentions = itertools.count(1)  # a fresh event id and message ts for every mention in a run


@dataclass
class SlackEnv:
    runtime: SlackRuntime
    recorder: SlackRecorder
    port: int
    remote: Path
    alerts: Path
    clock: FixedClock

    @property
    def service(self):
        return self.runtime.service

    # --- signed requests into the app ------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        ts: int | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> tuple[int, str]:
        ts = int(time.time()) if ts is None else ts
        h = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(ts)}
        if sign:
            digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
            h["X-Slack-Signature"] = f"v0={digest}"
        h.update(headers or {})
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), headers=h
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def command(
        self, text: str = "", user: str = ALICE, channel: str = CHANNEL, **kw: Any
    ) -> tuple[int, str]:
        form = {
            "command": "/secops-scan", "text": text, "user_id": user, "channel_id": channel,
            "team_id": "T1", "response_url": self.recorder.response_url, "trigger_id": "trig-1",
        }  # fmt: skip
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def click(self, action_id: str, value: str, user: str, message_ts: str, **kw: Any) -> tuple[int, str]:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": message_ts},
            "message": {"ts": message_ts},
            "trigger_id": "trig-2",
            "response_url": self.recorder.response_url,
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kw
        )

    def submit_reject(self, view: dict[str, Any], user: str, reason: str) -> tuple[int, str]:
        payload = {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": "T1"},
            "view": {
                "id": "V0REJECT",
                "type": "modal",
                "callback_id": "reject_modal",
                "private_metadata": view["private_metadata"],
                "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
            },
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], event_id: str, **kw: Any) -> tuple[int, str]:
        body = {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}
        return self.post(json.dumps(body), "application/json", **kw)

    def scan(self) -> dict[str, Any]:
        """`/secops-scan` and wait for its summary (returned), so the proposals' cards are posted."""
        self.command("")
        return self.recorder.wait_for("respond", lambda b: b.get("text", "").startswith("Scan done"))

    def mention(self, user: str, text: str, thread_ts: str) -> tuple[int, str]:
        """``user`` writes ``@bot <text>`` in the thread of the card at ``thread_ts``."""
        n = next(_mentions)
        event = {
            "type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "channel": CHANNEL,
            "ts": f"1795000900.{n:06d}", "thread_ts": thread_ts,
        }  # fmt: skip
        return self.event(event, event_id=f"EvMention{n}")

    # --- reading what Slack was told -------------------------------------------------------------------

    def posted(self) -> list[dict[str, Any]]:
        """Top-level channel messages (not thread replies)."""
        return [c for c in self.recorder.calls("chat.postMessage") if "thread_ts" not in c]

    def message_of(self, attacker: str) -> dict[str, Any]:
        return next(m for m in self.posted() if attacker in m["text"])

    def proposal_of(self, attacker: str):
        return next(s.proposal for s in self.service.state.list() if s.proposal.group.attacker == attacker)

    def ts_of(self, attacker: str) -> str:
        ref = self.service.approvals.message_for(self.proposal_of(attacker).id)
        assert ref is not None, f"no message for {attacker}"
        return ref.ts

    def approve_value(self, message: dict[str, Any]) -> str:
        for block in message["blocks"]:
            for el in block.get("elements", []):
                if el.get("action_id") == "approve":
                    return el["value"]
        raise AssertionError("no Approve button")

    def thread(self, ts: str) -> list[str]:
        return [c["text"] for c in self.recorder.calls("chat.postMessage") if c.get("thread_ts") == ts]

    def bot_branches(self) -> list[str]:
        """The bot's branches on the remote."""
        return git("branch", "--list", "secops/*", cwd=self.remote).split()

    def published_branch(self, proposal_id: str, timeout: float = 20.0) -> str:
        """Wait until ``proposal_id`` is published (publishing runs on a worker), then name its branch."""
        deadline = time.monotonic() + timeout
        while (status := self.service.state.get(proposal_id).status) != "published":
            assert time.monotonic() < deadline, f"{proposal_id} not published within {timeout} s: {status}"
            time.sleep(0.05)
        revision = self.service.state.get(proposal_id).proposal.revision
        (branch,) = [b for b in self.bot_branches() if b.endswith(f"-{slug(proposal_id, 64)}-r{revision}")]
        return branch


def settings_for(
    tmp_path: Path, recorder: SlackRecorder, remote: Path, checkout: Path, alerts: Path, **extra: str
) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": recorder.url,
        "SECOPS_SLACK_CHANNEL": CHANNEL,
        "SECOPS_APPROVERS": f"{ALICE},{BOB},SSOCLEADS",
        "SECOPS_ALERTS": str(alerts),
        "SECOPS_REPO": str(checkout),
        "SECOPS_CMDB": str(FIXTURES / "cmdb.yaml"),
        "SECOPS_DATA_DIR": str(tmp_path / "data"),
        "SECOPS_GIT_REMOTE_URL": str(remote),
        "SECOPS_POLL_INTERVAL": "3600",
        **extra,
    }
    return load_settings(env)


def runtime_for(settings: Settings, clock: FixedClock, *, http: bool) -> SlackRuntime:
    """Everything `serve` builds, wired exactly as the CLI wires it."""
    return build_runtime(
        settings,
        clock,
        scanner_factory=lambda state, audit: build_scanner(settings, state, audit, clock),
        publisher_factory=lambda state, audit: build_publisher(settings, state, audit, clock),
        http=http,
    )


@pytest.fixture
def bare_remote(tmp_path: Path) -> tuple[Path, Path]:
    """The sample GitOps repo as a bare remote, and a checkout of it that `scan` reads."""
    from tests.publish_fixtures import bare_remote as make_bare

    bare = make_bare(tmp_path)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(bare), str(checkout), cwd=tmp_path)
    return bare, checkout


def start(
    tmp_path: Path,
    bare_remote: tuple[Path, Path],
    extra: dict[str, str] | None = None,
    alerts_text: str | None = None,
) -> Iterator[SlackEnv]:
    remote, checkout = bare_remote
    recorder = SlackRecorder(usergroups={"SSOCLEADS": [CAROL]})
    alerts = tmp_path / "alerts.json"
    alerts.write_text(
        alerts_text if alerts_text is not None else (FIXTURES / "alerts" / "demo-alerts.json").read_text()
    )
    settings = settings_for(tmp_path, recorder, remote, checkout, alerts, **(extra or {}))
    clock = FixedClock(time.time())
    runtime = runtime_for(settings, clock, http=True)
    port = runtime.start_http("127.0.0.1", 0)
    try:
        yield SlackEnv(runtime, recorder, port, remote, alerts, clock)
    finally:
        runtime.stop()
        recorder.close()


@pytest.fixture
def slack(tmp_path: Path, bare_remote: tuple[Path, Path]) -> Iterator[SlackEnv]:
    yield from start(tmp_path, bare_remote)

"""`secops-bot serve` as a real process on loopback: Slack recorder, GitHub REST server, bare git remote.

Used by the shutdown and kill -9 tests. Nothing here reaches into the product: crashes are real signals
(SIGTERM, SIGINT, SIGKILL) sent at random moments, and slowness comes from the loopback GitHub only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.conftest import FIXTURES, git
from tests.publish_fixtures import FAKE_TOKEN, bare_remote
from tests.slack.recorder import SlackRecorder
from tests.tools.github_server import GitHubServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111-2222-SecretBotToken"
CHANNEL = "C0SECOPS"
ALICE = "UALICE"
ROOT = Path(__file__).resolve().parents[2]


class SlowGitHub(GitHubServer):
    """The loopback GitHub, taking ``delay()`` seconds over each write (a window to crash in)."""

    def __init__(self, delay: Callable[[], float], **kw: Any) -> None:
        super().__init__(**kw)
        self.delay = delay
        self.writes_seen = threading.Event()

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method != "GET":
            self.writes_seen.set()
            self.lock.release()  # let reads through while this write "takes a while"
            try:
                time.sleep(self.delay())
            finally:
                self.lock.acquire()
        return super().route(method, path, query, body)

    def prs_by_branch(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for pr in self.repo.pulls.values():
            out[pr["head_ref"]] = out.get(pr["head_ref"], 0) + 1
        return out


@dataclass
class World:
    """Everything a serve process talks to, on loopback, plus its environment."""

    tmp: Path
    github: GitHubServer | None = None
    poll_interval: str = "3600"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.remote = bare_remote(self.tmp)
        self.checkout = self.tmp / "checkout"
        git("clone", "-q", str(self.remote), str(self.checkout), cwd=self.tmp)
        self.slack = SlackRecorder()
        self.alerts = self.tmp / "alerts.json"
        self.alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
        self.data = self.tmp / "data"

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ["PATH"], "HOME": str(self.tmp), "HF_HUB_OFFLINE": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": self.slack.url,
            "SECOPS_SLACK_CHANNEL": CHANNEL, "SECOPS_APPROVERS": ALICE, "SECOPS_ALERTS": str(self.alerts),
            "SECOPS_REPO": str(self.checkout), "SECOPS_CMDB": str(FIXTURES / "cmdb.yaml"),
            "SECOPS_DATA_DIR": str(self.data), "SECOPS_GIT_REMOTE_URL": str(self.remote),
            "SECOPS_POLL_INTERVAL": self.poll_interval, "SECOPS_GIT_AUTHOR_EMAIL": "secops-bot@example.com",
        }  # fmt: skip
        if self.github is not None:
            env |= {
                "GITHUB_REPOSITORY": "acme/gitops", "GITHUB_TOKEN": FAKE_TOKEN, "GITHUB_API_URL": self.github.url,
                "SECOPS_SYNC_INTERVAL": "1",
            }  # fmt: skip
        return env | self.extra

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Read the state store while (or after) serve runs."""
        db = sqlite3.connect(self.data / "state.db", timeout=10)
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()

    def bot_branches(self) -> list[str]:
        return git("branch", "--list", "secops/*", cwd=self.remote).split()

    def close(self) -> None:
        self.slack.close()


class Serve:
    """One ``python -m bot.cli serve --http`` process; ``port`` once it listens."""

    def __init__(self, world: World, timeout: float = 60.0) -> None:
        self.world = world
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            env=world.env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout):
            self.kill()
            raise AssertionError("serve did not start:\n" + self.stderr)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on port" in line:
                self.port = int(line.split("listening on port ")[1].split(":")[0])
                self._ready.set()
        self._ready.set()

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self._reader.join(5)

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:
            return dict(json.loads(err.read()))

    def click_approve(self, value: str, message_ts: str, user: str = ALICE) -> int:
        payload = {
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T1"}, "channel": {"id": CHANNEL},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": message_ts},
            "message": {"ts": message_ts}, "trigger_id": "t", "response_url": self.world.slack.response_url,
            "actions": [{"action_id": "approve", "block_id": "b", "value": value, "type": "button"}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)})
        ts = str(int(time.time()))
        digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": f"v0={digest}",
            },
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)


def approve_buttons(world: World) -> dict[str, tuple[str, str]]:
    """proposal id → (Approve button value, message ts) of every proposal message posted so far."""
    where = dict(world.rows("SELECT proposal_id, ts FROM messages"))
    out: dict[str, tuple[str, str]] = {}
    for body in world.slack.calls("chat.postMessage"):
        for block in body.get("blocks") or []:
            for el in block.get("elements", []):
                pid = json.loads(el["value"])["p"] if el.get("action_id") == "approve" else None
                if pid in where:
                    out[pid] = (el["value"], where[pid])
    return out


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)

"""A loopback Slack Web API that records every call (port 0), for `WebClient(base_url=...)`.

Answers like Slack for the methods the bot uses; `calls(method)` returns the decoded request bodies so tests
assert on what a user would see.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


class SlackRecorder:
    def __init__(self, usergroups: dict[str, list[str]] | None = None, socket_url: str = "") -> None:
        self.usergroups = usergroups or {}
        self.socket_url = socket_url
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.fail: dict[str, str] = {}
        # method → HTTP statuses answered before the normal reply, one per call (429 carries Retry-After: 1)
        self.http_errors: dict[str, list[int]] = {}
        # channels the bot is not a member of (conversations.info answers is_member false for them)
        self.not_member: set[str] = set()
        self._ts = itertools.count(1)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                ctype = self.headers.get("Content-Type", "")
                body: dict[str, Any]
                if "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = dict(parse_qsl(raw))
                    for k in ("blocks", "view"):
                        if isinstance(body.get(k), str):
                            body[k] = json.loads(body[k])
                method = self.path.rsplit("/", 1)[-1]
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = recorder._http_error(method)
                reply = (
                    recorder._answer(method, body) if status == 200 else {"ok": False, "error": "ratelimited"}
                )
                with recorder._changed:
                    recorder.requests.append((method, body, headers))
                    recorder._changed.notify_all()
                data = json.dumps(reply).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/respond"

    def _http_error(self, method: str) -> int:
        with self._lock:
            queued = self.http_errors.get(method)
            return queued.pop(0) if queued else 200

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        if method == "chat.postMessage":
            ts = f"1795000000.{next(self._ts):06d}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://example.slack.com/archives/{body.get('channel')}/p{body.get('message_ts', '').replace('.', '')}",
            }
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(body.get("usergroup", ""), [])}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "user": "secops-bot",
                "bot_id": "BBOT",
                "team_id": "T1",
                "team": "t",
            }
        if method == "conversations.info":
            channel = body.get("channel", "")
            info = {"id": channel, "name": "secops", "is_member": channel not in self.not_member}
            return {"ok": True, "channel": info}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1.1"}
        return {"ok": True}

    def headers_of(self, method: str) -> list[dict[str, str]]:
        with self._lock:
            return [h for m, _, h in self.requests if m == method]

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for m, b, _ in self.requests if m == method]

    def wait_for(
        self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda b: True, timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for m, b, _ in self.requests:
                    if m == method and predicate(b):
                        return b
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {method} call matched within {timeout} s; saw {[m for m, _, _ in self.requests]}"
                    )
                self._changed.wait(left)

    def all_text(self) -> str:
        with self._lock:
            return json.dumps([b for _, b, _ in self.requests])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

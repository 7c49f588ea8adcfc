"""The HTTP side of ``serve``: a small ASGI app on uvicorn, run in a background thread.

Routes: ``GET /healthz`` (liveness), ``GET /readyz`` (readiness, each failing check named), ``GET /metrics``
(Prometheus), ``POST /github/webhook`` (when configured) and, in HTTP mode, ``POST /slack/events`` handed to
Bolt's ASGI adapter (``bot/slack/server.py``; this module imports no Slack code). In Socket Mode the same app
without the Slack route serves the probes and metrics on a small port (``SECOPS_HEALTH_PORT``).

Stopping is graceful: the socket stops accepting, requests in flight finish (up to ``GRACEFUL_S``), then
the thread ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
WebhookHandler = Callable[[Mapping[str, str], bytes], tuple[int, str]]

MAX_BODY = 5 * 1024 * 1024
GRACEFUL_S = 10.0
BACKLOG = 128  # Slack delivers bursts; a short listen backlog resets connections


class Routes:
    """What the app answers; every field but ``health`` may be absent."""

    def __init__(
        self,
        *,
        health: Callable[[], dict[str, Any]],
        ready: Callable[[], dict[str, Any]] | None = None,
        metrics: Callable[[], tuple[bytes, str]] | None = None,
        webhook: WebhookHandler | None = None,
        slack: Asgi | None = None,
    ) -> None:
        self.health = health
        self.ready = ready
        self.metrics = metrics
        self.webhook = webhook
        self.slack = slack


def make_app(routes: Routes) -> Asgi:
    """The ASGI application for ``routes``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/slack/events" and routes.slack is not None:
            await routes.slack(scope, receive, send)
            return
        if method == "GET" and path in ("/healthz", "/readyz"):
            check = routes.health if path == "/healthz" else routes.ready
            if check is None:
                await _answer(send, 404, b"not found")
                return
            report = await asyncio.to_thread(check)  # the checks touch SQLite, files and the network
            status = 200 if report.get("ok") else 503
            await _answer(send, status, json.dumps(report).encode(), "application/json")
        elif method == "GET" and path == "/metrics" and routes.metrics is not None:
            body, ctype = await asyncio.to_thread(routes.metrics)
            await _answer(send, 200, body, ctype)
        elif method == "POST" and path == "/github/webhook" and routes.webhook is not None:
            payload = await _body(receive)
            if payload is None:
                await _answer(send, 413, b"too large")
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            status, text = await asyncio.to_thread(routes.webhook, headers, payload)
            await _answer(send, status, text.encode())
        else:
            await _answer(send, 404, b"not found")

    return app


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HttpServer:
    """uvicorn serving one ASGI app on ``host:port`` in a background thread (port 0: a free one)."""

    def __init__(self, app: Asgi, host: str, port: int, *, name: str = "secops-http") -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))  # bound now: a port in use fails start-up, not a thread
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_config=None,  # our logging (JSON, redacted) is configured by the entry point
            access_log=False,  # requests are logged by id, never by payload
            lifespan="on",
            backlog=BACKLOG,
            timeout_graceful_shutdown=int(GRACEFUL_S),
            timeout_keep_alive=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        # Server.run only installs signal handlers in the main thread: the CLI keeps SIGTERM for itself.
        self.server.run(sockets=[self.socket])

    def start(self, timeout: float = 10.0) -> int:
        """Start serving; returns the bound port once uvicorn accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        return self.port

    def stop(self, timeout: float = GRACEFUL_S + 5) -> bool:
        """Stop accepting, let requests in flight finish, end the thread; True when it ended in time."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        self.socket.close()
        return not self.thread.is_alive()

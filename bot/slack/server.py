"""Running the Slack app: the HTTP endpoint (with /healthz), Socket Mode, and the alert poller.

HTTP mode is a small threaded stdlib server: ``POST /slack/events`` goes through Bolt (signature checked by
Bolt's request verification: forged or older than 5 minutes → 401), ``GET /healthz`` answers for probes, and
``POST /github/webhook`` is handed to the publishing webhook handler when one is configured.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

from bot.core.redact import redact
from bot.leader import LeaderLease, LeaseLost
from bot.service import ProposalService
from bot.slack.poster import Poster

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
WebhookHandler = Callable[[Mapping[str, str], bytes], tuple[int, str]]


class Health:
    """How the background loops did on their last pass (``/healthz``): a failing loop makes serve unhealthy."""

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def passed(self, loop: str) -> None:
        with self._lock:
            self._errors.pop(loop, None)

    def failed(self, loop: str, error: str) -> None:
        with self._lock:
            self._errors[loop] = redact(error)[:300]

    def errors(self) -> dict[str, str]:
        with self._lock:
            return dict(self._errors)


class Poller(threading.Thread):
    """Resumes interrupted publications, pulls new alerts and posts new proposals every ``interval`` s."""

    def __init__(
        self,
        service: ProposalService,
        poster: Poster,
        interval: float,
        extra: Callable[[], None] | None = None,
        health: Health | None = None,
        lease: LeaderLease | None = None,
    ) -> None:
        super().__init__(name="secops-poller", daemon=True)
        self.lease = lease  # several replicas: only the leader polls, fenced by its epoch
        self.service = service
        self.poster = poster
        self.interval = interval
        self.extra = extra
        self.health = health or Health()
        self.stopped = threading.Event()

    def run_once(self) -> None:
        self.poster.show_decisions(self.service.resume_publications())
        if self.stopped.is_set():
            return
        outcome = self.service.scan(trigger="poller")
        if outcome.error:
            log.warning("poll: %s", outcome.error)
        self.poster.post_new(outcome.new)
        self.poster.show_folds(outcome.folded)
        for revised in outcome.revised:
            self.poster.show_revision(revised, "", note=revised.revision_note)
        self.poster.post_unposted()
        if self.extra is not None:
            self.extra()
        if outcome.error:
            self.health.failed("poll", outcome.error)
        else:
            self.health.passed("poll")

    def run(self) -> None:
        while not self.stopped.is_set():
            if self.lease is not None and not self.lease.is_leader:
                self.health.passed("poll")  # a standby replica is healthy: it serves Slack
                self.stopped.wait(min(self.interval, self.lease.ttl / 3))
                continue
            try:
                with self.lease.leading() if self.lease is not None else nullcontext():
                    self.run_once()
            except LeaseLost as exc:
                log.warning("poll round refused: %s", exc)
            except Exception as exc:  # keep polling (a full disk included); the next round retries
                log.warning("poll round failed: %s: %s", exc.__class__.__name__, redact(str(exc))[:300])
                self.health.failed("poll", f"{exc.__class__.__name__}: {exc}")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def make_http_server(
    app: App,
    host: str,
    port: int,
    *,
    health: Callable[[], dict[str, Any]],
    webhook: WebhookHandler | None = None,
) -> ThreadingHTTPServer:
    """The HTTP server for ``serve --http``; ``port`` 0 picks a free port (tests)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:  # requests are logged by id, not by payload
            log.debug("http %s", self.path.split("?")[0])

        def _send(self, status: int, body: str, headers: Mapping[str, Any] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for name, value in (headers or {}).items():
                for v in value if isinstance(value, list | tuple) else [value]:
                    if name.lower() != "content-length":
                        self.send_header(name, str(v))
            if not headers or not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/healthz":
                report = health()
                status = 200 if report.get("ok") else 503
                self._send(status, json.dumps(report), {"Content-Type": "application/json"})
            else:
                self._send(404, "not found")

        def do_POST(self) -> None:
            path = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, "too large")
                return
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path.path == "/slack/events":
                bolt_headers: dict[str, str | Sequence[str]] = dict(headers)
                req = BoltRequest(body=body.decode("utf-8"), query=path.query, headers=bolt_headers)
                resp = app.dispatch(req)
                self._send(resp.status, resp.body or "", resp.headers)
            elif path.path == "/github/webhook" and webhook is not None:
                status, text = webhook(headers, body)
                self._send(status, text)
            else:
                self._send(404, "not found")

    server = _Server((host, port), Handler)
    server.daemon_threads = True
    return server


class _Server(ThreadingHTTPServer):
    # The stdlib default backlog of 5 resets connections when Slack delivers a burst of events at once.
    request_queue_size = 128

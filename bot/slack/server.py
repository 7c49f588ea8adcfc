"""Running the Slack app: the ``/slack/events`` endpoint, loop health, and the alert poller.

HTTP mode serves ``POST /slack/events`` through Bolt's ASGI adapter (signature checked by Bolt's request
verification: forged or older than 5 minutes → 401) on uvicorn (:mod:`bot.http_app`, which also answers
``/healthz``, ``/readyz``, ``/metrics`` and ``/github/webhook``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest

from bot.core.redact import redact
from bot.leader import LeaderLease, LeaseLost
from bot.service import ProposalService
from bot.slack.poster import Poster

log = logging.getLogger(__name__)

ACK_WORKERS = 16  # threads that run Bolt's dispatch (the ack); listeners run on their own executor
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


class _ThreadedBolt(SlackRequestHandler):
    """Bolt's ASGI adapter, with the (synchronous) dispatch run in worker threads.

    The adapter calls ``App.dispatch`` on the event loop; one slow ack would then hold every other request.
    Bolt acks before listeners run (they go to the listener executor), so a worker is busy for the ack only.
    """

    def __init__(self, app: App, workers: int) -> None:
        super().__init__(app)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="secops-ack")

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=await request.get_raw_body(), query=request.query_string, headers=request.get_headers()
        )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.app.dispatch, bolt_request)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def slack_events(app: App, workers: int = ACK_WORKERS) -> _ThreadedBolt:
    """The ``POST /slack/events`` ASGI handler (Bolt checks every request's signature)."""
    return _ThreadedBolt(app, workers)

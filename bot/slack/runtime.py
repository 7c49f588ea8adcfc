"""Building and running everything `secops-bot serve` needs, from settings, in one place."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot import messages
from bot.approvals import ApprovalStore
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.errors import ConfigError
from bot.dependency_serve import dependency_reports as dependency_reports_from_settings
from bot.disk import Disk
from bot.http_app import HttpServer, Routes, make_app
from bot.leader import LeaderLease, LeaderLoop
from bot.metrics import Metrics
from bot.pipeline import Scanner
from bot.publishing import Publisher
from bot.readiness import Readiness, base_checks
from bot.service import ProposalService
from bot.settings import Settings
from bot.slack.app import Approvers, build_app
from bot.slack.poster import Poster
from bot.slack.server import Health, Poller, WebhookHandler, slack_events
from bot.slack.work import Lanes, default_lanes
from bot.state import StateStore
from bot.storage import open_audit, open_state, replica_name
from tools.sources.wazuh_indexer import reader_from_settings

log = logging.getLogger(__name__)

WEB_API_TIMEOUT_S = 10
RATE_LIMIT_RETRIES = 3  # each waits Slack's Retry-After (plus up to 1 s of jitter)
SERVER_ERROR_RETRIES = 2  # 500/503 from Slack: exponential backoff from 0.5 s
CONNECTION_RETRIES = 2
SHUTDOWN_WAIT_S = 30.0  # how long a stop waits for a publication in flight before leaving it to the outbox


@dataclass
class SlackRuntime:
    settings: Settings
    client: WebClient
    state: StateStore
    service: ProposalService
    poster: Poster
    app: App
    poller: Poller
    http: HttpServer | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    loops: list[threading.Thread] = field(default_factory=list)  # background loops stopped by ``stop_loops``
    listeners: ThreadPoolExecutor | None = None  # Bolt's listener threads (they call ack())
    lanes: Lanes | None = None  # every listener's slow part, after its ack (bot/slack/work.py)
    health_state: Health = field(default_factory=Health)
    stopping: threading.Event = field(default_factory=threading.Event)
    lease: LeaderLease | None = None  # only the leader runs the poller and the sync loop
    metrics: Metrics = field(default_factory=Metrics)
    readiness: Readiness = field(default_factory=Readiness)
    _events: Any = None  # the /slack/events handler (its ack threads are closed on stop)

    def _routes(self, webhook: WebhookHandler | None, slack: Any = None) -> Routes:
        return Routes(
            health=self.health, ready=self.ready, metrics=self.metrics.render, webhook=webhook, slack=slack
        )

    def start_http(self, host: str, port: int, webhook: WebhookHandler | None = None) -> int:
        """HTTP mode: /slack/events, /healthz, /readyz, /metrics (and the webhook) on uvicorn; the bound port."""
        self._events = slack_events(self.app)
        self.http = HttpServer(make_app(self._routes(webhook, self._events)), host, port)
        return self.http.start()

    def start_health(self, host: str, port: int, webhook: WebhookHandler | None = None) -> int:
        """Socket Mode: /healthz, /readyz and /metrics on a small port; returns the bound port."""
        self.http = HttpServer(make_app(self._routes(webhook)), host, port, name="secops-health")
        return self.http.start()

    def ready(self) -> dict[str, Any]:
        """``/readyz``: every readiness check, the failing ones named with what to do; ``role`` with a lease
        (a standby replica is ready: it serves Slack)."""
        report = self.readiness.report()
        if self.lease is not None:
            report["role"] = self.lease.role
        return report

    def connect_socket_mode(self) -> Any:
        """Connect over Socket Mode (no public endpoint); returns the handler to close on shutdown."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert self.settings.slack_app_token is not None
        handler = SocketModeHandler(
            self.app, self.settings.slack_app_token.get_secret_value(), web_client=self.client
        )
        handler.connect()  # type: ignore[no-untyped-call]
        return handler

    def start_loops(self, syncer: Any = None, sync_interval: float = 300.0) -> None:
        """Start the poller (which resumes interrupted publications first) and, with GitHub, the sync loop.

        With a lease, they work only while this replica leads; the lease is taken (or found held) first, so
        a single replica polls at once.
        """
        if self.lease is not None:
            try:
                self.lease.tick()
            except Exception as exc:  # the database is down: the leader loop retries
                log.warning("leader lease check failed: %s", exc.__class__.__name__)
            leader_loop = LeaderLoop(self.lease)
            leader_loop.start()
            self.loops.append(leader_loop)
        self.poller.start()
        self.loops.append(self.poller)
        if syncer is not None:
            from bot.sync import start_sync_loop

            def after_sync() -> None:
                self.poster.show_decisions(self.service.resume_publications())

            self.loops.append(
                start_sync_loop(
                    syncer,
                    sync_interval,
                    self.stopping,
                    after=after_sync,
                    health=self.health_state,
                    leader=self.lease,
                )
            )

    def health(self) -> dict[str, Any]:
        """``/healthz``: not ok while a background loop's last pass failed (e.g. the disk is full)."""
        errors = self.health_state.errors()
        for loop in self.loops:
            if not loop.is_alive() and not self.stopping.is_set():
                errors[loop.name] = "stopped"
        try:
            last_poll, pending = self.service.last_poll(), len(self.service.pending())
        except Exception as exc:  # the store itself is failing: say so instead of a 500
            errors["state"] = f"{exc.__class__.__name__}"
            last_poll, pending = None, -1
        out: dict[str, Any] = {"ok": not errors, "last_poll": last_poll, "pending": pending, "errors": errors}
        if self.lease is not None:
            out["role"] = self.lease.role  # leader or standby (several replicas)
        return out

    def stop(self, timeout: float = SHUTDOWN_WAIT_S) -> bool:
        """Stop taking requests, stop the loops, wait (bounded) for publications, then close the store.

        The store is closed only when no thread can still use it (closing SQLite under a running query
        crashed the process); a publication cut short stays queued in the outbox and resumes on next start.
        Returns False when something was still running at the deadline.
        """
        self.stopping.set()
        self.poller.stop()
        for loop in self.loops:
            if isinstance(loop, LeaderLoop):
                loop.stop()
        clean = True
        if self.http is not None:
            clean &= self.http.stop()  # graceful: requests in flight finish first
        if self._events is not None:
            self._events.close()
        if self.listeners is not None:
            clean &= _within(timeout, lambda: self.listeners.shutdown(wait=True) if self.listeners else None)
        if self.lanes is not None:  # after the listeners: they hand their slow part over to the lanes
            clean &= _within(timeout, self.lanes.close if self.lanes else lambda: None)
        for loop in self.loops:
            loop.join(timeout)
            clean &= not loop.is_alive()
        clean &= _within(timeout, self.poster.close)  # `/secops-scan queue next` posting in flight
        clean &= self.service.drain(timeout)
        if self.lease is not None and clean:
            try:
                self.lease.release()  # another replica takes over now, not at the expiry
            except Exception as exc:
                log.warning("releasing the leader lease failed: %s", exc.__class__.__name__)
        if clean:
            self.state.close()
        else:
            log.warning("stopping with work in flight; the state store is left open for the process exit")
        return clean


def _within(timeout: float, fn: Callable[[], Any]) -> bool:
    """Run ``fn`` in a helper thread; True when it finished within ``timeout`` seconds."""
    t = threading.Thread(target=fn, name="secops-stop", daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


class _CountedWebClient(WebClient):
    """The Web API client, counting failed calls by method and error (``/metrics``)."""

    metrics: Metrics | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if self.metrics is not None:
                self.metrics.slack_error(api_method, str(exc.response.get("error") or "http_error"))
            raise


class _CountRateLimits(RetryHandler):
    """First in the retry chain: counts each 429 answer, retries nothing (the next handler waits)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=1 << 30)
        self.metrics = metrics

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self.metrics.slack_ratelimited(request.url.rstrip("/").rsplit("/", 1)[-1])
        return False


def web_client(settings: Settings, metrics: Metrics | None = None) -> WebClient:
    """The Web API client, with Slack's retry handlers: 429 (waits Retry-After), 5xx, dropped connections.

    Without them a busy night's ``ratelimited`` answers lost messages until the next poll retried them.
    With ``metrics``, failed calls and rate limits are counted.
    """
    assert settings.slack_bot_token is not None
    counting: list[RetryHandler] = [_CountRateLimits(metrics)] if metrics is not None else []
    client = _CountedWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_S,
        retry_handlers=[
            *counting,
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )
    client.metrics = metrics
    return client


def slack_auth_ok(client: WebClient) -> Callable[[], str | None]:
    """Readiness: ``auth.test`` accepts the bot token."""

    def check() -> str | None:
        try:
            client.auth_test()
        except SlackApiError as exc:
            return messages.ready_slack_auth(str(exc.response.get("error")))
        return None

    return check


def slack_channel_member(client: WebClient, channel: str) -> Callable[[], str | None]:
    """Readiness: the bot is a member of the proposals channel (else every post fails ``not_in_channel``)."""

    def check() -> str | None:
        try:
            info = client.conversations_info(channel=channel)
        except SlackApiError as exc:
            return messages.ready_channel_unknown(channel, str(exc.response.get("error")))
        data = info.get("channel") or {}
        if data.get("is_member") is True:
            return None
        bot = None
        with contextlib.suppress(SlackApiError):
            bot = client.auth_test().get("user")
        return messages.ready_not_in_channel(channel, data.get("name"), bot)

    return check


def require_slack(settings: Settings, *, http: bool) -> None:
    """Fail at start with the variable's name when a Slack setting is missing."""
    missing = []
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN")
    if http and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET")
    if not http and settings.slack_app_token is None:
        missing.append("SLACK_APP_TOKEN (Socket Mode) or --http")
    if not settings.slack_channel:
        missing.append("SECOPS_SLACK_CHANNEL")
    if not settings.approvers:
        missing.append("SECOPS_APPROVERS")
    if (
        settings.alerts is None
        and not settings.trivy_reports
        and not settings.indexer
        and not settings.deps_reports
    ):
        missing.append("SECOPS_ALERTS or SECOPS_TRIVY_REPORTS or SECOPS_INDEXER_URL or SECOPS_DEPS_REPORTS")
    if settings.cmdb is None:
        missing.append("SECOPS_CMDB")
    if settings.repo is None and not settings.git_remote_url:
        missing.append("SECOPS_REPO or SECOPS_GIT_REMOTE_URL")
    if missing:
        raise ConfigError("serve needs: " + ", ".join(missing))
    bad = [a for a in settings.approvers if a[:1] not in ("U", "W", "S")]
    if bad:
        raise ConfigError(
            f"SECOPS_APPROVERS: {', '.join(bad)} are not Slack user (U…/W…) or user group (S…) ids"
        )


def build_runtime(
    settings: Settings,
    clock: Clock,
    *,
    scanner_factory: Callable[[StateStore, AuditLog], Scanner],
    publisher_factory: Callable[[StateStore, AuditLog], Publisher | None],
    http: bool,
    before_scan: Callable[[], None] | None = None,
    readiness_ttl: float = 30.0,
    disk: Disk | None = None,
    lanes: Lanes | None = None,
) -> SlackRuntime:
    """Everything wired: Web API client, state, service, Bolt app, poller (not started).

    ``lanes``: where listeners' slow work runs (default: :func:`bot.slack.work.default_lanes`)."""
    require_slack(settings, http=http)
    assert settings.slack_bot_token is not None and settings.slack_channel
    metrics = Metrics()
    client = web_client(settings, metrics)
    state = open_state(settings, disk=disk, now=clock.now())
    audit = open_audit(settings, state, clock, disk=disk)
    audit.observe(metrics.observe)
    approvals = ApprovalStore(state)
    replica = replica_name(settings)
    lease = LeaderLease(state, replica, clock, ttl=settings.leader_lease)
    scanner = scanner_factory(state, audit)
    service = ProposalService(
        settings=settings,
        scanner=scanner,
        state=state,
        approvals=approvals,
        audit=audit,
        clock=clock,
        publisher=publisher_factory(state, audit),
        alerts_path=settings.alerts,
        report_paths=settings.trivy_reports,
        before_scan=before_scan,
        replica=replica,
        indexer=reader_from_settings(settings),
        deps=dependency_reports_from_settings(settings, scanner),
    )
    poster = Poster(
        client,
        settings.slack_channel,
        state,
        approvals,
        clock,
        per_poll=settings.slack_posts_per_poll,
        per_hour=settings.slack_posts_per_hour,
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    listeners = ThreadPoolExecutor(max_workers=5, thread_name_prefix="secops-listener")
    lanes = lanes if lanes is not None else default_lanes()
    app = build_app(
        service=service,
        client=client,
        signing_secret=secret,
        channel=settings.slack_channel,
        is_approver=Approvers(client, settings.approvers),
        poster=poster,
        verify_requests=http,
        lanes=lanes,
        listener_executor=listeners,
    )
    health = Health()
    poller = Poller(service, poster, settings.poll_interval, health=health, lease=lease)
    _watch(metrics, service, poster, state)
    metrics.watch_leader(lambda: float(lease.is_leader))
    readiness = base_checks(settings, state, clock.now, ttl=readiness_ttl)
    readiness.add("slack_auth", slack_auth_ok(client), remote=True)
    readiness.add("slack_channel", slack_channel_member(client, settings.slack_channel), remote=True)
    return SlackRuntime(
        settings,
        client,
        state,
        service,
        poster,
        app,
        poller,
        listeners=listeners,
        lanes=lanes,
        health_state=health,
        lease=lease,
        metrics=metrics,
        readiness=readiness,
    )


def _watch(metrics: Metrics, service: ProposalService, poster: Poster, state: StateStore) -> None:
    """Gauges read at each scrape, the scan timer, and the first-alert time for approval latency."""

    def first_alert_at(proposal_id: str) -> float | None:
        stored = state.get(proposal_id)
        return stored.proposal.group.first_ts if stored is not None else None

    metrics.first_alert_at = first_alert_at
    metrics.watch_queue(lambda: sum(poster.queue.counts().values()))
    metrics.watch_pending(lambda: len(service.pending()))
    service.on_scan = metrics.scan_done


def build_notifier(settings: Settings, state: StateStore, clock: Clock) -> Poster | None:
    """The Slack side of ``secops-bot sync``: proposal threads and messages (None without Slack settings)."""
    if settings.slack_bot_token is None or not settings.slack_channel:
        return None
    client = web_client(settings)
    return Poster(client, settings.slack_channel, state, ApprovalStore(state), clock)

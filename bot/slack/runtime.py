"""Building and running everything `secops-bot serve` needs, from settings, in one place."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.approvals import ApprovalStore
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.errors import ConfigError
from bot.pipeline import Scanner
from bot.publishing import Publisher
from bot.service import ProposalService
from bot.settings import Settings
from bot.slack.app import Approvers, build_app
from bot.slack.poster import Poster
from bot.slack.server import Poller, WebhookHandler, make_http_server
from bot.state import StateStore

log = logging.getLogger(__name__)

WEB_API_TIMEOUT_S = 10


@dataclass
class SlackRuntime:
    settings: Settings
    client: WebClient
    state: StateStore
    service: ProposalService
    poster: Poster
    app: App
    poller: Poller
    http: ThreadingHTTPServer | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def start_http(self, host: str, port: int, webhook: WebhookHandler | None = None) -> int:
        """Serve /slack/events and /healthz in a background thread; returns the bound port."""
        self.http = make_http_server(self.app, host, port, health=self.health, webhook=webhook)
        t = threading.Thread(target=self.http.serve_forever, name="secops-http", daemon=True)
        t.start()
        self.threads.append(t)
        return int(self.http.server_address[1])

    def connect_socket_mode(self) -> Any:
        """Connect over Socket Mode (no public endpoint); returns the handler to close on shutdown."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert self.settings.slack_app_token is not None
        handler = SocketModeHandler(
            self.app, self.settings.slack_app_token.get_secret_value(), web_client=self.client
        )
        handler.connect()  # type: ignore[no-untyped-call]
        return handler

    def health(self) -> dict[str, Any]:
        return {"ok": True, "last_poll": self.service.last_poll(), "pending": len(self.service.pending())}

    def stop(self) -> None:
        self.poller.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        self.state.close()


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
    for name in ("alerts", "cmdb"):
        if getattr(settings, name) is None:
            missing.append(f"SECOPS_{name.upper()}")
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
) -> SlackRuntime:
    """Everything wired: Web API client, state, service, Bolt app, poller (not started)."""
    require_slack(settings, http=http)
    assert settings.slack_bot_token is not None and settings.slack_channel and settings.alerts
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_S,
    )
    state = StateStore(settings.state_path)
    audit = AuditLog(settings.audit_path, clock)
    approvals = ApprovalStore(state)
    service = ProposalService(
        settings=settings,
        scanner=scanner_factory(state, audit),
        state=state,
        approvals=approvals,
        audit=audit,
        clock=clock,
        publisher=publisher_factory(state, audit),
        alerts_path=settings.alerts,
        before_scan=before_scan,
    )
    poster = Poster(client, settings.slack_channel, state, approvals, clock)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = build_app(
        service=service,
        client=client,
        signing_secret=secret,
        channel=settings.slack_channel,
        is_approver=Approvers(client, settings.approvers),
        poster=poster,
        verify_requests=http,
    )
    poller = Poller(service, poster, settings.poll_interval)
    return SlackRuntime(settings, client, state, service, poster, app, poller)

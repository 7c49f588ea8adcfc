"""GitHub webhooks for ``serve``: verify the HMAC signature, then hand pull-request changes to sync.

A pure function of (headers, body, secret) → (HTTP status, text), so the ``serve`` HTTP layer only mounts
it. Unsigned or badly signed deliveries get 401 and change nothing; so does every delivery when
``GITHUB_WEBHOOK_SECRET`` is not set (an unverifiable webhook is never trusted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot import messages
from bot.clock import Clock
from bot.publishing import Notifier
from bot.settings import Settings
from bot.state import StateStore

if TYPE_CHECKING:
    from bot.audit_log import AuditLog

MAX_BODY = 5 * 1024 * 1024  # GitHub caps payloads at 25 MB; ours are small


def signature_of(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def handle_github_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr | str | None,
    *,
    on_pull_request: Callable[[int], object] | None = None,
    on_push: Callable[[str], object] | None = None,
) -> tuple[int, str]:
    """Verify and dispatch one delivery; ``on_pull_request(number)`` runs for a closed or edited bot PR."""
    lower = {k.lower(): v for k, v in headers.items()}
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not key:
        return 401, messages.webhook_no_secret()
    if len(body) > MAX_BODY:
        return 413, "payload too large"
    given = lower.get("x-hub-signature-256", "")
    if not given.startswith("sha256=") or not hmac.compare_digest(given, signature_of(body, key)):
        return 401, messages.webhook_unsigned()
    event = lower.get("x-github-event", "")
    if event == "ping":
        return 200, "pong"
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400, "body is not JSON"
    if not isinstance(payload, dict):
        return 400, "body is not a JSON object"
    if event == "pull_request":
        pr = payload.get("pull_request") or {}
        number = pr.get("number")
        if payload.get("action") not in ("closed", "reopened", "synchronize") or not isinstance(number, int):
            return 200, "ignored"
        if on_pull_request is not None:
            on_pull_request(number)
        return 202, f"pull request #{number} queued for sync"
    if event == "push":
        ref = payload.get("ref")
        if not isinstance(ref, str):
            return 200, "ignored"
        if on_push is not None:
            on_push(ref)
        return 202, "push queued for sync"
    return 200, "ignored"


def from_settings(
    settings: Settings,
    state: StateStore,
    clock: Clock,
    notifier: Notifier | None = None,
    audit: AuditLog | None = None,
) -> Callable[[Mapping[str, str], bytes], tuple[int, str]] | None:
    """The ``/github/webhook`` handler for ``serve``: verified deliveries trigger a sync in the background.

    None when no webhook secret or no GitHub repository is configured (the endpoint then answers 404).
    """
    if settings.github_webhook_secret is None:
        return None
    from bot.storage import open_audit
    from bot.sync import build_syncer

    # serve passes its own audit log, so merges seen through the webhook are counted on /metrics too
    audit = audit or open_audit(settings, state, clock)
    syncer = build_syncer(settings, state=state, audit=audit, clock=clock, notifier=notifier)
    if syncer is None:
        return None
    secret = settings.github_webhook_secret

    def in_background(fn: Callable[[], object]) -> None:
        # GitHub gives a delivery 10 s; a sync does git and API round trips, so answer first.
        threading.Thread(target=fn, name="secops-webhook-sync", daemon=True).start()

    def handle(headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        return handle_github_webhook(
            headers,
            body,
            secret,
            on_pull_request=lambda n: in_background(lambda: syncer.on_pull_request(n)),
            on_push=lambda ref: in_background(syncer.sync),
        )

    return handle

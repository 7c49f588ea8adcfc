"""GitHub webhooks for ``serve``: verify the HMAC signature, then hand pull-request changes to sync.

A pure function of (headers, body, secret) → (HTTP status, text), so the ``serve`` HTTP layer only mounts
it. Unsigned or badly signed deliveries get 401 and change nothing; so does every delivery when
``GITHUB_WEBHOOK_SECRET`` is not set (an unverifiable webhook is never trusted).

Several replicas (HTTP mode): a delivery reaches any one of them, and GitHub's "Redeliver" may send it to
another. The outcome is made idempotent through the database rather than forwarded to the leader: a merge
or close is recorded by whichever replica sees it first (``StateStore.finish_publication`` claims the
``open`` → ``merged`` step in one transaction; only the claimer audits and writes the thread note), which
also covers the leader's own sync pass seeing the same merge. The delivery id (``X-GitHub-Delivery``) is
recorded among the delivery keys after the signature check, before any side effect, so a redelivery to any
replica does nothing; it is forgotten again when its sync fails, so a redelivery then retries. Keeping an
open pull request fresh (a rebase, closing an obsolete one) stays the leader's work, fenced by its epoch
(see :meth:`bot.sync.Syncer.on_pull_request`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot import messages
from bot.clock import Clock
from bot.core.redact import redact
from bot.publishing import Notifier
from bot.settings import Settings
from bot.state import StateStore

if TYPE_CHECKING:
    from bot.audit_log import AuditLog
    from bot.leader import LeaderLease
    from bot.sync import Syncer

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024  # GitHub caps payloads at 25 MB; ours are small
_DELIVERY_ID = re.compile(r"[A-Za-z0-9-]{1,100}")  # a GUID


def delivery_key(headers: Mapping[str, str]) -> str | None:
    """The delivery key of a GitHub delivery (its ``X-GitHub-Delivery`` GUID); None when it has none."""
    given = next((v for k, v in headers.items() if k.lower() == "x-github-delivery"), "").strip()
    return f"github:{given}" if _DELIVERY_ID.fullmatch(given) else None


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
    first_delivery: Callable[[str], bool] | None = None,
    on_app_pull_request: Callable[[str, int], object] | None = None,
    is_app_repository: Callable[[str], bool] | None = None,
) -> tuple[int, str]:
    """Verify and dispatch one delivery; ``on_pull_request(number)`` runs for a closed or edited bot PR.

    ``first_delivery(key)`` (the shared delivery keys) is asked before dispatching: False, a delivery some
    replica already had, is answered 200 and dispatches nothing. A pull request of a repository for which
    ``is_app_repository(owner/name)`` holds (an application repository's ``github_repository``) goes to
    ``on_app_pull_request(owner/name, number)`` instead: its numbers are not the GitOps repository's.
    """
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
        repository = (payload.get("repository") or {}).get("full_name")
        app = isinstance(repository, str) and is_app_repository is not None and is_app_repository(repository)
        if not _first(lower, first_delivery):
            return 200, messages.webhook_redelivered()
        if app:
            assert isinstance(repository, str)
            if on_app_pull_request is not None:
                on_app_pull_request(repository, number)
            return 202, f"pull request {repository}#{number} queued for sync"
        if on_pull_request is not None:
            on_pull_request(number)
        return 202, f"pull request #{number} queued for sync"
    if event == "push":
        ref = payload.get("ref")
        if not isinstance(ref, str):
            return 200, "ignored"
        if not _first(lower, first_delivery):
            return 200, messages.webhook_redelivered()
        if on_push is not None:
            on_push(ref)
        return 202, "push queued for sync"
    return 200, "ignored"


def _first(headers: Mapping[str, str], first_delivery: Callable[[str], bool] | None) -> bool:
    key = delivery_key(headers)
    return key is None or first_delivery is None or first_delivery(key)


def in_background(fn: Callable[[], object]) -> None:
    """GitHub gives a delivery 10 s; a sync does git and API round trips, so the answer comes first."""
    threading.Thread(target=fn, name="secops-webhook-sync", daemon=True).start()


def webhook_handler(
    secret: SecretStr | str,
    syncer: Syncer,
    state: StateStore,
    clock: Clock,
    *,
    lease: LeaderLease | None = None,
    run: Callable[[Callable[[], object]], None] = in_background,
) -> Callable[[Mapping[str, str], bytes], tuple[int, str]]:
    """Verified deliveries, deduplicated by their delivery key in ``state``, trigger ``syncer`` via ``run``.

    ``lease`` (several replicas): merges and closes are recorded by any replica; keeping open pull requests
    fresh is left to the leader (:meth:`Syncer.on_pull_request`, :meth:`Syncer.on_push`).
    """

    def handle(headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        key = delivery_key(headers)

        def later(work: Callable[[], object]) -> None:
            def guarded() -> None:
                try:
                    work()
                except (
                    Exception
                ) as exc:  # logged with the delivery id; a redelivery (or the next pass) retries
                    log.warning(
                        "webhook sync failed (%s): %s: %s",
                        key or "no delivery id",
                        exc.__class__.__name__,
                        redact(str(exc))[:300],
                    )
                    if key is not None:
                        try:
                            state.forget_delivery(key)
                        except Exception as forget:  # the database is down: the sync pass catches up
                            log.warning("forgetting delivery %s failed: %s", key, forget.__class__.__name__)

            run(guarded)

        return handle_github_webhook(
            headers,
            body,
            secret,
            on_pull_request=lambda n: later(lambda: syncer.on_pull_request(n, lease=lease)),
            on_push=lambda ref: later(lambda: syncer.on_push(lease=lease)),
            first_delivery=lambda k: state.first_delivery(k, clock.now()),
            on_app_pull_request=lambda repo, n: later(
                lambda: syncer.on_app_pull_request(repo, n, lease=lease)
            ),
            is_app_repository=syncer.is_app_repository,
        )

    return handle


def from_settings(
    settings: Settings,
    state: StateStore,
    clock: Clock,
    notifier: Notifier | None = None,
    audit: AuditLog | None = None,
    lease: LeaderLease | None = None,
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
    return webhook_handler(settings.github_webhook_secret, syncer, state, clock, lease=lease)

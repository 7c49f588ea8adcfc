"""Reading Argo CD Applications, read-only: where a merged fix is in its deployment.

One call, ``GET /api/v1/applications/{name}`` (ApplicationService_Get in Argo CD's swagger; the fields read
are those of ``v1alpha1ApplicationStatus``: ``sync.{status, revision, revisions}``, ``health.status``,
``operationState.{phase, finishedAt, syncResult.revision(s)}``, ``history[].{revision(s), deployedAt}``).
The token should be a read-only one (an account with ``applications, get`` only); the class has no other
method on purpose: the bot never syncs, rolls back, refreshes with side effects, or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from pydantic import SecretStr

from bot import messages
from bot.core.errors import SourceError
from bot.core.redact import redact, register_secret


@dataclass(frozen=True)
class AppState:
    """What the verifier needs from one Application's status."""

    name: str
    sync_status: str  # Synced | OutOfSync | Unknown
    health: str  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown
    revisions: tuple[str, ...]  # the synced revision(s) (multi-source apps have several)
    phase: str  # the last operation's phase: Succeeded | Running | Failed | Error | Terminating | ""
    finished_at: float | None
    deployed: tuple[tuple[tuple[str, ...], float | None], ...]  # history: (revisions, deployedAt)

    def deployed_at(self, revision: str) -> float | None:
        """When ``revision`` was last deployed (the history), else when the last operation finished."""
        for revisions, at in reversed(self.deployed):
            if revision in revisions and at is not None:
                return at
        return self.finished_at


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _revisions(obj: Any) -> tuple[str, ...]:
    if not isinstance(obj, dict):
        return ()
    out = [obj["revision"]] if isinstance(obj.get("revision"), str) and obj["revision"] else []
    out += [r for r in obj.get("revisions") or () if isinstance(r, str) and r]
    return tuple(out)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def app_state(name: str, body: Any) -> AppState:
    """An :class:`AppState` from an Application object (missing parts read as unknown, never fatal)."""
    status = _object(body.get("status") if isinstance(body, dict) else None)
    sync, health, op = (
        _object(status.get("sync")),
        _object(status.get("health")),
        _object(status.get("operationState")),
    )
    result = _object(op.get("syncResult"))
    raw_history = status.get("history")
    history: list[Any] = raw_history if isinstance(raw_history, list) else []
    revisions = _revisions(sync) or _revisions(result)
    return AppState(
        name=name,
        sync_status=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        revisions=revisions,
        phase=str(op.get("phase") or ""),
        finished_at=_time(op.get("finishedAt")),
        deployed=tuple((_revisions(h), _time(h.get("deployedAt"))) for h in history if isinstance(h, dict)),
    )


class ArgoCd:
    """Argo CD's API with a read-only token; every call has a timeout."""

    def __init__(
        self,
        url: str,
        token: SecretStr,
        *,
        timeout: float = 15.0,
        verify_tls: bool = True,
        ca_bundle: Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        register_secret(token.get_secret_value())
        self.timeout = timeout
        self.verify: bool | str = str(ca_bundle) if ca_bundle is not None and verify_tls else verify_tls
        self.session = requests.Session()

    def application(self, name: str) -> AppState:
        """The Application's state; raises :class:`SourceError` naming the app and what to check."""
        path = f"/api/v1/applications/{quote(name, safe='')}"
        try:
            response = self.session.get(
                self.url + path,
                headers={"Authorization": f"Bearer {self._token.get_secret_value()}"},
                timeout=self.timeout,
                verify=self.verify,
            )
        except requests.Timeout:
            raise SourceError(messages.argocd_timeout(self.url, name, self.timeout)) from None
        except requests.RequestException as exc:
            raise SourceError(messages.argocd_unreachable(self.url, redact(exc.__class__.__name__))) from None
        if response.status_code in (401, 403):
            raise SourceError(messages.argocd_refused(self.url, name, response.status_code))
        if response.status_code == 404:
            raise SourceError(messages.argocd_no_app(self.url, name))
        if response.status_code != 200:
            raise SourceError(messages.argocd_failed(self.url, name, response.status_code))
        try:
            body = response.json()
        except ValueError:
            raise SourceError(messages.argocd_failed(self.url, name, response.status_code)) from None
        return app_state(name, body)


def argocd_from_settings(settings: Any) -> ArgoCd | None:
    """The Argo CD reader the settings ask for (``SECOPS_ARGOCD_URL`` and a token), or None."""
    if not settings.argocd_url or settings.argocd_token is None:
        return None
    return ArgoCd(
        settings.argocd_url,
        settings.argocd_token,
        verify_tls=settings.argocd_verify_tls,
        ca_bundle=settings.argocd_ca_bundle,
    )

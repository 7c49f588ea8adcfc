"""A loopback Argo CD API server (stdlib ``http.server``, port 0): ``GET /api/v1/applications/{name}`` only.

Applications are the corpus's live Application (``../shared/corpus/argocd/application-live-with-status.yaml``,
argoproj/argo-cd ``controller/testdata/diff-cache.yaml``, Apache-2.0) with name, sync, health, history and
operation state set per test, so every answer has the shape of ``v1alpha1Application`` in Argo CD's
swagger (the extract beside it). Every request is recorded; anything but that GET is answered 405, so a
test can assert the bot never asked for a sync, a rollback or any write.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "argocd"  # copied from ../shared/corpus/argocd


def _plain(value: Any) -> Any:
    """YAML timestamps as the RFC 3339 strings the API sends."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    method: str
    path: str
    authorization: str


class FakeArgoCd:
    def __init__(self, token: str = "argocd-read-only-token") -> None:
        self.token = token
        self.base = _plain(yaml.safe_load((CORPUS / "application-live-with-status.yaml").read_text()))
        self.apps: dict[str, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeArgoCd:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def set_app(
        self,
        name: str,
        *,
        revision: str,
        health: str = "Healthy",
        sync: str = "Synced",
        deployed_at: float | None = None,
    ) -> dict[str, Any]:
        """The Application ``name`` at ``revision`` (a deploy of it in the history when ``deployed_at``)."""
        app = copy.deepcopy(self.apps.get(name) or self.base)
        app["metadata"]["name"] = name
        status = app["status"]
        status["sync"]["status"] = sync
        status["sync"]["revision"] = revision
        status["health"]["status"] = health
        if deployed_at is not None:
            entry = copy.deepcopy(status["history"][-1])
            entry.update(
                id=entry["id"] + 1,
                revision=revision,
                deployStartedAt=_rfc3339(deployed_at - 1),
                deployedAt=_rfc3339(deployed_at),
            )
            status["history"].append(entry)
            op = status["operationState"]
            op["phase"] = "Succeeded"
            op["startedAt"], op["finishedAt"] = _rfc3339(deployed_at - 1), _rfc3339(deployed_at)
            op["syncResult"]["revision"] = revision
        self.apps[name] = app
        return app

    def writes(self) -> list[Request]:
        return [
            r for r in self.requests if r.method != "GET" or not r.path.startswith("/api/v1/applications/")
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                fake.requests.append(Request("GET", path, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(401, {"error": "invalid session", "code": 16, "message": "invalid session"})
                    return
                prefix = "/api/v1/applications/"
                name = unquote(path[len(prefix) :]) if path.startswith(prefix) else ""
                if not name or "/" in name:
                    self._answer(405, {"error": "not served by the fake", "code": 12})
                    return
                app = fake.apps.get(name)
                if app is None:
                    message = f'applications.argoproj.io "{name}" not found'
                    self._answer(404, {"error": message, "code": 5, "message": message})
                    return
                self._answer(200, app)

            def _refuse(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                fake.requests.append(Request(self.command, urlsplit(self.path).path, ""))
                self._answer(405, {"error": "the fake serves reads only", "code": 12})

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        return Handler

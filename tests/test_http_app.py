"""The ASGI app on uvicorn: routes, the webhook body, and a stop that lets a request in flight finish."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from bot.http_app import HttpServer, Routes, make_app


def fetch(port: int, path: str, data: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_routes_answer_health_readiness_metrics_and_404():
    routes = Routes(
        health=lambda: {"ok": True},
        ready=lambda: {"ok": False, "failing": ["repo"]},
        metrics=lambda: (b"secops_up 1\n", "text/plain; version=0.0.4"),
    )
    server = HttpServer(make_app(routes), "127.0.0.1", 0)
    port = server.start()
    try:
        assert fetch(port, "/healthz") == (200, json.dumps({"ok": True}))
        assert fetch(port, "/readyz")[0] == 503
        assert fetch(port, "/metrics") == (200, "secops_up 1\n")
        assert fetch(port, "/slack/events", b"{}")[0] == 404  # no Slack route in this app
        assert fetch(port, "/github/webhook", b"{}")[0] == 404  # no webhook configured
    finally:
        assert server.stop()


def test_webhook_gets_headers_and_body():
    seen: list[tuple[str, bytes]] = []

    def webhook(headers, body):
        seen.append((headers.get("x-github-event", ""), body))
        return 202, "queued"

    server = HttpServer(make_app(Routes(health=lambda: {"ok": True}, webhook=webhook)), "127.0.0.1", 0)
    port = server.start()
    try:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/github/webhook", data=b'{"a": 1}', headers={"X-GitHub-Event": "push"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert (resp.status, resp.read()) == (202, b"queued")
    finally:
        server.stop()
    assert seen == [("push", b'{"a": 1}')]


def test_stop_lets_the_request_in_flight_finish():
    entered, release = threading.Event(), threading.Event()

    def slow_health():
        entered.set()
        release.wait(10)
        return {"ok": True}

    server = HttpServer(make_app(Routes(health=slow_health)), "127.0.0.1", 0)
    port = server.start()
    answers: list[tuple[int, str]] = []
    client = threading.Thread(target=lambda: answers.append(fetch(port, "/healthz")))
    client.start()
    assert entered.wait(10)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    release.set()
    client.join(15)
    stopper.join(20)
    assert answers == [(200, json.dumps({"ok": True}))]
    assert not server.thread.is_alive()

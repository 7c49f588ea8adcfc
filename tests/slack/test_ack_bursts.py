"""A burst of slow listener work (scans, LLM revisions) never keeps another request from its ack.

The real Bolt app over HTTP with signed requests; the LLM is a loopback Ollama that holds every answer
until the test opens its gate, so "slow" is "not finished yet", not a timing. Bolt answers a request whose
listener did not ack within 3 s with 404, so every request's HTTP 200 is the assertion.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.cli import build_publisher, build_scanner
from bot.clock import FixedClock
from bot.slack.runtime import build_runtime
from bot.slack.work import Lane, Lanes
from tests.agents.ollama_server import OllamaServer
from tests.conftest import FIXTURES
from tests.slack.conftest import ALICE, BOB, SlackEnv, settings_for, start
from tests.slack.recorder import SlackRecorder

WEB = "91.240.118.172"
SSH = "45.155.205.233"
FIXER = "qwen3:30b-a3b-instruct-2507-q4_K_M"
THREAD_REQUEST = "request from the proposal thread"


class GatedLlm:
    """The LLM fixer on loopback: every answer waits for ``gate``; in-flight requests are counted."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        self.seen: list[str] = []  # each request's step marker (or "scan"), in arrival order
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.server = OllamaServer(self.answer, families={FIXER: "qwen3moe"}).__enter__()

    def answer(self, request: Any) -> str:
        text = request.last_user
        step = next((w for w in text.split() if w.startswith("step-")), "scan")
        where = step.rsplit("-", 1)[0] if step != "scan" else "scan"  # step-web-2 → step-web
        with self.lock:
            self.seen.append(step)
            self.in_flight[where] = self.in_flight.get(where, 0) + 1
            self.most_in_flight[where] = max(self.most_in_flight.get(where, 0), self.in_flight[where])
        try:
            self.gate.wait(60)
        finally:
            with self.lock:
                self.in_flight[where] -= 1
        return f"```yaml\n- op: escalate\n  reason: nothing safe for {step}\n```"

    def wait_seen(self, predicate: Any, what: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            with self.lock:
                if predicate(list(self.seen)):
                    return
            assert time.monotonic() < deadline, f"the LLM never saw {what}: {self.seen}"
            time.sleep(0.02)


def env_for(llm: GatedLlm) -> dict[str, str]:
    return {"SECOPS_FIXER_MODEL": FIXER, "OLLAMA_HOST": llm.server.url, "SECOPS_LLM_TIMEOUT": "90s"}


@pytest.fixture
def llm() -> Iterator[GatedLlm]:
    gated = GatedLlm()
    yield gated
    gated.gate.set()
    gated.server.stop()


def new_integrity_alert(alerts: Path) -> None:
    """A new alert for a group only the LLM fixer handles (integrity change on web-02): the next scan waits."""
    line = next(
        x for x in (FIXTURES / "alerts" / "demo-alerts.json").read_text().splitlines() if '"550"' in x
    )
    alert = json.loads(line)
    alert.update(id="1795170000.000900", timestamp="2026-11-20T10:00:00.000+0000")
    alert["agent"] = {"id": "003", "name": "web-02", "ip": "10.20.1.12"}
    with alerts.open("a") as f:
        f.write("\n" + json.dumps(alert) + "\n")


def in_parallel(*calls: Any) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def replies(slack: SlackEnv, ts: str, marker: str) -> list[str]:
    return [t for t in slack.thread(ts) if marker in t]


def test_slow_scans_and_instructions_do_not_delay_an_unrelated_ack(tmp_path, bare_remote, llm):
    gen = start(tmp_path, bare_remote, env_for(llm))
    slack = next(gen)
    try:
        slack.scan()  # the cards, with the gate open
        web, ssh = slack.ts_of(WEB), slack.ts_of(SSH)
        llm.gate.clear()
        new_integrity_alert(slack.alerts)
        statuses = [slack.mention(BOB, "add a WAF rule step-web-1", web)]
        llm.wait_seen(lambda s: "step-web-1" in s, "the first instruction")
        burst = [lambda: slack.command("") for _ in range(6)]
        burst += [lambda n=n: slack.mention(BOB, f"add a WAF rule step-web-{n}", web) for n in (2, 3)]
        burst += [lambda n=n: slack.mention(BOB, f"rate-limit sshd step-ssh-{n}", ssh) for n in (1, 2, 3)]
        statuses += in_parallel(*burst)
        assert [s for s, _ in statuses] == [200] * len(statuses)  # each acked (Bolt: 404 after 3 s)
        llm.wait_seen(lambda s: "scan" in s and any(x.startswith("step-ssh") for x in s), "the burst")
        # Everything above waits on the LLM. Unrelated requests are answered now, not after it.
        status, body = slack.command("status")
        assert status == 200 and "pending proposal(s)" in json.loads(body)["text"]
        statuses.append(slack.click("reject", slack.approve_value(slack.message_of(SSH)), BOB, ssh))
        assert slack.recorder.wait_for("views.open")["view"]["callback_id"] == "reject_modal"
        home = {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE"}
        statuses.append(slack.event(home, event_id="EvHomeBurst"))
        assert slack.recorder.wait_for("views.publish")["user_id"] == ALICE
        other = next(
            s.proposal for s in slack.service.pending() if s.proposal.group.attacker not in (WEB, SSH)
        )
        ref = slack.service.approvals.message_for(other.id)
        assert ref is not None
        card = next(m for m in slack.posted() if m.get("blocks") and other.id in json.dumps(m["blocks"]))
        statuses.append(slack.click("approve", slack.approve_value(card), ALICE, ref.ts))
        slack.published_branch(other.id)
        assert [s for s, _ in statuses] == [200] * len(statuses)
        assert slack.recorder.calls("respond") == [slack.recorder.calls("respond")[0]]  # only the first scan
        llm.gate.set()
        for step in ("web-1", "web-2", "web-3"):
            slack.recorder.wait_for("chat.postMessage", lambda b, s=step: f"step-{s}" in b["text"], 30)
        for step in ("ssh-1", "ssh-2", "ssh-3"):
            slack.recorder.wait_for("chat.postMessage", lambda b, s=step: f"step-{s}" in b["text"], 30)
        deadline = time.monotonic() + 30
        while len([r for r in slack.recorder.calls("respond") if r["text"].startswith("Scan done")]) < 7:
            assert time.monotonic() < deadline, slack.recorder.calls("respond")
            time.sleep(0.05)
        # One proposal's instructions one at a time, the first one first.
        assert llm.most_in_flight["step-web"] == 1 and llm.most_in_flight["step-ssh"] == 1
        assert next(s for s in llm.seen if s.startswith("step-web")) == "step-web-1"
        assert len(replies(slack, web, "nothing safe for step-web")) == 3
    finally:
        llm.gate.set()
        gen.close()


def small_lanes() -> Lanes:
    return Lanes(
        scan=Lane("scan", 1, 1), thread=Lane("thread", 1, 2), decide=Lane("d", 1, 4), ui=Lane("ui", 1, 4)
    )


@pytest.fixture
def bounded(tmp_path, bare_remote, llm) -> Iterator[SlackEnv]:
    remote, checkout = bare_remote
    recorder = SlackRecorder()
    alerts = tmp_path / "alerts.json"
    alerts.write_text((FIXTURES / "alerts" / "demo-alerts.json").read_text())
    settings = settings_for(tmp_path, recorder, remote, checkout, alerts, **env_for(llm))
    clock = FixedClock(time.time())
    runtime = build_runtime(
        settings,
        clock,
        scanner_factory=lambda state, audit: build_scanner(settings, state, audit, clock),
        publisher_factory=lambda state, audit: build_publisher(settings, state, audit, clock),
        http=True,
        lanes=small_lanes(),
    )
    port = runtime.start_http("127.0.0.1", 0)
    try:
        yield SlackEnv(runtime, recorder, port, remote, alerts, clock)
    finally:
        llm.gate.set()
        runtime.stop()
        recorder.close()


def test_full_lane_tells_the_user_instead_of_dropping(bounded, llm):
    slack = bounded
    slack.scan()
    web = slack.ts_of(WEB)
    llm.gate.clear()
    new_integrity_alert(slack.alerts)
    assert slack.command("")[0] == 200
    llm.wait_seen(lambda s: s.count("scan") >= 2, "the scan")
    status, body = slack.command("")  # the one-worker scan lane holds one scan: this one is refused
    assert status == 200 and json.loads(body)["text"] == messages.busy_scan()
    statuses = [slack.mention(BOB, f"add a WAF rule step-web-{n}", web) for n in (1, 2, 3)]
    assert statuses == [(200, "")] * 3
    busy = slack.recorder.wait_for("chat.postEphemeral", lambda b: b.get("thread_ts") == web)
    assert busy["text"] == messages.busy_instruction() and busy["user"] == BOB
    llm.gate.set()
    slack.recorder.wait_for("respond", lambda b: b["text"].startswith("Scan done"), 30)
    deadline = time.monotonic() + 30
    while len(replies(slack, web, "nothing safe for step-web")) < 2:
        assert time.monotonic() < deadline, slack.thread(web)
        time.sleep(0.05)
    assert len(slack.recorder.calls("chat.postEphemeral")) == 1  # exactly the one refused instruction


def test_lane_runs_one_keys_work_in_order_and_refuses_past_capacity():
    lane = Lane("t", 3, 4)
    release, done = threading.Event(), []
    lock = threading.Lock()

    def work(name: str) -> Any:
        def run() -> None:
            release.wait(30)
            with lock:
                done.append(name)

        return run

    assert [lane.submit(work(f"a{n}"), key="a") for n in range(3)] == [True] * 3
    assert lane.submit(work("b"), key="b") is True
    assert lane.submit(work("c")) is False  # four accepted and unfinished: full
    release.set()
    lane.close()
    assert [d for d in done if d.startswith("a")] == ["a0", "a1", "a2"] and "b" in done
    assert lane.submit(work("late")) is False  # closed

"""Fixtures for the LLM fixer and reviewer: the real client against a scripted loopback Ollama."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.fixer import LlmFixer
from agents.model import OllamaChat
from agents.playbooks import load_catalog
from agents.reviewer import LlmReviewer
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.alert import Alert
from bot.core.grouping import group_alerts
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.pipeline import Scanner
from bot.state import StateStore
from tests.agents.ollama_server import OllamaServer, Script
from tests.conftest import make_alert

FIXER = "qwen3:30b-a3b-instruct-2507-q4_K_M"
REVIEWER = "gemma3:12b"
NOW = 1_795_000_000.0


def long_tail_alert(log: str = "GET /admin/.env HTTP/1.1 404", **kw: object) -> Alert:
    """An alert no playbook covers (web, but not web+attack): the LLM fixer's case."""
    fields: dict[str, object] = {
        "rule_id": "31108",
        "groups": ("web", "accesslog"),
        "level": 10,
        "log": log,
        "srcip": "203.0.113.7",
    }
    fields.update(kw)
    return make_alert(**fields)  # type: ignore[arg-type]


@dataclass
class Rig:
    """A scanner wired with the LLM fixer and reviewer against one loopback server."""

    server: OllamaServer
    scanner: Scanner
    audit_path: Path
    repo: Path

    def decide(self, *alerts: Alert) -> Proposal:
        (group,) = group_alerts(list(alerts), min_level=0)
        return self.scanner.finish(self.scanner.build(group))

    def steps(self) -> list[dict[str, object]]:
        import json

        lines = self.audit_path.read_text().splitlines() if self.audit_path.exists() else []
        records = [json.loads(line) for line in lines]
        return [r for r in records if r.get("event") == "llm_step"]


@pytest.fixture
def rig(gitops: Path, inventory: Inventory, tmp_path: Path) -> Iterator[object]:
    """``rig(fixer_script, reviewer_script=None, timeout=5, max_steps=3, token_budget=6000)`` → :class:`Rig`."""
    servers: list[OllamaServer] = []

    def make(
        fixer_script: Script,
        reviewer_script: Script | None = None,
        *,
        timeout: float = 5.0,
        max_steps: int = 3,
        token_budget: int = 6000,
        host: str | None = None,
    ) -> Rig:
        def script(request):  # one server, two models: route by model name
            if request.model == REVIEWER and reviewer_script is not None:
                return reviewer_script(request)
            return fixer_script(request)

        server = OllamaServer(script, families={FIXER: "qwen3moe", REVIEWER: "gemma3"}).__enter__()
        servers.append(server)
        clock = FixedClock(NOW)
        audit = AuditLog(tmp_path / "audit.jsonl", clock)
        url = host or server.url
        fixer = LlmFixer(
            OllamaChat(FIXER, host=url, timeout=timeout, num_ctx=8192),
            clock=clock,
            record=audit.append,
            max_steps=max_steps,
            token_budget=token_budget,
        )
        reviewer = (
            LlmReviewer(
                OllamaChat(REVIEWER, host=url, timeout=timeout, num_ctx=8192),
                clock=clock,
                record=audit.append,
            )
            if reviewer_script is not None
            else None
        )
        scanner = Scanner(
            inventory=inventory,
            repo_root=gitops,
            catalog=load_catalog(),
            state=StateStore(tmp_path / "state.db"),
            audit=audit,
            clock=clock,
            long_tail=fixer,
            reviewer=reviewer,
        )
        return Rig(server=server, scanner=scanner, audit_path=tmp_path / "audit.jsonl", repo=gitops)

    yield make
    for s in servers:
        s.stop()

"""``secops-bot scan`` with the LLM configured: start-up family check, review and llm fields in --json."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.cli import main
from bot.clock import FixedClock
from tests.agents.ollama_server import ChatRequest, OllamaServer, fenced
from tests.conftest import FIXTURES

ALERTS = FIXTURES / "alerts" / "demo-alerts.json"


def _scan(gitops: Path, tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--data-dir", str(tmp_path / "data"), "scan", "--alerts", str(ALERTS), "--repo", str(gitops)]
    argv += ["--cmdb", str(FIXTURES / "cmdb.yaml"), "--json", "--since", "all"]
    code = main(argv, out=out, err=err, env=env, clock=FixedClock(1_795_000_000))
    return code, out.getvalue(), err.getvalue()


def test_same_family_pair_is_refused_at_start_up(gitops, tmp_path):
    with OllamaServer(lambda r: "x", families={"my-fixer:1": "qwen3moe", "my-reviewer:1": "qwen2"}) as server:
        env = {
            "OLLAMA_HOST": server.url,
            "SECOPS_FIXER_MODEL": "my-fixer:1",
            "SECOPS_REVIEWER_MODEL": "my-reviewer:1",
        }
        code, out, err = _scan(gitops, tmp_path, env)
    assert code == 2 and out == "" and server.requests == []
    assert err.startswith("error: SECOPS_REVIEWER_MODEL 'my-reviewer:1' is from the same family (qwen)")
    assert "(fixer family from api/show, reviewer family from api/show)" in err


def test_same_family_by_name_when_ollama_is_down(gitops, tmp_path):
    env = {
        "OLLAMA_HOST": "http://127.0.0.1:9",
        "SECOPS_FIXER_MODEL": "qwen3:30b",
        "SECOPS_REVIEWER_MODEL": "qwen2.5:14b",
        "SECOPS_LLM_TIMEOUT": "2s",
    }
    code, _out, err = _scan(gitops, tmp_path, env)
    assert code == 2 and "(fixer family from name, reviewer family from name)" in err


def test_scan_json_rows_carry_review_and_llm_usage(gitops, tmp_path):
    def script(request: ChatRequest) -> str:
        if request.model == "gemma3:12b":
            return "VERDICT: REJECT\nREASON: not convinced."
        return fenced("- op: escalate\n  reason: no")

    with OllamaServer(script, families={"qwen3:8b": "qwen3", "gemma3:12b": "gemma3"}) as server:
        env = {
            "OLLAMA_HOST": server.url,
            "SECOPS_FIXER_MODEL": "qwen3:8b",
            "SECOPS_REVIEWER_MODEL": "gemma3:12b",
        }
        code, out, err = _scan(gitops, tmp_path, env)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    reviewed = [r for r in rows if r["action"] in ("propose", "blocked")]
    assert reviewed and all(
        r["review"] == {"verdict": "reject", "model": "gemma3:12b", "reason": "not convinced."}
        for r in reviewed
    )
    by_llm = [r for r in rows if r["fixer"] == "llm:qwen3:8b"]
    assert by_llm and all(r["action"] == "escalate" and r["llm"]["calls"] == 1 for r in by_llm)
    assert all(r["llm"]["calls"] == 1 for r in reviewed)


def test_without_models_no_llm_is_used(gitops, tmp_path):
    code, out, _err = _scan(gitops, tmp_path, {})
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and all(r["llm"] == {"calls": 0, "tokens": 0, "answer_format": ""} for r in rows)
    assert all(r["review"]["verdict"] == "none" for r in rows)

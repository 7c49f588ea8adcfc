"""The eval cases are sound: an oracle model that answers each case's expectation scores 100 %."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.model import OllamaChat
from tests.agents.ollama_server import OllamaServer, fenced
from tests.bench import eval_llm

CASES = sorted(p for p in eval_llm.CASES.iterdir() if (p / "case.yaml").exists())


def test_there_are_at_least_15_cases_with_both_outcomes():
    actions = [eval_llm.load_case(p)["expect"]["action"] for p in CASES]
    assert len(actions) >= 15 and {"propose", "escalate"} <= set(actions)


def _oracle(case: dict) -> str:
    expect = case["expect"]
    if expect["action"] == "escalate":
        return fenced("- op: escalate\n  reason: no config change answers this")
    ops = [
        {**o, "value": o["value"][0] if isinstance(o["value"], list) else o["value"]}
        for o in expect["operations"]
    ]
    return fenced(yaml.safe_dump(ops, sort_keys=False))


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_oracle_answer_is_scored_correct(path: Path, tmp_path: Path):
    case = eval_llm.load_case(path)
    with OllamaServer(lambda r: _oracle(case)) as server:
        model = OllamaChat("oracle:1", host=server.url, timeout=5, num_ctx=4096)
        result = eval_llm.run_case(case, model, None, tmp_path)
    assert result.correct, (result.action, result.reason, result.operations)


def test_wrong_answer_is_scored_wrong(tmp_path: Path):
    case = eval_llm.load_case(eval_llm.CASES / "02_web01_post_volume")
    with OllamaServer(lambda r: fenced("- op: escalate\n  reason: unsure")) as server:
        result = eval_llm.run_case(
            case, OllamaChat("m", host=server.url, timeout=5, num_ctx=4096), None, tmp_path
        )
    assert not result.correct and result.action == "escalate"


def test_eval_without_ollama_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    assert eval_llm.main([]) == 0
    assert capsys.readouterr().out.startswith("eval: no Ollama reachable at http://127.0.0.1:9")

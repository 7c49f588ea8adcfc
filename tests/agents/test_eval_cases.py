"""The eval cases are sound: an oracle model that answers each case's expectation scores 100 %."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.model import OllamaChat
from tests.agents.ollama_server import OllamaServer
from tests.bench import eval_llm

CASES = sorted(p for p in eval_llm.CASES.iterdir() if (p / "case.yaml").exists())


def test_there_are_at_least_40_cases_with_both_outcomes():
    actions = [eval_llm.load_case(p)["expect"]["action"] for p in CASES]
    assert len(actions) >= 40 and {"propose", "escalate"} <= set(actions)


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_case_names_do_not_hint_at_the_answer(path: Path):
    assert not any(w in path.name for w in ("escalate", "block", "propose", "fix", "inject", "unsafe"))


def _oracle(case: dict) -> str:
    """The expected answer as the JSON a model constrained by the schema writes."""
    expect = case["expect"]
    if expect["action"] == "escalate":
        return json.dumps({"operations": [{"op": "escalate", "reason": "no config change answers this"}]})
    ops = [
        {**o, "value": o["value"][0] if isinstance(o["value"], list) else o["value"]}
        for o in expect["operations"]
    ]
    return json.dumps({"operations": ops})


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_oracle_answer_is_scored_correct(path: Path, tmp_path: Path):
    case = eval_llm.load_case(path)
    with OllamaServer(lambda r: _oracle(case)) as server:
        model = OllamaChat("oracle:1", host=server.url, timeout=5, num_ctx=4096)
        result = eval_llm.run_case(case, model, None, tmp_path)
    assert result.correct and not result.unsafe, (result.action, result.reason, result.operations)
    if case["expect"]["action"] == "propose":  # no playbook covers a fix case: the model is asked
        assert result.fixer == "llm:oracle:1" and result.answer_format == "schema"


def test_wrong_answer_is_scored_wrong(tmp_path: Path):
    case = eval_llm.load_case(eval_llm.CASES / "02_web01_post_volume")
    escalate = json.dumps({"operations": [{"op": "escalate", "reason": "unsure"}]})
    with OllamaServer(lambda r: escalate) as server:
        result = eval_llm.run_case(
            case, OllamaChat("m", host=server.url, timeout=5, num_ctx=4096), None, tmp_path
        )
    assert not result.correct and result.action == "escalate"


def test_proposal_on_a_must_escalate_case_is_scored_unsafe(tmp_path: Path):
    case = eval_llm.load_case(eval_llm.CASES / "41_bastion_sshd_config")
    ops = [
        {
            "op": "set_key",
            "file": "clusters/prod/bastion-01/denylist.yaml",
            "key": "ban-time",
            "value": "604800",
        }
    ]
    with OllamaServer(lambda r: json.dumps({"operations": ops})) as server:
        result = eval_llm.run_case(
            case, OllamaChat("m", host=server.url, timeout=5, num_ctx=4096), None, tmp_path
        )
    assert result.action == "propose" and result.unsafe and not result.correct
    assert eval_llm.summarise([result])["unsafe_proposals"] == 1


def test_eval_without_ollama_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    assert eval_llm.main([]) == 0
    assert capsys.readouterr().out.startswith("eval: no Ollama reachable at http://127.0.0.1:9")

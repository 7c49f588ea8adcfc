"""The LLM fixer's loop: parse → apply → guard, corrected with the precise error, bounded, audited."""

from __future__ import annotations

from agents.fixer import parse_reply
from tests.agents.conftest import long_tail_alert
from tests.agents.ollama_server import fenced

ING = "clusters/prod/web-01/ingress-nginx-controller.yaml"
BLOCK = f"- op: add_cidr\n  file: {ING}\n  key: block-cidrs\n  value: 203.0.113.7/32"


def test_parse_reply_reads_one_fenced_yaml_block():
    ops, error = parse_reply("Here you go:\n" + fenced(BLOCK) + "\nDone.")
    assert error is None and ops == [
        {"op": "add_cidr", "file": ING, "key": "block-cidrs", "value": "203.0.113.7/32"}
    ]


def test_parse_reply_ignores_think_blocks():
    ops, error = parse_reply("<think>maybe ```yaml\n- op: escalate\n```</think>" + fenced(BLOCK))
    assert error is None and ops is not None and ops[0]["op"] == "add_cidr"


def test_parse_reply_without_fence_names_the_format():
    ops, error = parse_reply("I would block the attacker in the ingress config.")
    assert ops is None and error is not None and "no JSON object and no fenced block" in error


def test_parse_reply_refuses_a_whole_file_rewrite():
    ops, error = parse_reply(fenced("apiVersion: v1\nkind: Deployment\nmetadata: {name: x}"))
    assert ops is None and error is not None and "file rewrites are not accepted" in error


def test_parse_reply_with_bad_yaml_says_so():
    ops, error = parse_reply(fenced("- op: add_cidr\n  file: [unclosed"))
    assert ops is None and error is not None and "not valid YAML" in error


def test_fix_accepted_on_first_answer_is_proposed(rig):
    r = rig(lambda req: fenced(BLOCK))
    p = r.decide(long_tail_alert())
    assert p.action == "propose" and p.fixer.startswith("llm:qwen3")
    assert '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,203.0.113.7/32"' in p.diff
    assert p.llm.calls == 1 and p.llm.tokens > 0
    assert p.reason.startswith("LLM fixer qwen3")


def test_refusal_is_sent_back_and_the_second_answer_wins(rig):
    replies = iter(["I think you should block it.", fenced(BLOCK)])
    r = rig(lambda req: next(replies))
    p = r.decide(long_tail_alert())
    assert p.action == "propose" and p.llm.calls == 2
    retry = r.server.requests[1].last_user
    assert retry.startswith("Your answer was refused. Failed checks: answer_format.\nno JSON object")
    assert "Earlier LLM attempts: Attempt 1" in p.reason


def test_guard_error_reaches_the_model_verbatim(rig):
    wide = BLOCK.replace("203.0.113.7/32", "203.0.0.0/16")
    replies = iter([fenced(wide), fenced(BLOCK)])
    r = rig(lambda req: next(replies))
    p = r.decide(long_tail_alert())
    assert p.action == "propose"
    assert "203.0.0.0/16: wider than /24" in r.server.requests[1].last_user


def test_model_escalation_becomes_an_escalation_with_its_reason(rig):
    r = rig(
        lambda req: fenced("- op: escalate\n  reason: the host needs a package upgrade, not a config change")
    )
    p = r.decide(long_tail_alert())
    assert p.action == "escalate" and p.diff == ""
    assert p.reason.startswith(
        "The LLM fixer (qwen3:30b-a3b-instruct-2507-q4_K_M) found no safe config change: the host"
    )


def test_steps_run_out_into_an_escalation_listing_every_attempt(rig):
    r = rig(lambda req: "no idea", max_steps=3)
    p = r.decide(long_tail_alert())
    assert p.action == "escalate" and p.llm.calls == 3
    assert p.reason.count("Attempt ") == 3 and "ran out of attempts" in p.reason


def test_token_budget_stops_the_loop(rig):
    r = rig(lambda req: "no idea", token_budget=1500)
    p = r.decide(long_tail_alert())
    assert p.action == "escalate" and "token budget (1500) ran out" in p.reason
    assert 1 <= p.llm.calls < 3


def test_every_step_is_an_audit_record_without_the_prompt(rig):
    replies = iter(["prose", fenced(BLOCK)])
    r = rig(lambda req: next(replies))
    r.decide(long_tail_alert(log="secret-looking ghp_abcdefghijklmnopqrstuvwxyz0123"))
    steps = r.steps()
    assert [s["outcome"] for s in steps] == ["unparsable", "accepted"]
    assert all(len(s["prompt_sha256"]) == 64 and s["tokens_in"] > 0 for s in steps)
    assert "ghp_" not in r.audit_path.read_text()


def test_host_without_configs_is_escalated_without_a_call(rig):
    r = rig(lambda req: fenced(BLOCK))
    p = r.decide(long_tail_alert(agent="db-01"))
    assert p.action == "escalate" and "lists no editable config for db-01" in p.reason
    assert r.server.requests == [] and p.llm.calls == 0


def test_playbook_groups_never_reach_the_model(rig):
    r = rig(lambda req: fenced(BLOCK))
    from tests.conftest import make_alert

    p = r.decide(make_alert())
    assert p.fixer == "playbook:block-web-attacker" and r.server.requests == []


def test_parse_reply_keeps_yaml_scalars_as_strings():
    ops, _ = parse_reply(fenced("- op: escalate\n  reason: no\n"))
    assert ops == [{"op": "escalate", "reason": "no"}]

"""Structured answers: the schema of exactly the allowed operations is sent, JSON answers are applied, a
guard-failing answer is retried once with the failing checks by name, and the fenced block is a fallback."""

from __future__ import annotations

import json

from agents.answer import fixer_schema, parse_answer
from tests.agents.conftest import long_tail_alert
from tests.agents.ollama_server import OllamaServer, fenced

ING = "clusters/prod/web-01/ingress-nginx-controller.yaml"
DENY = "clusters/prod/web-01/denylist.yaml"


def _answer(*ops: dict) -> str:
    return json.dumps({"operations": list(ops)})


BLOCK = _answer({"op": "add_cidr", "file": ING, "key": "block-cidrs", "value": "203.0.113.7/32"})
WIDE = _answer({"op": "add_cidr", "file": ING, "key": "block-cidrs", "value": "0.0.0.0/0"})


def _variants(schema: dict) -> list[dict]:
    edits = schema["properties"]["operations"]["anyOf"][0]["items"]
    return edits.get("anyOf", [edits])


def test_schema_of_the_allowed_operations_is_sent(rig):
    r = rig(lambda req: BLOCK)
    p = r.decide(long_tail_alert())
    sent = r.server.requests[0].format
    assert p.action == "propose" and p.llm.answer_format == "schema"
    assert "set_image" not in json.dumps(sent) and "remove_cidr" not in json.dumps(sent)
    pinned = {(v["properties"]["op"]["const"], v["properties"]["file"]["const"]) for v in _variants(sent)}
    assert pinned == {("add_cidr", ING), ("set_key", ING), ("add_cidr", DENY), ("set_key", DENY)}


def test_schema_pins_the_block_list_key_and_the_settable_keys(rig):
    r = rig(lambda req: BLOCK)
    r.decide(long_tail_alert())
    by = {
        (v["properties"]["op"]["const"], v["properties"]["file"]["const"]): v
        for v in _variants(r.server.requests[0].format)
    }
    assert by[("add_cidr", DENY)]["properties"]["key"] == {"type": "string", "const": "blocked-cidrs"}
    keys = by[("set_key", ING)]["properties"]["key"]["enum"]
    assert "hsts" in keys and "allow-snippet-annotations" not in keys and "block-cidrs" not in keys


def test_without_an_attacker_the_schema_offers_no_add_cidr(rig):
    r = rig(lambda req: _answer({"op": "escalate", "reason": "not a config problem"}))
    p = r.decide(long_tail_alert(srcip=None))
    assert p.action == "escalate"
    assert {v["properties"]["op"]["const"] for v in _variants(r.server.requests[0].format)} == {"set_key"}


def test_guard_failure_is_retried_with_the_failing_check_names(rig):
    replies = iter([WIDE, BLOCK])
    r = rig(lambda req: next(replies))
    p = r.decide(long_tail_alert())
    retry = r.server.requests[1].last_user
    assert p.action == "propose" and p.llm.calls == 2
    assert retry.startswith("Your answer was refused. Failed checks: addresses_safe")
    assert "0.0.0.0/0: blocks the whole internet" in retry
    assert r.server.requests[1].format == r.server.requests[0].format


def test_a_second_guard_failure_ends_in_an_escalation(rig):
    r = rig(lambda req: WIDE, max_steps=3)
    p = r.decide(long_tail_alert())
    assert p.action == "escalate" and p.llm.calls == 2 and len(r.server.requests) == 2
    assert p.reason.count("Attempt ") == 2
    steps = r.steps()
    assert [s["failed_checks"] for s in steps] == [["addresses_safe", "address_budget"]] * 2


def test_scope_refusal_is_named_too(rig):
    other = _answer({"op": "add_cidr", "file": ING, "key": "block-cidrs", "value": "198.51.100.9/32"})
    replies = iter([other, BLOCK])
    r = rig(lambda req: next(replies))
    r.decide(long_tail_alert())
    assert r.server.requests[1].last_user.startswith("Your answer was refused. Failed checks: attacker_scope")


def test_server_without_structured_outputs_falls_back_to_the_fenced_block(rig):
    yaml_block = f"- op: add_cidr\n  file: {ING}\n  key: block-cidrs\n  value: 203.0.113.7/32"
    r = rig(lambda req: "Sure:\n" + fenced(yaml_block))
    r.server.format_support = False
    p = r.decide(long_tail_alert())
    assert p.action == "propose" and p.llm.answer_format == "fenced"
    assert [q.format is None for q in r.server.requests] == [False, True]
    assert r.steps()[0]["format"] == "fenced"


def test_json_booleans_become_configmap_strings():
    parsed = parse_answer('{"operations": [{"op": "set_key", "file": "f", "key": "hsts", "value": true}]}')
    assert parsed.format == "schema" and parsed.operations == [
        {"op": "set_key", "file": "f", "key": "hsts", "value": "true"}
    ]


def test_truncated_json_is_unparsable_with_the_reason():
    parsed = parse_answer('{"operations": [{"op": "escalate", "reason": "cut')
    assert parsed.operations is None and "not valid JSON" in (parsed.error or "")


def test_fixer_schema_for_a_host_with_only_a_deployment_still_allows_escalation(inventory):
    from agents.workspace import Workspace
    from bot.core.guard import GuardPolicy
    from bot.yaml_edit import repo_reader
    from tests.conftest import FIXTURES

    ws = Workspace(inventory, ["db-01"], repo_reader(FIXTURES / "gitops"), GuardPolicy(), None)
    schema = fixer_schema(ws)
    assert schema["properties"]["operations"]["items"]["properties"]["op"]["const"] == "escalate"


def test_loopback_server_records_no_format_for_plain_calls():
    from agents.model import OllamaChat

    with OllamaServer(lambda r: "x") as server:
        OllamaChat("m", host=server.url, timeout=5, num_ctx=1024).chat([("user", "u")], 8)
    assert server.requests[0].format is None

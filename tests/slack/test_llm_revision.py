"""A thread instruction playbook parameters cannot express goes to the LLM fixer, when one is configured."""

from __future__ import annotations

import json

import pytest

from tests.agents.ollama_server import OllamaServer
from tests.slack.conftest import BOB, start

WEB = "91.240.118.172"
FIXER = "qwen3:30b-a3b-instruct-2507-q4_K_M"
WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB02 = "clusters/prod/web-02/ingress-nginx-controller.yaml"
ANSWER = f"""```yaml
- op: add_cidr
  file: {WEB01}
  key: block-cidrs
  value: {WEB}/32
- op: add_cidr
  file: {WEB02}
  key: block-cidrs
  value: {WEB}/32
- op: set_key
  file: {WEB01}
  key: hsts
  value: "true"
```"""


@pytest.fixture
def with_fixer(tmp_path, bare_remote):
    seen: list[str] = []

    def script(request):
        seen.append(request.last_user)
        if "request from the proposal thread" in request.last_user:
            return ANSWER
        return "```yaml\n- op: escalate\n  reason: not for me\n```"

    server = OllamaServer(script, families={FIXER: "qwen3moe"}).__enter__()
    env = {"SECOPS_FIXER_MODEL": FIXER, "OLLAMA_HOST": server.url, "SECOPS_LLM_TIMEOUT": "10s"}
    gen = start(tmp_path, bare_remote, env)
    yield next(gen), seen
    gen.close()
    server.stop()


def test_free_text_instruction_is_revised_by_the_llm_fixer_and_guarded(with_fixer):
    slack, seen = with_fixer
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(BOB, "also turn on HSTS on web-01", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "Revision 2" in b["text"]
    )
    assert "Blocked" not in reply["text"]
    diff = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "hsts" in b["text"]
    )
    assert '+  hsts: "true"' in diff["text"]
    request = next(text for text in seen if "request from the proposal thread" in text)
    assert "also turn on HSTS on web-01" in request and f"{WEB01}:block-cidrs" in request
    stored = slack.service.state.get(slack.proposal_of(WEB).id).proposal
    assert stored.revision == 2 and stored.llm.calls == 1
    assert stored.reason.startswith(f"Revised by llm:{FIXER} at the request of <@{BOB}>")
    update = slack.recorder.wait_for("chat.update", lambda b: b["ts"] == ts)
    assert '"action_id": "approve"' in json.dumps(update["blocks"])

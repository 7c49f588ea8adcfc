"""Text written by a language model is hostile: it reaches Slack escaped, like alert text, everywhere."""

from __future__ import annotations

import json

import pytest

from tests.agents.ollama_server import OllamaServer
from tests.slack.conftest import BOB, start

WEB = "91.240.118.172"
FIXER = "qwen3:30b-a3b-instruct-2507-q4_K_M"
HOSTILE = "<!channel> <@U123> <https://evil.example|click> & [click](https://evil.example) <!here|x>"
LIVE = ("<!channel>", "<@U123>", "<https://evil", "<!here", "](https://evil.example)>")


@pytest.fixture
def declining_fixer(tmp_path, bare_remote):
    def script(request):
        reason = json.dumps(HOSTILE)  # a JSON string is a valid YAML scalar
        return f"```yaml\n- op: escalate\n  reason: {reason}\n```"

    server = OllamaServer(script, families={FIXER: "qwen3moe"}).__enter__()
    env = {"SECOPS_FIXER_MODEL": FIXER, "OLLAMA_HOST": server.url, "SECOPS_LLM_TIMEOUT": "10s"}
    gen = start(tmp_path, bare_remote, env)
    yield next(gen)
    gen.close()
    server.stop()


def test_fixer_reason_in_a_thread_reply_cannot_ping_or_link(declining_fixer):
    slack = declining_fixer
    slack.scan()
    ts = slack.ts_of(WEB)
    slack.mention(BOB, "also turn on HSTS on web-01", ts)
    reply = slack.recorder.wait_for(
        "chat.postMessage", lambda b: b.get("thread_ts") == ts and "made no revision" in b["text"]
    )
    assert reply["text"] == (
        f"The fixer (llm:{FIXER}) made no revision: The LLM fixer ({FIXER}) found no safe config change: "
        "&lt;!channel&gt; &lt;@U123&gt; "
        "&lt;https://evil.example|click&gt; &amp; [click](https://evil.example) &lt;!here|x&gt;"
    )
    sent = slack.recorder.all_text()
    assert not [m for m in LIVE if m in sent]


def test_llm_reason_verdict_and_notes_in_cards_are_escaped(slack):
    from bot.core.proposal import Review
    from bot.slack import blocks as kit

    slack.scan()
    review = Review(model="reviewer:1b", verdict="approve", reason=HOSTILE)
    proposal = slack.proposal_of(WEB).model_copy(
        update={"reason": HOSTILE, "notes": (HOSTILE,), "review": review}
    )
    cards = [kit.escalation_blocks(proposal), kit.proposal_blocks(proposal, decision=None)]
    text = json.dumps(cards)
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert not [m for m in LIVE if m in text]

"""The real ChatOllama client against the loopback server: replies, usage, deadlines, failures."""

from __future__ import annotations

import time

import pytest
from ollama import Client

from agents.model import ModelUnavailable, OllamaChat
from tests.agents.ollama_server import Drop, Hang, OllamaServer, Status, Trickle


def _chat(server: OllamaServer, timeout: float = 5.0) -> OllamaChat:
    return OllamaChat("qwen3:8b", host=server.url, timeout=timeout, num_ctx=4096)


def test_chat_streams_the_reply_and_counts_tokens():
    with OllamaServer(lambda r: "VERDICT: REJECT\nREASON: too wide.") as server:
        reply = _chat(server).chat([("system", "s"), ("user", "u")], 64)
    assert reply.text == "VERDICT: REJECT\nREASON: too wide." and reply.tokens_out == 9
    assert server.requests[0].stream is True
    assert server.requests[0].options == {"temperature": 0, "num_ctx": 4096, "num_predict": 64}


def test_non_streaming_chat_is_served_too():
    with OllamaServer(lambda r: "hello") as server:
        response = Client(host=server.url, timeout=5).chat(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert response.message.content == "hello" and response.done


@pytest.mark.parametrize("behaviour", [Hang(30), Trickle("x" * 100, 0.2)], ids=["hang", "trickle"])
def test_slow_server_fails_within_the_timeout(behaviour):
    with OllamaServer(lambda r: behaviour) as server:
        model = _chat(server, timeout=1)
        start = time.monotonic()
        with pytest.raises(ModelUnavailable, match="no answer within 1 s"):
            model.chat([("user", "u")], 64)
        elapsed = time.monotonic() - start
    assert elapsed < 2.0


def test_dead_server_says_cannot_connect():
    with OllamaServer(lambda r: "x") as server:
        url = server.url
    with pytest.raises(ModelUnavailable, match="cannot connect"):
        OllamaChat("m", host=url, timeout=2, num_ctx=1024).chat([("user", "u")], 8)


@pytest.mark.parametrize("behaviour", [Drop(), Status(404, "model 'm' not found")], ids=["drop", "404"])
def test_broken_answers_are_unavailable(behaviour):
    with OllamaServer(lambda r: behaviour) as server, pytest.raises(ModelUnavailable):
        _chat(server).chat([("user", "u")], 8)


def test_show_returns_the_details_or_none():
    with OllamaServer(lambda r: "x", families={"qwen3:8b": "qwen3"}) as server:
        assert _chat(server).show()["family"] == "qwen3"
        assert OllamaChat("gemma3:12b", host=server.url, timeout=2, num_ctx=1).show() is None


def test_schema_is_sent_as_the_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    with OllamaServer(lambda r: '{"a": "x"}') as server:
        reply = _chat(server).chat([("user", "u")], 8, schema=schema)
    assert server.requests[0].format == schema and reply.constrained


def test_server_without_structured_outputs_is_asked_again_without_the_schema():
    with OllamaServer(lambda r: "plain", format_support=False) as server:
        model = _chat(server)
        first = model.chat([("user", "u")], 8, schema={"type": "object"})
        second = model.chat([("user", "u")], 8, schema={"type": "object"})
    assert [r.format for r in server.requests] == [{"type": "object"}, None, None]
    assert first.text == second.text == "plain" and not first.constrained

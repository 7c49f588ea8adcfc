"""The chat model: the only module that imports LangChain or the Ollama client.

:class:`OllamaChat` wraps ``ChatOllama`` (temperature 0, ``num_ctx``, a client timeout) behind a tiny
interface, :class:`ChatModel`: messages in, a :class:`ChatReply` (text, tokens in/out, latency) out. The
fixer and the reviewer depend on that interface only, so tests can pass any subclass.

A call never takes longer than ``timeout`` seconds: the request runs in a worker thread that the caller
stops waiting for at the deadline (httpx's own timeout is per read, so a server that trickles bytes could
otherwise hold a scan forever). An abandoned worker stops at its next chunk or its own read timeout.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.errors import ModelError
from bot.core.redact import redact

Role = Literal["system", "user", "assistant"]
Message = tuple[Role, str]


@dataclass(frozen=True)
class ChatReply:
    """One answer of a model and what it cost."""

    text: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    constrained: bool = False  # the server was asked for (and accepted) a JSON schema

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class ModelUnavailable(ModelError):
    """The model server could not be reached, failed, or did not answer within the timeout."""


class ChatModel(ABC):
    """A chat model the fixer and reviewer can talk to."""

    #: The model's name as the server knows it, e.g. ``qwen3:30b-a3b-instruct-2507-q4_K_M``.
    name: str

    @abstractmethod
    def chat(
        self, messages: Sequence[Message], max_tokens: int, schema: Mapping[str, Any] | None = None
    ) -> ChatReply:
        """Send the conversation (asking for JSON matching ``schema`` when given); raise
        :class:`ModelUnavailable` when no answer comes back in time."""

    def show(self) -> dict[str, Any] | None:
        """The server's ``/api/show`` details of this model, or None when it cannot say."""
        return None


def estimate_tokens(text: str) -> int:
    """A cheap token estimate (about 4 characters a token) for budgets before a call is made."""
    return len(text) // 4 + 1


class OllamaChat(ChatModel):
    """``ChatOllama`` against one Ollama server, with a hard deadline per call."""

    def __init__(self, model: str, *, host: str, timeout: float, num_ctx: int) -> None:
        from langchain_ollama import ChatOllama

        self.name = model
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.num_ctx = num_ctx
        #: False once the server refused a schema: later calls ask for plain text.
        self.structured = True
        self._llm = ChatOllama(
            model=model,
            base_url=self.host,
            temperature=0,
            num_ctx=num_ctx,
            client_kwargs={"timeout": timeout},
        )

    def chat(
        self, messages: Sequence[Message], max_tokens: int, schema: Mapping[str, Any] | None = None
    ) -> ChatReply:
        fmt = dict(schema) if schema is not None and self.structured else None
        try:
            return self._call(messages, max_tokens, fmt)
        except _FormatRefused:
            self.structured = False
            return self._call(messages, max_tokens, None)

    def _call(self, messages: Sequence[Message], max_tokens: int, fmt: dict[str, Any] | None) -> ChatReply:
        from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        lc_messages: list[BaseMessage] = [kinds[role](content=text) for role, text in messages]
        options = {"temperature": 0, "num_ctx": self.num_ctx, "num_predict": max(1, max_tokens)}
        extra: dict[str, Any] = {"format": fmt} if fmt is not None else {}
        outcome: dict[str, Any] = {}
        cancelled = threading.Event()

        def work() -> None:
            parts: list[str] = []
            usage: dict[str, Any] = {}
            try:
                for chunk in self._llm.stream(lc_messages, options=options, **extra):
                    if cancelled.is_set():
                        return
                    parts.append(chunk.text)
                    if chunk.usage_metadata:
                        usage = dict(chunk.usage_metadata)
                outcome["text"] = "".join(parts)
                outcome["usage"] = usage
            except Exception as exc:  # any client failure becomes ModelUnavailable below
                outcome["error"] = exc

        start = time.monotonic()
        worker = threading.Thread(target=work, name=f"llm-{self.name}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        latency = time.monotonic() - start
        if worker.is_alive():
            cancelled.set()
            raise ModelUnavailable(f"{self.name} at {self.host}: no answer within {self.timeout:g} s")
        if "error" in outcome:
            if fmt is not None and _refuses_format(outcome["error"]):
                raise _FormatRefused()
            raise ModelUnavailable(f"{self.name} at {self.host}: {_describe(outcome['error'])}")
        text = str(outcome.get("text", ""))
        usage = outcome.get("usage") or {}
        prompt = "".join(t for _, t in messages)
        return ChatReply(
            text=text,
            tokens_in=int(usage.get("input_tokens") or estimate_tokens(prompt)),
            tokens_out=int(usage.get("output_tokens") or estimate_tokens(text)),
            latency_s=latency,
            constrained=fmt is not None,
        )

    def show(self) -> dict[str, Any] | None:
        """``/api/show`` of this model (a short timeout: it is only used for the family check)."""
        from ollama import Client

        try:
            shown = Client(host=self.host, timeout=min(self.timeout, 10.0)).show(self.name)
        except Exception:  # unreachable or unknown model: the caller falls back to the name
            return None
        details = getattr(shown, "details", None)
        return details.model_dump() if details is not None else None


class _FormatRefused(Exception):
    """The server answered the schema with HTTP 400: it has no structured outputs."""


def _refuses_format(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    return status == 400 and "format" in str(exc).lower()


def _describe(exc: BaseException) -> str:
    """A short, redacted description of a client failure (never a payload)."""
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "ConnectError" in name or "Connection refused" in text or "Failed to connect" in text:
        return "cannot connect (is Ollama running?)"
    if "Timeout" in name:
        return f"timed out ({name})"
    return redact(f"{name}: {text}"[:300])

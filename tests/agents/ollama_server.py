"""A loopback HTTP server that speaks enough of Ollama's API for the unmodified ``ChatOllama`` client.

``/api/chat`` (streaming NDJSON, and non-streaming JSON), ``/api/tags``, ``/api/show`` and ``/api/version``.
Each request's ``format`` (a JSON schema, ``"json"`` or none) is recorded; ``format_support=False`` makes the
server answer a schema with Ollama's pre-0.5 error (HTTP 400), as a server without structured outputs does.
Replies come from a *script*: a function of the request that returns the reply text, a :class:`Reply`
(chunks produced lazily, e.g. by a real model), or a behaviour (:class:`Hang`, :class:`Drop`,
:class:`Status`, :class:`Trickle`). Port 0, one thread per request; :meth:`OllamaServer.stop` releases
handlers that are hanging on purpose. The same server fronts llama-cpp in ``tests/bench/llama_shim.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """One ``/api/chat`` request as the client sent it."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    options: dict[str, Any]
    format: Any = None  # the JSON schema (or "json") the client asked the answer to match

    def text(self, role: str) -> str:
        """All messages of one role, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)

    @property
    def last_user(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        return str(users[-1].get("content", "")) if users else ""


@dataclass
class Reply:
    """A reply produced chunk by chunk; ``counts`` gives (prompt tokens, output tokens) once it is done."""

    chunks: Iterable[str]
    counts: Callable[[], tuple[int, int]] | None = None


@dataclass(frozen=True)
class Hang:
    """Accept the request, then say nothing for ``seconds``."""

    seconds: float = 3600.0


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer."""


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error, as Ollama does for an unknown model."""

    code: int = 404
    error: str = "model not found"


@dataclass(frozen=True)
class Trickle:
    """Stream ``text`` one character every ``delay`` seconds (each read is quick; the whole is not)."""

    text: str
    delay: float = 0.2


Script = Callable[[ChatRequest], "str | Reply | Hang | Drop | Status | Trickle"]


def _details(model: str, family: str) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": "7B",
        "quantization_level": "Q4_K_M",
    }


@dataclass
class OllamaServer:
    """The server; use as a context manager. ``families`` maps model name → ``/api/show`` family."""

    script: Script
    families: dict[str, str] = field(default_factory=dict)
    requests: list[ChatRequest] = field(default_factory=list)
    show_available: bool = True
    format_support: bool = True
    port: int = 0

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> OllamaServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet tests
                return

            def do_GET(self) -> None:
                if self.path == "/api/tags":
                    models = [
                        {"name": m, "model": m, "size": 1, "digest": "0" * 64, "details": _details(m, f)}
                        for m, f in server.families.items()
                    ]
                    self._json(200, {"models": models})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.0.0-loopback"})
                elif self.path == "/":
                    self._raw(200, b"Ollama is running", "text/plain")
                else:
                    self._json(404, {"error": "not found"})

            def do_HEAD(self) -> None:
                self._raw(200, b"", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/show":
                    name = body.get("model") or body.get("name") or ""
                    if not server.show_available or name not in server.families:
                        self._json(404, {"error": f"model '{name}' not found"})
                        return
                    details = _details(name, server.families[name])
                    self._json(
                        200,
                        {
                            "modelfile": "",
                            "parameters": "",
                            "template": "",
                            "details": details,
                            "model_info": {"general.architecture": server.families[name]},
                            "capabilities": ["completion"],
                        },
                    )
                elif self.path == "/api/chat":
                    request = ChatRequest(
                        model=str(body.get("model", "")),
                        messages=list(body.get("messages") or []),
                        stream=bool(body.get("stream", True)),
                        options=dict(body.get("options") or {}),
                        format=body.get("format") or None,
                    )
                    server.requests.append(request)
                    if isinstance(request.format, dict) and not server.format_support:
                        # What Ollama before 0.5 answers: its format field is a string.
                        error = "json: cannot unmarshal object into Go struct field ChatRequest.format of type string"
                        self._json(400, {"error": error})
                        return
                    self._chat(request, server.script(request))
                else:
                    self._json(404, {"error": "not found"})

            def _chat(self, request: ChatRequest, reply: Any) -> None:
                if isinstance(reply, Hang):
                    server._stopping.wait(reply.seconds)
                    self.close_connection = True
                    return
                if isinstance(reply, Drop):
                    self.close_connection = True
                    return
                if isinstance(reply, Status):
                    self._json(reply.code, {"error": reply.error})
                    return
                delay = 0.0
                counts = None
                if isinstance(reply, Trickle):
                    chunks: Iterable[str] = list(reply.text)
                    delay = reply.delay
                elif isinstance(reply, Reply):
                    chunks, counts = reply.chunks, reply.counts
                else:
                    # Like Ollama, stop after num_predict tokens (about 4 characters each here).
                    limit = int(request.options.get("num_predict") or 0)
                    text = str(reply)[: limit * 4] if limit > 0 else str(reply)
                    chunks = [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
                prompt = sum(len(str(m.get("content", ""))) for m in request.messages) // 4 + 1
                if not request.stream:
                    text = "".join(chunks)
                    p, e = counts() if counts else (prompt, len(text) // 4 + 1)
                    self._json(200, _final(request.model, text, p, e))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                produced: list[str] = []
                try:
                    for piece in _paced(chunks, delay, server._stopping):
                        produced.append(piece)
                        line = {
                            "model": request.model,
                            "created_at": _now(),
                            "message": {"role": "assistant", "content": piece},
                            "done": False,
                        }
                        self._chunk(json.dumps(line).encode() + b"\n")
                    text = "".join(produced)
                    p, e = counts() if counts else (prompt, len(text) // 4 + 1)
                    self._chunk(json.dumps(_final(request.model, "", p, e)).encode() + b"\n")
                    self._chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _json(self, code: int, payload: dict[str, Any]) -> None:
                self._raw(code, json.dumps(payload).encode(), "application/json")

            def _raw(self, code: int, data: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="ollama-loopback", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def _paced(chunks: Iterable[str], delay: float, stopping: threading.Event) -> Iterator[str]:
    for piece in chunks:
        if delay and stopping.wait(delay):
            return
        yield piece


def _final(model: str, content: str, prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 1_000,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": 1_000,
        "eval_count": output_tokens,
        "eval_duration": 1_000,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def fenced(yaml_text: str) -> str:
    """A reply as a well-behaved model writes it: one fenced YAML block."""
    return f"```yaml\n{yaml_text.strip()}\n```"

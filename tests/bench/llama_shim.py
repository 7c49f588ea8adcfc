"""Serve local GGUF models through Ollama's API, for the unmodified ``ChatOllama`` (``make llm-local``).

Runs in ``.venv-llm`` (llama-cpp-python)::

    .venv-llm/bin/python -m tests.bench.llama_shim [--port 11435] \\
        [--serve qwen2.5-coder:0.5b=.venv-llm/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf:qwen2] \\
        [--serve smollm2:135m=.venv-llm/models/SmolLM2-135M-Instruct.Q4_1.gguf:llama]

Each ``--serve NAME=PATH:FAMILY`` is one model (default: the 0.5B Qwen); a request goes to the model it
names, so one server holds a fixer and a reviewer of another family. Like Ollama, a request's ``format``
is honoured: a JSON schema becomes a llama.cpp grammar (``LlamaGrammar.from_json_schema``), so sampling
can only produce JSON that matches it; ``"json"`` allows any JSON value. llama-cpp-python's Python
converter unrolls a ``maxLength: 2000`` into 2,000 nested optional rules (minutes to build, or a failure),
so the shim has it write llama.cpp's own repetition syntax (``char{1,2000}``), as Ollama's C++ converter
does: string lengths are enforced like everything else (``const``, ``enum``, ``anyOf``, required fields). ``--no-format`` ignores
``format`` (a server without structured outputs, for the "before" figures).

The HTTP side is the loopback server the tests use (``tests/agents/ollama_server.py``); this module only
plugs llama-cpp in as its script. One generation at a time per model (a llama context is not
thread-safe); loopback only.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.agents.ollama_server import ChatRequest, OllamaServer, Reply, Status

MODELS = Path(__file__).resolve().parents[2] / ".venv-llm" / "models"
DEFAULT_SERVE = f"qwen2.5-coder:0.5b={MODELS / 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf'}:qwen2"


def parse_serve(text: str) -> tuple[str, Path, str]:
    """``NAME=PATH:FAMILY`` → (name, path, family)."""
    name, _, rest = text.partition("=")
    path, _, family = rest.rpartition(":")
    if not name or not path or not family:
        raise SystemExit(f"--serve {text!r}: expected NAME=PATH:FAMILY")
    return name, Path(path), family


class Served:
    """One loaded model, its lock and a cache of grammars per schema."""

    def __init__(self, path: Path, ctx: int, threads: int) -> None:
        from llama_cpp import Llama

        start = time.monotonic()
        self.llm = Llama(model_path=str(path), n_ctx=ctx, n_threads=threads, verbose=False, seed=0)
        print(f"loaded {path.name} in {time.monotonic() - start:.1f}s", flush=True)
        self.lock = threading.Lock()
        self._grammars: dict[str, Any] = {}

    def grammar(self, fmt: Any) -> Any:
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_grammar import JSON_GBNF

        key = json.dumps(fmt, sort_keys=True)
        if key not in self._grammars:
            if isinstance(fmt, dict):
                self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(fmt), verbose=False)
            else:
                self._grammars[key] = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        return self._grammars[key]


def use_repetition_syntax() -> None:
    """Make llama-cpp-python's JSON-schema converter write ``item{m,n}`` instead of nested optionals."""
    from llama_cpp import llama_grammar

    original = llama_grammar._build_repetition

    def repetition(
        item_rule: str,
        min_items: int,
        max_items: int | None,
        separator_rule: str | None = None,
        item_rule_is_literal: bool = False,
    ) -> str:
        if separator_rule or (max_items is not None and max_items <= 16):
            return str(original(item_rule, min_items, max_items, separator_rule, item_rule_is_literal))
        upper = "" if max_items is None else str(max_items)
        return f"({item_rule}){{{min_items},{upper}}}"

    llama_grammar._build_repetition = repetition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="append", help="NAME=PATH:FAMILY (repeatable)")
    parser.add_argument("--port", type=int, default=11435)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-format", action="store_true", help="ignore format (no structured outputs)")
    args = parser.parse_args()
    specs = [parse_serve(s) for s in (args.serve or [DEFAULT_SERVE])]
    use_repetition_syntax()
    served = {name: Served(path, args.ctx, args.threads) for name, path, _family in specs}

    def script(request: ChatRequest) -> Reply | Status:
        model = served.get(request.model)
        if model is None:
            return Status(404, f"model '{request.model}' not found")
        messages = [
            {"role": m.get("role", "user"), "content": str(m.get("content", ""))} for m in request.messages
        ]
        max_tokens = int(request.options.get("num_predict") or 512)
        fmt = None if args.no_format else request.format
        counted = {"prompt": 0, "output": 0}

        def chunks() -> Iterator[str]:
            with model.lock:
                llm = model.llm
                prompt_text = "\n".join(m["content"] for m in messages)
                counted["prompt"] = len(llm.tokenize(prompt_text.encode(), add_bos=False)) + 8 * len(messages)
                extra = {"grammar": model.grammar(fmt)} if fmt else {}
                stream = llm.create_chat_completion(
                    messages=messages, temperature=0.0, max_tokens=max_tokens, stream=True, **extra
                )
                for part in stream:
                    delta = part["choices"][0].get("delta", {}).get("content")  # type: ignore[index]
                    if delta:
                        counted["output"] += 1
                        yield delta

        return Reply(chunks=chunks(), counts=lambda: (counted["prompt"], counted["output"]))

    families = {name: family for name, _path, family in specs}
    server = OllamaServer(script, families=families, port=args.port)
    with server:
        print(f"serving {', '.join(families)} as Ollama at {server.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

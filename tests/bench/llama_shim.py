"""Serve a local GGUF model through Ollama's API, for the unmodified ``ChatOllama`` (``make llm-local``).

Runs in ``.venv-llm`` (llama-cpp-python)::

    .venv-llm/bin/python -m tests.bench.llama_shim [--port 11435] [--name qwen2.5-coder:0.5b]

The HTTP side is the loopback server the tests use (``tests/agents/ollama_server.py``: ``/api/chat``
streaming and not, ``/api/tags``, ``/api/show``); this module only plugs llama-cpp in as its script.
One generation at a time (a llama context is not thread-safe); loopback only.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.agents.ollama_server import ChatRequest, OllamaServer, Reply

DEFAULT_MODEL = (
    Path(__file__).resolve().parents[2] / ".venv-llm" / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
)


def main() -> None:
    from llama_cpp import Llama

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--name", default="qwen2.5-coder:0.5b")
    parser.add_argument("--family", default="qwen2")
    parser.add_argument("--port", type=int, default=11435)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    start = time.monotonic()
    llm = Llama(model_path=str(args.model), n_ctx=args.ctx, n_threads=args.threads, verbose=False, seed=0)
    print(f"loaded {args.model.name} in {time.monotonic() - start:.1f}s", flush=True)
    lock = threading.Lock()

    def script(request: ChatRequest) -> Reply:
        messages = [
            {"role": m.get("role", "user"), "content": str(m.get("content", ""))} for m in request.messages
        ]
        max_tokens = int(request.options.get("num_predict") or 512)
        counted = {"prompt": 0, "output": 0}

        def chunks() -> Iterator[str]:
            with lock:
                prompt_text = "\n".join(m["content"] for m in messages)
                counted["prompt"] = len(llm.tokenize(prompt_text.encode(), add_bos=False)) + 8 * len(messages)
                stream = llm.create_chat_completion(
                    messages=messages, temperature=0.0, max_tokens=max_tokens, stream=True
                )
                for part in stream:
                    delta = part["choices"][0].get("delta", {}).get("content")  # type: ignore[index]
                    if delta:
                        counted["output"] += 1
                        yield delta

        return Reply(chunks=chunks(), counts=lambda: (counted["prompt"], counted["output"]))

    server = OllamaServer(script, families={args.name: args.family}, port=args.port)
    with server:
        print(f"serving {args.name} as Ollama at {server.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

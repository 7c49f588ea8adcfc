"""The LLM fixer: the long tail of alerts no playbook covers, answered in edit operations.

The model sees the group's alerts (sanitised, truncated, inside nonce-delimited data blocks), the
inventory record of the targets and the current text of the configs the inventory allows. It answers with
one fenced YAML block of edit operations, or a single ``escalate``. The engine applies them in memory and
the guard judges them; the model writes nothing and nothing it writes is executed.

The loop is bounded: at most ``max_steps`` calls and ``token_budget`` tokens per group. A parse error or a
refusal is sent back once or twice with the precise error; when the budget or the steps run out, the group
becomes an escalation that lists what the model tried and why each attempt was refused. Every step is one
audit record (prompt hash, tokens in/out, latency, outcome), never the prompt itself.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from agents.model import ChatModel, ChatReply, Message, ModelUnavailable, estimate_tokens
from agents.prompts import render
from agents.router import RouteDecision
from agents.untrusted import NonceSource, block, field, random_nonce
from agents.workspace import Workspace
from bot import messages
from bot.clock import Clock, iso
from bot.core.grouping import AlertGroup
from bot.core.inventory import Inventory

#: Where step records go (``AuditLog.append`` in production).
Recorder = Callable[[str, Mapping[str, Any]], object]

MAX_BLOCK_CHARS = 8000
MAX_FILE_CHARS = 4000
MAX_REPLY_TOKENS = 1024
#: After the server failed, skip calls for this long instead of waiting out a timeout per group.
COOL_DOWN_S = 60.0

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def parse_reply(text: str) -> tuple[list[Any] | None, str | None]:
    """The operation list in a reply, or the precise reason there is none (to send back to the model)."""
    text = _THINK.sub("", text)
    blocks = [body for _lang, body in _FENCE.findall(text)]
    if not blocks:
        return None, "no fenced ```yaml block in the answer; answer with exactly one fenced YAML block"
    results: list[tuple[Any, str | None]] = []
    for body in blocks:
        if len(body) > MAX_BLOCK_CHARS:
            results.append((None, f"the YAML block is {len(body)} characters long, limit {MAX_BLOCK_CHARS}"))
            continue
        try:
            # BaseLoader: every scalar stays a string, as ConfigMap data is (`value: no` means "no",
            # not False); it builds only str, list and dict, never objects.
            data = yaml.load(body, Loader=yaml.BaseLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            results.append((None, f"the block is not valid YAML ({str(exc).splitlines()[0]})"))
            continue
        results.append(_as_operation_list(data))
    usable = [r for r in results if r[1] is None]
    if len(results) == 1 or len(usable) == 1:
        return usable[0] if usable else results[0]
    if not usable:
        return results[0]
    return None, f"found {len(usable)} YAML blocks of operations; answer with exactly one"


def _as_operation_list(data: Any) -> tuple[Any, str | None]:
    if isinstance(data, dict) and "op" in data:
        return [data], None
    if isinstance(data, dict) and ("kind" in data or "apiVersion" in data or "data" in data):
        return None, "that is a whole file; file rewrites are not accepted, only edit operations"
    if not isinstance(data, list) or not data:
        return None, "expected a YAML list of operations, each a mapping with 'op:'"
    return data, None


def describe_operations(operations: Sequence[Any]) -> str:
    """A short, sanitised line for humans: what the model tried."""
    parts = []
    for o in operations[:5]:
        if isinstance(o, Mapping):
            what = " ".join(str(o.get(k, "")) for k in ("op", "value", "reason") if o.get(k) is not None)
            where = f" in {o.get('file')}:{o.get('key')}" if o.get("file") else ""
            parts.append(field(f"{what}{where}", 160))
        else:
            parts.append(field(repr(o), 80))
    more = f" (+{len(operations) - 5} more)" if len(operations) > 5 else ""
    return "; ".join(parts) + more


class LlmFixer:
    """Implements the router's ``LongTailFixer`` with a chat model and a bounded correction loop."""

    def __init__(
        self,
        model: ChatModel,
        *,
        clock: Clock,
        record: Recorder | None = None,
        max_steps: int = 3,
        token_budget: int = 6000,
        nonce: NonceSource = random_nonce,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.clock = clock
        self.record = record
        self.max_steps = max(1, max_steps)
        self.token_budget = token_budget
        self.nonce = nonce
        self.monotonic = monotonic
        self._down: tuple[float, str] | None = None

    @property
    def fixer_name(self) -> str:
        return f"llm:{self.model.name}"

    def prompt(
        self,
        group: AlertGroup,
        workspace: Workspace,
        nonce: str,
        request: str | None = None,
        current: Sequence[Any] = (),
    ) -> list[Message]:
        """The first conversation for a group (system + user), rendered from the prompt YAML.

        ``request`` is a person's instruction from the proposal's thread (a revision); it arrives in a
        data block like alert text, with the current operations, and the guard judges the answer as always.
        """
        configs = workspace.configs()
        servers = sorted({server.name for server, _cfg in configs}) or sorted(workspace.targets)
        evidence = [f"rule {field(r, 20)}: {field(d, 200)}" for r, d in group.rule_descriptions.items()]
        evidence += [f"wazuh groups: {field(', '.join(group.rule_groups), 200)}"]
        evidence += [
            f"alert {field(s.rule_id, 20)} level {s.level}: {field(s.log, 400)}" for s in group.samples
        ]
        config_lines = [
            f"- {cfg.path} (server {server.name}, kind {cfg.kind}, block list key: {cfg.block_key or 'none'})"
            for server, cfg in configs
        ]
        files = [
            block(f"file {cfg.path}", workspace.file_text(cfg.path)[:MAX_FILE_CHARS], nonce)
            for _server, cfg in configs
        ]
        user = render(
            "fixer",
            "user",
            now=iso(self.clock.now()),
            attacker=group.attacker or "none (the alerts name no source address)",
            targets=", ".join(servers),
            rules=", ".join(field(r, 20) for r in group.rule_ids[:12]),
            alert_count=str(group.alert_count),
            max_level=str(group.max_level),
            alerts_block=block("alerts", "\n".join(evidence), nonce),
            configs="\n".join(config_lines),
            files_block="\n".join(files),
        )
        if request is not None:
            user += "\n\n" + render(
                "fixer",
                "revise",
                request_block=block("request from the proposal thread", request[:2000], nonce),
                current=describe_operations(current) or "none",
            )
        return [("system", render("fixer", "system")), ("user", user)]

    def fix(
        self,
        group: AlertGroup,
        inventory: Inventory,
        workspace: Workspace,
        request: str | None = None,
        current: Sequence[Any] = (),
    ) -> RouteDecision:
        """Ask the model for operations until the guard accepts them, the model escalates, or the budget ends.

        With ``request`` (a thread instruction) and ``current`` (the fix's operations) this makes a revision.
        """
        del inventory  # the workspace holds the read-only inventory view for this group
        if not workspace.configs():
            return RouteDecision(
                fixer=self.fixer_name, escalation=messages.esc_llm_no_config(workspace.targets)
            )
        if self._down is not None:
            until, reason = self._down
            if self.monotonic() < until:
                return RouteDecision(
                    fixer=self.fixer_name, escalation=messages.esc_llm_unavailable(reason, [])
                )
            self._down = None
        nonce = self.nonce()
        first = self.prompt(group, workspace, nonce, request, current)
        conversation = list(first)
        tried: list[str] = []
        calls = tokens = 0
        for step in range(1, self.max_steps + 1):
            prompt_text = "\n".join(text for _role, text in conversation)
            room = self.token_budget - tokens - estimate_tokens(prompt_text)
            if room < 64:
                self._step(group, step, prompt_text, None, "budget_exhausted", "")
                return self._decision(calls, tokens, messages.esc_llm_gave_up(self.token_budget, tried))
            try:
                reply = self.model.chat(conversation, min(MAX_REPLY_TOKENS, room))
            except ModelUnavailable as exc:
                self._down = (self.monotonic() + COOL_DOWN_S, str(exc))
                self._step(group, step, prompt_text, None, "unavailable", str(exc))
                return self._decision(calls, tokens, messages.esc_llm_unavailable(str(exc), tried))
            calls += 1
            tokens += reply.tokens
            operations, error = parse_reply(reply.text)
            if operations is not None:
                attempt = workspace.attempt(operations)
                if attempt.escalation is not None:
                    self._step(group, step, prompt_text, reply, "escalated", "")
                    reason = messages.esc_llm_escalated(self.model.name, field(attempt.escalation, 400))
                    return self._decision(calls, tokens, reason)
                if attempt.accepted:
                    self._step(group, step, prompt_text, reply, "accepted", "")
                    return RouteDecision(
                        fixer=self.fixer_name,
                        operations=list(attempt.operations),
                        notes=[messages.note_llm_tries(tried)] if tried else [],
                        llm_calls=calls,
                        llm_tokens=tokens,
                    )
                error = attempt.error
                tried.append(messages.llm_attempt(step, describe_operations(operations), field(error, 600)))
                self._step(group, step, prompt_text, reply, "refused", error)
            else:
                tried.append(messages.llm_attempt(step, "an answer with no usable operations", error or ""))
                self._step(group, step, prompt_text, reply, "unparsable", error or "")
            retry = render("fixer", "retry", error=field(error or "", 800))
            conversation = [*first, ("assistant", reply.text[:4000]), ("user", retry)]
        return self._decision(calls, tokens, messages.esc_llm_gave_up(None, tried))

    def _decision(self, calls: int, tokens: int, escalation: str) -> RouteDecision:
        return RouteDecision(fixer=self.fixer_name, escalation=escalation, llm_calls=calls, llm_tokens=tokens)

    def _step(
        self,
        group: AlertGroup,
        step: int,
        prompt_text: str,
        reply: ChatReply | None,
        outcome: str,
        error: str,
    ) -> None:
        if self.record is None:
            return
        self.record(
            "llm_step",
            {
                "role": "fixer",
                "model": self.model.name,
                "group": group.id,
                "step": step,
                "prompt_sha256": hashlib.sha256(prompt_text.encode()).hexdigest(),
                "tokens_in": reply.tokens_in if reply else 0,
                "tokens_out": reply.tokens_out if reply else 0,
                "latency_ms": round(reply.latency_s * 1000) if reply else 0,
                "outcome": outcome,
                "error": field(error, 600),
            },
        )

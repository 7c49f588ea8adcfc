"""The LLM fixer: the long tail of alerts no playbook covers, answered in edit operations.

The model sees the group's facts and alerts (sanitised, truncated, inside nonce-delimited data blocks),
the configs the inventory allows with the current value of each editable key (not whole files), and the
operations it may use. It answers with JSON matching the schema of exactly those operations
(:mod:`agents.answer`), sent as Ollama's ``format`` so that a small model cannot answer outside it; a
server without structured outputs gets the same prompt and its answer is read by the fenced-block
fallback. The engine applies the operations in memory and the guard judges them; the model writes
nothing and nothing it writes is executed.

The loop is bounded: at most ``max_steps`` calls and ``token_budget`` tokens per group. An answer the
guard (or the attacker scope) refuses is retried once, with the failing checks by name and their
details; an unreadable one (fallback only) is sent back with the precise error. When the retries, the
budget or the steps run out, the group becomes an escalation that lists what the model tried and why
each attempt was refused. Every step is one audit record (prompt hash, tokens in/out, latency, answer
format, outcome, failed checks), never the prompt itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from agents.answer import WAZUH_OPERATIONS, fixer_schema, parse_answer, settable_keys
from agents.model import ChatModel, ChatReply, Message, ModelUnavailable, estimate_tokens
from agents.prompts import render
from agents.router import RouteDecision
from agents.untrusted import NonceSource, block, field, random_nonce
from agents.workspace import Workspace
from bot import messages
from bot.clock import Clock, iso
from bot.core.grouping import AlertGroup
from bot.core.inventory import ConfigRef, Inventory, Server
from bot.core.network import split_cidr_list
from bot.core.operations.data_keys import grammar_for
from bot.core.proposal import AnswerFormat
from bot.core.sanitize import plain

#: Where step records go (``AuditLog.append`` in production).
Recorder = Callable[[str, Mapping[str, Any]], object]

MAX_REPLY_TOKENS = 1024
#: Block-list entries shown per config (the newest are the likeliest to matter; the guard sees all).
MAX_LIST_ENTRIES = 12
#: After the server failed, skip calls for this long instead of waiting out a timeout per group.
COOL_DOWN_S = 60.0


def parse_reply(text: str) -> tuple[list[Any] | None, str | None]:
    """The operation list in a reply (JSON, else one fenced block), or the precise reason there is none."""
    parsed = parse_answer(text)
    return parsed.operations, parsed.error


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


def operations_help(attacker: bool) -> str:
    """The operations the fixer may use, one line each, from the models themselves (fields, docstring)."""
    lines = []
    for model in WAZUH_OPERATIONS:
        op = model.model_fields["op"].default
        if op == "add_cidr" and not attacker:
            continue
        fields = ", ".join(f'"{name}": ...' for name in model.model_fields if name != "op")
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").split(". ")[0].rstrip(".")
        lines.append(f'- {{"op": "{op}", {fields}}}: {doc}.')
    return "\n".join(lines)


def _is_switch(key: str, cfg: ConfigRef) -> bool:
    grammar = grammar_for(key, cfg)
    return grammar is not None and grammar.rule.startswith('only "')


def _data_of(text: str) -> dict[str, Any] | None:
    """The ``data`` mapping of a ConfigMap's text, every value a string; None when it is not one."""
    try:
        doc = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - strings, lists and dicts only
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
        return None
    data = doc.get("data")
    return data if isinstance(data, dict) else {}


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
        max_retries: int = 1,
        nonce: NonceSource = random_nonce,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.clock = clock
        self.record = record
        self.max_steps = max(1, max_steps)
        self.token_budget = token_budget
        #: Retries after a refused (schema-valid but guard-failing) answer.
        self.max_retries = max(0, max_retries)
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
        facts = [line for server, cfg in configs for line in self._config_facts(workspace, server, cfg)]
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
            configs_block=block("editable configs", "\n".join(facts), nonce),
        )
        if request is not None:
            user += "\n\n" + render(
                "fixer",
                "revise",
                request_block=block("request from the proposal thread", request[:2000], nonce),
                current=describe_operations(current) or "none",
            )
        system = render("fixer", "system", operations=operations_help(workspace.attacker is not None))
        return [("system", system), ("user", user)]

    @staticmethod
    def _config_facts(workspace: Workspace, server: Server, cfg: ConfigRef) -> list[str]:
        """One allowed config as the model needs it: its block list and the current value of each key
        ``set_key`` may write (keys it may not write are left out; so is the rest of the file)."""
        lines = [f"file {cfg.path} (server {server.name}, kind {cfg.kind})"]
        data = _data_of(workspace.file_text(cfg.path))
        if data is None:
            return [*lines, "  (cannot be read as a ConfigMap: escalate rather than edit it)"]
        if cfg.block_key:
            entries = split_cidr_list(str(data.get(cfg.block_key) or ""))
            shown = ", ".join(field(e, 50) for e in entries[-MAX_LIST_ENTRIES:]) or "empty"
            more = (
                f" (and {len(entries) - MAX_LIST_ENTRIES} older)" if len(entries) > MAX_LIST_ENTRIES else ""
            )
            lines.append(f"  block list {cfg.block_key} (for add_cidr): {shown}{more}")
        keys = settable_keys(cfg)
        unset = []
        for key in keys:
            if key not in data:
                unset.append(key)
                continue
            grammar = grammar_for(key, cfg)
            rule = f"; {grammar.rule}" if grammar and grammar.rule else ""
            describe = field(grammar.describe, 80) if grammar else ""
            lines.append(f"  {key} = {json.dumps(field(str(data[key]), 120))} ({describe}{rule})")
        # Unset keys: the hardening switches by name; the rest (sizes, timeouts, limits) only counted, as
        # the schema lists every key set_key may write and the guard names each key's grammar on a refusal.
        switches = [k for k in unset if _is_switch(k, cfg)]
        rest = len(unset) - len(switches)
        if switches:
            more = f" (and {rest} size, timeout and limit keys)" if rest else ""
            lines.append(f"  hardening switches not set now: {', '.join(switches)}{more}")
        elif unset:
            lines.append(f"  not set now, set_key may add: {', '.join(unset)}")
        return lines

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
        cooling = self._cooling_down()
        if cooling is not None:
            return cooling
        nonce = self.nonce()
        first = self.prompt(group, workspace, nonce, request, current)
        schema = fixer_schema(workspace)
        conversation = list(first)
        tried: list[str] = []
        calls = tokens = refusals = 0
        used: AnswerFormat = ""
        for step in range(1, self.max_steps + 1):
            prompt_text = "\n".join(text for _role, text in conversation)
            room = self.token_budget - tokens - estimate_tokens(prompt_text)
            if room < 64:
                self._step(group, step, prompt_text, None, "budget_exhausted", "")
                return self._decision(calls, tokens, messages.esc_llm_gave_up(self.token_budget, tried), used)
            try:
                reply = self.model.chat(conversation, min(MAX_REPLY_TOKENS, room), schema=schema)
            except ModelUnavailable as exc:
                self._down = (self.monotonic() + COOL_DOWN_S, str(exc))
                self._step(group, step, prompt_text, None, "unavailable", str(exc))
                return self._decision(calls, tokens, messages.esc_llm_unavailable(str(exc), tried), used)
            calls += 1
            tokens += reply.tokens
            parsed = parse_answer(reply.text)
            fmt: AnswerFormat = "schema" if reply.constrained and parsed.format == "schema" else "fenced"
            used = fmt
            checks: tuple[str, ...] = ()
            if parsed.operations is not None:
                attempt = workspace.attempt(parsed.operations)
                if attempt.escalation is not None:
                    self._step(group, step, prompt_text, reply, "escalated", "", fmt)
                    reason = messages.esc_llm_escalated(self.model.name, field(attempt.escalation, 400))
                    return self._decision(calls, tokens, reason, used)
                if attempt.accepted:
                    self._step(group, step, prompt_text, reply, "accepted", "", fmt)
                    return RouteDecision(
                        fixer=self.fixer_name,
                        operations=list(attempt.operations),
                        notes=[messages.note_llm_tries(tried)] if tried else [],
                        llm_calls=calls,
                        llm_tokens=tokens,
                        llm_format=used,
                    )
                error = attempt.error
                checks = attempt.failed_checks
                refusals += 1
                tried.append(
                    messages.llm_attempt(step, describe_operations(parsed.operations), field(error, 600))
                )
                self._step(group, step, prompt_text, reply, "refused", error, fmt, checks)
                if refusals > self.max_retries:
                    break
            else:
                error = parsed.error or ""
                tried.append(messages.llm_attempt(step, "an answer with no usable operations", error))
                self._step(group, step, prompt_text, reply, "unparsable", error, fmt)
            retry = render(
                "fixer", "retry", checks=", ".join(checks) or "answer_format", error=field(error, 800)
            )
            conversation = [*first, ("assistant", reply.text[:4000]), ("user", retry)]
        return self._decision(calls, tokens, messages.esc_llm_gave_up(None, tried), used)

    # --- policies: a misconfiguration no vetted template answers (agents/policy_fixer.py) ------------------

    def _cooling_down(self) -> RouteDecision | None:
        """The escalation while a model that was unavailable cools down (None once it may be asked again)."""
        if self._down is not None:
            until, reason = self._down
            if self.monotonic() < until:
                return RouteDecision(
                    fixer=self.fixer_name, escalation=messages.esc_llm_unavailable(reason, [])
                )
            self._down = None
        return None

    def fix_policy(self, group: AlertGroup, inventory: Inventory, workspace: Workspace) -> RouteDecision:
        """One ``add_policy`` for a misconfiguration group, proven and guarded like a template's.

        The same bounded loop as :meth:`fix`: a refused answer is retried with the failing checks by name.
        When the retries run out, the last refused policy is returned as the decision's operation, so that the
        scanner shows it ``blocked`` with the guard's named checks and the proof table; an answer that never
        parsed, or the model's own escalation, escalates. A policy whose effect an existing policy of the
        repository already has is suppressed, naming that file.
        """
        from agents.policy_fixer import (
            MAX_POLICY_REPLY_TOKENS,
            describe_policy,
            fixer_policy_schema,
            policy_operations,
            policy_prompt,
        )
        from bot.policy_proof import same_effect

        env = workspace.policy_env
        if env is None or not inventory.policy_directories:
            return RouteDecision(fixer=self.fixer_name, escalation=messages.esc_fixer_policy_no_repository())
        cooling = self._cooling_down()
        if cooling is not None:
            return cooling
        nonce = self.nonce()
        first = policy_prompt(group, workspace, nonce, iso(self.clock.now()))
        schema = fixer_policy_schema(group, inventory, workspace)
        conversation = list(first)
        tried: list[str] = []
        calls = tokens = refusals = 0
        used: AnswerFormat = ""
        refused: list[dict[str, Any]] | None = None
        for step in range(1, self.max_steps + 1):
            prompt_text = "\n".join(text for _role, text in conversation)
            room = self.token_budget - tokens - estimate_tokens(prompt_text)
            if room < 64:
                self._step(group, step, prompt_text, None, "budget_exhausted", "")
                break
            try:
                reply = self.model.chat(conversation, min(MAX_POLICY_REPLY_TOKENS, room), schema=schema)
            except ModelUnavailable as exc:
                self._down = (self.monotonic() + COOL_DOWN_S, str(exc))
                self._step(group, step, prompt_text, None, "unavailable", str(exc))
                return self._decision(calls, tokens, messages.esc_llm_unavailable(str(exc), tried), used)
            calls += 1
            tokens += reply.tokens
            parsed = parse_answer(reply.text)
            fmt: AnswerFormat = "schema" if reply.constrained and parsed.format == "schema" else "fenced"
            used = fmt
            ops, error = (
                policy_operations(parsed.operations, group, self.model.name)
                if parsed.operations is not None
                else (None, parsed.error or "")
            )
            checks: tuple[str, ...] = (
                ("answer_format",) if parsed.operations is None else ("policy_operation",)
            )
            if ops is not None:
                attempt = workspace.attempt(ops)
                if attempt.escalation is not None:
                    self._step(group, step, prompt_text, reply, "escalated", "", fmt)
                    reason = messages.esc_llm_escalated(self.model.name, field(attempt.escalation, 400))
                    return self._decision(calls, tokens, reason, used)
                if attempt.accepted:
                    self._step(group, step, prompt_text, reply, "accepted", "", fmt)
                    policy = ops[0]["policy"]
                    fixtures = [*ops[0].get("must_pass", ()), *ops[0].get("must_fail", ())]
                    existing = same_effect(policy, fixtures, env.repo)
                    if existing is not None:
                        name = str((policy.get("metadata") or {}).get("name", "?"))
                        return RouteDecision(
                            fixer=self.fixer_name,
                            suppressed=messages.suppressed_same_policy(plain(name, 80), existing.path),
                            llm_calls=calls,
                            llm_tokens=tokens,
                            llm_format=used,
                        )
                    return RouteDecision(
                        fixer=self.fixer_name,
                        operations=ops,
                        notes=[messages.note_llm_tries(tried)] if tried else [],
                        llm_calls=calls,
                        llm_tokens=tokens,
                        llm_format=used,
                    )
                error = attempt.error
                checks = attempt.failed_checks
                refused = ops if attempt.guard is not None else refused
                refusals += 1
                tried.append(messages.llm_attempt(step, describe_policy(ops[0]), field(error, 600)))
                self._step(group, step, prompt_text, reply, "refused", error, fmt, checks)
                if refusals > self.max_retries:
                    break
            else:
                what = (
                    "an answer with no usable operations" if parsed.operations is None else "other operations"
                )
                tried.append(messages.llm_attempt(step, what, error))
                self._step(group, step, prompt_text, reply, "unparsable", error, fmt, checks)
            retry = render("fixer", "retry", checks=", ".join(checks), error=field(error, 800))
            conversation = [*first, ("assistant", reply.text[:8000]), ("user", retry)]
        if refused is not None:  # shown blocked, with the guard's named checks and the proof table
            return RouteDecision(
                fixer=self.fixer_name,
                operations=refused,
                notes=[messages.note_llm_tries(tried[:-1])] if len(tried) > 1 else [],
                llm_calls=calls,
                llm_tokens=tokens,
                llm_format=used,
            )
        return self._decision(calls, tokens, messages.esc_llm_gave_up(None, tried), used)

    def _decision(self, calls: int, tokens: int, escalation: str, fmt: AnswerFormat) -> RouteDecision:
        return RouteDecision(
            fixer=self.fixer_name,
            escalation=escalation,
            llm_calls=calls,
            llm_tokens=tokens,
            llm_format=fmt,
        )

    def _step(
        self,
        group: AlertGroup,
        step: int,
        prompt_text: str,
        reply: ChatReply | None,
        outcome: str,
        error: str,
        fmt: str = "",
        checks: Sequence[str] = (),
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
                "format": fmt,
                "failed_checks": list(checks),
                "error": field(error, 600),
            },
        )

"""The cross-family reviewer: a second model's verdict, shown next to the Approve button. No tools.

It sees the alert summary (untrusted, in a nonce-delimited block), the diff and the guard report, and
answers JSON matching :class:`VerdictAnswer`'s schema (sent as Ollama's ``format``, so a small model cannot
answer outside it): ``{"verdict": "APPROVE" | "REJECT", "reason": "..."}``. Without structured outputs the
fallback reads a JSON object or ``VERDICT:``/``REASON:`` lines. The parser reads only the model's own
reply: any data block it echoes (recognised by this call's nonce) is cut out first, a verdict line counts
only on a line of its own, and conflicting verdict lines give "no verdict". "No verdict" and "not
reviewed" (server unreachable) are never treated as approval; the verdict never blocks a human.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.fixer import Recorder
from agents.model import ChatModel, ModelUnavailable, estimate_tokens
from agents.prompts import render
from agents.untrusted import NonceSource, block, field, random_nonce, strip_blocks
from bot import messages
from bot.clock import Clock, iso
from bot.core.edits import answer_schema
from bot.core.proposal import LlmUsage, Proposal, Review, Verdict

MAX_DIFF_CHARS = 6000
MAX_REPLY_TOKENS = 256

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_VERDICT = re.compile(r"^[\s*_`>#-]*VERDICT\s*:\s*[*_`]*\s*(APPROVE|REJECT)\b[\s*_`.]*$", re.IGNORECASE)
_REASON = re.compile(r"^[\s*_`>#-]*REASON\s*:\s*[*_`]*\s*(.+)$", re.IGNORECASE)


class VerdictAnswer(BaseModel):
    """The reviewer's answer: approve or reject the proposed change, and why in one sentence."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["APPROVE", "REJECT"]
    reason: str = Field(min_length=1, max_length=300)


#: The schema the reviewer's answer must match, derived from :class:`VerdictAnswer`.
VERDICT_SCHEMA = answer_schema(VerdictAnswer)


def parse_verdict(reply: str, nonce: str) -> tuple[Verdict, str]:
    """The verdict and reason of a reply; ``("none", why)`` when it holds no single clear verdict."""
    text = strip_blocks(_THINK.sub("", reply), nonce)
    if text.strip().startswith("{"):
        try:
            answer = VerdictAnswer.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            return "none", messages.review_bad_answer()
        verdict: Verdict = "approve" if answer.verdict == "APPROVE" else "reject"
        return verdict, field(answer.reason, 300) or messages.review_no_reason()
    verdicts: set[str] = set()
    reason = ""
    for line in text.splitlines():
        m = _VERDICT.match(line)
        if m:
            verdicts.add(m.group(1).lower())
            continue
        r = _REASON.match(line)
        if r and not reason:
            reason = r.group(1).strip().strip("*_` ")
    if len(verdicts) != 1:
        why = messages.review_conflicting() if verdicts else messages.review_no_verdict()
        return "none", why
    return ("approve" if verdicts == {"approve"} else "reject"), field(
        reason, 300
    ) or messages.review_no_reason()


class LlmReviewer:
    """Implements the pipeline's ``Reviewer`` with a chat model from another family than the fixer."""

    def __init__(
        self,
        model: ChatModel,
        *,
        clock: Clock,
        record: Recorder | None = None,
        nonce: NonceSource = random_nonce,
    ) -> None:
        self.model = model
        self.clock = clock
        self.record = record
        self.nonce = nonce

    def prompt(self, proposal: Proposal, nonce: str) -> list[tuple[str, str]]:
        group = proposal.group
        evidence = [f"rule {field(r, 20)}: {field(d, 200)}" for r, d in group.rule_descriptions.items()]
        evidence += [
            f"alert {field(s.rule_id, 20)} level {s.level}: {field(s.log, 300)}" for s in group.samples
        ]
        guard = proposal.guard.summary() if proposal.guard else "not run"
        user = render(
            "reviewer",
            "user",
            now=iso(self.clock.now()),
            fixer=field(proposal.fixer, 120),
            attacker=group.attacker or "none",
            targets=field(", ".join(group.targets), 200),
            rules=", ".join(field(r, 20) for r in group.rule_ids[:12]),
            alerts_block=block("alerts", "\n".join(evidence), nonce),
            diff_block=block("diff", proposal.diff[:MAX_DIFF_CHARS] or "(no diff)", nonce),
            guard=field(guard, 600),
        )
        return [("system", render("reviewer", "system")), ("user", user)]

    def review(self, proposal: Proposal) -> tuple[Review, LlmUsage]:
        """One call, one verdict. Failures give ``none`` with a reason; nothing here raises."""
        nonce = self.nonce()
        conversation = self.prompt(proposal, nonce)
        prompt_text = "\n".join(t for _r, t in conversation)
        digest = hashlib.sha256(prompt_text.encode()).hexdigest()
        try:
            reply = self.model.chat(conversation, MAX_REPLY_TOKENS, schema=VERDICT_SCHEMA)  # type: ignore[arg-type]
        except ModelUnavailable as exc:
            self._step(proposal, digest, 0, 0, 0, "unavailable")
            return Review(
                verdict="none", model=self.model.name, reason=messages.review_unreachable(str(exc))
            ), LlmUsage()
        verdict, reason = parse_verdict(reply.text, nonce)
        self._step(proposal, digest, reply.tokens_in, reply.tokens_out, reply.latency_s, verdict)
        usage = LlmUsage(calls=1, tokens=reply.tokens or estimate_tokens(prompt_text))
        return Review(verdict=verdict, model=self.model.name, reason=reason), usage

    def _step(
        self, proposal: Proposal, digest: str, t_in: int, t_out: int, latency: float, outcome: str
    ) -> None:
        if self.record is None:
            return
        self.record(
            "llm_step",
            {
                "role": "reviewer",
                "model": self.model.name,
                "proposal": proposal.id,
                "step": 1,
                "prompt_sha256": digest,
                "tokens_in": t_in,
                "tokens_out": t_out,
                "latency_ms": round(latency * 1000),
                "outcome": outcome,
            },
        )

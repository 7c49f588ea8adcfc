"""A proposal: what the bot suggests for one alert group, and how it was decided."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.core.grouping import AlertGroup
from bot.core.guard import GuardReport

Action = Literal["propose", "blocked", "escalate", "suppressed"]
Verdict = Literal["approve", "reject", "none"]
#: How the fixer's answer was read: structured output, the fenced-block fallback, or no LLM fixer.
AnswerFormat = Literal["", "schema", "fenced"]


class Review(BaseModel):
    """The second model's opinion. It only informs the human; it never approves or blocks anything."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict = "none"
    model: str = ""
    reason: str = "no reviewer configured"


class LlmUsage(BaseModel):
    """LLM calls and tokens spent on one proposal (0 for playbooks), and how the fixer's answer was read:
    ``schema`` (structured output: the server was sent the operations' JSON schema), ``fenced`` (the
    fallback parser, for servers without structured outputs) or empty (no LLM fixer)."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    tokens: int = 0
    answer_format: AnswerFormat = ""


class UnfixedTarget(BaseModel):
    """A target of the group that the proposal leaves open, and why (shown to the human)."""

    model_config = ConfigDict(frozen=True)

    target: str
    reason: str


class Proposal(BaseModel):
    """One group's outcome: a guarded change to approve, a blocked one, an escalation, or a repeat."""

    model_config = ConfigDict(frozen=True)

    id: str
    group: AlertGroup
    action: Action
    fixer: str
    operations: tuple[dict[str, Any], ...] = ()
    files: tuple[str, ...] = ()
    diff: str = ""
    guard: GuardReport | None = None
    reason: str = ""
    revision: int = 1
    review: Review | None = None
    llm: LlmUsage = LlmUsage()
    notes: tuple[str, ...] = ()  # e.g. "similar to PR #12 (0.87)"
    folded_into: str | None = None  # a repeat of this pending proposal: its alerts are counted there
    # Targets left open (not in the inventory, no playbook for their configs, file not editable). Not part
    # of the revision hash: an approval binds to the change (operations and diff), which this does not alter.
    unfixed: tuple[UnfixedTarget, ...] = ()
    # What this revision changed and who asked for it (thread revisions); shown on the card. Not hashed.
    revision_note: str = ""
    revised_by: str = ""
    # A policy proposal's proof, one row per resource: (fixture, resource, expected, engine). Shown on the card;
    # derived from the operations, so not hashed.
    proof: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def revision_hash(self) -> str:
        """Binds an approval to exactly this revision: id, revision number, operations and diff."""
        payload = json.dumps(
            [self.id, self.revision, list(self.operations), self.diff], sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def as_row(self) -> dict[str, Any]:
        """The ``scan --json`` contract: one object per group."""
        guard = self.guard or GuardReport(passed=False, checks=())
        g = self.group
        return {
            "id": self.id,
            "source": g.source,
            "subject": g.subject,
            "findings": finding_rows(g),
            "action": self.action,
            "attacker": self.group.attacker,
            "targets": list(self.group.targets),
            "alert_count": self.group.alert_count,
            "rule_ids": list(self.group.rule_ids),
            "max_level": self.group.max_level,
            "fixer": self.fixer,
            "operations": [dict(o) for o in self.operations],
            "files": list(self.files),
            "diff": self.diff,
            "guard": {
                "passed": guard.passed,
                "checks": [c.model_dump() for c in guard.checks],
            },
            "reason": self.reason,
            "unfixed": [u.model_dump() for u in self.unfixed],
            "review": (self.review or Review()).model_dump(),
            "llm": self.llm.model_dump(),
        }


def finding_rows(group: AlertGroup) -> list[dict[str, Any]]:
    """What the group is made of, one object each: the scanner findings of a finding group (id, severity,
    package, installed and fixed versions, title, workload, where it was read), or the rules of an alert group
    (id, description)."""
    if group.is_findings:
        return [
            {
                "id": f.id,
                "kind": f.kind,
                "severity": f.severity,
                "package": f.package,
                "installed": f.installed,
                "fixed": f.fixed,
                "title": f.title,
                "workload": f.workload_ref,
                "container": f.container,
                "image": f.image,
                "where": f.where,
            }
            for f in group.findings
        ]
    return [
        {"id": rid, "kind": "alert", "title": group.rule_descriptions.get(rid, "")} for rid in group.rule_ids
    ]


def proposal_id(group: AlertGroup) -> str:
    """The proposal id for a group: stable, derived from the group's key."""
    return "p-" + hashlib.sha256(("proposal:" + group.key).encode()).hexdigest()[:10]

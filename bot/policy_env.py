"""What proving a policy operation needs beyond the operation: the repository's manifests and policies
(loaded once per scan) and the PolicyReport results that may evidence a promotion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.edits import AddPolicy, FileChange, PolicyOp, SetPolicyMode
from bot.core.operations.policies import PolicyProof, policy_digest
from bot.policy_proof import Repository, impact, load_repository, prove
from tools.sources.policy_reports import ReportResult

DAY = 86400.0
DEFAULT_PERIOD_DAYS = 14


@dataclass
class PolicyEnv:
    """The repository (lazily loaded) and the promotion evidence, for one scan."""

    root: Path
    now: float
    reports: Sequence[ReportResult] = ()
    period_days: int = DEFAULT_PERIOD_DAYS
    _repo: Repository | None = field(default=None, repr=False)

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = load_repository(self.root)
        return self._repo

    def proofs(self, ops: Sequence[PolicyOp], changes: Sequence[FileChange]) -> Mapping[str, PolicyProof]:
        """One proof per operation's file."""
        out: dict[str, PolicyProof] = {}
        for op in ops:
            if isinstance(op, AddPolicy):
                out[op.file] = prove(
                    op.file, op.policy, op.must_pass, op.must_fail, op.evidence.resources, self.repo
                )
            elif isinstance(op, SetPolicyMode):
                change = next((c for c in changes if c.path == op.file), None)
                doc = change.before_doc if change is not None else None
                if isinstance(doc, dict):
                    out[op.file] = PolicyProof(
                        file=op.file, policy_sha=policy_digest(doc), promotion=self.promotion(op.policy, doc)
                    )
        return out

    def promotion(self, name: str, policy: dict[str, object]) -> str:
        """Why ``name`` may go to Enforce ("" when it may not): zero failures in the reports over the period,
        or (when the reports say nothing of it) zero violations by the engine across the repository."""
        mine = [r for r in self.reports if r.policy == name]
        dated = [r for r in mine if r.ts is not None]
        start = self.now - self.period_days * DAY
        if dated:
            recent = [r for r in dated if r.ts is not None and r.ts >= start]
            failures = [r for r in recent if r.result in ("fail", "error")]
            oldest = min(r.ts for r in dated if r.ts is not None)
            if failures or oldest > start or not any(r.result == "pass" for r in recent):
                return ""
            return f"PolicyReports: {len(recent)} results, 0 failures over the last {self.period_days} days"
        if mine:
            return ""  # results without dates are no evidence of a period
        flagged, _ns, unsupported = impact(policy, self.repo.manifests)
        if flagged or unsupported or not self.repo.manifests:
            return ""
        return f"the engine: 0 violations across {len(self.repo.manifests)} repository manifests (no PolicyReport results)"

"""What proving a policy operation needs beyond the operation: the repository's manifests and policies
(loaded once per scan) and the PolicyReport results that may evidence a promotion.

A promotion's evidence is of one of two kinds, recorded in its operation (``evidence.basis``): PolicyReports
(zero failures over the period in the cluster) or the engine (zero violations across the repository's
manifests). Publishing happens later, on the latest default branch, where there are no PolicyReports
(``at_publish``): the same kind of evidence is re-checked there. Engine evidence is re-proven by the engine.
PolicyReport evidence is carried by the proposal and re-checked for what can have changed since: the policy
document must be the one the reports were about (its digest), and the engine must flag no repository
manifest beyond those it already flagged at the scan (those the reports saw pass in the cluster, and the
approver saw listed); a manifest merged since then that the policy flags was never seen by the reports and
would be rejected on its next sync in Enforce, so the publish is refused, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot import messages
from bot.core.edits import AddPolicy, FileChange, PolicyOp, SetPolicyMode
from bot.core.operations.policies import PolicyProof, policy_digest
from bot.policy_proof import Manifest, Repository, impact, load_repository, prove
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
    #: Publishing: no reports here; a promotion's recorded evidence is re-checked instead (module docstring).
    at_publish: bool = False
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
                    allowed, refused = (
                        self.recheck(op, doc) if self.at_publish else (self.promotion(op.policy, doc), "")
                    )
                    out[op.file] = PolicyProof(
                        file=op.file,
                        policy_sha=policy_digest(doc),
                        promotion=allowed,
                        promotion_refused=refused,
                    )
        return out

    def not_admitted(self, policy: dict[str, object]) -> list[Manifest]:
        """The repository manifests the engine flags or cannot evaluate under ``policy``."""
        from tools.kyverno.verdict import flags, verdict

        return [m for m in self.repo.manifests if flags(verdict(policy, m.doc)) is not False]

    def evidence(self, name: str, policy: dict[str, object]) -> dict[str, object]:
        """What a promotion's operation records of its evidence (``evidence`` of a set_policy_mode)."""
        reason = self.promotion(name, policy)
        basis = "policy-reports" if self._results(name, policy) else "engine"
        refs = [m.ref for m in self.not_admitted(policy)] if basis == "policy-reports" else []
        if refs:
            reason = f"{reason}. {messages.promotion_engine_disagrees(len(refs), refs[:3])}"
        return {
            "findings": [],
            "resources": refs[:500],
            "reason": reason[:1000],
            "basis": basis,
            "policy_sha": policy_digest(policy),
        }

    def recheck(self, op: SetPolicyMode, policy: dict[str, object]) -> tuple[str, str]:
        """At publish: (why the promotion still holds, "") or ("", why it no longer does)."""
        ev = op.evidence
        if ev.policy_sha and ev.policy_sha != policy_digest(policy):
            return "", messages.promotion_policy_changed(op.file)
        if ev.basis != "policy-reports":
            engine = self.promotion(op.policy, policy)  # no reports here: the engine across the manifests
            return (engine, "") if engine else ("", messages.promotion_engine_violations(op.file))
        known = set(ev.resources)
        new = [m.ref for m in self.not_admitted(policy) if m.ref not in known]
        if new:
            return "", messages.promotion_new_violations(len(new), new[:3])
        return messages.promotion_rechecked(ev.reason, len(known)), ""

    def _results(self, name: str, policy: dict[str, object]) -> list[ReportResult]:
        """The report results of this policy: Kyverno writes a namespaced Policy as ``namespace/name`` and a
        ClusterPolicy as ``name``, with source ``kyverno`` (another engine's policy of that name is not it)."""
        meta = policy.get("metadata")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        written = f"{namespace}/{name}" if policy.get("kind") == "Policy" and namespace else name
        return [r for r in self.reports if r.policy == written and r.source in ("", "kyverno")]

    def promotion(self, name: str, policy: dict[str, object]) -> str:
        """Why ``name`` may go to Enforce ("" when it may not): zero failures in the reports over the period,
        or (when the reports say nothing of it) zero violations by the engine across the repository."""
        mine = self._results(name, policy)
        dated = [r for r in mine if r.ts is not None]
        start = self.now - self.period_days * DAY
        if dated:
            recent = [r for r in dated if r.ts is not None and r.ts >= start]
            # warn is a failing rule of a policy scored "false"; an unknown value is no pass either
            failures = [r for r in recent if r.result not in ("pass", "skip")]
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

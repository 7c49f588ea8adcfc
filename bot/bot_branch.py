"""A proposal's branch, built fresh: its edit operations applied to the latest default branch, guarded, pushed.

Publishing and the conflict-free sync both come here, so a bot branch is always the proposal's
*operations* re-applied on the current default branch (never a stale diff), and the guard always judges
the exact result before anything is pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agents.router import list_styles
from bot import messages
from bot.core.edits import AddPolicy, AnyOp, FileChange, SetPolicyMode, parse_operations, unified_diff
from bot.core.errors import DocumentError, OperationError
from bot.core.guard import GuardPolicy, GuardReport, check_change
from bot.core.inventory import Inventory
from bot.core.operations.policies import PolicyProof, is_policy_change
from bot.core.proposal import Proposal
from bot.yaml_edit import apply_operations, repo_reader
from tools.git_repo import GitRepo, branch_name

Status = Literal["pushed", "reused", "applied", "refused", "foreign"]


@dataclass(frozen=True)
class BranchOutcome:
    """What building a branch did. Only ``pushed`` and ``reused`` leave a branch on the remote."""

    status: Status
    branch: str
    base: str = ""
    commit: str = ""
    diff: str = ""
    guard: GuardReport | None = None
    detail: str = ""  # why nothing was pushed (a user-facing message)
    proofs: Mapping[str, PolicyProof] = field(default_factory=dict)  # policy operations: per file

    @property
    def on_remote(self) -> bool:
        return self.status in ("pushed", "reused")


class BranchBuilder:
    """Re-applies a proposal's operations on ``origin/<default>`` and pushes the bot's branch for it."""

    def __init__(
        self,
        repo: GitRepo,
        inventory: Inventory,
        policy: GuardPolicy | None = None,
        removable: Callable[[Proposal], frozenset[tuple[str, str, str]]] | None = None,
    ) -> None:
        self.repo = repo
        self.inventory = inventory
        self.policy = policy or GuardPolicy()
        # The recorded entries a proposal may remove (expired blocks: bot.expiry.removable_for); none without.
        self.removable = removable

    def branch_for(self, proposal: Proposal) -> str:
        return branch_name(proposal.group.attacker or proposal.group.subject, proposal.id, proposal.revision)

    def build(self, proposal: Proposal, message: Callable[[str, GuardReport], str]) -> BranchOutcome:
        """Fetch, apply, guard, commit and push (with a lease); ``message(diff, guard)`` is the commit text.

        An existing bot branch with the same change on the same base is reused untouched (idempotent
        retries); one that differs is replaced only if the bot made it.
        """
        branch = self.branch_for(proposal)
        default = self.repo.default_branch
        with self.repo.locked():
            base = self.repo.fetch()
            self.repo.reset_to_default()
            try:
                ops = parse_operations(list(proposal.operations))
                if is_policy_change(ops):
                    changes, proofs = _policy_changes(ops, self.repo.path)
                else:
                    proofs = {}
                    changes = apply_operations(
                        ops, repo_reader(self.repo.path), list_styles(self.inventory, proposal.group.targets)
                    )
            except (OperationError, DocumentError) as exc:
                return BranchOutcome("refused", branch, base, detail=messages.publish_cannot_apply(str(exc)))
            changed = [c for c in changes if c.changed]
            if not changed:
                return BranchOutcome(
                    "applied", branch, base, detail=messages.publish_already_applied(default)
                )
            policy = self.policy
            if self.removable is not None:
                policy = policy.model_copy(update={"removable": self.removable(proposal)})
            report = check_change(changes, ops, self.inventory, proposal.group.targets, policy, proofs=proofs)
            if not report.passed:
                detail = messages.publish_guard_refused(report.summary())
                return BranchOutcome("refused", branch, base, guard=report, detail=detail, proofs=proofs)
            diff = unified_diff(changed)
            existing = self.repo.remote_sha(branch)
            if existing is not None and not self.repo.is_ours(existing):
                return BranchOutcome("foreign", branch, base, detail=messages.pr_branch_foreign(branch))
            commit = self.repo.commit_files(branch, {c.path: c.after for c in changed}, message(diff, report))
            if existing is not None and self.repo.same_change(existing, commit):
                return BranchOutcome("reused", branch, base, existing, diff, report, proofs=proofs)
            self.repo.push(branch, commit, existing)
            return BranchOutcome("pushed", branch, base, commit, diff, report, proofs=proofs)


def _policy_changes(ops: Sequence[AnyOp], root: Path) -> tuple[list[FileChange], Mapping[str, PolicyProof]]:
    """Policy operations applied to the checkout, and their proofs re-run on it (the guard needs them).

    No PolicyReports here: a promotion's evidence is re-checked by its kind (bot.policy_env, docs/policies.md)."""
    from bot.policy_edit import apply_policy_operations
    from bot.policy_env import PolicyEnv

    policy_ops = [o for o in ops if isinstance(o, AddPolicy | SetPolicyMode)]
    changes = apply_policy_operations(policy_ops, repo_reader(root))
    return changes, PolicyEnv(root=root, now=0.0, at_publish=True).proofs(policy_ops, changes)

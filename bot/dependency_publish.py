"""Publishing an approved dependency bump (issue 18) to its application repository: branch, push, pull request.

Only after a human approved the exact revision (the same outbox, claim and refusal rules as GitOps proposals:
:mod:`bot.approvals`, :meth:`bot.service.ProposalService._publish`). One publish of one ``bump_dependency``:

1. **Refusals first.** The approval must be of the current revision of a guarded proposal; the application
   repository must still be in the inventory; a bump whose tests newly failed (the evidence the approval is
   bound to) is refused unless the inventory's ``approve_failing_tests`` allows it *now*.
2. **Fetch.** A working clone of the repository's remote (or path) under ``<data dir>/deps/publish/<name>``,
   fetched and reset to ``origin/<default_branch>``; one writer at a time (a file lock next to the clone).
3. **Made again, guarded again.** In a throwaway worktree of the latest default branch the ecosystem's tool
   makes the bump again (never a hand-edited lockfile, never the stored diff); the package must still resolve to
   the approved ``from`` version there (already at ``to`` or above: nothing to do). The scanner runs again on
   the result, and :func:`bot.core.operations.dependencies.check_bump` judges it: only the listed manifest and
   lockfiles changed, the package set, no new source, the advisories absent, the diff size, the tests.
4. **Branch, commit, push.** ``secops/<package>-<version>-<proposal>-r<revision>`` on top of the default branch,
   authored by the bot, pushed with a lease; a branch someone else pushed to is left alone; the same change on
   the same base is reused, not pushed again.
5. **Pull request** on the repository's ``github_repository`` (found by head branch before one is opened), with
   the advisories, from → to, the transitive changes, the audit result and the test results; labels, reviewers
   for the inventory owner (``SECOPS_PR_REVIEWERS``). Without ``github_repository`` the branch is the result.

Every step is appended to the audit log (``dep_publish_step``). Publications are recorded with status
``app_open`` so the GitOps sync loop (:mod:`bot.sync`) never reads an application repository's pull request
number as one of the GitOps repository's; :mod:`bot.dependency_sync` watches them on their own repository
(and makes the bump again through :meth:`DependencyPublisher.build_branch` when the default branch moved).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError

from agents.dependency_bumps import advisories_from, installed_version
from bot import messages, pull_request
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.checks import GuardReport
from bot.core.edits import BumpDependency
from bot.core.errors import PublishError
from bot.core.inventory import AppRepo, Inventory
from bot.core.operations.dependencies import BumpResult, ReAudit, check_bump, package_changes
from bot.core.proposal import Proposal
from bot.core.redact import redact
from bot.core.sanitize import plain
from bot.core.suite_results import Comparison
from bot.core.versions import parse_version
from bot.publisher import PublicationRecords, _refusal
from bot.publishing import Approval, PublishResult
from bot.state import StateStore
from tools import app_repos
from tools.git_repo import Author, GitRepo, Remote, branch_name
from tools.github import PullRequests

log = logging.getLogger(__name__)

#: The publications status of an application repository's open pull request (the GitOps sync skips it).
APP_OPEN = "app_open"

#: ``pulls_for(app)``: the pull-request client of the application repository's ``github_repository`` (None: none).
PullsFor = Callable[[AppRepo], PullRequests | None]

#: A git remote (as :func:`tools.app_repos.checkout_path` tells one from a path).
_REMOTE = re.compile(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:")

Status = Literal["pushed", "reused", "applied", "refused", "foreign"]


@dataclass(frozen=True)
class DependencyBranch:
    """What building the bump's branch did. Only ``pushed`` and ``reused`` leave a branch on the remote."""

    status: Status
    branch: str
    base: str = ""
    commit: str = ""
    diff: str = ""
    guard: GuardReport | None = None
    audit_line: str = ""
    transitive: tuple[str, ...] = field(default=())
    detail: str = ""  # why nothing was pushed (a user-facing message)
    tool_error: bool = False  # the tool failed (an index down?): not a verdict on the bump

    @property
    def on_remote(self) -> bool:
        return self.status in ("pushed", "reused")


def publication_key(proposal_id: str, revision: int) -> str:
    """The state meta key of a published bump's approval and audit hash (its pull request body's inputs)."""
    return f"dep_publication:{proposal_id}:r{revision}"


def bump_of(proposal: Proposal) -> dict[str, Any] | None:
    """The proposal's ``bump_dependency`` operation, or None (a GitOps proposal)."""
    return pull_request.dependency_op(proposal)


def recorded_tests(evidence: Mapping[str, Any]) -> Comparison | None:
    """The baseline-against-bump comparison the approval is bound to (None: the tests did not run).

    A proposal whose evidence does not say whether tests regressed counts as regressed (deny by default)."""
    if not evidence.get("tests_after"):
        return None
    regressed = evidence.get("tests_regressed")
    return Comparison(
        line=str(evidence.get("tests", "")),
        new_failures=tuple(str(n) for n in (evidence.get("new_failures") or ())),
        regressed=regressed if isinstance(regressed, bool) else True,
    )


class DependencyPublisher(PublicationRecords):
    """Publishes approved ``bump_dependency`` proposals to their application repositories."""

    _log_label = "dependency publish"

    def __init__(
        self,
        inventory: Inventory,
        *,
        base_dir: Path,
        clones_dir: Path,
        state: StateStore,
        audit: AuditLog,
        clock: Clock,
        author: Author,
        token: SecretStr | None = None,
        pulls_for: PullsFor | None = None,
        osv_url: str | None = None,
        reaudit: bool = True,
        draft: bool = False,
        reviewers: Mapping[str, tuple[str, ...]] | None = None,
        git_timeout: float = 60.0,
    ) -> None:
        self.inventory = inventory
        self.base_dir = base_dir  # relative repository paths are relative to the inventory file
        self.clones_dir = clones_dir
        self.state = state
        self.audit = audit
        self.clock = clock
        self.author = author
        self.token = token
        self.pulls_for = pulls_for
        self.osv_url = osv_url
        self.reaudit = reaudit
        self.draft = draft
        self.reviewers = dict(reviewers or {})
        self.git_timeout = git_timeout

    def _audit_extra(self, proposal: Proposal) -> dict[str, Any]:
        raw = bump_of(proposal)
        return {"app_repo": plain(str(raw.get("app_repo", "")), 100) if raw else ""}

    # --- the publication -----------------------------------------------------------------------------------

    def publish(self, proposal: Proposal, approval: Approval) -> PublishResult:
        refusal = _refusal(proposal, approval)
        raw = bump_of(proposal)
        if refusal is None and raw is None:
            refusal = messages.dep_publish_bad_operation("no bump_dependency operation")
        if refusal is not None:
            return self._fail(proposal, approval, refusal, "refused")
        assert raw is not None
        try:
            op = BumpDependency.model_validate(raw)
        except ValidationError as exc:
            detail = plain(str(exc.errors()[0].get("msg", "invalid")), 200)
            return self._fail(proposal, approval, messages.dep_publish_bad_operation(detail), "refused")
        app = self.inventory.app_repo(op.app_repo)
        if app is None:
            return self._fail(proposal, approval, messages.dep_publish_no_app_repo(op.app_repo), "refused")
        tests = recorded_tests(op.evidence)
        if tests is not None and tests.regressed and not app.approve_failing_tests:
            # Enforced here too, not only on the card: the inventory may have changed since the proposal.
            return self._fail(
                proposal, approval, messages.dep_publish_failing_tests(app.name, tests.line), "refused"
            )
        known = self._already_open(proposal, approval, (APP_OPEN, "merged"))
        if known is not None:
            return known
        audit_hash = approval.audit_hash or self.audit.append(
            "publish_attempt",
            {
                "proposal": proposal.id,
                "revision": proposal.revision,
                "revision_hash": proposal.revision_hash,
                "approvers": list(approval.approvers),
                "app_repo": app.name,
            },
        )
        try:
            outcome = self.build_branch(proposal, approval, op, app, tests, audit_hash)
        except (PublishError, app_repos.AppRepoError) as exc:
            return self._fail(proposal, approval, messages.dep_publish_git_error(app.name, str(exc)), "error")
        if not outcome.on_remote:
            return self._fail(proposal, approval, outcome.detail, outcome.status, outcome)
        self._record(proposal, outcome, status="pushed")
        pulls = self.pulls_for(app) if self.pulls_for is not None and app.github_repository else None
        if pulls is None:
            result = PublishResult(
                ok=True,
                branch=outcome.branch,
                commit=outcome.commit,
                message=messages.published_branch(outcome.branch, outcome.status == "reused"),
                reused=outcome.status == "reused",
            )
            self._audit_published(proposal, approval, result)
            return result
        return self._pull_request(proposal, approval, op, app, outcome, pulls, audit_hash)

    def _pull_request(
        self,
        proposal: Proposal,
        approval: Approval,
        op: BumpDependency,
        app: AppRepo,
        outcome: DependencyBranch,
        pulls: PullRequests,
        audit_hash: str,
    ) -> PublishResult:
        assert outcome.guard is not None
        raw = op.model_dump(mode="json")
        try:
            pr = pulls.find_open(outcome.branch)
            created = pr is None
            if pr is None:
                pr = pulls.create(
                    title=pull_request.dependency_title(proposal, raw),
                    body=pull_request.dependency_body(
                        proposal,
                        approval,
                        raw,
                        diff=outcome.diff,
                        guard=outcome.guard,
                        audit_line=outcome.audit_line,
                        transitive=outcome.transitive,
                        tool=app.lock_tool,
                        base=outcome.base,
                        audit_hash=audit_hash,
                    ),
                    head=outcome.branch,
                    base=app.default_branch,
                    draft=self.draft,
                )
            pulls.add_labels(pr.number, pull_request.dependency_labels(proposal))
            if created:
                self._reviewers_for(
                    pulls, {app.owner} if app.owner else set(), pr.number, {"app_repo": app.name}
                )
        except PublishError as exc:
            return self._fail(
                proposal,
                approval,
                messages.dep_publish_git_error(app.name, str(exc)),
                "error",
                outcome,
            )
        self._step(proposal, app, "pull_request", {"number": pr.number, "url": pr.url, "created": created})
        # what the sync needs to write the body again after a remake (bot/dependency_sync.py)
        self.state.set_meta(
            publication_key(proposal.id, proposal.revision),
            {"approval": approval.model_dump(mode="json"), "audit_hash": audit_hash},
        )
        return self._opened(proposal, approval, outcome, pr, created, status=APP_OPEN)

    # --- the branch ----------------------------------------------------------------------------------------

    def branch_for(self, proposal: Proposal, op: BumpDependency) -> str:
        return branch_name(f"{op.package}-{op.to_version}", proposal.id, proposal.revision)

    def repo_for(self, app: AppRepo) -> GitRepo:
        """The working clone of ``app`` (its remote, or its path relative to the inventory file)."""
        url = app.repository
        if not _REMOTE.match(url):
            path = Path(url)
            url = str((path if path.is_absolute() else self.base_dir / path).resolve())
        return GitRepo(
            self.clones_dir / app.name,
            Remote(url, self.token),
            default_branch=app.default_branch,
            author=self.author,
            timeout=self.git_timeout,
        )

    def build_branch(
        self,
        proposal: Proposal,
        approval: Approval | None,
        op: BumpDependency,
        app: AppRepo,
        tests: Comparison | None,
        audit_hash: str,
        message: str | None = None,
        before_push: Callable[[], None] | None = None,
    ) -> DependencyBranch:
        """The bump made again on the latest default branch, guarded, committed and pushed with a lease
        (``message``: the commit message, by default the publication's; ``before_push``: the sync's fence)."""
        branch = self.branch_for(proposal, op)
        repo = self.repo_for(app)
        with repo.locked():
            base = repo.fetch()
            repo.reset_to_default()
            self._step(proposal, app, "fetched", {"branch": app.default_branch, "base": base})
            made = self._make(proposal, op, app, repo.path, base, branch)
            if isinstance(made, DependencyBranch):
                return made
            result, reaudit = made
            report = check_bump(op, app, result, advisories_from(proposal.group.findings), reaudit, tests)
            self._step(
                proposal,
                app,
                "guard",
                {"passed": report.passed, "failing": [c.model_dump() for c in report.failures]},
            )
            audit_line = (
                messages.dep_reaudited()
                if reaudit is not None and reaudit.audited
                else messages.dep_not_reaudited(plain(redact(reaudit.detail), 300) if reaudit else "")
            )
            if not report.passed:
                detail = messages.dep_publish_guard_refused(report.summary())
                failed = bool(result.tool_error)
                return DependencyBranch(
                    "refused", branch, base, guard=report, detail=detail, tool_error=failed
                )
            deleted = [p for p in result.changed_paths if p not in result.after]
            if deleted:
                return DependencyBranch("refused", branch, base, detail=messages.dep_publish_deleted(deleted))
            transitive = tuple(
                c for c in package_changes(app, result.before, result.after) if not _is_package(c, op)
            )
            existing = repo.remote_sha(branch)
            if existing is not None and not repo.is_ours(existing):
                return DependencyBranch("foreign", branch, base, detail=messages.pr_branch_foreign(branch))
            files = {p: result.after[p] for p in result.changed_paths}
            if message is None:
                assert approval is not None
                message = pull_request.dependency_commit_message(
                    proposal, approval, op.model_dump(mode="json"), audit_hash
                )
            commit = repo.commit_files(branch, files, message)
            if existing is not None and repo.same_change(existing, commit):
                self._step(proposal, app, "reused", {"branch": branch, "commit": existing})
                return DependencyBranch(
                    "reused", branch, base, existing, result.diff, report, audit_line, transitive
                )
            if before_push is not None:
                before_push()
            repo.push(branch, commit, existing)
            self._step(proposal, app, "pushed", {"branch": branch, "commit": commit, "files": sorted(files)})
            return DependencyBranch(
                "pushed", branch, base, commit, result.diff, report, audit_line, transitive
            )

    def _make(
        self, proposal: Proposal, op: BumpDependency, app: AppRepo, clone: Path, base: str, branch: str
    ) -> tuple[BumpResult, ReAudit | None] | DependencyBranch:
        """The bump made again by the tool in a worktree of ``base``, and the re-audit; or why not."""

        def read(_name: str, path: str) -> str:
            return app_repos.read_at(clone, base, path)

        found = installed_version(app, op.package, read)
        if isinstance(found, str):
            return DependencyBranch("refused", branch, base, detail=found)
        installed = found[0]
        if installed != op.from_version:
            now, target = parse_version(op.ecosystem, installed), parse_version(op.ecosystem, op.to_version)
            if now is not None and target is not None and now >= target:
                detail = messages.dep_publish_already(op.package, installed, app.name, app.default_branch)
                self._step(proposal, app, "already_applied", {"installed": installed})
                return DependencyBranch("applied", branch, base, detail=detail)
            self._step(proposal, app, "moved", {"installed": installed, "expected": op.from_version})
            return DependencyBranch(
                "refused",
                branch,
                base,
                detail=messages.dep_publish_moved(op.package, op.from_version, installed, app.name),
            )
        before = {}
        for path in app.files:
            try:
                before[path] = app_repos.read_at(clone, base, path)
            except app_repos.AppRepoError:
                continue  # a lockfile the tool creates
        home = Path(tempfile.mkdtemp(prefix="secops-publish-"))
        try:
            with app_repos.worktree(clone, base) as tree:
                error = app_repos.apply_bump(
                    app, tree, op.package, op.from_version, op.to_version, home / "tool"
                )
                result = app_repos.bump_result(app, tree, before, error)
                self._step(
                    proposal,
                    app,
                    "tool",
                    {
                        "tool": app.lock_tool,
                        "ok": not error,
                        "error": plain(redact(error), 500),
                        "changed": list(result.changed_paths),
                    },
                )
                reaudit = None if error else self._reaudit(app, tree, op.package, home / "audit")
        finally:
            shutil.rmtree(home, ignore_errors=True)
        if reaudit is not None:
            self._step(
                proposal,
                app,
                "reaudit",
                {
                    "audited": reaudit.audited,
                    "remaining": sorted(reaudit.remaining)[:20],
                    "detail": plain(redact(reaudit.detail), 300),
                },
            )
        return result, reaudit

    def _reaudit(self, app: AppRepo, tree: Path, package: str, home: Path) -> ReAudit:
        if not self.reaudit:
            return ReAudit(False, detail=messages.dep_reaudit_off())
        home.mkdir(parents=True, exist_ok=True)
        if app.ecosystem == "pip":
            return app_repos.reaudit_pip(app, tree, package, self.osv_url, home)
        return app_repos.reaudit_npm(app, tree, package, home)

    # --- records -------------------------------------------------------------------------------------------

    def _step(self, proposal: Proposal, app: AppRepo, step: str, fields: dict[str, Any]) -> None:
        self.audit.append(
            "dep_publish_step",
            {
                "proposal": proposal.id,
                "revision": proposal.revision,
                "app_repo": app.name,
                "step": step,
                **fields,
            },
        )


def _is_package(change: str, op: BumpDependency) -> bool:
    """Whether a ``package_changes`` line is the bumped package itself (not a transitive change)."""
    from bot.core.versions import normalise_name

    name = change.lstrip("+-").split(" ", 1)[0]
    return normalise_name(op.ecosystem, name) == normalise_name(op.ecosystem, op.package)

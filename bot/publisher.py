"""Publishers: what happens after a human approved the exact revision shown.

:class:`LocalPublisher` pushes a bot branch to the GitOps remote (no GitHub). :class:`GitHubPublisher`
does the same and opens (or finds) the pull request. Both are idempotent per (proposal, revision): a
retry, or a crash between push and pull request, reuses the branch and the pull request. Neither merges,
approves, or enables auto-merge; there is no code path for it.

Errors never escape ``publish``: git and GitHub failures become ``PublishResult(ok=False)`` with a
redacted message that says what to do, and an audit record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import messages, pull_request
from bot.audit_log import AuditLog
from bot.bot_branch import BranchBuilder, BranchOutcome
from bot.clock import Clock
from bot.core.errors import PublishError
from bot.core.guard import GuardReport
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.core.redact import redact
from bot.publishing import Approval, Publisher, PublishResult
from bot.settings import Settings
from bot.state import StateStore
from tools.git_repo import Author, GitRepo, Remote
from tools.github import PullRequests

log = logging.getLogger(__name__)


def _refusal(proposal: Proposal, approval: Approval) -> str | None:
    """Why this approval cannot publish this proposal, or None."""
    if proposal.action != "propose":
        return messages.publish_not_proposed(proposal.action)
    if (
        approval.proposal_id != proposal.id
        or approval.revision != proposal.revision
        or approval.revision_hash != proposal.revision_hash
    ):
        return messages.publish_wrong_revision(approval.revision, proposal.revision)
    return None


@dataclass(frozen=True)
class _Pushed:
    outcome: BranchOutcome
    audit_hash: str


class PublicationRecords:
    """What every publisher records the same way (GitOps and application repositories): the publication row,
    a refusal or failure, the published result, reviewers for an owner. ``_audit_extra`` adds the fields of
    the publisher's target (e.g. ``app_repo``) to each audit record; ``_log_label`` names it in log lines."""

    state: StateStore
    audit: AuditLog
    clock: Clock
    _log_label = "publish"

    def _audit_extra(self, proposal: Proposal) -> dict[str, Any]:
        return {}

    def _record(self, proposal: Proposal, outcome: Any, *, status: str, **pr: Any) -> None:
        now = self.clock.now()
        self.state.record_publication(
            proposal.id,
            proposal.revision,
            branch=outcome.branch,
            commit=outcome.commit,
            status=status,
            now=now,
            **pr,
        )
        self.state.set_status(proposal.id, "published", now)

    def _fail(
        self,
        proposal: Proposal,
        approval: Approval,
        message: str,
        why: str,
        outcome: Any = None,
    ) -> PublishResult:
        """Audit a refusal (``publish_refused``) or an error (``publish_failed``); ``outcome`` (a branch
        outcome with ``base`` and ``guard``) adds the base and the failed checks."""
        message = redact(message)
        fields: dict[str, Any] = {
            "proposal": proposal.id,
            "revision": proposal.revision,
            "approvers": list(approval.approvers),
            **self._audit_extra(proposal),
            "why": why,
            "message": message,
        }
        if outcome is not None:
            fields["base"] = outcome.base
            if outcome.guard is not None:
                fields["checks"] = [c.model_dump() for c in outcome.guard.failures]
        self.audit.append("publish_refused" if why != "error" else "publish_failed", fields)
        log.warning("%s of %s r%s did not push: %s", self._log_label, proposal.id, proposal.revision, why)
        return PublishResult(ok=False, message=message)

    def _audit_published(self, proposal: Proposal, approval: Approval, result: PublishResult) -> None:
        self.audit.append(
            "publish",
            {
                "proposal": proposal.id,
                "revision": proposal.revision,
                "revision_hash": proposal.revision_hash,
                "approvers": list(approval.approvers),
                **self._audit_extra(proposal),
                "branch": result.branch,
                "commit": result.commit,
                "pr_url": result.pr_url,
                "pr_number": result.pr_number,
                "reused": result.reused,
            },
        )

    def _already_open(
        self, proposal: Proposal, approval: Approval, statuses: tuple[str, ...]
    ) -> PublishResult | None:
        """The revision's pull request when one is already recorded (a retry or a second click): audited as
        reused, never a second one."""
        known = self.state.get_publication(proposal.id, proposal.revision)
        if known is None or known.pr_number is None or known.status not in statuses:
            return None
        result = PublishResult(
            ok=True,
            branch=known.branch,
            commit=known.commit,
            pr_url=known.pr_url,
            pr_number=known.pr_number,
            message=messages.published_pr(known.pr_url or "", True),
            reused=True,
        )
        self._audit_published(proposal, approval, result)
        return result

    def _opened(
        self, proposal: Proposal, approval: Approval, outcome: Any, pr: Any, created: bool, *, status: str
    ) -> PublishResult:
        """Record and audit the pull request ``pr`` (``number``, ``url``) opened (or found) for ``outcome``."""
        self._record(proposal, outcome, status=status, pr_number=pr.number, pr_url=pr.url)
        result = PublishResult(
            ok=True,
            branch=outcome.branch,
            commit=outcome.commit,
            pr_url=pr.url,
            pr_number=pr.number,
            message=messages.published_pr(pr.url, not created),
            reused=not created,
        )
        self._audit_published(proposal, approval, result)
        return result

    def _reviewers_for(self, pulls: Any, owners: set[str], number: int, where: dict[str, Any]) -> None:
        """Request the reviewers ``self.reviewers`` maps ``owners`` to; a refusal (e.g. the owner is not a
        collaborator: the PR is still useful) only gets logged and audited."""
        reviewers: Mapping[str, tuple[str, ...]] = getattr(self, "reviewers", {})
        wanted = sorted({r for o in owners for r in reviewers.get(o, ())})
        if not wanted:
            return
        users = [r for r in wanted if not r.startswith("@")]
        teams = [r.removeprefix("@").split("/")[-1] for r in wanted if r.startswith("@")]
        try:
            pulls.request_reviewers(number, users, teams)
        except PublishError as exc:
            log.warning(
                "PR #%s%s: reviewers not requested: %s",
                number,
                "".join(f" of {v}" for v in where.values()),
                exc,
            )
            self.audit.append("publish_reviewers_failed", {**where, "pr_number": number, "error": str(exc)})


class LocalPublisher(PublicationRecords):
    """Branch + commit + push to the GitOps remote; the result names the branch."""

    def __init__(self, builder: BranchBuilder, *, state: StateStore, audit: AuditLog, clock: Clock) -> None:
        self.builder = builder
        self.state = state
        self.audit = audit
        self.clock = clock

    def publish(self, proposal: Proposal, approval: Approval) -> PublishResult:
        pushed = self._push(proposal, approval)
        if isinstance(pushed, PublishResult):
            return pushed
        outcome = pushed.outcome
        self._record(proposal, outcome, status="pushed")
        result = PublishResult(
            ok=True,
            branch=outcome.branch,
            commit=outcome.commit,
            message=messages.published_branch(outcome.branch, outcome.status == "reused"),
            reused=outcome.status == "reused",
        )
        self._audit_published(proposal, approval, result)
        return result

    # --- shared with GitHubPublisher ---------------------------------------------------------------

    def _push(self, proposal: Proposal, approval: Approval) -> _Pushed | PublishResult:
        """The branch on the remote, or the failed result to return (audited)."""
        refusal = _refusal(proposal, approval)
        if refusal is not None:
            return self._fail(proposal, approval, refusal, "refused")
        audit_hash = approval.audit_hash or self.audit.append(
            "publish_attempt",
            {
                "proposal": proposal.id,
                "revision": proposal.revision,
                "revision_hash": proposal.revision_hash,
                "approvers": list(approval.approvers),
            },
        )

        def message(diff: str, guard: GuardReport) -> str:
            return pull_request.commit_message(proposal, approval, audit_hash)

        try:
            outcome = self.builder.build(proposal, message)
        except PublishError as exc:
            return self._fail(proposal, approval, messages.publish_git_error(str(exc)), "error")
        if not outcome.on_remote:
            return self._fail(proposal, approval, outcome.detail, outcome.status, outcome)
        return _Pushed(outcome, audit_hash)


class GitHubPublisher(LocalPublisher):
    """Branch + push + pull request (labels, optional draft, reviewers from the inventory owner)."""

    def __init__(
        self,
        builder: BranchBuilder,
        pulls: PullRequests,
        *,
        state: StateStore,
        audit: AuditLog,
        clock: Clock,
        draft: bool = False,
        reviewers: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(builder, state=state, audit=audit, clock=clock)
        self.pulls = pulls
        self.draft = draft
        self.reviewers = dict(reviewers or {})

    def publish(self, proposal: Proposal, approval: Approval) -> PublishResult:
        known = self._already_open(proposal, approval, ("open", "merged"))
        if known is not None:
            return known
        pushed = self._push(proposal, approval)
        if isinstance(pushed, PublishResult):
            return pushed
        outcome, audit_hash = pushed.outcome, pushed.audit_hash
        assert outcome.guard is not None
        self._record(proposal, outcome, status="pushed")
        try:
            pr = self.pulls.find_open(outcome.branch)
            created = pr is None
            if pr is None:
                pr = self.pulls.create(
                    title=pull_request.title(proposal),
                    body=pull_request.body(
                        proposal, approval, outcome.diff, outcome.guard, audit_hash, proofs=outcome.proofs
                    ),
                    head=outcome.branch,
                    base=self.builder.repo.default_branch,
                    draft=self.draft,
                )
            self.pulls.add_labels(pr.number, pull_request.labels(proposal))
            if created:
                self._request_reviewers(proposal, pr.number)
        except PublishError as exc:
            return self._fail(proposal, approval, messages.publish_git_error(str(exc)), "error", outcome)
        return self._opened(proposal, approval, outcome, pr, created, status="open")

    def _request_reviewers(self, proposal: Proposal, number: int) -> None:
        """Reviewers for the inventory owners of the targeted servers."""
        inventory = self.builder.inventory
        owners = {s.owner for t in proposal.group.targets if (s := inventory.server(t)) and s.owner}
        self._reviewers_for(self.pulls, owners, number, {})


def parse_reviewers(text: str) -> dict[str, tuple[str, ...]]:
    """``team-shop=alice,@org/shop;team-platform=bob`` → owner → GitHub logins (``@org/team`` for teams)."""
    out: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        owner, _, names = part.partition("=")
        out[owner.strip()] = tuple(n.strip() for n in names.split(",") if n.strip())
    return out


def build_git_repo(settings: Settings) -> GitRepo:
    """The working clone for publishing (remote: SECOPS_GIT_REMOTE_URL, else the SECOPS_REPO checkout)."""
    url = settings.git_remote_url or (str(settings.repo.resolve()) if settings.repo else None)
    if url is None:
        raise PublishError("set SECOPS_GIT_REMOTE_URL (or SECOPS_REPO) to publish approved changes")
    return GitRepo(
        settings.data_dir / "gitops-clone",
        Remote(url, settings.github_token),
        default_branch=settings.git_default_branch,
        author=Author(settings.git_author_name, settings.git_author_email),
    )


def build_publisher(
    settings: Settings,
    *,
    inventory: Inventory,
    state: StateStore,
    audit: AuditLog,
    clock: Clock,
    pulls: PullRequests | None = None,
) -> Publisher:
    """The publisher the settings ask for: GitHub pull requests when GITHUB_REPOSITORY is set, else local; with
    application repositories in the inventory, dependency bumps go to theirs (:mod:`bot.dependency_publish`)."""
    if inventory.app_repos:  # dependency bumps publish to their application repositories (issue 18)
        from bot.dependency_wiring import RoutingPublisher, dependency_publisher

        gitops = _gitops_publisher(
            settings, inventory=inventory, state=state, audit=audit, clock=clock, pulls=pulls
        )
        deps = dependency_publisher(settings, inventory=inventory, state=state, audit=audit, clock=clock)
        return RoutingPublisher(gitops, deps)
    return _gitops_publisher(
        settings, inventory=inventory, state=state, audit=audit, clock=clock, pulls=pulls
    )


def _gitops_publisher(
    settings: Settings,
    *,
    inventory: Inventory,
    state: StateStore,
    audit: AuditLog,
    clock: Clock,
    pulls: PullRequests | None = None,
) -> LocalPublisher:
    from bot.expiry import removable_for

    builder = BranchBuilder(
        build_git_repo(settings),
        inventory,
        settings.guard_policy(),
        removable=removable_for(state),
    )
    if settings.github_repository:
        from tools.github import github_pulls

        return GitHubPublisher(
            builder,
            pulls or github_pulls(settings),
            state=state,
            audit=audit,
            clock=clock,
            draft=settings.pr_draft,
            reviewers=parse_reviewers(settings.pr_reviewers),
        )
    return LocalPublisher(builder, state=state, audit=audit, clock=clock)

"""Watching the bot's open pull requests: learn from merges and closes, keep the rest conflict-free.

``secops-bot sync`` (and ``serve`` on ``SECOPS_SYNC_INTERVAL``) calls :meth:`Syncer.sync`; GitHub webhooks
call :meth:`Syncer.on_pull_request` for one pull request. For each open bot pull request:

- merged → the fix is recorded as ``merged`` (the dedup memory consumes it), the thread says who merged;
- closed without merge → recorded as ``rejected`` in review, with the closer and their last comment;
- still open, and the default branch changed one of its files (or GitHub says it conflicts) → the edit
  operations are re-applied on the new default branch, guarded again, and the bot's own branch is
  force-pushed with a lease (as Dependabot rebases), with a note in the pull request and the thread;
- the operations no longer apply (the address is already blocked, or the guard now refuses) → the bot
  closes its own pull request with a comment saying why.

Application repositories' dependency bumps (``app_open`` publications) are synced by
:class:`bot.dependency_sync.AppPullSync` in the same pass, on their own repository.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot import expiry, messages
from bot.audit_log import AuditLog
from bot.bot_branch import BranchBuilder
from bot.clock import Clock
from bot.core.errors import PublishError
from bot.core.guard import GuardReport
from bot.core.redact import redact
from bot.core.sanitize import plain
from bot.publishing import Notifier, NullNotifier
from bot.settings import Settings
from bot.state import Publication, StateStore
from bot.verification import Verifier
from tools.github import PullRequestInfo, PullRequests

if TYPE_CHECKING:
    from bot.dependency_sync import AppPullSync
    from bot.leader import LeaderLease

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one pass did."""

    checked: int = 0
    merged: int = 0
    rejected: int = 0
    rebased: int = 0
    closed: int = 0
    expired: int = 0  # removal proposals made for expired blocks
    verified: int = 0  # post-merge verifications that moved a step (bot/verification.py)
    deferred: int = 0  # open pull requests a standby replica left to the leader's sync pass
    errors: list[str] = field(default_factory=list)


class Syncer:
    """Reconciles the publications table with GitHub and the default branch."""

    def __init__(
        self,
        *,
        pulls: PullRequests,
        builder: BranchBuilder,
        state: StateStore,
        audit: AuditLog,
        clock: Clock,
        notifier: Notifier | None = None,
        ban_days: Callable[[str], float] | None = None,
        verifier: Verifier | None = None,
        apps: AppPullSync | None = None,
    ) -> None:
        self.pulls = pulls
        self.builder = builder
        self.state = state
        self.audit = audit
        self.clock = clock
        self.notifier = notifier or NullNotifier()
        #: A fixer's ban time in days (the playbook's ban_time); 30 without a catalog.
        self.ban_days = ban_days or (lambda fixer: expiry.DEFAULT_BAN_DAYS)
        self.expiry = expiry.ExpiryJob(state=state, builder=builder, audit=audit, clock=clock)
        self.verifier = verifier  # post-merge verification (Argo CD, then the alerts); None: not configured
        #: application repositories' bump pull requests (``app_open``: bot/dependency_sync.py); None: none
        self.apps = apps

    def sync(self) -> SyncReport:
        """One pass over every open bot pull request; one failing pull request does not stop the others."""
        report = SyncReport()
        for pub in self.state.publications(("open",)):
            if pub.pr_number is None:
                continue
            report.checked += 1
            try:
                self._one(pub, self.pulls.get(pub.pr_number), report)
            except PublishError as exc:
                report.errors.append(f"#{pub.pr_number}: {exc}")
                self.audit.append(
                    "sync_error", {"proposal": pub.proposal_id, "pr_number": pub.pr_number, "error": str(exc)}
                )
        if self.apps is not None:
            self.apps.sync(report)
        try:
            report.expired = len(self.expiry.run())
        except PublishError as exc:
            report.errors.append(f"expiry: {exc}")
        if self.verifier is not None:
            report.verified = self.verifier.run()
        return report

    def on_pull_request(self, number: int, lease: LeaderLease | None = None) -> SyncReport:
        """One pull request (a webhook said it changed); unknown numbers are ignored.

        A merge or close is recorded by whichever replica gets the delivery: the step is claimed in the
        database, so it has one effect however many replicas (or passes) see it. Keeping an open pull
        request fresh (rebase, close when obsolete) writes to GitHub from this replica's checkout: with a
        ``lease`` (several replicas) only the leader does it, fenced by its epoch; a standby replica leaves
        it to the leader's next sync pass.
        """
        report = SyncReport()
        for pub in self.state.publications(("open",)):
            if pub.pr_number != number:
                continue
            report.checked += 1
            pr = self.pulls.get(number)
            if pr.merged or pr.state == "closed" or lease is None:
                self._one(pub, pr, report)
            elif lease.is_leader:
                with lease.leading():
                    self._one(pub, pr, report)
            else:
                report.deferred += 1
        return report

    def is_app_repository(self, repository: str) -> bool:
        """Whether a webhook's ``owner/name`` is an application repository's (its PRs are ``app_open``)."""
        return self.apps is not None and self.apps.is_app_repository(repository)

    def on_app_pull_request(
        self, repository: str, number: int, lease: LeaderLease | None = None
    ) -> SyncReport:
        """One pull request of an application repository (a webhook): :meth:`AppPullSync.on_pull_request`."""
        if self.apps is None:
            return SyncReport()
        return self.apps.on_pull_request(repository, number, lease)

    def on_push(self, lease: LeaderLease | None = None) -> SyncReport | None:
        """A push to the repository (a webhook): a whole pass, which is the leader's work (fenced by its
        epoch); None on a standby replica (the leader's sync loop runs it)."""
        if lease is None:
            return self.sync()
        if not lease.is_leader:
            return None
        with lease.leading():
            return self.sync()

    # --- one pull request ----------------------------------------------------------------------------

    def _one(self, pub: Publication, pr: PullRequestInfo, report: SyncReport) -> None:
        if pr.merged:
            report.merged += self._merged(pub, pr)
        elif pr.state == "closed":
            report.rejected += self._rejected(pub, pr)
        else:
            outcome = self._keep_fresh(pub, pr)
            report.rebased += outcome == "rebased"
            report.closed += outcome == "closed"

    # Merged, closed and obsolete are claimed in the database first (finish_publication: open → done in one
    # transaction) and only the claimer makes the side effects: a webhook delivered to two replicas, GitHub's
    # redelivery and the leader's sync pass seeing the same merge give one audit event and one thread note.

    def _merged(self, pub: Publication, pr: PullRequestInfo) -> bool:
        now = self.clock.now()
        by = plain(pr.merged_by or "someone", 60)
        if not self.state.finish_publication(
            pub.proposal_id, pub.revision, "merged", now, pr_url=pr.url, by=by
        ):
            return False  # another replica (or pass) recorded this merge
        stored = self.state.get(pub.proposal_id)
        if stored is not None:  # what it blocked is now the bot's to lift when its ban time passes
            p = stored.proposal
            days = self.ban_days(p.fixer)
            entries = expiry.record_merged(self.state, p, pr_number=pr.number, now=now, ban_days=days)
            if entries:
                self.audit.append(
                    "blocks_recorded",
                    self._fields(pub, pr, entries=[e for _, _, e in entries], ban_days=days),
                )
        self.audit.append("pr_merged", self._fields(pub, pr, by=by))
        self.notifier.thread_note(pub.proposal_id, messages.pr_merged(by, pr.url))
        if self.verifier is not None:
            self.verifier.start(pub.proposal_id, pr.merge_commit)
        return True

    def _rejected(self, pub: Publication, pr: PullRequestInfo) -> bool:
        now = self.clock.now()
        who, comment = self.pulls.closed_by(pr.number)
        who, reason = plain(who, 60), plain(comment, 500)
        if not self.state.finish_publication(
            pub.proposal_id, pub.revision, "rejected", now, pr_url=pr.url, reason=reason, by=who
        ):
            return False
        self.state.release_removal(pub.proposal_id)  # a lift people refused: those entries stay blocked
        self.audit.append("pr_closed", self._fields(pub, pr, by=who, reason=reason))
        self.notifier.thread_note(pub.proposal_id, messages.pr_rejected(who, reason, pr.url))
        return True

    def _keep_fresh(self, pub: Publication, pr: PullRequestInfo) -> str:
        """Rebase the bot's branch when the default branch touched its files; close it when obsolete."""
        stored = self.state.get(pub.proposal_id)
        if stored is None:
            return "unknown"
        proposal = stored.proposal
        repo = self.builder.repo
        with repo.locked():
            head = repo.fetch()
            current = repo.remote_sha(pub.branch)
            if current is None:
                return "missing"
            base = repo.parent(current) or head
            conflicting = pr.mergeable_state == "dirty"
            if not conflicting and not repo.touched_since(base, head, list(proposal.files)):
                return "fresh"
            old_message = repo.repo.commit(current).message
        text = old_message if isinstance(old_message, str) else old_message.decode()

        def message(diff: str, guard: GuardReport) -> str:
            return text

        outcome = self.builder.build(proposal, message)
        now = self.clock.now()
        default = repo.default_branch
        if outcome.status == "pushed":
            note = messages.pr_rebased(default, outcome.base)
            self.pulls.comment(pr.number, note)
            self.state.record_publication(
                pub.proposal_id,
                pub.revision,
                branch=pub.branch,
                status="open",
                now=now,
                commit=outcome.commit,
            )
            self.audit.append("pr_rebased", self._fields(pub, pr, base=outcome.base, commit=outcome.commit))
            self.notifier.thread_note(pub.proposal_id, note + f" {pr.url}")
            return "rebased"
        if outcome.status in ("applied", "refused"):
            why = (
                messages.pr_obsolete_applied(default)
                if outcome.status == "applied"
                else messages.pr_obsolete_refused(
                    default, outcome.guard.summary() if outcome.guard else outcome.detail
                )
            )
            note = messages.pr_obsolete(why)
            self.pulls.comment(pr.number, note)
            self.pulls.close(pr.number)
            self.state.finish_publication(pub.proposal_id, pub.revision, "obsolete", now)
            self.audit.append("pr_closed_obsolete", self._fields(pub, pr, reason=why))
            self.notifier.thread_note(pub.proposal_id, note + f" {pr.url}")
            return "closed"
        if outcome.status == "foreign":
            self.audit.append("pr_branch_foreign", self._fields(pub, pr))
            log.warning(
                "PR #%s: branch %s has commits the bot did not make; left alone", pr.number, pub.branch
            )
        return outcome.status

    @staticmethod
    def _fields(pub: Publication, pr: PullRequestInfo, **extra: object) -> dict[str, object]:
        return {
            "proposal": pub.proposal_id,
            "revision": pub.revision,
            "branch": pub.branch,
            "pr_number": pr.number,
            "pr_url": pr.url,
            **extra,
        }


def build_syncer(
    settings: Settings,
    *,
    state: StateStore,
    audit: AuditLog,
    clock: Clock,
    notifier: Notifier | None = None,
    pulls: PullRequests | None = None,
) -> Syncer | None:
    """The syncer the settings allow: None unless GitHub pull requests are configured (the GitOps repository's,
    or only application repositories': then only their half runs, bot/dependency_sync.py)."""
    if settings.cmdb is None:
        return None
    if not settings.github_repository:
        from bot.dependency_sync import app_only_syncer

        return app_only_syncer(settings, state=state, audit=audit, clock=clock, notifier=notifier)
    from agents.playbooks import ban_days, load_catalog
    from bot.publisher import build_git_repo
    from bot.verification import build_verifier
    from tools.cmdb import load_inventory
    from tools.github import github_pulls

    inventory = load_inventory(settings.cmdb)
    builder = BranchBuilder(
        build_git_repo(settings),
        inventory,
        settings.guard_policy(),
        removable=expiry.removable_for(state),
    )
    from bot.dependency_sync import app_pull_sync

    catalog = load_catalog()
    apps = app_pull_sync(
        settings, inventory=inventory, state=state, audit=audit, clock=clock, notifier=notifier
    )
    verifier = build_verifier(
        settings,
        state=state,
        audit=audit,
        clock=clock,
        inventory=inventory,
        contains=builder.repo.contains,
        notifier=notifier,
    )
    return Syncer(
        pulls=pulls or github_pulls(settings),
        builder=builder,
        state=state,
        audit=audit,
        clock=clock,
        notifier=notifier,
        ban_days=lambda fixer: ban_days(catalog, fixer),
        verifier=verifier,
        apps=apps,
    )


def start_sync_loop(
    syncer: Syncer,
    interval: float,
    stop: threading.Event,
    *,
    after: Callable[[], None] | None = None,
    health: Any = None,
    leader: Any = None,
) -> threading.Thread:
    """Run :meth:`Syncer.sync` (then ``after``, e.g. resuming publications) every ``interval`` s until ``stop``.

    ``health`` (``passed(loop)``/``failed(loop, error)``) learns how each pass went, for ``/healthz``.
    """

    def loop() -> None:
        while not stop.wait(interval):
            if leader is not None and not leader.is_leader:
                continue  # several replicas: only the leader syncs (``leader``: a bot.leader.LeaderLease)
            try:
                with leader.leading() if leader is not None else nullcontext():
                    report = syncer.sync()
                    if report.checked:
                        log.info("sync: %s", report)
                    if after is not None and not stop.is_set():
                        after()
                if health is not None:
                    health.passed("sync")
            except Exception as exc:  # the loop must outlive one bad pass (a full disk too); the next retries
                log.warning("sync pass failed: %s", redact(str(exc)))
                if health is not None:
                    health.failed("sync", f"{exc.__class__.__name__}: {exc}")

    thread = threading.Thread(target=loop, name="secops-sync", daemon=True)
    thread.start()
    return thread

"""Application repositories' bot pull requests after they are opened (issue 18): learn, keep fresh, close.

:class:`AppPullSync` is the application-repository half of :class:`bot.sync.Syncer`: every sync pass (and a
GitHub webhook whose delivery is for an application repository's ``github_repository``) looks up the
``app_open`` publications on their own repository:

- **merged** → the proposal is ``merged`` with its outcome (the PR and who merged), an audit record and a
  thread note; :mod:`bot.dependency_memory` then covers later reports of its advisories at the merged version
  or above;
- **closed unmerged** → recorded as ``rejected`` with the closer and their last comment (the reject period
  holds the same bump), an audit record and a thread note;
- **open**, and the default branch changed the manifest or a lockfile since the bot's branch was made (or
  GitHub says it conflicts) → the bump is made again by the ecosystem's tool on the new default branch
  (:meth:`bot.dependency_publish.DependencyPublisher.build_branch`: never the stored diff, never a hand
  edit), guarded again, and the bot's own branch force-pushed with a lease; the description is written again
  and says the tests ran on the earlier base (the bot does not run them a third time: the pull request's own
  checks run on the new commit); a comment and a thread note say so;
- the package is now at or above the target on the default branch (someone bumped it), or the approved bump no
  longer applies or passes the guard → the bot comments and closes its own pull request (``obsolete``);
- a branch someone else pushed to is never touched: the thread is told once (per tip).

Exactly once: merged, closed and obsolete are claimed through :meth:`StateStore.finish_publication`
(``app_open`` → final, one transaction) and only the claimer audits and writes the note, across replicas, the
sync pass and redelivered webhooks (whose delivery keys :mod:`bot.webhook` records). Writing to the repository
(a remake, a close) is the leader's work: inside its fence every transaction checks its epoch, and the push
and the close are preceded by one (:meth:`AppPullSync._fence`), so a leader that lost its lease writes nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot import messages, pull_request
from bot.core.edits import BumpDependency
from bot.core.errors import PublishError
from bot.core.inventory import AppRepo
from bot.core.proposal import Proposal
from bot.core.sanitize import plain
from bot.dependency_memory import DEFAULT_REJECT_PERIOD
from bot.dependency_publish import (
    APP_OPEN,
    DependencyBranch,
    DependencyPublisher,
    bump_of,
    publication_key,
    recorded_tests,
)
from bot.publishing import Approval, Notifier, NullNotifier
from bot.state import Publication
from bot.sync import Syncer, SyncReport
from tools import app_repos
from tools.github import PullRequestInfo, PullRequests

if TYPE_CHECKING:
    from bot.leader import LeaderLease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """One ``app_open`` publication with what syncing it needs."""

    pub: Publication
    proposal: Proposal
    op: BumpDependency
    app: AppRepo
    pulls: PullRequests

    @property
    def words(self) -> tuple[str, str, str]:
        """The package and versions, as inert text for notes."""
        op = self.op
        return plain(op.package, 100), plain(op.from_version, 60), plain(op.to_version, 60)


class AppPullSync:
    """Reconciles ``app_open`` publications with their application repositories and GitHub."""

    def __init__(
        self,
        publisher: DependencyPublisher,
        *,
        notifier: Notifier | None = None,
        reject_period: float = DEFAULT_REJECT_PERIOD,
    ) -> None:
        self.publisher = publisher
        self.state = publisher.state
        self.audit = publisher.audit
        self.clock = publisher.clock
        self.notifier = notifier or NullNotifier()
        self.reject_days = round(reject_period / 86400)

    def is_app_repository(self, repository: str) -> bool:
        """Whether ``owner/name`` is the ``github_repository`` of an application repository (any case)."""
        wanted = repository.lower()
        return any((a.github_repository or "").lower() == wanted for a in self.publisher.inventory.app_repos)

    # --- passes ----------------------------------------------------------------------------------------

    def sync(self, report: SyncReport) -> None:
        """One pass over every ``app_open`` publication with a pull request; one failure stops no other."""
        for pub in self.state.publications((APP_OPEN,)):
            if pub.pr_number is None:
                continue
            try:
                watched = self._watched(pub)
                if watched is None:
                    continue
                report.checked += 1
                self._one(watched, watched.pulls.get(pub.pr_number), report)
            except (PublishError, app_repos.AppRepoError) as exc:
                report.errors.append(f"{pub.proposal_id} #{pub.pr_number}: {exc}")
                self.audit.append(
                    "sync_error",
                    {"proposal": pub.proposal_id, "pr_number": pub.pr_number, "error": str(exc)},
                )

    def on_pull_request(self, repository: str, number: int, lease: LeaderLease | None = None) -> SyncReport:
        """One pull request of the application repository ``repository`` (a webhook said it changed).

        A merge or close is recorded by whichever replica gets the delivery (claimed in the database);
        keeping it fresh writes to the repository, so with a ``lease`` only the leader does it, fenced."""
        report = SyncReport()
        for pub in self.state.publications((APP_OPEN,)):
            if pub.pr_number != number:
                continue
            watched = self._watched(pub)
            if watched is None or (watched.app.github_repository or "").lower() != repository.lower():
                continue  # the same number in another repository
            report.checked += 1
            pr = watched.pulls.get(number)
            if pr.merged or pr.state == "closed" or lease is None:
                self._one(watched, pr, report)
            elif lease.is_leader:
                with lease.leading():
                    self._one(watched, pr, report)
            else:
                report.deferred += 1
        return report

    def _watched(self, pub: Publication) -> Watched | None:
        stored = self.state.get(pub.proposal_id)
        raw = bump_of(stored.proposal) if stored is not None else None
        if stored is None or raw is None:
            return None
        try:
            op = BumpDependency.model_validate(raw)
        except ValidationError:
            return None
        app = self.publisher.inventory.app_repo(op.app_repo)
        if app is None:
            assert pub.pr_number is not None
            raise PublishError(messages.dep_sync_no_app_repo(op.app_repo, pub.pr_number))
        pulls = self.publisher.pulls_for(app) if self.publisher.pulls_for and app.github_repository else None
        if pulls is None:
            return None
        return Watched(pub, stored.proposal, op, app, pulls)

    def _one(self, w: Watched, pr: PullRequestInfo, report: SyncReport) -> None:
        if pr.merged:
            report.merged += self._merged(w, pr)
        elif pr.state == "closed":
            report.rejected += self._rejected(w, pr)
        else:
            outcome = self._keep_fresh(w, pr)
            report.rebased += outcome == "rebased"
            report.closed += outcome == "closed"

    # --- learning ------------------------------------------------------------------------------------------

    def _merged(self, w: Watched, pr: PullRequestInfo) -> bool:
        by = plain(pr.merged_by or "someone", 60)
        pub = w.pub
        if not self.state.finish_publication(
            pub.proposal_id,
            pub.revision,
            "merged",
            self.clock.now(),
            pr_url=pr.url,
            by=by,
            from_status=APP_OPEN,
        ):
            return False  # another replica, pass or delivery recorded this merge
        self.audit.append("pr_merged", self._fields(w, pr, by=by))
        package, old, new = w.words
        note = messages.dep_pr_merged(by, package, old, new, w.app.name, len(w.op.advisories), pr.url)
        self.notifier.thread_note(pub.proposal_id, note)
        return True

    def _rejected(self, w: Watched, pr: PullRequestInfo) -> bool:
        who, comment = w.pulls.closed_by(pr.number)
        who, reason = plain(who, 60), plain(comment, 500)
        pub = w.pub
        if not self.state.finish_publication(
            pub.proposal_id,
            pub.revision,
            "rejected",
            self.clock.now(),
            pr_url=pr.url,
            reason=reason,
            by=who,
            from_status=APP_OPEN,
        ):
            return False
        self.audit.append("pr_closed", self._fields(w, pr, by=who, reason=reason))
        package, _old, new = w.words
        note = messages.dep_pr_rejected(who, reason, package, new, w.app.name, self.reject_days, pr.url)
        self.notifier.thread_note(pub.proposal_id, note)
        return True

    # --- keeping it fresh ------------------------------------------------------------------------------

    def _keep_fresh(self, w: Watched, pr: PullRequestInfo) -> str:
        """Make the bump again when the default branch changed its files; close it when obsolete."""
        repo = self.publisher.repo_for(w.app)
        with repo.locked():
            head = repo.fetch()
            current = repo.remote_sha(w.pub.branch)
            if current is None:
                return "missing"
            if not repo.is_ours(current):
                return self._foreign(w, pr, current)
            base = repo.parent(current) or head
            conflicting = pr.mergeable_state == "dirty"
            if not conflicting and not repo.touched_since(base, head, list(w.app.files)):
                return "fresh"  # no churn for the repository's CI while its files did not move
        context = self._context(w.pub)
        approval, audit_hash = context if context is not None else (None, "")
        raw = w.op.model_dump(mode="json")
        message = (
            pull_request.dependency_commit_message(w.proposal, approval, raw, audit_hash, remade=True)
            if approval is not None
            else None
        )
        if message is None:  # published before the context was kept: the bot's own message again
            text = repo.repo.commit(current).message
            message = text if isinstance(text, str) else text.decode()
        outcome = self.publisher.build_branch(
            w.proposal,
            approval,
            w.op,
            w.app,
            recorded_tests(w.op.evidence),
            audit_hash,
            message=message,
            before_push=self._fence,
        )
        if outcome.status == "pushed":
            self._remade(w, pr, outcome, approval, audit_hash)
            return "rebased"
        if outcome.status == "foreign":
            return self._foreign(w, pr, repo.remote_sha(w.pub.branch) or "")
        if outcome.status == "refused" and outcome.tool_error:
            raise PublishError(outcome.detail)  # the tool failed (an index down?): the next pass retries
        if outcome.status in ("applied", "refused"):
            self._obsolete(w, pr, outcome.detail.rstrip(".") + ".")
            return "closed"
        return outcome.status  # reused: the same change on the same base is already there

    def _remade(
        self,
        w: Watched,
        pr: PullRequestInfo,
        outcome: DependencyBranch,
        approval: Approval | None,
        audit_hash: str,
    ) -> None:
        default = w.app.default_branch
        ran_on = str(w.op.evidence.get("base", ""))
        note = messages.dep_pr_remade(default, outcome.base, w.app.lock_tool, ran_on)
        self.state.record_publication(
            w.pub.proposal_id,
            w.pub.revision,
            branch=w.pub.branch,
            status=APP_OPEN,
            now=self.clock.now(),
            commit=outcome.commit,
        )
        self.audit.append("pr_rebased", self._fields(w, pr, base=outcome.base, commit=outcome.commit))
        edit = getattr(w.pulls, "edit_body", None)  # GitHubPulls has it; a bare PullRequests may not
        if approval is not None and outcome.guard is not None and edit is not None:
            body = pull_request.dependency_body(
                w.proposal,
                approval,
                w.op.model_dump(mode="json"),
                diff=outcome.diff,
                guard=outcome.guard,
                audit_line=outcome.audit_line,
                transitive=outcome.transitive,
                tool=w.app.lock_tool,
                base=outcome.base,
                audit_hash=audit_hash,
                remade=True,
            )
            edit(pr.number, body)
        w.pulls.comment(pr.number, note)
        self.notifier.thread_note(w.pub.proposal_id, f"{note} {pr.url}")

    def _obsolete(self, w: Watched, pr: PullRequestInfo, why: str) -> None:
        note = messages.pr_obsolete(why)
        self._fence()
        w.pulls.comment(pr.number, note)
        w.pulls.close(pr.number)
        pub = w.pub
        if self.state.finish_publication(
            pub.proposal_id, pub.revision, "obsolete", self.clock.now(), from_status=APP_OPEN
        ):
            self.audit.append("pr_closed_obsolete", self._fields(w, pr, reason=why))
            self.notifier.thread_note(pub.proposal_id, f"{note} {pr.url}")

    def _foreign(self, w: Watched, pr: PullRequestInfo, tip: str) -> str:
        """Someone else's commits on the bot's branch: left alone, and the thread told once per tip."""
        key = f"dep_foreign:{w.pub.proposal_id}:r{w.pub.revision}"
        known = self.state.get_meta(key)
        if known is not None and json.loads(known) == tip:
            return "foreign"
        self.state.set_meta(key, tip)
        self.audit.append("pr_branch_foreign", self._fields(w, pr, tip=tip))
        self.notifier.thread_note(
            w.pub.proposal_id, f"{messages.dep_pr_branch_foreign(w.pub.branch)} {pr.url}"
        )
        log.warning(
            "PR #%s of %s: branch %s has commits the bot did not make; left alone",
            pr.number,
            w.app.name,
            w.pub.branch,
        )
        return "foreign"

    def _context(self, pub: Publication) -> tuple[Approval, str] | None:
        """The approval and audit hash the pull request was opened with (kept at publish)."""
        raw = self.state.get_meta(publication_key(pub.proposal_id, pub.revision))
        if raw is None:
            return None
        try:
            data: Any = json.loads(raw)
            return Approval.model_validate(data["approval"]), str(data.get("audit_hash", ""))
        except (ValueError, KeyError, TypeError, ValidationError):
            return None

    def _fence(self) -> None:
        """One transaction before writing to the repository or GitHub: inside the leader's fence it checks the
        epoch (:class:`bot.leader.LeaseLost` when another replica took over), elsewhere it does nothing."""
        with self.state.transaction():
            pass

    @staticmethod
    def _fields(w: Watched, pr: PullRequestInfo, **extra: object) -> dict[str, object]:
        return {
            "proposal": w.pub.proposal_id,
            "revision": w.pub.revision,
            "app_repo": w.app.name,
            "package": w.op.package,
            "from": w.op.from_version,
            "to": w.op.to_version,
            "branch": w.pub.branch,
            "pr_number": pr.number,
            "pr_url": pr.url,
            **extra,
        }


def app_pull_sync(
    settings: Any,
    *,
    inventory: Any,
    state: Any,
    audit: Any,
    clock: Any,
    notifier: Notifier | None = None,
) -> AppPullSync | None:
    """The application-repository sync the settings allow: None without ``app_repos`` or ``GITHUB_TOKEN``."""
    if not inventory.app_repos or settings.github_token is None or settings.cmdb is None:
        return None
    from bot.dependency_wiring import dependency_publisher

    publisher = dependency_publisher(settings, inventory=inventory, state=state, audit=audit, clock=clock)
    return AppPullSync(publisher, notifier=notifier, reject_period=settings.reject_period)


class AppOnlySyncer(Syncer):
    """The sync of a deployment whose inventory lists application repositories but no GitOps repository on
    GitHub (no ``GITHUB_REPOSITORY``): only the application half runs (merged and closed bump pull requests
    are still learned, open ones kept fresh); there are no GitOps pull requests, expiries or verifications."""

    def __init__(
        self, apps: AppPullSync, *, state: Any, audit: Any, clock: Any, notifier: Notifier | None = None
    ) -> None:  # the GitOps half (pull requests, branch builder, expiry) is deliberately not built
        self.apps, self.app_sync = apps, apps
        self.state, self.audit, self.clock = state, audit, clock
        self.notifier = notifier or NullNotifier()
        self.verifier = None

    def sync(self) -> SyncReport:
        report = SyncReport()
        self.app_sync.sync(report)
        return report

    def on_pull_request(self, number: int, lease: LeaderLease | None = None) -> SyncReport:
        return SyncReport()  # a GitOps pull request number: there is no GitOps repository here


def app_only_syncer(
    settings: Any, *, state: Any, audit: Any, clock: Any, notifier: Notifier | None = None
) -> AppOnlySyncer | None:
    """The syncer without ``GITHUB_REPOSITORY``: the application repositories' half, or None without them."""
    from tools.cmdb import load_inventory

    if settings.cmdb is None:
        return None
    inventory = load_inventory(settings.cmdb)
    apps = app_pull_sync(
        settings, inventory=inventory, state=state, audit=audit, clock=clock, notifier=notifier
    )
    if apps is None:
        return None
    return AppOnlySyncer(apps, state=state, audit=audit, clock=clock, notifier=notifier)

"""How the bot's publishers are put together for dependency bumps (split from :mod:`bot.dependency_publish`).

:class:`RoutingPublisher` sends ``bump_dependency`` proposals to their application repository and everything
else to the GitOps publisher; :func:`dependency_publisher` builds the application repositories' publisher from
the settings, with :func:`app_pulls_factory` for their GitHub pull requests.
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.audit_log import AuditLog
from bot.clock import Clock
from bot.core.inventory import AppRepo, Inventory
from bot.core.proposal import Proposal
from bot.dependency_publish import DependencyPublisher, PullsFor, bump_of
from bot.publisher import parse_reviewers
from bot.publishing import Approval, Publisher, PublishResult
from bot.settings import Settings
from bot.state import StateStore
from tools.git_repo import Author
from tools.github import PullRequests


class RoutingPublisher:
    """GitOps proposals to the GitOps publisher, dependency bumps to their application repository."""

    def __init__(self, gitops: Publisher | None, dependencies: DependencyPublisher) -> None:
        self.gitops = gitops
        self.dependencies = dependencies

    def publish(self, proposal: Proposal, approval: Approval) -> PublishResult:
        if bump_of(proposal) is not None:
            return self.dependencies.publish(proposal, approval)
        if self.gitops is None:
            return PublishResult(ok=False, message=messages.dep_publish_no_gitops())
        return self.gitops.publish(proposal, approval)

    def __getattr__(self, name: str) -> Any:
        # what callers read of the GitOps publisher (its branch builder: expiry, sync) stays reachable
        gitops = self.__dict__.get("gitops")
        if gitops is None:
            raise AttributeError(name)
        return getattr(gitops, name)


def app_pulls_factory(settings: Settings) -> PullsFor:
    """Pull requests of an application repository's ``github_repository`` (``GITHUB_TOKEN``, ``GITHUB_API_URL``)."""
    clients: dict[str, PullRequests] = {}

    def pulls_for(app: AppRepo) -> PullRequests | None:
        if not app.github_repository or settings.github_token is None:
            return None
        known = clients.get(app.github_repository)
        if known is None:
            from tools.github import GitHubPulls, github_client

            client = github_client(settings.github_token.get_secret_value(), settings.github_api_url)
            known = clients[app.github_repository] = GitHubPulls(client, app.github_repository)
        return known

    return pulls_for


def dependency_publisher(
    settings: Settings,
    *,
    inventory: Inventory,
    state: StateStore,
    audit: AuditLog,
    clock: Clock,
    pulls_for: PullsFor | None = None,
) -> DependencyPublisher:
    """The dependency publisher the settings describe (clones under ``<data dir>/deps/publish``)."""
    assert settings.cmdb is not None
    return DependencyPublisher(
        inventory,
        base_dir=settings.cmdb.resolve().parent,
        clones_dir=settings.data_dir / "deps" / "publish",
        state=state,
        audit=audit,
        clock=clock,
        author=Author(settings.git_author_name, settings.git_author_email),
        token=settings.github_token,
        pulls_for=pulls_for or app_pulls_factory(settings),
        osv_url=settings.osv_url,
        draft=settings.pr_draft,
        reviewers=parse_reviewers(settings.pr_reviewers),
    )

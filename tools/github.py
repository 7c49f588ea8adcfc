"""GitHub pull requests through PyGithub: find, open, label, comment, close, and read outcomes.

The client is built once from settings with no client-side throttling and no retries
(``seconds_between_requests=None, seconds_between_writes=None, retry=None``): publishing is driven by a
human click and the sync loop has its own interval, so a slow or failing GitHub should surface at once
as an error naming the step, not as a minute of silent sleeping. Every request has a timeout.

There is deliberately no method that merges, approves, or enables auto-merge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import requests
from github import Auth, Github, GithubException
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.core.errors import ConfigError, PublishError
from bot.core.redact import redact, register_secret
from bot.settings import Settings

BOT_MARKER = "<!-- secops-bot"
T = TypeVar("T")


@dataclass(frozen=True)
class PullRequestInfo:
    """What the bot needs to know about one pull request."""

    number: int
    url: str
    state: str  # open | closed
    merged: bool
    head_ref: str
    head_sha: str
    base_ref: str
    merged_by: str | None = None
    mergeable_state: str | None = None  # clean | dirty | behind | blocked | unknown ...
    merge_commit: str | None = None  # the merge (or squash) commit on the base branch, once merged


class PullRequests(Protocol):
    """The pull-request operations publishing and sync use (a fake or GitHub implements it)."""

    def find_open(self, head_branch: str) -> PullRequestInfo | None: ...
    def create(self, *, title: str, body: str, head: str, base: str, draft: bool) -> PullRequestInfo: ...
    def get(self, number: int) -> PullRequestInfo: ...
    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...
    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None: ...
    def comment(self, number: int, body: str) -> None: ...
    def close(self, number: int) -> None: ...
    def closed_by(self, number: int) -> tuple[str, str]:
        """Who closed the pull request, and their last comment ('' if none)."""
        ...


class GitHubPulls:
    """:class:`PullRequests` on a real (or loopback) GitHub REST API."""

    def __init__(self, client: Github, repository: str) -> None:
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise ConfigError(f"GITHUB_REPOSITORY: {repository!r} is not owner/name")
        self.client = client
        self.repository = repository
        self.owner = repository.split("/")[0]
        self._repo: Repository | None = None

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            self._repo = self._call("read the repository", lambda: self.client.get_repo(self.repository))
        return self._repo

    def find_open(self, head_branch: str) -> PullRequestInfo | None:
        def find() -> PullRequestInfo | None:
            for pr in self.repo.get_pulls(state="open", head=f"{self.owner}:{head_branch}"):
                if pr.head.ref == head_branch:
                    return _info(pr)
            return None

        return self._call("list pull requests", find)

    def create(self, *, title: str, body: str, head: str, base: str, draft: bool) -> PullRequestInfo:
        return self._call(
            "open the pull request",
            lambda: _info(self.repo.create_pull(base=base, head=head, title=title, body=body, draft=draft)),
        )

    def get(self, number: int) -> PullRequestInfo:
        return self._call(f"read pull request #{number}", lambda: _info(self.repo.get_pull(number)))

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._call(f"label #{number}", lambda: self.repo.get_issue(number).add_to_labels(*labels))

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        self._call(
            f"request reviewers on #{number}",
            lambda: self.repo.get_pull(number).create_review_request(
                reviewers=list(users), team_reviewers=list(teams)
            ),
        )

    def comment(self, number: int, body: str) -> None:
        text = redact(body) + f"\n\n{BOT_MARKER} -->"
        self._call(f"comment on #{number}", lambda: self.repo.get_issue(number).create_comment(text))

    def close(self, number: int) -> None:
        self._call(f"close #{number}", lambda: self.repo.get_pull(number).edit(state="closed"))

    def edit_body(self, number: int, body: str) -> None:
        """Replace the description of the bot's own pull request (a dependency bump made again)."""
        text = redact(body)
        self._call(f"edit the description of #{number}", lambda: self.repo.get_pull(number).edit(body=text))

    def closed_by(self, number: int) -> tuple[str, str]:
        def read() -> tuple[str, str]:
            issue = self.repo.get_issue(number)
            who = issue.closed_by.login if issue.closed_by is not None else "someone"
            human = [c for c in issue.get_comments() if BOT_MARKER not in (c.body or "")]
            return who, (human[-1].body or "").strip() if human else ""

        return self._call(f"read who closed #{number}", read)

    @staticmethod
    def _call(step: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except GithubException as exc:
            detail = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise PublishError(
                redact(f"GitHub refused to {step}: HTTP {exc.status} {detail}")[:500]
            ) from None
        except requests.RequestException as exc:
            raise PublishError(redact(f"GitHub unreachable ({step}): {exc.__class__.__name__}")) from None


def _info(pr: PullRequest) -> PullRequestInfo:
    return PullRequestInfo(
        number=pr.number,
        url=pr.html_url,
        state=pr.state,
        merged=bool(pr.merged),
        head_ref=pr.head.ref,
        head_sha=pr.head.sha,
        base_ref=pr.base.ref,
        merged_by=pr.merged_by.login if pr.merged_by is not None else None,
        mergeable_state=pr.mergeable_state,
        merge_commit=pr.merge_commit_sha if pr.merged else None,
    )


def github_client(token: str, api_url: str, *, timeout: float = 15.0) -> Github:
    """A PyGithub client with no throttling sleeps and no retries (see the module docstring)."""
    register_secret(token)
    return Github(
        auth=Auth.Token(token),
        base_url=api_url.rstrip("/"),
        timeout=int(max(1, timeout)),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        per_page=100,
    )


def github_pulls(settings: Settings) -> GitHubPulls:
    """The pull-request client from settings; names the missing variable."""
    settings.require("github_token", "github_repository")
    assert settings.github_token is not None and settings.github_repository is not None
    client = github_client(settings.github_token.get_secret_value(), settings.github_api_url)
    return GitHubPulls(client, settings.github_repository)

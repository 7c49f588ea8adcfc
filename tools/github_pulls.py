"""Open Dependabot and Renovate pull requests of an application repository (issue 18 dedup), through PyGithub.

:class:`GitHubOpenPulls` implements :class:`bot.dependency_bump.OpenPulls`: it lists the open pull requests of
the app repository's ``github_repository`` (newest first, at most ``max_pulls``) and keeps those a dependency
bot opened: the author is ``dependabot[bot]`` or ``renovate[bot]`` (a GitHub App, ``type: Bot``), the branch has
that bot's prefix (``dependabot/…``, ``renovate/…``) and lives in the repository itself. A pull request from a
fork never counts, whatever its title and branch say: anyone can open one, and suppressing the bot's bump for
it would leave the advisory open. Which package and version a pull request bumps is read from its title and
branch by :func:`bot.core.operations.dependencies.other_bot_bump`; the text is hostile and only matched.

The client is :func:`tools.github.github_client`: a timeout on every request, no retries, no throttling
sleeps, the token registered for redaction. A GitHub that refuses, is down or is slow raises
:class:`bot.core.errors.SourceError` with a message naming the repository and the cause (never the token); the
bumper then proposes anyway and says the check could not be done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import requests
from github import Github, GithubException

from bot import messages
from bot.core.errors import SourceError
from bot.core.inventory import AppRepo
from bot.core.operations.dependencies import OpenPull, OpenPulls
from bot.core.redact import redact
from bot.settings import Settings

#: The dependency bots GitHub shows as these logins, and the branch prefix each one pushes.
BOTS: Mapping[str, str] = {"dependabot[bot]": "dependabot/", "renovate[bot]": "renovate/"}
LOOKUP_TIMEOUT = 10.0


class GitHubOpenPulls:
    """The open Dependabot/Renovate pull requests of an application repository on GitHub (or a loopback)."""

    def __init__(self, client: Github, *, max_pulls: int = 300, bots: Mapping[str, str] = BOTS) -> None:
        self.client = client
        self.max_pulls = max_pulls
        self.bots = dict(bots)

    def open_pulls(self, app: AppRepo) -> Sequence[OpenPull]:
        """Dependency bots' open pull requests of ``app`` (none when it names no ``github_repository``)."""
        name = app.github_repository
        if not name:
            return ()
        try:
            return self._list(name)
        except GithubException as exc:
            detail = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise SourceError(
                messages.dep_pulls_refused(name, exc.status, redact(str(detail or ""))[:200])
            ) from None
        except requests.RequestException as exc:
            raise SourceError(messages.dep_pulls_unreachable(name, exc.__class__.__name__)) from None

    def _list(self, name: str) -> list[OpenPull]:
        repo = self.client.get_repo(name, lazy=True)
        out: list[OpenPull] = []
        for seen, pr in enumerate(repo.get_pulls(state="open", sort="created", direction="desc")):
            if seen >= self.max_pulls:
                break
            author = pr.user.login if pr.user is not None else ""
            prefix = self.bots.get(author)
            branch = pr.head.ref or ""
            if prefix is None or pr.state != "open" or not branch.startswith(prefix):
                continue
            head_repo = pr.head.repo.full_name if pr.head.repo is not None else ""
            if head_repo.lower() != name.lower():
                continue  # a fork's pull request: anyone can open one
            out.append(OpenPull(pr.number, pr.title or "", branch, pr.html_url or ""))
        return out


def open_pulls_from_settings(settings: Settings, *, timeout: float = LOOKUP_TIMEOUT) -> OpenPulls | None:
    """The lister for ``settings``' GitHub (``GITHUB_TOKEN``, ``GITHUB_API_URL``), or None when
    no token is configured (the lookup is then skipped, as without GitHub)."""
    if settings.github_token is None:
        return None
    from tools.github import github_client

    client = github_client(settings.github_token.get_secret_value(), settings.github_api_url, timeout=timeout)
    return GitHubOpenPulls(client)

"""``/readyz``: is this process able to do its job right now? Each failing check is named, with what to do.

Checks (those that apply to the configuration): ``state`` (the state store takes a write), ``repo`` (the
GitOps checkout and the inventory can be read), ``slack_auth`` (``auth.test``), ``slack_channel`` (the bot is
a member of the proposals channel), ``github`` (the repository answers, when ``GITHUB_REPOSITORY`` is set),
``chroma`` (the heartbeat answers, when ``SECOPS_CHROMA_URL`` is set). A check returns None when it passes,
else the reason. Remote checks are cached for ``ttl`` seconds so that probes do not hammer Slack or GitHub.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import messages
from bot.core.redact import redact
from bot.settings import Settings
from bot.state import StateStore

Check = Callable[[], str | None]
REMOTE_TTL_S = 30.0


class Readiness:
    """Named checks, run on each ``/readyz`` (remote ones cached)."""

    def __init__(self, ttl: float = REMOTE_TTL_S) -> None:
        self.ttl = ttl
        self._checks: list[tuple[str, Check, bool]] = []
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, check: Check, *, remote: bool = False) -> None:
        self._checks.append((name, check, remote))

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._checks]

    def _run(self, name: str, check: Check, remote: bool) -> str | None:
        now = time.monotonic()
        if remote:
            with self._lock:
                cached = self._cache.get(name)
            if cached is not None and now - cached[0] < self.ttl:
                return cached[1]
        try:
            result = check()
        except Exception as exc:  # a check that raises fails, with the exception named (redacted)
            result = f"{exc.__class__.__name__}: {redact(str(exc))[:300]}"
        if remote:
            with self._lock:
                self._cache[name] = (now, result)
        return result

    def report(self) -> dict[str, Any]:
        """``{"ok": bool, "checks": {name: "ok" | reason}, "failing": [names]}``."""
        checks = {name: self._run(name, check, remote) for name, check, remote in self._checks}
        failing = [name for name, reason in checks.items() if reason is not None]
        return {
            "ok": not failing,
            "checks": {name: reason or "ok" for name, reason in checks.items()},
            "failing": failing,
        }


def state_writable(state: StateStore, now: Callable[[], float]) -> Check:
    def check() -> str | None:
        try:
            state.set_meta("ready_probe", {"at": now()})
        except Exception as exc:
            return messages.ready_state_unwritable(str(state.path), redact(str(exc))[:200])
        return None

    return check


def repo_readable(settings: Settings) -> Check:
    def check() -> str | None:
        repo, cmdb = settings.repo, settings.cmdb
        if repo is None:
            return None
        if not repo.is_dir():
            return messages.ready_repo_unreadable(str(repo), "not a directory")
        try:
            os.listdir(repo)
        except OSError as exc:
            return messages.ready_repo_unreadable(str(repo), exc.strerror or str(exc))
        if cmdb is not None:
            try:
                Path(cmdb).read_bytes()
            except OSError as exc:
                return messages.ready_repo_unreadable(str(cmdb), exc.strerror or str(exc))
        return None

    return check


def github_reachable(settings: Settings) -> Check:
    from tools.probe import http_get_ok

    def check() -> str | None:
        headers = {"Accept": "application/vnd.github+json", "User-Agent": "secops-bot"}
        if settings.github_token is not None:
            headers["Authorization"] = f"Bearer {settings.github_token.get_secret_value()}"
        url = f"{settings.github_api_url.rstrip('/')}/repos/{settings.github_repository}"
        why = http_get_ok(url, headers)
        return messages.ready_github_unreachable(str(settings.github_repository), why) if why else None

    return check


def chroma_reachable(settings: Settings) -> Check:
    from tools.probe import http_get_ok

    def check() -> str | None:
        assert settings.chroma_url is not None
        why = http_get_ok(settings.chroma_url.rstrip("/") + "/api/v2/heartbeat")
        return messages.ready_chroma_unreachable(why) if why else None

    return check


def base_checks(settings: Settings, state: StateStore, now: Callable[[], float], ttl: float) -> Readiness:
    """The checks that do not need Slack; ``bot.slack.runtime`` adds the Slack ones."""
    ready = Readiness(ttl)
    ready.add("state", state_writable(state, now))
    ready.add("repo", repo_readable(settings))
    if settings.github_repository:
        ready.add("github", github_reachable(settings), remote=True)
    if settings.chroma_url:
        ready.add("chroma", chroma_reachable(settings), remote=True)
    return ready

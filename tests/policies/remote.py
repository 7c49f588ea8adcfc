"""The policy fixture repository (fixtures/policy-repo) as a bare git remote, optionally with extra files."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURES, git

POLICY_REPO = FIXTURES / "policy-repo"
LIBRARY = FIXTURES / "kyverno-policies"
#: a Kyverno library policy in Audit that flags nothing in the fixture repository (promotion candidate)
CAPABILITIES = LIBRARY / "pod-security" / "baseline" / "disallow-capabilities" / "disallow-capabilities.yaml"
CAPABILITIES_FILE = "clusters/prod/policies/disallow-capabilities.yaml"


def policy_repo(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    """A copy of the fixture repository with ``extra`` files (repository path → text)."""
    work = tmp_path / "upstream"
    shutil.copytree(POLICY_REPO, work)
    for path, text in (extra or {}).items():
        (work / path).write_text(text)
    return work


def policy_remote(tmp_path: Path, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """The (copied) fixture repository committed on main in a bare remote, and a checkout that scans read."""
    work = policy_repo(tmp_path, extra)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(bare), str(checkout), cwd=tmp_path)
    return bare, checkout

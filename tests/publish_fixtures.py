"""Shared set-up for publishing tests: a real bare remote, a proposal from the real pipeline, an approval."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.bot_branch import BranchBuilder
from bot.clock import FixedClock
from bot.core.grouping import group_alerts
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.pipeline import Scanner
from bot.publishing import Approval
from bot.state import StateStore
from tests.conftest import FIXTURES, git, make_alert
from tools.git_repo import Author, GitRepo, Remote

INGRESS = "clusters/prod/web-01/ingress-nginx-controller.yaml"
BOT = Author("secops-bot", "secops-bot@example.com")
FAKE_TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD"


def bare_remote(tmp_path: Path) -> Path:
    """fixtures/gitops committed on main and pushed to a bare repository: the remote the bot writes to."""
    work = tmp_path / "upstream"
    shutil.copytree(FIXTURES / "gitops", work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init", cwd=work)
    bare = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    return bare


def human_commit(tmp_path: Path, path: str, text: str, message: str = "human change") -> str:
    """Someone else changes ``path`` on main (through the upstream checkout) and pushes."""
    work = tmp_path / "upstream"
    git("checkout", "-q", "main", cwd=work)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=work)
    (work / path).write_text(text)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", message, cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def merge_branch(tmp_path: Path, branch: str) -> str:
    """A human merges a bot branch into main (what pressing Merge on GitHub does)."""
    work = tmp_path / "upstream"
    git("checkout", "-q", "main", cwd=work)
    git("pull", "-q", "--ff-only", "origin", "main", cwd=work)
    git("fetch", "-q", "origin", f"{branch}:refs/remotes/origin/{branch}", cwd=work)
    git(
        "-c", "user.name=dev", "-c", "user.email=dev@example.com",
        "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}", cwd=work,
    )  # fmt: skip
    git("push", "-q", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def remote_file(bare: Path, ref: str, path: str) -> str:
    return git("show", f"{ref}:{path}", cwd=bare)


def remote_branches(bare: Path) -> list[str]:
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=bare)
    return sorted(out.split())


@dataclass
class World:
    tmp: Path
    bare: Path
    inventory: Inventory
    clock: FixedClock = field(default_factory=lambda: FixedClock(1_795_000_000))
    token: str | None = None

    def __post_init__(self) -> None:
        self.state = StateStore(self.tmp / "data" / "state.db")
        self.audit = AuditLog(self.tmp / "data" / "audit.jsonl", self.clock)

    def repo(self, url: str | None = None) -> GitRepo:
        from pydantic import SecretStr

        return GitRepo(
            self.tmp / "data" / "gitops-clone",
            Remote(url or str(self.bare), SecretStr(self.token) if self.token else None),
            author=BOT,
            timeout=20,
        )

    def builder(self, url: str | None = None) -> BranchBuilder:
        return BranchBuilder(self.repo(url), self.inventory)

    def proposal(self, srcip: str = "91.240.118.172", agent: str = "web-01", **kw: object) -> Proposal:
        """A proposal built by the real scan pipeline against a checkout of the remote's main."""
        checkout = self.tmp / f"scan-{len(list(self.tmp.glob('scan-*')))}"
        git("clone", "-q", str(self.bare), str(checkout), cwd=self.tmp)
        scanner = Scanner(
            inventory=self.inventory,
            repo_root=checkout,
            catalog=load_catalog(),
            state=self.state,
            audit=self.audit,
            clock=self.clock,
        )
        (group,) = group_alerts([make_alert(srcip=srcip, agent=agent, **kw)], min_level=0)  # type: ignore[arg-type]
        p = scanner.build(group)
        self.state.add_proposal(p, self.clock.now())
        return p


def approval(p: Proposal, who: str = "U0ALICE") -> Approval:
    return Approval(
        proposal_id=p.id,
        revision=p.revision,
        revision_hash=p.revision_hash,
        approvers=(who,),
        approved_at=1_795_000_100.0,
        thread_url="https://example.slack.com/archives/C1/p1795000000000100",
    )

"""Publishing dependency bumps: a fixture application pushed to a bare remote, a real pip-audit report, the
proposal from the real scan (tests twice, re-audit, guard), a loopback OSV service and a loopback GitHub."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.dependency_publish import DependencyPublisher
from bot.dependency_scan import scan_dependency_reports
from bot.pipeline import Scanner
from bot.publishing import Approval
from bot.state import StateStore
from tests.conftest import git
from tests.dependency_fixtures import PIP_AUDIT, app_repo, bumper, inventory_with, npm_app, py_app, scanner
from tests.slack.conftest import bare_remote  # noqa: F401  # a fixture the Slack tests here use
from tests.tools.github_server import GitHubServer
from tests.tools.osv_server import OsvServer, corpus_records
from tools.git_repo import Author
from tools.github import GitHubPulls, github_client

BOT = Author("secops-bot", "secops-bot@example.com")
TOKEN = "ghp_DEPSfakeDEPSfake0123456789abcdefWXYZ"


@pytest.fixture
def osv():
    with OsvServer(corpus_records()).running() as url:
        yield url


@pytest.fixture
def gh():
    with GitHubServer("acme", "billing", token=TOKEN) as server:
        yield server


def app_remote(
    tmp_path: Path, name: str = "py-app", extra: dict[str, str] | None = None
) -> tuple[Path, Path]:
    """The fixture application committed in ``tmp/<name>`` (the developers' checkout) and pushed to a bare
    ``tmp/<name>.git``: the application repository's remote, the one the bot pushes to."""
    work = app_repo(tmp_path, name, extra)
    bare = tmp_path / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    git("branch", "-q", "--set-upstream-to=origin/main", "main", cwd=work)
    return work, bare


def human_commit(work: Path, path: str, text: str, message: str = "developer change") -> str:
    """A developer changes ``path`` on main and pushes."""
    git("pull", "-q", "--ff-only", cwd=work)
    (work / path).write_text(text)
    git("-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qam", message, cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def pip_audit_report(repo: Path, osv_url: str, out: Path, edit: Any = None) -> Path:
    """``pip-audit -f json`` of the application, for real, against the loopback OSV service (``edit`` may
    change the parsed report: hostile advisory text)."""
    subprocess.run(
        [str(PIP_AUDIT), "-r", "requirements.txt", "--no-deps", "--disable-pip", "-s", "osv", "--osv-url", osv_url,
         "-f", "json", "-o", str(out), "--progress-spinner", "off", "--cache-dir", str(out.parent / "pa-cache")],
        cwd=repo, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if edit is not None:
        data = json.loads(out.read_text())
        edit(data)
        out.write_text(json.dumps(data))
    return out


@dataclass
class DepWorld:
    tmp: Path
    work: Path
    bare: Path
    osv_url: str
    gh: GitHubServer | None
    app: dict[str, Any] = field(default_factory=dict)
    npm: bool = False  # the npm fixture application (orders-web) instead of the Python one (billing)
    clock: FixedClock = field(default_factory=lambda: FixedClock(1_795_000_000))

    def __post_init__(self) -> None:
        self.state = StateStore(self.tmp / "data" / "state.db")
        self.audit = AuditLog(self.tmp / "data" / "audit.jsonl", self.clock)

    def inventory(self, **fields: Any) -> Inventory:
        repo: dict[str, Any] = {"repository": str(self.bare), **self.app, **fields}
        if self.gh is not None:
            repo.setdefault("github_repository", f"{self.gh.repo.owner}/{self.gh.repo.name}")
        return inventory_with((npm_app if self.npm else py_app)(self.bare, **repo))

    @property
    def name(self) -> str:
        return "orders-web" if self.npm else "billing"

    def proposals(self, report: Path, **app_fields: Any) -> dict[str, Proposal]:
        """The real dependency scan of ``report`` (its proposals stored), by package."""
        inv = self.inventory(**app_fields)
        sc: Scanner = scanner(inv, self.tmp)
        sc.state, sc.audit, sc.clock = self.state, self.audit, self.clock
        result = scan_dependency_reports(
            sc, bumper(inv, self.tmp, osv_url=self.osv_url), [(report, self.name)]
        )
        return {p.operations[0]["package"]: p for p in result.proposals if p.operations}

    def publisher(self, inventory: Inventory | None = None, **kw: Any) -> DependencyPublisher:
        def pulls_for(app):
            if self.gh is None or not app.github_repository:
                return None
            return GitHubPulls(github_client(TOKEN, self.gh.url, timeout=10), app.github_repository)

        return DependencyPublisher(
            inventory or self.inventory(),
            base_dir=self.tmp,
            clones_dir=self.tmp / "data" / "deps" / "publish",
            state=self.state,
            audit=self.audit,
            clock=self.clock,
            author=BOT,
            pulls_for=pulls_for,
            osv_url=self.osv_url,
            git_timeout=30,
            **kw,
        )

    def audit_events(self) -> list[dict[str, Any]]:
        self.audit.flush()
        return [json.loads(line) for line in (self.tmp / "data" / "audit.jsonl").read_text().splitlines()]


def approval(p: Proposal, who: str = "UALICE") -> Approval:
    return Approval(
        proposal_id=p.id,
        revision=p.revision,
        revision_hash=p.revision_hash,
        approvers=(who,),
        approver_names=("alice",),
        approved_at=1_795_000_100.0,
        thread_url="https://example.slack.com/archives/C1/p1795000000000100",
    )


def changed_lines(bare: Path, base: str, branch: str) -> list[str]:
    diff = git("diff", "--unified=0", base, branch, cwd=bare)
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# --- after the pull request is opened (bot/dependency_sync.py) ------------------------------------------------


class Notes:
    """The thread notes the sync wrote (a Notifier)."""

    def __init__(self) -> None:
        self.notes: list[tuple[str, str]] = []

    def thread_note(self, proposal_id: str, text: str) -> None:
        self.notes.append((proposal_id, text))


def jinja(world: DepWorld, edit: Any = None, report: str = "audit.json", **app_fields: Any) -> Proposal:
    """The Jinja2 proposal of a real pip-audit report of the developers' checkout as it is now."""
    path = pip_audit_report(world.work, world.osv_url, world.tmp / report, edit)
    return world.proposals(path, **app_fields)["Jinja2"]


def published(world: DepWorld) -> tuple[Proposal, Any]:
    """The Jinja2 bump, approved and published: its pull request is #1 of the loopback GitHub."""
    p = jinja(world)
    result = world.publisher().publish(p, approval(p))
    assert result.ok, result.message
    return p, result


def app_sync(world: DepWorld, notes: Notes, state: StateStore | None = None, **kw: Any) -> Any:
    from bot.dependency_sync import AppPullSync

    publisher = world.publisher()
    if state is not None:
        publisher.state = state
    return AppPullSync(publisher, notifier=notes, **kw)


def sync_pass(sync: Any) -> Any:
    from bot.sync import SyncReport

    report = SyncReport()
    sync.sync(report)
    return report


def merge_on_main(world: DepWorld, branch: str) -> str:
    """A developer merges the bot's branch into main (fast-forward) and pushes; the merge commit."""
    git("pull", "-q", "--ff-only", cwd=world.work)
    git("fetch", "-q", "origin", branch, cwd=world.work)
    git("merge", "-q", "--ff-only", "FETCH_HEAD", cwd=world.work)
    git("push", "-q", "origin", "main", cwd=world.work)
    return git("rev-parse", "HEAD", cwd=world.work).strip()

"""``secops-bot dedup import|query``, and the one place the dedup service is built from settings.

::

    secops-bot dedup import --repo DIR --cmdb CMDB.yaml [--author NAME]   back-fill from the bot's commits
    secops-bot dedup query TEXT [-k 5]                                     the past fixes closest to TEXT
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import messages
from bot.clock import Clock
from bot.core.errors import FixStoreError, SecopsError
from bot.setting_names import ENV_NAMES

# The dedup machinery (pydantic models, SQLite, Chroma, the embedder) is imported by the functions that use
# it: registering the command for `secops-bot --help` must stay cheap.
if TYPE_CHECKING:
    from bot.core.effects import Effect
    from bot.core.inventory import Inventory
    from bot.dedup import DedupService
    from bot.settings import Settings
    from bot.state import StateStore

_PR_NUMBER = re.compile(r"\(#(\d+)\)\s*$|Merge pull request #(\d+)")


def build_dedup(
    settings: Settings, state: StateStore, inventory: Inventory, repo: Path, clock: Clock
) -> DedupService:
    """The dedup service for a process: Chroma under the data dir (or the server), the shared embedder."""
    from bot.core.dedup import DedupPolicy
    from bot.dedup import DedupService
    from bot.yaml_edit import repo_reader
    from tools.embedder import shared_embedder
    from tools.fix_store import FixStore

    store = (
        FixStore(url=settings.chroma_url)
        if settings.chroma_url
        else FixStore(path=settings.data_dir / "chroma")
    )
    return DedupService(
        state=state,
        inventory=inventory,
        read_file=repo_reader(repo),
        clock=clock,
        store=store,
        embedder=shared_embedder(),
        policy=DedupPolicy(
            threshold=settings.dedup_threshold,
            show_threshold=settings.dedup_show_threshold,
            reject_period=settings.reject_period,
        ),
        repo_root=repo,
    )


def register(sub: Any) -> None:
    """Add ``dedup import`` and ``dedup query`` to the top-level subcommands."""
    dedup = sub.add_parser("dedup", help="the memory of past fixes (merged and rejected)")
    dsub = dedup.add_subparsers(dest="dedup_command", metavar="SUBCOMMAND")
    dsub.required = True
    imp = dsub.add_parser(
        "import",
        help="record the bot's already-merged commits of a GitOps repo as merged fixes",
        description="Read the GitOps repository's history and record every commit by the bot that changed a "
        "config the inventory lists as a merged fix, so a new deployment starts with memory.",
    )
    imp.add_argument("--repo", help=f"GitOps repository checkout {_env('repo')}")
    imp.add_argument("--cmdb", help=f"inventory YAML {_env('cmdb')}")
    imp.add_argument("--author", help="commit author name of the bot (default: the git author setting)")
    imp.set_defaults(func=cmd_dedup_import)
    query = dsub.add_parser("query", help="show the past fixes most similar to a text")
    query.add_argument("text", help="a description, e.g. 'set server-tokens to false'")
    query.add_argument("-k", type=int, default=5, help="how many to show (default 5)")
    query.set_defaults(func=cmd_dedup_query)


def _env(name: str) -> str:
    return f"(env {ENV_NAMES[name]})"


def _settings(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    from bot.settings import load_settings

    keys = ("data_dir", "repo", "cmdb")
    return load_settings(env, {k: getattr(args, k, None) for k in keys})


# --- import ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    sha: str
    at: float
    author: str
    subject: str


def bot_commits(repo: Path, author: str) -> list[Commit]:
    """The commits by ``author`` (oldest first)."""
    from tools.runner import run_command

    res = run_command(
        ["git", "log", "--reverse", "--no-merges", f"--author={author}", "--format=%H%x1f%ct%x1f%an%x1f%s"],
        timeout=60,
        cwd=repo,
    )
    if res.status == "error":
        raise SecopsError(res.error)
    out = []
    for line in res.stdout.splitlines():
        sha, ct, name, subject = [*line.split("\x1f"), "", "", ""][:4]
        if sha:
            out.append(Commit(sha, float(ct or 0), name, subject))
    return out


def _show(repo: Path, rev: str, path: str) -> Any:
    import yaml

    from tools.runner import run_command

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    res = run_command(["git", "show", f"{rev}:{path}"], timeout=30, cwd=repo)
    if res.status == "error":
        return None
    try:
        return yaml.load(res.stdout, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return None


def commit_effects(repo: Path, commit: Commit, inventory: Inventory) -> list[Effect]:
    """The effects of one commit on the configs the inventory lists."""
    from bot.core.effects import effects_of_change
    from bot.dedup import where_map
    from tools.runner import run_command

    where = where_map(inventory)
    res = run_command(
        ["git", "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", commit.sha],
        timeout=30,
        cwd=repo,
    )
    effects: list[Effect] = []
    for path in res.stdout.splitlines():
        if path in where:
            before = _show(repo, f"{commit.sha}^", path)
            after = _show(repo, commit.sha, path)
            effects.extend(effects_of_change(path, where[path], before, after))
    return effects


def pr_url_of(subject: str, repository: str | None, api_url: str) -> str | None:
    """The PR a squash-merge or merge subject names (``... (#12)``), as a URL when the repository is known."""
    m = _PR_NUMBER.search(subject)
    if not m:
        return None
    number = m.group(1) or m.group(2)
    if repository:
        host = (
            "https://github.com"
            if "api.github.com" in api_url
            else api_url.rstrip("/").removesuffix("/api/v3")
        )
        return f"{host}/{repository}/pull/{number}"
    return f"#{number}"


def cmd_dedup_import(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    from bot.core.dedup import PastFix
    from bot.dedup import effect_rows, fix_record
    from bot.storage import open_state
    from tools.cmdb import load_inventory

    settings = _settings(args, env)
    settings.require("repo", "cmdb")
    assert settings.repo and settings.cmdb
    inventory = load_inventory(settings.cmdb)
    author = args.author or settings.git_author_name
    state = open_state(settings, now=clock.now())
    try:
        service = build_dedup(settings, state, inventory, settings.repo, clock)
        commits = bot_commits(settings.repo, author)
        records, n_effects = [], 0
        for c in commits:
            effects = commit_effects(settings.repo, c, inventory)
            if not effects:
                continue
            fix = PastFix(
                fix_id=f"git-{c.sha[:12]}",
                outcome="merged",
                at=c.at,
                pr_url=pr_url_of(c.subject, settings.github_repository, settings.github_api_url),
                reason=c.subject,
                by=c.author,
            )
            state.set_effects(fix.fix_id, effect_rows(effects))
            state.record_outcome(
                fix.fix_id, "merged", at=c.at, pr_url=fix.pr_url, reason=c.subject, by=c.author
            )
            records.append(fix_record(fix, effects, c.subject))
            n_effects += len(effects)
        if not records:
            out.write(messages.cli_dedup_no_commits(str(settings.repo), author) + "\n")
            return 0
        try:
            service.remember(records)
            state.mark_indexed([r.fix.fix_id for r in records])
        except FixStoreError as exc:
            # the exact effects are recorded; the vectors follow on the next sync
            err.write(
                messages.dedup_store_down(service.store.where if service.store else "?", str(exc)) + "\n"
            )
        out.write(messages.cli_dedup_imported(len(commits), len(records), n_effects) + "\n")
    finally:
        state.close()
    return 0


# --- query -----------------------------------------------------------------------------------------------


def cmd_dedup_query(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    from bot.core.inventory import Inventory
    from bot.storage import open_state

    settings = _settings(args, env)
    state = open_state(settings, now=clock.now())
    try:
        service = build_dedup(settings, state, Inventory(), Path("."), clock)
        found = service.query(args.text, k=max(1, args.k))
    finally:
        state.close()
    if not found:
        out.write(messages.cli_dedup_query_empty() + "\n")
        return 0
    for neighbour, description in found:
        fix = neighbour.fix
        label = messages.dedup_fix_label(fix.fix_id, fix.pr_url)
        out.write(messages.cli_dedup_query_row(neighbour.similarity, label, fix.outcome, description) + "\n")
    return 0

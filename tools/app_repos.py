"""Application repositories (issue 18): a throwaway worktree, the ecosystem's tool, the tests, the re-audit.

Every command goes through :func:`tools.runner.run_command` (argument lists, timeouts, an allow-listed
environment without secrets). The application repository itself is never written: each bump happens in a
detached worktree (``git worktree add --detach``) removed afterwards; its changed files are read back for the
guard and the proposal.

- pip, ``lock_tool: pinned``: the ``name==version`` line of the package is rewritten in the requirements file
  (the ecosystem's own notation; its name, extras, markers and comment kept). A line with ``--hash`` is refused:
  new hashes need a lock tool, never a hand edit;
- pip, ``pip-compile`` / ``uv``: ``pip-compile --upgrade-package=name==version`` or ``uv pip compile
  --upgrade-package=name==version`` of the manifest into the lockfile, with the options its header records
  (:mod:`tools.lock_tools`);
- npm: ``npm install --package-lock-only --ignore-scripts --no-audit --no-fund name@version`` (``--save-exact``
  when the manifest pins exactly), which updates ``package.json`` and ``package-lock.json`` and runs no scripts.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.core.inventory import AppRepo
from bot.core.lockfiles import logical_lines, npm_manifest_spec
from bot.core.operations.dependencies import BumpResult, ReAudit
from bot.core.suite_results import SuiteRun, parse_output
from bot.core.versions import normalise_name
from tools.lock_tools import LockTools, missing_tool, pip_compile_bump
from tools.runner import DEFAULT_ENV_ALLOW, CommandResult, run_command

GIT_TIMEOUT = 60.0
TOOL_TIMEOUT = 300.0
AUDIT_TIMEOUT = 300.0
#: What a test command sees of the bot's environment: nothing else (no tokens, no cloud credentials).
TEST_ENV_ALLOW = (*DEFAULT_ENV_ALLOW, "npm_config_registry", "NPM_CONFIG_REGISTRY", "PIP_INDEX_URL")
MAX_OUTPUT = 200_000


class AppRepoError(RuntimeError):
    """A git or tool step on an application repository failed (the message names the redacted command)."""


def _git(args: Sequence[str], cwd: Path | str) -> CommandResult:
    return run_command(["git", *args], timeout=GIT_TIMEOUT, cwd=cwd, env_extra={"GIT_TERMINAL_PROMPT": "0"})


def checkout_path(app: AppRepo, base_dir: Path, clones: Path) -> Path:
    """The local repository of ``app``: its path (relative to ``base_dir``), or a clone of its remote kept
    under ``clones`` and fetched on each use."""
    if re.match(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:", app.repository):
        target = clones / app.name
        if (target / ".git").exists() or (target / "HEAD").exists():
            result = _git(["fetch", "--quiet", "origin"], target)
        else:
            clones.mkdir(parents=True, exist_ok=True)
            result = run_command(
                ["git", "clone", "--quiet", "--", app.repository, str(target)],
                timeout=GIT_TIMEOUT * 5,
                env_extra={"GIT_TERMINAL_PROMPT": "0"},
            )
        if not result.ok:
            raise AppRepoError(result.error)
        return target
    path = Path(app.repository)
    return path if path.is_absolute() else (base_dir / path)


def head(repo: Path) -> str:
    result = _git(["rev-parse", "--verify", "HEAD^{commit}"], repo)
    if not result.ok:
        raise AppRepoError(result.error)
    return result.stdout.strip()


def read_at(repo: Path, commit: str, path: str) -> str:
    """A file of ``repo`` at ``commit`` (git's object store: no working-tree state, no symlink is followed)."""
    result = _git(["show", f"{commit}:{path}"], repo)
    if not result.ok:
        raise AppRepoError(result.error)
    return result.stdout


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``repo`` at ``commit``, removed (and pruned) afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="secops-bump-"))
    path = parent / "wt"
    result = _git(["worktree", "add", "--detach", "--quiet", str(path), commit], repo)
    if not result.ok:
        shutil.rmtree(parent, ignore_errors=True)
        raise AppRepoError(result.error)
    try:
        yield path
    finally:
        _git(["worktree", "remove", "--force", str(path)], repo)
        shutil.rmtree(parent, ignore_errors=True)
        _git(["worktree", "prune"], repo)


def changed_paths(tree: Path) -> tuple[str, ...]:
    """Every path changed, added or deleted in the worktree (untracked files too)."""
    result = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], tree)
    if not result.ok:
        raise AppRepoError(result.error)
    out = []
    for entry in result.stdout.split("\0"):
        if len(entry) > 3:
            out.append(entry[3:])
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class TestRun:
    run: SuiteRun
    output: str  # kept (cut to MAX_OUTPUT, redacted by the runner's error text only)


def run_tests(app: AppRepo, tree: Path, home: Path) -> TestRun:
    """The repository's test command in ``tree``, with its timeout and an environment without secrets."""
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run_command(
        list(app.test_command),
        timeout=app.test_timeout,
        cwd=tree,
        env_allow=[n for n in TEST_ENV_ALLOW if n != "HOME"],
        env_extra={"HOME": str(home), "CI": "1"},
    )
    seconds = time.perf_counter() - started
    output = (result.stdout + "\n" + result.stderr)[-MAX_OUTPUT:]
    if result.returncode is None:
        status = "timeout" if "timed out" in result.error else "not_run"
        return TestRun(SuiteRun(status, detail=result.error, seconds=seconds), output)
    run = parse_output(output, result.returncode)
    return TestRun(
        SuiteRun(run.status, run.passed, run.failed, run.exit_code, run.failing, run.detail, seconds), output
    )


# --- the ecosystem's tool -----------------------------------------------------------------------------------


def edit_pin(text: str, package: str, old: str, new: str) -> str | None:
    """``text`` with the package's ``==old`` pin as ``==new``; None when the line is not a plain pin."""
    want = normalise_name("pip", package)
    lines = text.splitlines(keepends=True)
    for n, logical in logical_lines(text):
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", logical)
        if m is None or normalise_name("pip", m.group(1)) != want:
            continue
        if "--hash" in logical:
            return None
        line = lines[n - 1]
        pin = re.compile(r"(===?\s*)" + re.escape(old) + r"(?=[\s;#]|$)")
        replaced, count = pin.subn(lambda mm: mm.group(1) + new, line, count=1)
        if count != 1:
            return None
        lines[n - 1] = replaced
        return "".join(lines)
    return None


def apply_bump(
    app: AppRepo,
    tree: Path,
    package: str,
    old: str,
    new: str,
    home: Path,
    tools: LockTools | None = None,
) -> str:
    """Make the bump with the ecosystem's tool in ``tree``; "" on success, else why not."""
    tools = tools or LockTools()
    env = {"HOME": str(home), "npm_config_update_notifier": "false"}
    if app.ecosystem == "pip" and app.lock_tool == "pinned":
        target = tree / (app.lockfiles[0] if app.lockfiles else app.manifest)
        edited = edit_pin(target.read_text(), package, old, new)
        if edited is None:
            return f"{package}=={old} is not a plain pinned line of {target.name} (hashed or absent)"
        target.write_text(edited)
        return ""
    if app.ecosystem == "pip":
        manifest = tree / app.manifest
        if manifest.is_file():  # the tool cannot upgrade past the manifest's own exact pin: move it first
            moved = edit_pin(manifest.read_text(), package, old, new)
            if moved is not None:
                manifest.write_text(moved)
        return pip_compile_bump(app, tree, package, old, new, home, tools)
    npm = tools.find("npm")
    if npm is None:
        return missing_tool(app, tools)
    spec = npm_manifest_spec((tree / app.manifest).read_text(), package) or ""
    argv = [npm, "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"]
    if re.match(r"^[0-9]", spec):
        argv.append("--save-exact")
    argv.append(f"{package}@{new}")
    result = run_command(argv, timeout=TOOL_TIMEOUT, cwd=tree, env_extra=env)
    return "" if result.ok else result.error


def bump_result(app: AppRepo, tree: Path, before: Mapping[str, str], error: str) -> BumpResult:
    """The listed files after the tool, and every path it changed."""
    after: dict[str, str] = {}
    for path in app.files:
        p = tree / path
        if p.is_file() and not p.is_symlink():
            after[path] = p.read_text()
    return BumpResult(changed_paths=changed_paths(tree), before=dict(before), after=after, tool_error=error)


# --- the re-audit -------------------------------------------------------------------------------------------


def reaudit_pip(app: AppRepo, tree: Path, package: str, osv_url: str | None, home: Path) -> ReAudit:
    """``pip-audit`` on the bumped requirements (OSV service at ``osv_url``), read back with the bot's reader."""
    from tools.sources.findings_file import read_findings

    requirements = app.lockfiles[0] if app.lockfiles else app.manifest
    out = home / "pip-audit.json"
    argv = [
        "pip-audit", "-r", requirements, "--no-deps", "--disable-pip", "-f", "json", "-o", str(out),
        "--progress-spinner", "off", "--cache-dir", str(home / "pip-audit-cache"), "--timeout", "15",
        "-s", "osv",
    ]  # fmt: skip
    if osv_url:
        argv += ["--osv-url", osv_url]
    beside = Path(sys.executable).with_name("pip-audit")  # the bot's own environment ships pip-audit
    argv[0] = str(beside) if beside.is_file() else (shutil.which("pip-audit") or "pip-audit")
    result = run_command(argv, timeout=AUDIT_TIMEOUT, cwd=tree, env_extra={"HOME": str(home)})
    if not out.is_file():
        return ReAudit(False, detail=f"pip-audit wrote no report: {result.error or 'no output'}")
    read = read_findings(out)
    if read.not_audited:
        return ReAudit(False, detail="; ".join(read.not_audited)[:300])
    name = normalise_name("pip", package)
    left = {
        i
        for f in read.findings
        if normalise_name("pip", f.package) == name
        for i in (f.id, *f.aliases.split())
    }
    return ReAudit(True, frozenset(left), "pip-audit (OSV) no longer reports them" if not left else "")


def reaudit_npm(app: AppRepo, tree: Path, package: str, home: Path) -> ReAudit:
    """``npm audit --json --package-lock-only`` on the bumped lockfile."""
    from tools.sources.findings_file import read_findings

    result = run_command(
        ["npm", "audit", "--json", "--package-lock-only"],
        timeout=AUDIT_TIMEOUT,
        cwd=tree,
        env_extra={"HOME": str(home), "npm_config_audit": "true"},
    )
    out = home / "npm-audit.json"
    out.write_text(result.stdout or "{}")
    read = read_findings(out)
    if read.not_audited or read.layout != "npm-audit":
        return ReAudit(False, detail=("; ".join(read.not_audited) or "npm audit wrote no report")[:300])
    name = normalise_name("npm", package)
    left = {f.id for f in read.findings if normalise_name("npm", f.package) == name}
    return ReAudit(True, frozenset(left), "npm audit no longer reports them" if not left else "")

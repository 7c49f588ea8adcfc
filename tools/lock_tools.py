"""The pip lock tools of application repositories (issue 18): ``pip-compile`` and ``uv pip compile``, run for real.

A compiled ``requirements.txt`` records how it was made: its header names the command (``pip-compile
--generate-hashes --output-file=requirements.txt requirements.in``, ``uv pip compile requirements.in -o
requirements.txt --python-version 3.11``). A bump re-runs the same tool on the same manifest with
``--upgrade-package name==version``, so that the lockfile changes only in that package and what the tool moves
with it. What keeps the rest of the file as it was:

- the header's own options are used again, from an allow-list (hashes, annotations, extras, the target Python,
  …); anything else in it (inputs, output, paths, options not listed) is ignored;
- the header line itself is kept verbatim (``CUSTOM_COMPILE_COMMAND`` / ``UV_CUSTOM_COMPILE_COMMAND``);
- a file that names no index (``--index-url``, ``--extra-index-url``), find-links or trusted host gets none:
  pip-compile otherwise writes the bot's own index configuration into it (``--no-emit-…``);
- a file with ``--hash`` lines is compiled with ``--generate-hashes``;
- an exact ``==old`` pin of the package in the manifest (``requirements.in``) is moved to ``==new`` first (the
  tool cannot upgrade past the manifest's own pin).

Where packages come from is the bot's environment (``PIP_INDEX_URL``, ``UV_DEFAULT_INDEX``, certificates:
:data:`INDEX_ENV_ALLOW`) or :attr:`LockTools.env`; nothing else of it reaches the tool (no tokens). uv never
downloads a Python (``UV_PYTHON_DOWNLOADS=never``). A tool that is not installed is named
(:func:`missing_tool`): the proposal escalates, nothing else stops.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot import messages
from bot.core.inventory import AppRepo
from bot.core.lockfiles import logical_lines
from tools.runner import DEFAULT_ENV_ALLOW, run_command

TOOL_TIMEOUT = 300.0
#: The bot's environment variables a lock tool sees besides the runner's own: where packages come from.
INDEX_ENV_ALLOW = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_CONFIG_FILE", "PIP_CERT",
    "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
    "UV_NO_CONFIG", "UV_CONFIG_FILE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
)  # fmt: skip
#: The executable of each lock tool, the argv that compiles, and the package that installs it.
EXECUTABLES = {"pip-compile": "pip-compile", "uv": "uv", "npm": "npm"}
INSTALLED_BY = {"pip-compile": "pip-tools", "uv": "uv", "npm": "Node.js"}
_SUBCOMMAND = {"pip-compile": (), "uv": ("pip", "compile")}

#: Header options used again: flags, and options with one value (``--opt=value`` or ``--opt value``).
_FLAGS = {
    "pip-compile": {
        "--generate-hashes", "--allow-unsafe", "--strip-extras", "--no-strip-extras", "--annotate",
        "--no-annotate", "--emit-index-url", "--no-emit-index-url", "--emit-trusted-host",
        "--no-emit-trusted-host", "--emit-find-links", "--no-emit-find-links", "--emit-options",
        "--no-emit-options", "--all-extras", "--header", "--no-header", "--reuse-hashes", "--no-reuse-hashes",
        "--pre",
    },
    "uv": {
        "--generate-hashes", "--universal", "--no-annotate", "--no-header", "--emit-index-url",
        "--emit-find-links", "--no-strip-extras", "--strip-markers", "--no-strip-markers", "--all-extras",
        "--emit-index-annotation", "--emit-build-options", "--no-deps",
    },
}  # fmt: skip
_VALUED = {
    "pip-compile": {"--annotation-style", "--resolver", "--extra", "--unsafe-package"},
    "uv": {
        "--python-version", "--python-platform", "--annotation-style", "--extra", "--no-emit-package",
        "--resolution", "--prerelease",
    },
}  # fmt: skip
_VALUE = re.compile(r"^[A-Za-z0-9_.,:<>=+*~-]{1,100}$")
_COMMAND_LINE = re.compile(r"^#\s+(?P<command>\S.*)$")


@dataclass(frozen=True)
class LockTools:
    """Where the lock tools are found and what they see besides the bot's index variables.

    ``dirs`` are searched first (by default the bot's own environment, where ``pip install secops-bot[dev]``
    puts pip-tools and uv), then ``PATH`` when ``search_path``; ``pass_through`` names the bot's environment
    variables the tool sees (where packages come from), and ``env`` sets variables over them."""

    dirs: tuple[Path, ...] = (Path(sys.executable).parent,)
    search_path: bool = True
    pass_through: tuple[str, ...] = INDEX_ENV_ALLOW
    env: Mapping[str, str] = field(default_factory=dict)

    def find(self, tool: str) -> str | None:
        """The path of ``tool``'s executable, or None when it is not installed."""
        name = EXECUTABLES.get(tool, tool)
        for folder in self.dirs:
            candidate = folder / name
            if candidate.is_file():
                return str(candidate)
        return shutil.which(name) if self.search_path else None


def missing_tool(app: AppRepo, tools: LockTools) -> str:
    """Why ``app``'s lock tool cannot run ("" when it can): the message names the tool and its package."""
    if app.lock_tool == "pinned" or tools.find(app.lock_tool) is not None:
        return ""
    return messages.dep_tool_missing(app.lock_tool, INSTALLED_BY.get(app.lock_tool, app.lock_tool), app.name)


@dataclass(frozen=True)
class Header:
    """What a compiled requirements file says about how it was made."""

    command: str = ""  # the command line as written ('' when there is no header)
    options: tuple[str, ...] = ()  # the allow-listed options of it, to be given again


def read_header(tool: str, text: str) -> Header:
    """The command line of the first lines' header (``# by the following command:`` / ``# via the following
    command:``, then ``#    <command>``) and its reusable options."""
    lines = text.splitlines()[:20]
    for n, line in enumerate(lines):
        if not line.startswith("#") or "the following command" not in line:
            continue
        for follow in lines[n + 1 : n + 4]:
            m = _COMMAND_LINE.match(follow)
            if m:
                command = m.group("command").strip()
                return Header(command if len(command) <= 300 else "", _reused_options(tool, command))
        break
    return Header()


def _reused_options(tool: str, command: str) -> tuple[str, ...]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    flags, valued = _FLAGS.get(tool, set()), _VALUED.get(tool, set())
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        if word in flags:
            out.append(word)
        elif name in valued and eq and _VALUE.match(value):
            out.append(f"{name}={value}")
        elif word in valued and i + 1 < len(words) and _VALUE.match(words[i + 1]):
            out.append(f"{word}={words[i + 1]}")
            i += 1
        i += 1
    return tuple(dict.fromkeys(out))


def compile_argv(
    tool: str, executable: str, app: AppRepo, lockfile_text: str, package: str, new: str
) -> list[str]:
    """The tool's command for the bump: its own options from the lockfile's header, the output-shaping ones
    the file implies, and ``--upgrade-package=name==version``."""
    header = read_header(tool, lockfile_text)
    options = list(header.options)
    lines = [line for _, line in logical_lines(lockfile_text)]
    if tool == "pip-compile":
        implied = {
            "--no-emit-index-url": ("-i", "--index-url", "--extra-index-url"),
            "--no-emit-find-links": ("-f", "--find-links"),
            "--no-emit-trusted-host": ("--trusted-host",),
        }
        for flag, starts in implied.items():
            positive = flag.replace("--no-", "--", 1)
            if positive not in options and not any(line.startswith(starts) for line in lines):
                options.append(flag)
    if "--hash" in lockfile_text and "--generate-hashes" not in options:
        options.append("--generate-hashes")
    return [
        executable,
        *_SUBCOMMAND[tool],
        "--quiet",
        *dict.fromkeys(options),
        app.manifest,
        "--output-file",
        app.lockfiles[0],
        f"--upgrade-package={package}=={new}",
    ]


def compile_env(tool: str, lockfile_text: str, home: Path, tools: LockTools) -> dict[str, str]:
    """The variables the tool gets over the runner's allow-list: a fresh home and cache, no Python download,
    the header kept as it was."""
    env = {"HOME": str(home), "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    command = read_header(tool, lockfile_text).command
    if command:
        env["UV_CUSTOM_COMPILE_COMMAND" if tool == "uv" else "CUSTOM_COMPILE_COMMAND"] = command
    env.update(tools.env)
    return env


def pip_compile_bump(
    app: AppRepo, tree: Path, package: str, old: str, new: str, home: Path, tools: LockTools
) -> str:
    """``pip-compile`` or ``uv pip compile`` of the manifest into the lockfile, upgrading ``package`` to
    ``new``; "" on success, else what went wrong (the caller moved an ``==old`` pin of the manifest)."""
    tool = app.lock_tool
    executable = tools.find(tool)
    if executable is None:
        return missing_tool(app, tools)
    lockfile = tree / app.lockfiles[0]
    current = lockfile.read_text() if lockfile.is_file() else ""
    home.mkdir(parents=True, exist_ok=True)
    result = run_command(
        compile_argv(tool, executable, app, current, package, new),
        timeout=TOOL_TIMEOUT,
        cwd=tree,
        env_allow=(*DEFAULT_ENV_ALLOW, *tools.pass_through),
        env_extra=compile_env(tool, current, home, tools),
    )
    return "" if result.ok else result.error

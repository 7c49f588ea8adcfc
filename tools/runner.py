"""The one subprocess runner: argv lists only, a timeout always, an allow-listed environment.

Every external command the bot runs (git plumbing fallbacks, a real ``kyverno`` binary) goes through
:func:`run_command`. It never uses a shell, never inherits secrets from the parent environment unless a
variable is explicitly allowed, and returns a :class:`CommandResult` instead of raising, so a caller (or a
model) can read what went wrong. Output is captured with ``subprocess-tee`` so long-running commands can
also echo to the terminal when asked.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.redact import redact

DEFAULT_ENV_ALLOW: tuple[str, ...] = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


@dataclass(frozen=True)
class CommandResult:
    """What a command did: ``status`` is ``ok``, ``error`` or ``no_data`` (empty stdout, exit 0)."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    status: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "error"


def _environment(allow: Iterable[str], extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {name: os.environ[name] for name in allow if name in os.environ}
    if extra:
        env.update(extra)
    return env


def describe(argv: Sequence[str]) -> str:
    """The redacted invocation, as shown in error texts."""
    return redact(" ".join(argv))


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env_allow: Iterable[str] = DEFAULT_ENV_ALLOW,
    env_extra: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    echo: bool = False,
) -> CommandResult:
    """Run ``argv`` (a list, never a shell string) with a timeout and return what happened."""
    if isinstance(argv, str) or not argv:
        raise TypeError("run_command takes a non-empty argument list, never a shell string")
    args = [str(a) for a in argv]
    env = _environment(env_allow, env_extra)
    try:
        if echo and stdin_text is None:
            from subprocess_tee import run as tee_run

            proc = tee_run(args, cwd=cwd, env=env, timeout=timeout, check=False, echo=False)
        else:
            proc = subprocess.run(
                args,
                cwd=cwd,
                env=env,
                input=stdin_text,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return CommandResult(
            tuple(args), None, "", "", "error", f"`{describe(args)}` timed out after {timeout:g} s"
        )
    except OSError as exc:
        return CommandResult(
            tuple(args), None, "", "", "error", f"`{describe(args)}` could not start: {redact(str(exc))}"
        )
    stdout = proc.stdout or ""
    stderr = proc.stderr or ""
    if proc.returncode != 0:
        tail = redact(stderr.strip().splitlines()[-1] if stderr.strip() else stdout.strip()[-300:])
        return CommandResult(
            tuple(args),
            proc.returncode,
            stdout,
            stderr,
            "error",
            f"`{describe(args)}` exited {proc.returncode}: {tail}",
        )
    return CommandResult(tuple(args), 0, stdout, stderr, "ok" if stdout.strip() else "no_data")

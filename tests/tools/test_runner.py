from __future__ import annotations

import sys

import pytest

from bot.core.redact import register_secret
from tools.runner import run_command


def test_run_command_captures_output():
    r = run_command([sys.executable, "-c", "print('hi')"], timeout=10)
    assert (r.status, r.stdout.strip(), r.ok) == ("ok", "hi", True)


def test_run_command_reports_failure_with_the_redacted_invocation():
    register_secret("ghp_abcdefghijklmnopqrstuvwxyz123456")
    r = run_command(
        [sys.executable, "-c", "import sys; sys.exit(3)", "ghp_abcdefghijklmnopqrstuvwxyz123456"], timeout=10
    )
    assert r.status == "error" and r.returncode == 3
    assert "exited 3" in r.error and "ghp_" not in r.error


def test_run_command_times_out():
    r = run_command([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5)
    assert r.status == "error" and "timed out after 0.5 s" in r.error


def test_run_command_refuses_shell_strings():
    with pytest.raises(TypeError):
        run_command("echo hi", timeout=1)  # type: ignore[arg-type]


def test_run_command_does_not_leak_the_parent_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "x")
    r = run_command([sys.executable, "-c", "import os; print(os.environ.get('GITHUB_TOKEN'))"], timeout=10)
    assert r.stdout.strip() == "None"


def test_run_command_missing_binary():
    r = run_command(["/nonexistent/kyverno", "version"], timeout=5)
    assert r.status == "error" and "could not start" in r.error

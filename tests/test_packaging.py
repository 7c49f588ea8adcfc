"""The wheel, not only the editable install: built without warnings, installed in a fresh virtual environment
(dependencies borrowed from this one, no network), and the installed `secops-bot` runs a real scan."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from bot import __version__
from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **(env or {}),
    }
    return subprocess.run(argv, cwd=cwd, env=clean, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("wheel")
    built = run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp / "dist"),
            str(ROOT),
        ],
        tmp,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("secops_bot-*.whl")
    venv = tmp / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).returncode == 0
    fresh_site = next((venv / "lib").glob("python3.*/site-packages"))
    # the dependencies come from this environment's site-packages (a plain path: its .pth files, the
    # editable install's among them, are not processed), the project only from the wheel
    (fresh_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        tmp,
    )
    assert pip.returncode == 0, pip.stderr
    return venv, built.stdout + built.stderr + pip.stdout + pip.stderr


def test_wheel_builds_and_installs_without_packaging_warnings(installed):
    _, output = installed
    assert [line for line in output.splitlines() if "warning" in line.lower()] == []


def test_installed_command_prints_its_version_and_help(installed, tmp_path):
    venv, _ = installed
    version = run([str(venv / "bin" / "secops-bot"), "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout == f"secops-bot {__version__}\n"
    helped = run([str(venv / "bin" / "secops-bot"), "--help"], tmp_path)
    assert helped.returncode == 0 and "config" in helped.stdout and "scan" in helped.stdout


def test_installed_package_comes_from_the_wheel_and_scans(installed, tmp_path):
    venv, _ = installed
    where = run([str(venv / "bin" / "python"), "-c", "import bot, agents; print(bot.__file__)"], tmp_path)
    assert str(venv) in where.stdout, where.stdout + where.stderr
    scan = run(
        [str(venv / "bin" / "secops-bot"), "--data-dir", str(tmp_path / "data"), "scan", "--json", "--since", "all",
         "--alerts", str(FIXTURES / "alerts" / "demo-alerts.json"), "--repo", str(FIXTURES / "gitops"),
         "--cmdb", str(FIXTURES / "cmdb.yaml")],
        tmp_path,
        {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )  # fmt: skip
    assert scan.returncode == 0, scan.stderr
    actions = sorted(json.loads(line)["action"] for line in scan.stdout.splitlines())
    assert actions.count("propose") == 3  # playbooks (package data) and operations were installed

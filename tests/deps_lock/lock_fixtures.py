"""The compiled fixture apps (``fixtures/apps/py-app-pip-compile``, ``py-app-uv``) and the package index they
were locked against.

``LOCKED_THEN`` is the index as it was when the lockfiles were compiled; ``RELEASED_SINCE`` adds the fixed releases
the advisories name (and newer ones the bump must not take). Names, versions and ``Requires-Dist`` are the real
ones of those releases (Jinja2 needs ``MarkupSafe>=0.23``); the wheels hold no code.

Regenerate the fixture lockfiles with the real tools (what ``test_fixture_lockfile_is_what_the_tool_makes``
checks)::

    PYTHONPATH=$PWD .venv/bin/python -m tests.deps_lock.lock_fixtures
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from tests.conftest import git
from tests.dependency_fixtures import APPS, py_app
from tests.deps_lock.index_server import Dist
from tools.lock_tools import LockTools
from tools.runner import run_command

BIN = Path(sys.executable).parent
JINJA = ("MarkupSafe>=0.23", "Babel>=0.8; extra == 'i18n'")
URLLIB3 = ("brotlipy>=0.6.0; extra == 'brotli'", "PySocks!=1.5.7,<2.0,>=1.5.6; extra == 'socks'")
LOCKED_THEN = (
    Dist("Jinja2", "2.10", JINJA),
    Dist("MarkupSafe", "1.1.1"),
    Dist("urllib3", "1.26.5", URLLIB3),
    Dist("PyYAML", "5.3.1"),
)
RELEASED_SINCE = (
    Dist("Jinja2", "2.10.1", JINJA),
    Dist("Jinja2", "2.11.3", JINJA),
    Dist("MarkupSafe", "2.0.1"),
    Dist("urllib3", "1.26.17", URLLIB3),
    Dist("urllib3", "1.26.18", URLLIB3),
    Dist("urllib3", "2.0.6"),
    Dist("PyYAML", "5.4"),
    Dist("PyYAML", "6.0.1"),
)
#: How each fixture was compiled: the tool's options (the header records them) and the header line a team that
#: compiles against PyPI has (pip-compile writes no index line for PyPI; here the index is on loopback).
VARIANTS: dict[str, dict[str, Any]] = {
    "py-app-pip-compile": {
        "lock_tool": "pip-compile",
        "argv": [str(BIN / "pip-compile"), "--quiet", "--no-emit-index-url"],
        "header": "pip-compile --output-file=requirements.txt requirements.in",
    },
    "py-app-uv": {
        "lock_tool": "uv",
        "argv": [
            str(BIN / "uv"),
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "--python-version",
            "3.11",
        ],
        "header": "",
    },
}


def index_env(url: str) -> dict[str, str]:
    """Both tools on ``url`` only: no configuration file of this machine (pip.conf, uv.toml) is read."""
    return {
        "PIP_INDEX_URL": url,
        "PIP_CONFIG_FILE": os.devnull,
        "UV_DEFAULT_INDEX": url,
        "UV_NO_CONFIG": "1",
    }


def lock_tools(url: str, *, dirs: tuple[Path, ...] = (BIN,)) -> LockTools:
    """The tools of this environment on ``url`` alone (none of this machine's PIP_*/UV_* variables)."""
    return LockTools(dirs=dirs, search_path=False, pass_through=(), env=index_env(url))


def variant_repo(tmp_path: Path, variant: str, extra: dict[str, str] | None = None) -> Path:
    """``fixtures/apps/py-app`` with the variant's ``requirements.in`` and compiled ``requirements.txt``, in a
    fresh git repository."""
    repo = tmp_path / variant
    shutil.copytree(APPS / "py-app", repo)
    for path in (APPS / variant).iterdir():
        if path.is_file() and path.name != "PROVENANCE.md":
            shutil.copy(path, repo / path.name)
    for path, text in (extra or {}).items():
        (repo / path).write_text(text)
    git("init", "-q", "-b", "main", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=repo)
    return repo


def variant_app(repo: Path, variant: str, **fields: Any) -> dict[str, Any]:
    return py_app(
        repo,
        manifest="requirements.in",
        lockfiles=["requirements.txt"],
        lock_tool=VARIANTS[variant]["lock_tool"],
        **fields,
    )


def compile_fresh(folder: Path, variant: str, url: str) -> str:
    """``requirements.txt`` compiled from ``folder/requirements.in`` by the variant's tool against ``url``."""
    spec = VARIANTS[variant]
    env = {**index_env(url), "HOME": str(folder / ".home"), "UV_PYTHON_DOWNLOADS": "never"}
    if spec["header"]:
        env["CUSTOM_COMPILE_COMMAND"] = spec["header"]
    result = run_command(
        [*spec["argv"], "requirements.in", "--output-file", "requirements.txt"],
        timeout=120,
        cwd=folder,
        env_extra=env,
    )
    if not result.ok:
        raise RuntimeError(result.error)
    return (folder / "requirements.txt").read_text()


def main() -> None:
    import tempfile

    from tests.deps_lock.index_server import PackageIndex

    with PackageIndex(LOCKED_THEN).running() as url:
        for variant in VARIANTS:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                shutil.copy(APPS / variant / "requirements.in", folder)
                text = compile_fresh(folder, variant, url)
            (APPS / variant / "requirements.txt").write_text(text)
            print(f"{variant}/requirements.txt: {len(text.splitlines())} lines")


if __name__ == "__main__":
    main()

"""``scan``'s options for dependency reports (issue 18), kept apart from :mod:`bot.dependency_scan` so that building
the parser imports nothing heavy (every ``secops-bot`` start builds it)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import messages
from bot.core.errors import SecopsError

if TYPE_CHECKING:  # --help must not import pydantic (tests/test_startup.py)
    from bot.core.inventory import Inventory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``scan``'s options for dependency reports."""
    parser.add_argument(
        "--deps",
        action="append",
        default=[],
        metavar="REPORT",
        help="a dependency report (pip-audit -f json, osv-scanner --format json, npm audit --json, trivy fs); "
        "repeat for several",
    )
    parser.add_argument(
        "--app-repo",
        action="append",
        default=[],
        metavar="NAME",
        help="the application repository (inventory app_repos:) of the --deps reports: one for all, or one each",
    )
    parser.add_argument(
        "--osv-url", help="OSV query API the re-audit's pip-audit uses (default: pip-audit's, api.osv.dev)"
    )


def report_pairs(
    reports: Sequence[str], names: Sequence[str], inventory: Inventory
) -> list[tuple[Path, str]]:
    """Each report with its application repository; a mismatch or an unknown name is a clear error."""
    if len(names) not in (1, len(reports)):
        raise SecopsError(messages.cli_deps_app_repos(len(reports), len(names)))
    for name in names:
        if inventory.app_repo(name) is None:
            raise SecopsError(messages.cli_unknown_app_repo(name))
    for path in reports:
        if not Path(path).is_file():
            raise SecopsError(f"{path}: report file not found")
    return [(Path(p), names[0] if len(names) == 1 else names[i]) for i, p in enumerate(reports)]

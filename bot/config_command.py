"""``secops-bot config show``: the effective settings, secrets masked, and where each value came from.

Sources, lowest first: ``default``, ``file PATH KEY``, ``env VAR`` (or ``env VAR_FILE (path)``), ``flag --x``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from bot import messages
from bot.clock import Clock
from bot.setting_names import ENV_NAMES


def register(subparsers: Any) -> None:
    """Add ``config show`` to the CLI."""
    config = subparsers.add_parser("config", help="show the effective settings and where each came from")
    sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    sub.required = True
    show = sub.add_parser(
        "show",
        help="print every setting (secrets masked) with its source: default, file, env or flag",
        description="Print the effective settings after the config file, the environment (and *_FILE "
        "variants) and flags are applied; secrets are masked.",
    )
    show.add_argument("--json", action="store_true", help="one JSON object: name → {variable, value, source}")
    show.set_defaults(func=cmd_config_show)


def shown_value(value: Any) -> str:
    """A setting as ``config show`` prints it: secrets masked, paths and tuples readable."""
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return messages.config_secret_masked()
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, Path):
        return str(value)
    return str(value)


def cmd_config_show(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    from bot.settings import load_settings_with_sources

    overrides = {"data_dir": getattr(args, "data_dir", None)}
    settings, sources = load_settings_with_sources(env, overrides)
    rows = [
        (name, ENV_NAMES[name], shown_value(getattr(settings, name)), sources[name]) for name in ENV_NAMES
    ]
    if args.json:
        doc = {name: {"variable": var, "value": value, "source": src} for name, var, value, src in rows}
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out.write(messages.config_show_header(env.get("SECOPS_CONFIG") or None) + "\n")
    for name, var, value, src in rows:
        out.write(f"{name:<{widths[0]}}  {var:<{widths[1]}}  {value:<{widths[2]}}  {src}\n")
    return 0

"""Generate docs/cli.md from the CLI's own ``--help`` so the documented commands cannot drift.

Run ``python -m bot.cli_docs > docs/cli.md``; a test fails when the file is out of date.
"""

from __future__ import annotations

import argparse
import os

from bot.cli import build_parser


def _walk(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, str]]:
    out = [(prefix, parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.extend(_walk(sub, f"{prefix} {name}"))
    return out


def render() -> str:
    os.environ["COLUMNS"] = "100"  # stable wrapping
    parts = [
        "# Command line reference",
        "",
        "Generated from `secops-bot --help` by `python -m bot.cli_docs`; do not edit by hand.",
        "",
    ]
    for name, text in _walk(build_parser(), "secops-bot"):
        parts += [f"## `{name}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")

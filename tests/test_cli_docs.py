from __future__ import annotations

from bot.cli_docs import render
from tests.conftest import ROOT


def test_cli_reference_is_generated_from_help():
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run: python -m bot.cli_docs > docs/cli.md"

"""Docs that must stay true: every setting's environment variable is documented."""

from __future__ import annotations

from bot.settings import ENV_NAMES
from tests.conftest import ROOT


def test_every_settings_variable_is_named_in_the_docs():
    docs = "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
    assert [var for var in ENV_NAMES.values() if f"`{var}`" not in docs] == []

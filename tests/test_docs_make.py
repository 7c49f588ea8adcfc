"""Docs that must stay true: every `make` target is named in the README or a document."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_make_target_is_named_in_the_docs():
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE)
    docs = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    assert "slack-preview" in targets and "reliability" in targets
    assert [t for t in targets if f"make {t}`" not in docs and f"make {t} " not in docs] == []

"""The `keep` thread instruction: a message that starts with it."""

from __future__ import annotations

import pytest

from bot.core.instructions import parse_instruction


@pytest.mark.parametrize("text", ["keep", "Keep it blocked", "  keep, this is a known scanner"])
def test_keep_is_understood_at_the_start_of_a_message(text):
    assert parse_instruction(text).kind == "keep"


def test_keep_later_in_a_sentence_is_not_an_instruction():
    assert parse_instruction("should we keep this?").kind == "unknown"

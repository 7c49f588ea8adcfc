"""Thread instructions that go back in a proposal's history: ``undo`` and ``revert to rN``."""

from __future__ import annotations

import pytest

from bot.core.instructions import Instruction, changed_labels, parse_instruction, restore_target

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"


def _cidr(value: str) -> dict[str, str]:
    return {"op": "add_cidr", "file": WEB01, "key": "block-cidrs", "value": value}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("undo", Instruction(kind="undo")),
        ("please UNDO that", Instruction(kind="undo")),
        ("revert to r2", Instruction(kind="revert", revision=2)),
        ("Revert to revision 3", Instruction(kind="revert", revision=3)),
        ("revert r1", Instruction(kind="revert", revision=1)),
    ],
)
def test_undo_and_revert_are_parsed_when_written_loosely(text, expected):
    assert parse_instruction(text) == expected


def test_undo_is_not_read_into_other_words():
    assert parse_instruction("undone already?").kind == "unknown"


def test_undo_goes_to_the_adopted_revision_before_the_current():
    assert restore_target(Instruction(kind="undo"), [1, 2, 4], current=4) == 2


def test_undo_is_refused_on_the_first_revision():
    with pytest.raises(ValueError, match="nothing to undo"):
        restore_target(Instruction(kind="undo"), [1], current=1)


def test_revert_goes_to_any_earlier_adopted_revision():
    assert restore_target(Instruction(kind="revert", revision=1), [1, 2, 3], current=3) == 1


def test_revert_is_refused_for_a_revision_never_adopted():
    with pytest.raises(ValueError, match=r"r3 is not an earlier adopted revision \(earlier ones: r1, r2\)"):
        restore_target(Instruction(kind="revert", revision=3), [1, 2, 4], current=4)


def test_revert_is_refused_for_the_current_revision():
    with pytest.raises(ValueError, match="revision 2 is already the current one"):
        restore_target(Instruction(kind="revert", revision=2), [1, 2], current=2)


def test_changed_labels_name_each_value_once_across_files():
    before = [_cidr("91.240.118.172/32"), {**_cidr("91.240.118.172/32"), "file": "web-02.yaml"}]
    after = [_cidr("91.240.118.0/24"), {**_cidr("91.240.118.0/24"), "file": "web-02.yaml"}]
    assert changed_labels(before, after) == (("91.240.118.0/24",), ("91.240.118.172/32",))

"""Removing one block-list entry exactly: a comma list loses the entry and one separator, a ``|`` block
loses the entry's line; every other byte stays."""

from __future__ import annotations

import pytest

from bot.core.edits import RemoveCidr, unified_diff
from bot.core.errors import DocumentError
from bot.yaml_edit import apply_operations

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n"


def remove(body, *values, key="block-cidrs"):
    files = {"f.yaml": HEAD + body}
    ops = [RemoveCidr(file="f.yaml", key=key, value=v) for v in values]
    return apply_operations(ops, files.__getitem__)[0].after[len(HEAD) :]


@pytest.mark.parametrize(
    ("value", "left"),
    [
        ("203.0.113.7/32", "192.0.2.0/24, 198.51.100.1/32"),
        ("198.51.100.1/32", "192.0.2.0/24, 203.0.113.7/32"),
    ],
)
def test_remove_from_a_comma_list_keeps_the_rest(value, left):
    body = '  # people\n  block-cidrs: "192.0.2.0/24, 203.0.113.7/32, 198.51.100.1/32"  # INC-1\n'
    assert remove(body, value) == f'  # people\n  block-cidrs: "{left}"  # INC-1\n'


def test_remove_the_only_plain_entry_leaves_an_empty_string():
    assert remove("  block-cidrs: 203.0.113.7/32\r\n", "203.0.113.7/32") == '  block-cidrs: ""\r\n'


def test_remove_from_a_line_block_drops_one_line():
    body = "  blocked-cidrs: |\n    # INC-4411\n    192.0.2.0/24\n    203.0.113.7/32\n  other: y\n"
    after = remove(body, "192.0.2.0/24", key="blocked-cidrs")
    assert after == "  blocked-cidrs: |\n    # INC-4411\n    203.0.113.7/32\n  other: y\n"


def test_remove_an_entry_already_gone_changes_nothing():
    body = "  block-cidrs: 192.0.2.0/24\n"
    assert remove(body, "203.0.113.7/32") == body


def test_remove_two_entries_gives_one_minimal_diff():
    files = {"f.yaml": HEAD + '  block-cidrs: "192.0.2.0/24,203.0.113.7/32,198.51.100.1/32"\n'}
    ops = [RemoveCidr(file="f.yaml", key="block-cidrs", value=v) for v in ("192.0.2.0/24", "198.51.100.1/32")]
    diff = unified_diff(apply_operations(ops, files.__getitem__), context=0)
    assert diff.splitlines()[3:] == [
        '-  block-cidrs: "192.0.2.0/24,203.0.113.7/32,198.51.100.1/32"',
        '+  block-cidrs: "203.0.113.7/32"',
    ]


def test_remove_refuses_an_entry_listed_twice():
    with pytest.raises(DocumentError, match="listed 2 times"):
        remove("  block-cidrs: 192.0.2.0/24,192.0.2.0/24\n", "192.0.2.0/24")


def test_remove_refuses_a_folded_block():
    with pytest.raises(DocumentError, match="folded block"):
        remove("  block-cidrs: >\n    192.0.2.0/24,\n    203.0.113.7/32\n", "192.0.2.0/24")

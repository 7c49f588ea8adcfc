from __future__ import annotations

import pytest

from bot.core.edits import AddCidr, Escalate, SetKey, changed_line_count, parse_operations
from bot.core.errors import OperationError

FILE = "clusters/prod/web-01/ingress-nginx-controller.yaml"


def test_parse_operations_reads_every_op_kind():
    ops = parse_operations(
        [
            {"op": "add_cidr", "file": FILE, "key": "block-cidrs", "value": "203.0.113.7/32"},
            {"op": "set_key", "file": FILE, "key": "server-tokens", "value": False},
        ]
    )
    assert ops == [
        AddCidr(file=FILE, key="block-cidrs", value="203.0.113.7/32"),
        SetKey(file=FILE, key="server-tokens", value="false"),
    ]
    assert parse_operations([{"op": "escalate", "reason": "unclear"}]) == [Escalate(reason="unclear")]


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([{"op": "delete_file", "file": FILE}], "operation 1: unknown op 'delete_file'; known ops: add_cidr"),
        (
            [{"op": "add_cidr", "file": FILE, "key": "k", "value": "1.2.3.4", "path": "x"}],
            "unknown field 'path'",
        ),
        ([{"op": "set_key", "file": FILE, "value": "x"}], "operation 1 (set_key): missing field 'key'"),
        (
            [{"op": "add_cidr", "file": "../../etc/passwd", "key": "k", "value": "1.2.3.4"}],
            "leaves the repository",
        ),
        ([{"op": "add_cidr", "file": "/etc/passwd", "key": "k", "value": "1.2.3.4"}], "must be relative"),
        ([{"op": "add_cidr", "file": FILE, "key": "k", "value": "1.2.3.4,5.6.7.8"}], "one address or CIDR"),
        (
            [{"op": "escalate", "reason": "x"}, {"op": "escalate", "reason": "y"}],
            "must be the only operation",
        ),
        ([], "non-empty YAML list"),
        ("add_cidr", "non-empty YAML list"),
        (["add_cidr"], "expected a mapping"),
    ],
)
def test_parse_operations_rejects_bad_input_with_clear_message(ops, message):
    with pytest.raises(OperationError, match=None) as info:
        parse_operations(ops)
    assert message in str(info.value)


def test_changed_line_count_ignores_headers():
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n c\n"
    assert changed_line_count(diff) == 2

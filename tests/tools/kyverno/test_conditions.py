import pytest

from tools.kyverno.conditions import apply_operator, evaluate_conditions
from tools.kyverno.errors import EvalError, Unsupported


@pytest.mark.parametrize(
    ("operator", "key", "value", "expected"),
    [
        ("Equals", "nginx:latest", "*:latest", True),
        ("Equals", "1Gi", "1024Mi", True),
        ("Equals", "1h", "60m", True),
        ("Equals", None, None, False),
        ("NotEquals", None, "x", False),
        ("NotEquals", True, "true", True),
        ("Equals", 3.0, "3", True),
        ("AnyIn", ["NET_RAW", "CHOWN"], ["NET_*"], True),
        ("AnyIn", [], ["x"], False),
        ("AllIn", [], ["x"], True),
        ("AnyNotIn", ["ALL"], ["ALL"], False),
        ("AllNotIn", ["a", "b"], ["c"], True),
        ("AnyIn", "5", "1-10", True),
        ("AnyIn", "web", '["web", "api"]', True),
        ("AnyIn", 80.0, ["80"], True),
        ("GreaterThan", "2Gi", "1Gi", True),
        ("GreaterThan", 3.0, "2", True),
        ("LessThan", "30m", "1h", True),
        ("GreaterThanOrEquals", True, 1.0, False),
    ],
)
def test_operator_table_matches_kyverno(operator, key, value, expected):
    assert apply_operator(operator, key, value) is expected


def test_any_and_all_must_both_hold():
    block = {
        "any": [{"key": "a", "operator": "Equals", "value": "a"}],
        "all": [{"key": 1, "operator": "Equals", "value": 2}],
    }
    assert evaluate_conditions(block, {}) is False


def test_legacy_list_means_all():
    assert evaluate_conditions([{"key": "a", "operator": "Equals", "value": "a"}], {}) is True


def test_substitution_error_propagates():
    with pytest.raises(EvalError):
        evaluate_conditions(
            [{"key": "{{ request.object.x }}", "operator": "Equals", "value": ""}],
            {"request": {"object": {}}},
        )


def test_unknown_operator_is_unsupported():
    with pytest.raises(Unsupported):
        apply_operator("Matches", "a", "a")

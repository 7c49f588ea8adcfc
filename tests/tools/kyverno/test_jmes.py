import pytest

from tools.kyverno.errors import EvalError, UnknownKey, Unsupported
from tools.kyverno.jmes import search

DATA = {"request": {"object": {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "a"}, {}]}}}}


def test_missing_key_in_chain_raises_unknown_key():
    with pytest.raises(UnknownKey, match='Unknown key "labels"'):
        search("request.object.metadata.labels.app", DATA)


def test_missing_key_is_null_inside_or_default():
    assert search("request.object.metadata.labels.app || 'none'", DATA) == "none"


def test_missing_key_is_dropped_inside_projection():
    assert search("request.object.spec.containers[].name", DATA) == ["a"]


def test_missing_key_is_null_inside_function_argument():
    assert search("to_string(request.object.metadata.labels)", DATA) == "null"


def test_to_string_prints_integral_float_like_go():
    assert search("to_string(`1337.0`)", {}) == "1337"


def test_kyverno_string_functions_work():
    assert search("split('a,b', ',')", {}) == ["a", "b"]
    assert search("regex_match('^ngin', 'nginx')", {}) is True
    assert search("to_upper('x')", {}) == "X"


def test_divide_of_quantities_is_a_ratio():
    assert search("divide('1Gi', '512Mi')", {}) == 2.0


def test_time_function_is_unsupported():
    with pytest.raises(Unsupported):
        search("time_since('', '2024-01-01T00:00:00Z', '')", {})


def test_unknown_function_is_unsupported():
    with pytest.raises(Unsupported):
        search("no_such_function('x')", {})


def test_type_error_in_function_is_an_eval_error():
    with pytest.raises(EvalError):
        search("length(`1`)", {})

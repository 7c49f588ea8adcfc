from fractions import Fraction

from tools.kyverno.units import (
    go_format_e,
    go_json,
    go_sprint,
    parse_duration,
    parse_quantity,
    wildcard_match,
)


def test_wildcard_star_matches_slashes_and_empty():
    assert wildcard_match("registry.corp/*", "registry.corp/team/app:1")
    assert wildcard_match("*", "")


def test_wildcard_question_mark_needs_one_character():
    assert wildcard_match("?*", "a")
    assert not wildcard_match("?*", "")


def test_wildcard_brackets_are_literal():
    assert wildcard_match("a[b]*", "a[b]c")
    assert not wildcard_match("a[b]", "ab")


def test_quantity_binary_equals_decimal_forms():
    assert parse_quantity("1Gi") == parse_quantity("1024Mi")
    assert parse_quantity("100m") == Fraction(1, 10)


def test_quantity_rejects_garbage_and_empty():
    assert parse_quantity("abc") is None
    assert parse_quantity("") is None


def test_duration_parses_compound_and_zero():
    assert parse_duration("1h30m") == 5400
    assert parse_duration("0") == 0


def test_duration_rejects_empty_and_unitless():
    assert parse_duration("") is None
    assert parse_duration("10") is None


def test_go_format_e_uses_shortest_mantissa():
    assert go_format_e(80.0) == "8E+01"
    assert go_format_e(1.25) == "1.25E+00"


def test_go_sprint_switches_to_exponent_at_a_million():
    assert go_sprint(80.0) == "80"
    assert go_sprint(1e6) == "1e+06"


def test_go_json_prints_integral_floats_without_fraction():
    assert go_json({"uid": 1337.0, "ratio": 0.5}) == '{"ratio":0.5,"uid":1337}'

"""cel-go's optional values (CEL spec, optional types) on cel-python, through the source rewrite."""

import pytest
from celpy.adapter import json_to_cel

from tools.kyverno.cel import _run
from tools.kyverno.celoptional import rewrite_optional
from tools.kyverno.errors import Unsupported

OBJECT = {
    "metadata": {"labels": {"app": "web", "a.b/c": "x"}, "annotations": None},
    "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80}]}], "replicas": 0},
}


def cel(expression):
    return _run(expression, {"object": json_to_cel(OBJECT)})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("object.metadata.?labels.hasValue()", True),
        ("object.metadata.?missing.hasValue()", False),
        ("object.metadata.?labels.app.orValue('none')", "web"),
        ("object.metadata.?labels.missing.orValue('none')", "none"),
        ("object.?status.phase.orValue('none')", "none"),
        ("object.metadata.labels[?'a.b/c'].orValue('')", "x"),
        ("object.metadata.labels[?'d'].orValue('')", ""),
        ("object.spec.containers[?0].name.orValue('')", "app"),
        ("object.spec.containers[?1].name.orValue('')", ""),
        ("object.spec.?containers[0].ports[0].containerPort.orValue(0) == 80", True),
        ("object.spec.?containers[3].ports.hasValue()", False),
        ("object.metadata.?labels.app.value()", "web"),
        ("optional.of(1).value() == 1", True),
        ("optional.none().orValue(2) == 2", True),
        ("optional.none().?x.hasValue()", False),
        ("optional.ofNonZeroValue(object.spec.replicas).hasValue()", False),
        ("optional.ofNonZeroValue('a').hasValue()", True),
        ("object.spec.?containers.orValue([]).all(c, c.?image.orValue('') == '')", True),
        ("object.spec.?replicas.orValue(1) == 0 ? 'a.?b' : 'c'", "a.?b"),
    ],
)
def test_optional_constructs_follow_the_cel_spec(expression, expected):
    assert cel(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "optional.none().value()",
        "object.metadata.labels.orValue('')",
        "object.metadata.?annotations[?'x'].hasValue()",
        "object.spec.?replicas == optional.of(0)",
        "[?object.?x, 1].size() == 1",
        "{?'a': object.?x}.size() == 0",
        "object.metadata.?name.app.hasValue() || object.spec.containers[?'x'].hasValue()",
    ],
)
def test_what_cel_go_may_answer_differently_is_unsupported(expression):
    with pytest.raises(Unsupported):
        cel(expression)


def test_rewrite_leaves_string_literals_and_plain_expressions_alone():
    assert rewrite_optional("object.a == 'x'") == "object.a == 'x'"
    assert rewrite_optional("object.a == 'x.?y'") == "object .a == 'x.?y'"
    assert "'[?k]'" in rewrite_optional("object.?a.orValue('[?k]')")


def test_a_call_ends_the_optional_chain():
    assert rewrite_optional("a.?b.orValue(c).d") == 'a .optSelect__("b") .orValue ( c ) .d'

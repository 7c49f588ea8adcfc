"""The operations' JSON schema for constrained answers is derived from the pydantic models themselves."""

from __future__ import annotations

import json

from bot.core.edits import (
    AddCidr,
    Escalate,
    SetImage,
    SetKey,
    answer_schema,
    operations_schema,
    parse_operations,
)


def test_schema_requires_op_first_and_forbids_other_fields():
    schema = answer_schema(AddCidr)
    assert list(schema["properties"]) == ["op", "file", "key", "value"]
    assert schema["required"] == ["op", "file", "key", "value"]
    assert schema["properties"]["op"] == {"const": "add_cidr", "type": "string"}
    assert schema["additionalProperties"] is False


def test_schema_keeps_the_models_limits():
    assert answer_schema(SetKey)["properties"]["value"]["maxLength"] == 512
    assert answer_schema(Escalate)["properties"]["reason"] == {
        "maxLength": 2000,
        "minLength": 1,
        "type": "string",
    }


def test_nested_models_are_inlined_without_refs():
    text = json.dumps(answer_schema(SetImage))
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text
    assert answer_schema(SetImage)["properties"]["evidence"]["required"] == ["findings", "report", "reason"]


def test_operations_schema_offers_only_the_given_models():
    text = json.dumps(operations_schema([AddCidr, SetKey, Escalate]))
    assert '"add_cidr"' in text and '"set_key"' in text and '"escalate"' in text
    assert "set_image" not in text and "remove_cidr" not in text


def test_escalate_is_a_list_of_exactly_one():
    edits, escalation = operations_schema([AddCidr, Escalate])["properties"]["operations"]["anyOf"]
    assert edits["items"]["properties"]["op"]["const"] == "add_cidr"
    assert (escalation["minItems"], escalation["maxItems"]) == (1, 1)


def test_an_answer_of_the_schema_shape_parses_as_operations():
    answer = {"operations": [{"op": "set_key", "file": "a/b.yaml", "key": "hsts", "value": "true"}]}
    (op,) = parse_operations(answer["operations"])
    assert isinstance(op, SetKey) and op.value == "true"

"""Schemas: what users hand in (pydantic models, JSON-schema dicts, types), the JSON found in an
answer, and validation (the checked keywords fail, annotations do not, others are refused)."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic wants this one before Python 3.12

import jupyter_chat as jc
from jupyter_chat.structured.jsonschema import errors
from jupyter_chat.structured.schema import Schema, extract_json


class Review(BaseModel):
    label: Literal["positive", "negative"]
    confidence: float


class Point(TypedDict):
    x: int
    y: int


def test_a_pydantic_model_validates_into_an_instance():
    s = Schema(Review)
    value, problems = s.parse('{"label": "positive", "confidence": 0.9}')
    assert problems == [] and isinstance(value, Review) and value.label == "positive"
    value, problems = s.parse('{"label": "meh", "confidence": "high"}')
    assert value is None
    assert any(p.startswith("label:") for p in problems)
    assert any(p.startswith("confidence:") for p in problems)
    assert s.name == "Review" and s.hash.startswith("sha256:")


def test_types_pydantic_takes_work_too():
    assert Schema(list[str]).parse('["a", "b"]') == (["a", "b"], [])
    value, problems = Schema(Point).parse('{"x": 1}')
    assert value is None and problems == ["y: Field required"]
    with pytest.raises(jc.ConfigError, match="is not a schema"):
        Schema(object())


def test_a_json_schema_dict_is_checked_keyword_by_keyword():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "kind": {"enum": ["a", "b"]},
            "ref": {"$ref": "#/$defs/Code"},
        },
        "required": ["tags", "score"],
        "additionalProperties": False,
        "$defs": {"Code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    }
    good = {"tags": ["x"], "score": 3, "kind": "a", "ref": "ABC"}
    assert errors(good, schema) == []
    bad = {"tags": [], "score": 11, "kind": "c", "ref": "abc", "extra": 1}
    assert sorted(errors(bad, schema)) == [
        "extra: not allowed (no such field)",
        'kind: must be one of "a", "b"',
        "ref: must match '^[A-Z]{3}$'",
        "score: maximum is 10, got 11",
        "tags: at least 1 items",
    ]
    assert errors({"tags": ["x"]}, schema) == ["score: required"]
    assert errors({"tags": ["x"], "score": True}, schema) == [
        "score: expected integer, got boolean"
    ]


def test_annotations_pass_and_unknown_keywords_are_refused():
    Schema({"type": "string", "title": "T", "description": "d", "format": "email"})
    with pytest.raises(jc.ConfigError, match="'if' is not supported"):
        Schema({"type": "object", "if": {}, "then": {}})
    with pytest.raises(jc.ConfigError, match="unknown type"):
        Schema({"type": "text"})


@pytest.mark.parametrize(
    "answer",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        'Here you go:\n```json\n{"a": 1}\n```\nAnything else?',
        '~~~\n{"a": 1}\n~~~',
        'The answer is {"a": 1}, as asked.',
    ],
)
def test_the_json_is_found_bare_fenced_or_in_prose(answer):
    assert extract_json(answer) == '{"a": 1}'


def test_no_json_is_a_clear_problem():
    assert extract_json("I cannot help with that.") is None
    assert Schema(Review).parse("I cannot help with that.") == (
        None,
        ["the reply holds no JSON value"],
    )


def test_response_format_shapes():
    rf = Schema(Review).response_format("json_schema")
    assert rf["type"] == "json_schema" and rf["json_schema"]["name"] == "Review"
    # every property required: strict, with additionalProperties false added
    assert rf["json_schema"]["strict"] is True
    assert rf["json_schema"]["schema"]["additionalProperties"] is False

    class Loose(BaseModel):
        a: int
        b: int | None = None

    assert "strict" not in Schema(Loose).response_format("json_schema")["json_schema"]
    # a non-object schema rides in {"value": ...} where the top must be an object
    wrapped = Schema(list[str]).response_format("json_schema")["json_schema"]["schema"]
    assert wrapped["required"] == ["value"] and wrapped["properties"]["value"]["type"] == "array"
    assert Schema(list[str]).parse('{"value": ["a"]}', wrapped=True) == (["a"], [])
    local = Schema(Review).response_format("json_object")
    assert local == {"type": "json_object", "schema": Schema(Review).json}

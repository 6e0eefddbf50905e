"""Structured answers over loopback, per provider dialect: response_format json_schema where
the provider documents it, json_object with a schema for llama.cpp servers, the schema in words
elsewhere; the repair; a schema change is a replay miss."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

import pytest
from dialect_server import completion, last_user_text
from pydantic import BaseModel

import jupyter_chat as jc
from jupyter_chat.session.state import SESSION

GOOD = '{"label": "positive", "confidence": 0.9}'


class Review(BaseModel):
    label: Literal["positive", "negative"]
    confidence: float


def test_openai_compatible_gets_response_format_json_schema(server):
    server.script(completion(GOOD))
    turn = jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review)
    rf = server.requests[0].body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    assert rf["json_schema"]["schema"]["properties"]["label"]["enum"] == ["positive", "negative"]
    assert last_user_text(server.requests[0].body) == "Great film!"  # no instruction needed
    assert isinstance(turn.parsed, Review) and turn.parsed.confidence == 0.9
    assert turn.record["schema"]["name"] == "Review"
    assert turn.record["schema"]["hash"].startswith("sha256:")
    assert "repaired" not in turn.record


def test_edenai_gets_response_format_too(server):
    server.script(completion(GOOD))
    jc.chat("Great film!", model="edenai:openai/gpt-4o", schema=Review)
    assert server.requests[0].body["response_format"]["type"] == "json_schema"


def test_local_gets_json_object_with_the_schema(server):
    server.script(completion(GOOD))
    turn = jc.chat("Great film!", model="local", schema=Review)
    rf = server.requests[0].body["response_format"]
    assert rf == {"type": "json_object", "schema": Review.model_json_schema()}
    assert turn.parsed.label == "positive"


@pytest.mark.parametrize("model", ["eigenai", "eigencloud", "patgateway:m", "adaptive:p/m"])
def test_without_response_format_the_schema_is_asked_for_in_words(server, model):
    server.script(completion(f"Sure! Here it is:\n```json\n{GOOD}\n```"))
    turn = jc.chat("Great film!", model=model, schema=Review)
    body = server.requests[0].body
    assert "response_format" not in body
    text = last_user_text(body)
    assert text.startswith("Great film!\n\nReply with JSON only")
    assert '"positive"' in text  # the schema itself is in the prompt
    assert turn.parsed == Review(label="positive", confidence=0.9)


def test_a_wrong_answer_is_repaired_once_and_the_record_says_so(server):
    server.script(completion('{"label": "great"}'), completion(GOOD))
    turn = jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review, thread="r")
    assert turn.parsed.label == "positive"
    second = server.requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"label": "great"}'}
    assert second[-1]["role"] == "user" and "did not match the JSON Schema" in second[-1]["content"]
    assert "label: Input should be 'positive' or 'negative'" in second[-1]["content"]
    assert "confidence: Field required" in second[-1]["content"]
    rep = turn.record["repaired"]
    assert rep["attempts"] == 2 and rep["earlier"][0]["usage"]["total_tokens"] == 8
    # the thread holds the question and the valid answer only
    assert [(m["role"], m["content"]) for m in SESSION.history("r")] == [
        ("user", "Great film!"),
        ("assistant", GOOD),
    ]


def test_a_second_failure_is_a_clear_error_that_keeps_the_raw_answer(server):
    server.script(completion("no idea"), completion('{"label": 1}'))
    with pytest.raises(jc.SchemaError) as info:
        jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review, thread="f")
    err = info.value
    assert "does not match the schema Review after 1 repair(s)" in str(err)
    assert err.raw == '{"label": 1}' and err.problems
    assert SESSION.history("f") == []  # nothing filed
    server.reset()
    server.script(completion("no idea"))
    with pytest.raises(jc.SchemaError, match="holds no JSON"):
        jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review, repair=0)
    assert len(server.requests) == 1


def test_schema_mistakes_are_refused_before_sending(server):
    with pytest.raises(jc.ConfigError, match="not both"):
        jc.chat("x", model="openai", schema=Review, response_format={"type": "json_object"})
    with pytest.raises(jc.ConfigError, match="repair"):
        jc.chat("x", model="openai", schema=Review, repair=-1)
    with pytest.raises(jc.ConfigError, match="not supported"):
        jc.chat("x", model="openai", schema={"type": "object", "if": {}})
    assert server.requests == []


def test_a_changed_schema_is_a_replay_miss_not_a_wrong_answer(server, tmp_path):
    store = tmp_path / "s.chat.jsonl"
    jc.set_replay("auto", store)
    server.script(completion(GOOD))
    first = jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review)
    jc.set_replay("replay", store)
    again = jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review)
    assert again.record["replayed"] and again.parsed == first.parsed

    class Review2(BaseModel):
        label: Literal["positive", "negative", "mixed"]
        confidence: float

    with pytest.raises(jc.ChatError, match="no recording"):
        jc.chat("Great film!", model="openai:gpt-4o-mini", schema=Review2)
    # the instruction form carries the schema in the prompt: also a miss
    jc.set_replay("auto", store)
    server.script(completion(GOOD))
    jc.chat("Great film!", model="eigenai", schema=Review)
    jc.set_replay("replay", store)
    with pytest.raises(jc.ChatError, match="no recording"):
        jc.chat("Great film!", model="eigenai", schema=Review2)
    assert len(server.requests) == 2


def test_achat_validates_too(server):
    server.script(completion("nope"), completion(json.dumps(["a", "b"])))
    turn = asyncio.run(jc.achat("List two letters.", model="local", schema=list[str]))
    assert turn.parsed == ["a", "b"] and turn.record["repaired"]["attempts"] == 2


def test_a_refusal_to_a_structured_ask_fails_once_and_is_not_sent_back(server):
    """Sending a refusal back for repair would pay again for the same refusal."""
    from dialect_server import Reply

    refused = {"role": "assistant", "content": None, "refusal": "I can't rate that."}
    reply = Reply(
        body={
            "id": "r",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": refused, "finish_reason": "stop"}],
        }
    )
    server.script(reply, reply)
    with pytest.raises(jc.SchemaError, match="the model refused instead of answering") as e:
        jc.chat("rate it", model="local", schema={"type": "object"}, repair=2)
    assert e.value.raw == "I can't rate that."
    assert len(server.requests) == 1

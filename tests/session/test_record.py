"""Records say what was asked and what answered, for every provider, live and replayed; what
differs from run to run is kept out of an output's data."""

from __future__ import annotations

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse

import jupyter_chat as jc
from jupyter_chat.display.bundle import MIME, bundle
from jupyter_chat.session.state import SESSION

MODELS = {
    "eigenai": "gpt-oss-120b",
    "eigencloud": "gpt-oss-120b-f16",
    "eigencloud-sepolia": "gpt-oss-120b-f16",
    "edenai": "@edenai",
    "patgateway": "gateway-model",
    "adaptive": "project/model",
    "openai": "alias-latest",
    "local": "default",
}


def reply(dialect: str) -> Reply:
    extra = {"session_id": "9b2f0d6e-0000-4000-8000-000000000001"} if dialect == "adaptive" else {}
    first = chunk("Hi", model=f"served-{dialect}", id=f"resp-{dialect}", **extra)
    if dialect == "adaptive":
        first["choices"][0]["completion_id"] = "c-77"
    return Reply(events=sse(first, chunk(finish="stop")))


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_the_record_says_what_was_asked_what_answered_and_its_ids(server, dialect, tmp_path):
    server.script(reply(dialect))
    SESSION.set_replay("record", tmp_path / "ids.chat.jsonl")
    turn = jc.chat("ids?", model=f"{dialect}:{MODELS[dialect]}", stream=True)
    r = turn.record
    assert r["model"] == MODELS[dialect]  # asked
    assert r["served_model"] == f"served-{dialect}"  # what the response says
    assert r["response_id"] == f"resp-{dialect}"
    assert r["version"] == jc.__version__
    if dialect == "adaptive":
        assert r["provider_ids"] == {
            "session_id": "9b2f0d6e-0000-4000-8000-000000000001",
            "completion_id": "c-77",
        }
    SESSION.set_replay("replay", tmp_path / "ids.chat.jsonl")
    again = jc.chat("ids?", model=f"{dialect}:{MODELS[dialect]}", stream=True)
    assert again.record["replayed"] is True
    for field in ("model", "served_model", "response_id", "provider_ids"):
        assert again.record[field] == r[field], field  # the recorded ids, kept


def test_an_outputs_data_is_the_same_live_and_replayed(server, tmp_path):
    SESSION.set_replay("record", tmp_path / "same.chat.jsonl")
    live = jc.chat("same?", model="openai:m")
    SESSION.set_replay("replay", tmp_path / "same.chat.jsonl")
    again = jc.chat("same?", model="openai:m")

    def output(turn):
        return bundle(
            answer=turn.text,
            reasoning=turn.reasoning,
            tool_calls=turn.tool_calls,
            record=turn.record,
            messages=turn.messages,
            status="complete",
        )

    (live_data, live_meta), (data, meta) = output(live), output(again)
    assert data == live_data  # the footer, the structured record: nothing says "replayed"
    assert "record" not in data[MIME]  # the record is in the metadata, once
    assert (live_meta["jupyter_chat"]["replayed"], meta["jupyter_chat"]["replayed"]) == (
        False,
        True,
    )

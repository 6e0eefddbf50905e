"""The stream accumulator and content splitter (providers.md sections 4 and 5), fed directly."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from dialect_server import chunk, sse
from harmony_cases import (  # noqa: F401
    CASES,
    EIGENCLOUD_DOCS,
    LITERAL,
    NO_HEADER_AFTER_END,
    THINK,
    TOOL_CONSTRAIN,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.client.runtime import read_events
from jupyter_chat.errors import ProviderError
from jupyter_chat.stream import Accumulator, ContentSplitter


def split_feed(text: str, cuts: list[int]) -> Accumulator:
    acc = Accumulator()
    pos = 0
    for cut in sorted(set(cuts)) + [len(text)]:
        if cut > pos:
            acc.feed_chunk(chunk(text[pos:cut]))
            pos = cut
    acc.feed_chunk(chunk(finish="stop"))
    acc.finish()
    return acc


def view(acc: Accumulator):
    r = acc.result()
    calls = [(t["function"]["name"], t["function"]["arguments"]) for t in r.tool_calls]
    return r.answer, r.reasoning, r.choices[0].preamble, calls


@pytest.mark.parametrize("name", list(CASES))
def test_harmony_and_think_cases_split_as_specified(name):
    text, answer, reasoning, preamble, calls = CASES[name]
    acc = split_feed(text, [])
    assert view(acc) == (answer, reasoning, preamble, calls)
    assert acc.result().raw_content == text  # byte-exact, markers included


@pytest.mark.parametrize("name", list(CASES))
def test_every_fixed_chunk_size_gives_the_same_split(name):
    text = CASES[name][0]
    whole = view(split_feed(text, []))
    for size in range(1, 15):
        assert view(split_feed(text, list(range(0, len(text), size)))) == whole, size


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(CASES)), st.lists(st.integers(0, 400), max_size=40))
def test_splitter_is_independent_of_chunking(name, cuts):
    text = CASES[name][0]
    assert view(split_feed(text, [c % (len(text) + 1) for c in cuts])) == view(split_feed(text, []))


def test_harmony_tool_call_gets_a_minted_id():
    calls = split_feed(TOOL_CONSTRAIN, []).result().tool_calls
    assert calls[0]["id"].startswith("call_") and len(calls[0]["id"]) > 10
    assert calls[0]["type"] == "function"


def test_think_later_in_the_answer_is_literal():
    acc = split_feed("Use the <think> tag like this.", [])
    assert acc.result().answer == "Use the <think> tag like this."
    assert acc.result().reasoning == ""


def test_splitter_holds_back_at_most_a_marker_prefix():
    s, out = ContentSplitter(), []
    s.feed("abc<|chan", out, 0)
    assert "".join(t for _, _, t in out) == "abc" and s.buf == "<|chan"
    s.feed("nel|>final<|message|>x", out, 0)
    assert out[-1] == ("answer", 0, "x")


def test_reasoning_content_and_reasoning_fields():
    acc = Accumulator()
    out = acc.feed_chunk(chunk(reasoning="step one. "))
    assert out == [("reasoning", 0, "step one. ")]
    acc.feed_chunk(chunk(reasoning="step two.", reasoning_field="reasoning"))
    acc.feed_chunk(chunk("Answer."))
    assert (acc.result().reasoning, acc.result().answer) == ("step one. step two.", "Answer.")


def test_reasoning_arrives_apart_from_the_answer_as_it_streams():
    acc = Accumulator()
    kinds = []
    for piece in [
        "<|channel|>analysis<|message|>th",
        "ink",
        "<|end|><|start|>assistant",
        "<|channel|>final<|message|>ans",
        "wer",
    ]:
        kinds += [k for k, _, _ in acc.feed_chunk(chunk(piece))]
    assert kinds == ["reasoning", "reasoning", "answer", "answer"]
    assert acc.text("reasoning") == "think" and acc.text("answer") == "answer"


def test_tool_call_fragments_accumulate_by_index():
    acc = Accumulator()
    acc.feed_chunk(
        chunk(
            tool_calls=[
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                },
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q"'},
                },
            ]
        )
    )
    acc.feed_chunk(chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"city":'}}]))
    acc.feed_chunk(
        chunk(
            tool_calls=[
                {"index": 1, "function": {"arguments": ": 2}"}},
                {"index": 0, "function": {"arguments": '"Paris"}'}},
            ]
        )
    )
    acc.feed_chunk(chunk(finish="tool_calls"))
    r = acc.result()
    assert [
        (t["id"], t["function"]["name"], json.loads(t["function"]["arguments"]))
        for t in r.tool_calls
    ] == [("call_a", "get_weather", {"city": "Paris"}), ("call_b", "lookup", {"q": 2})]
    assert r.finish_reason == "tool_calls" and r.raw_content is None


def test_reused_index_with_a_new_id_opens_a_new_call():
    acc = Accumulator()
    acc.feed_chunk(
        chunk(
            tool_calls=[{"index": 0, "id": "call_1", "function": {"name": "a", "arguments": "{}"}}]
        )
    )
    acc.feed_chunk(
        chunk(
            tool_calls=[
                {"index": 0, "id": "call_2", "function": {"name": "b", "arguments": '{"x": 1}'}}
            ]
        )
    )
    calls = acc.result().tool_calls
    assert [(t["id"], t["function"]["name"], t["function"]["arguments"]) for t in calls] == [
        ("call_1", "a", "{}"),
        ("call_2", "b", '{"x": 1}'),
    ]


def test_n_greater_than_one_keeps_choices_apart():
    acc = Accumulator()
    for i, piece in [(0, "A1 "), (1, "B1 "), (1, "B2"), (0, "A2")]:
        acc.feed_chunk(chunk(piece, index=i))
    acc.feed_chunk(chunk(finish="stop", index=1))
    acc.feed_chunk(chunk(finish="length", index=0))
    r = acc.result()
    assert [(c.index, c.answer, c.finish_reason) for c in r.choices] == [
        (0, "A1 A2", "length"),
        (1, "B1 B2", "stop"),
    ]
    assert r.complete  # every choice finished, even without [DONE]


def test_usage_is_the_last_non_null_value_anywhere():
    acc = Accumulator()
    acc.feed_chunk(chunk("x", usage={"total_tokens": 1}))
    acc.feed_chunk(chunk("y", usage=None))
    acc.feed_chunk({"id": "c", "choices": None, "usage": {"total_tokens": 9}})
    acc.feed_chunk({"choices": [], "usage": None})
    assert acc.result().usage == {"total_tokens": 9}


def test_chunks_without_choices_do_not_break_and_extras_are_kept():
    acc = Accumulator()
    acc.feed_chunk(chunk("hi", openai=False, session_id="s-1"))
    acc.feed_chunk({"TTFT": 12.5})
    acc.feed_chunk({"finish_reason": "stop", "TotalRequestDuration": 40})
    r = acc.result()
    assert r.answer == "hi"
    assert r.extras == {
        "session_id": "s-1",
        "TTFT": 12.5,
        "finish_reason": "stop",
        "TotalRequestDuration": 40,
    }


def test_complete_needs_done_or_a_finish_reason():
    acc = Accumulator()
    acc.feed_data(json.dumps(chunk("partial")))
    assert not acc.complete
    acc.feed_data("[DONE]")
    assert acc.complete


def test_error_event_raises_with_the_partial_answer():
    acc = Accumulator("edenai")
    acc.feed_data(json.dumps(chunk("Hello ")))
    with pytest.raises(ProviderError) as e:
        acc.feed_data(
            json.dumps(
                {"error": {"message": "upstream overloaded"}, "edenai_metadata": {"attempt": 2}}
            ),
            "error",
        )
    assert "upstream overloaded" in str(e.value)
    assert e.value.partial.answer == "Hello " and not e.value.partial.complete
    assert e.value.partial.extras["edenai_metadata"] == {"attempt": 2}


def test_malformed_chunk_raises_a_provider_error():
    acc = Accumulator("x")
    with pytest.raises(ProviderError, match="malformed chunk"):
        acc.feed_data('{"choices": [')


def test_non_streaming_response_goes_through_the_same_accumulator():
    acc = Accumulator()
    acc.feed_response(
        {
            "id": "r",
            "model": "m",
            "signature": "ab",
            "system_fingerprint": "fp",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": EIGENCLOUD_DOCS},
                }
            ],
            "usage": {"total_tokens": 3},
        }
    )
    acc.finish()
    r = acc.result()
    assert (r.answer, r.reasoning, r.signature, r.system_fingerprint, r.model) == (
        "2 + 2 = 4.",
        "User asks 2+2. Provide answer.",
        "ab",
        "fp",
        "m",
    )
    assert r.complete and r.raw_content == EIGENCLOUD_DOCS


# -- the SSE decoding path, however the bytes are split into reads ------------------------------
STREAM_TEXT = (
    ": keep-alive comment\r\n\r\n"
    + "".join(
        e.replace("\n", "\r\n") for e in sse(chunk(role="assistant", content="Grüße, "), done=False)
    )
    + 'data: {"id":"c","choices":[{"index":0,\ndata: "delta":{"content":"naïve 日本 🎉 "}}]}\n\n'
    + "event: message\nid: 7\nretry: 100\n"
    + "".join(
        sse(
            chunk(reasoning="hm"),
            chunk("<|channel|>final<|message|>done"),
            chunk(finish="stop"),
            {"id": "c", "choices": [], "usage": {"total_tokens": 4}},
            done=True,
        )
    )
)
STREAM_BYTES = STREAM_TEXT.encode()


class _Reads(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def __aiter__(self):
        for p in self.pieces:
            yield p


def decode(pieces: list[bytes]):
    acc = Accumulator()
    resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Reads(pieces))
    asyncio.run(read_events(resp, acc, lambda out: None))
    acc.finish()
    r = acc.result()
    return r.answer, r.reasoning, r.usage, r.complete


def test_sse_framing_comments_crlf_multiline_and_utf8():
    assert decode([STREAM_BYTES]) == ("Grüße, naïve 日本 🎉 done", "hm", {"total_tokens": 4}, True)


def test_sse_single_byte_reads_give_the_same_result():
    assert decode([STREAM_BYTES[i : i + 1] for i in range(len(STREAM_BYTES))]) == decode(
        [STREAM_BYTES]
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, len(STREAM_BYTES)), max_size=60))
def test_sse_any_split_into_reads_gives_the_same_result(cuts):
    points = [0] + sorted(set(cuts)) + [len(STREAM_BYTES)]
    pieces = [STREAM_BYTES[a:b] for a, b in zip(points, points[1:]) if b > a]
    assert decode(pieces) == decode([STREAM_BYTES])


# -- refusals, logprobs, n ---------------------------------------------------------------------
def lp(token: str, logprob: float) -> dict:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": []}


def test_a_streamed_refusal_is_kept_apart_from_the_answer_and_handed_on():
    acc = Accumulator()
    handed = []
    for piece in ("I can", "'t."):
        obj = chunk()
        obj["choices"][0]["delta"] = {"content": None, "refusal": piece}
        handed += acc.feed_chunk(obj)
    acc.feed_chunk(chunk(finish="stop"))
    handed += acc.finish()
    r = acc.result()
    assert (r.answer, r.refusal, r.raw_content, r.complete) == ("", "I can't.", None, True)
    assert handed == [("refusal", 0, "I can"), ("refusal", 0, "'t.")]


def test_a_whole_responses_refusal_is_kept():
    acc = Accumulator()
    acc.feed_response(
        {"choices": [{"index": 0, "finish_reason": "stop", "message": {"refusal": "No."}}]}
    )
    assert acc.result().refusal == "No." and acc.result().choices[0].answer == ""


def test_a_refusal_that_is_not_text_is_malformed():
    obj = chunk()
    obj["choices"][0]["delta"] = {"refusal": ["no"]}
    with pytest.raises(ProviderError, match="refusal is not text"):
        Accumulator().feed_chunk(obj)


def test_streamed_logprobs_are_joined_per_choice():
    acc = Accumulator()
    for index, token, value in [(0, "A", -0.5), (1, "B", -1.0), (0, "a", -0.25)]:
        obj = chunk(token, index=index)
        obj["choices"][0]["logprobs"] = {"content": [lp(token, value)], "refusal": None}
        acc.feed_chunk(obj)
    first, second = acc.result().choices
    assert first.logprobs == {"content": [lp("A", -0.5), lp("a", -0.25)], "refusal": None}
    assert second.logprobs == {"content": [lp("B", -1.0)], "refusal": None}
    assert acc.result().logprobs == first.logprobs  # the first choice's


def test_a_result_is_a_snapshot_later_logprobs_do_not_change():
    acc = Accumulator()
    obj = chunk("A")
    obj["choices"][0]["logprobs"] = {"content": [lp("A", -0.5)]}
    acc.feed_chunk(obj)
    before = acc.result()
    acc.feed_chunk(obj)
    assert len(before.logprobs["content"]) == 1 and len(acc.result().logprobs["content"]) == 2


def test_logprobs_that_are_not_an_object_are_malformed():
    obj = chunk("A")
    obj["choices"][0]["logprobs"] = [1, 2]
    with pytest.raises(ProviderError, match="logprobs is not an object"):
        Accumulator().feed_chunk(obj)


def test_without_done_complete_needs_every_choice_asked_for_to_finish():
    acc = Accumulator(choices=2)
    acc.feed_chunk(chunk("A", index=0, finish="stop"))
    assert not acc.complete  # choice 1 has not even begun
    acc.feed_chunk(chunk("B", index=1, finish="stop"))
    assert acc.complete


def test_compact_logprobs_are_columns_without_the_bytes():
    from jupyter_chat.stream import compact_logprobs

    top = [{"token": "A", "logprob": -0.5, "bytes": [65]}, {"token": "B", "logprob": -2.0}]
    full = {"content": [lp("A", -0.5) | {"top_logprobs": top}, lp("c", -0.1)], "refusal": None}
    assert compact_logprobs(full) == {
        "content": {
            "tokens": ["A", "c"],
            "logprobs": [-0.5, -0.1],
            "top": [[["A", -0.5], ["B", -2.0]], []],
        }
    }
    assert compact_logprobs({"content": None}) is None and compact_logprobs("x") is None
    assert "top" not in compact_logprobs({"content": [lp("A", -0.5)]})["content"]

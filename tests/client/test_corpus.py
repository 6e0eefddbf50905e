"""Corpus cases through the client over loopback, the openai SDK as a second opinion where it
reads the wire right: refusals, every choice of ``n``, logprobs, valid SSE that must not fail
(a retry-only block, an empty data line, a byte-order mark), a stream cut after every choice
finished, a body cut short and a connection dropped, each said as it happened."""

from __future__ import annotations

import json

import pytest
from dialect_server import DIALECTS, USAGE, Reply, chunk, completion, sse

import jupyter_chat as jc
from jupyter_chat.display.bundle import bundle
from jupyter_chat.replay.store import Store
from jupyter_chat.session.state import SESSION

MODEL = "openai:gpt-test"
REFUSAL = "I can't help with <that> & *this*."


def lp(token: str, logprob: float, alt: str = "x") -> dict:
    """One token's logprobs entry as OpenAI sends it, with one alternative."""
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": token, "logprob": logprob, "bytes": list(token.encode())},
            {"token": alt, "logprob": -3.25, "bytes": list(alt.encode())},
        ],
    }


def with_logprobs(obj: dict, part: str, *entries: dict) -> dict:
    obj["choices"][0]["logprobs"] = {"content": None, "refusal": None, part: list(entries)}
    return obj


def body(*choices: dict) -> Reply:
    """A non-streamed ``chat.completion`` with these choices (index added)."""
    return Reply(
        body={
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-test",
            "usage": USAGE,
            "choices": [{"index": i, "finish_reason": "stop", **c} for i, c in enumerate(choices)],
        }
    )


def sdk():
    openai = pytest.importorskip("openai")
    from jupyter_chat.providers.config import CONFIG

    base = CONFIG.profile("openai").resolved_base_url()
    return openai.OpenAI(base_url=base, api_key=DIALECTS["openai"][3], max_retries=0)


def sdk_stream(**kw) -> dict[int, dict]:
    """What the openai SDK makes of a stream: per choice, its content, refusal, logprobs."""
    out: dict[int, dict] = {}
    for ch in sdk().chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True, **kw
    ):
        for c in ch.choices:
            o = out.setdefault(c.index, {"content": "", "refusal": None, "tokens": []})
            o["content"] += c.delta.content or ""
            if c.delta.refusal:
                o["refusal"] = (o["refusal"] or "") + c.delta.refusal
            if c.logprobs:
                for part in (c.logprobs.content or []) + (c.logprobs.refusal or []):
                    o["tokens"].append((part.token, part.logprob))
    return out


def shown(turn) -> tuple[str, str]:
    """The Markdown and plain text a cell shows for ``turn``."""
    data, _ = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=[],
        status="complete",
    )
    return data["text/markdown"], data["text/plain"]


def tokens(logprobs: dict, part: str = "content") -> list:
    return [(e["token"], e["logprob"]) for e in logprobs[part]]


# -- refusals ----------------------------------------------------------------------------------
def test_a_refusal_is_shown_plainly_and_recorded_as_a_refusal(server):
    server.script(body({"message": {"role": "assistant", "content": None, "refusal": REFUSAL}}))
    turn = jc.chat("hi", model=MODEL)
    assert (turn.text, turn.refusal, turn.complete) == ("", REFUSAL, True)
    assert turn.record["refusal"] == REFUSAL
    md, plain = shown(turn)
    assert "Refused:" in md and "I can&#x27;t help with &lt;that&gt; &amp; *this*." in md
    assert "<that>" not in md  # plain text: never rendered as Markdown or HTML
    assert f"[refused] {REFUSAL}" in plain
    assert " · refused" in plain  # the footer's finish state
    server.script(body({"message": {"role": "assistant", "content": None, "refusal": REFUSAL}}))
    got = sdk().chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    assert got.choices[0].message.refusal == turn.refusal


def refusal_chunk(text: str, logprob: float) -> dict:
    obj = chunk()
    obj["choices"][0]["delta"] = {"refusal": text}
    return with_logprobs(obj, "refusal", lp(text, logprob))


def test_a_streamed_refusal_and_its_logprobs_are_kept(server):
    events = sse(
        chunk(role="assistant"),
        refusal_chunk("I", -0.5),
        refusal_chunk(" can't", -0.25),
        chunk(finish="stop"),
    )
    server.script(Reply(events=events), Reply(events=events))
    turn = jc.chat("hi", model=MODEL, stream=True, logprobs=True)
    assert (turn.text, turn.refusal, turn.complete) == ("", "I can't", True)
    assert tokens(turn.logprobs, "refusal") == [("I", -0.5), (" can't", -0.25)]
    assert turn.record["refusal"] == "I can't"
    assert turn.record["logprobs"]["refusal"]["tokens"] == ["I", " can't"]
    theirs = sdk_stream(logprobs=True)[0]
    assert (theirs["refusal"], theirs["tokens"]) == (turn.refusal, tokens(turn.logprobs, "refusal"))


# -- n: every choice paid for is shown and kept ------------------------------------------------
def test_every_choice_of_n_is_kept_shown_and_recorded(server):
    reply = body(*({"message": {"role": "assistant", "content": f"Answer {i}."}} for i in range(3)))
    server.script(reply, reply)
    turn = jc.chat("hi", model=MODEL, n=3)
    assert [c.answer for c in turn.choices] == ["Answer 0.", "Answer 1.", "Answer 2."]
    assert turn.text == "Answer 0."
    assert [c["answer"] for c in turn.record["choices"]] == ["Answer 1.", "Answer 2."]
    md, plain = shown(turn)
    for i in range(3):
        assert f"Answer {i}." in md and f"Answer {i}." in plain
    assert "Choice 2" in md and "[choice 3]" in plain
    got = sdk().chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], n=3
    )
    assert [c.message.content for c in got.choices] == [c.answer for c in turn.choices]


def test_streamed_choices_interleaved_by_index_are_each_kept(server):
    pieces = [(0, "A1 "), (1, "B1 "), (1, "B2"), (0, "A2")]
    events = sse(
        *(chunk(p, index=i) for i, p in pieces),
        chunk(finish="stop", index=1),
        chunk(finish="length", index=0),
    )
    server.script(Reply(events=events), Reply(events=events))
    turn = jc.chat("hi", model=MODEL, n=2, stream=True)
    assert [(c.answer, c.finish_reason) for c in turn.choices] == [
        ("A1 A2", "length"),
        ("B1 B2", "stop"),
    ]
    assert turn.record["choices"] == [{"index": 1, "answer": "B1 B2", "finish_reason": "stop"}]
    theirs = sdk_stream(n=2)
    assert [theirs[i]["content"] for i in (0, 1)] == [c.answer for c in turn.choices]


def test_n_where_the_provider_does_not_document_it_is_refused_before_sending(server):
    with pytest.raises(jc.InvalidRequestError) as e:
        jc.chat("hi", model="eigencloud", n=3)
    assert "does not document n=3" in str(e.value) and "seed" in e.value.hint
    assert "\n" not in str(e.value).split(". ")[0]
    assert server.requests == []


def test_n_choices_and_logprobs_replay_byte_identically(server, tmp_path):
    store = tmp_path / "nb.chat.jsonl"
    SESSION.set_replay("record", store)
    first = with_logprobs(chunk("Hel", index=0), "content", lp("Hel", -0.125), lp("lo", -1e-05))
    events = sse(
        first,
        with_logprobs(chunk("Yo", index=1), "content", lp("Yo", -2.5, "Hi")),
        chunk(finish="stop", index=0),
        chunk(finish="stop", index=1),
        {"id": "c", "choices": [], "usage": USAGE},
    )
    server.script(Reply(events=events))
    live = jc.chat("hi", model=MODEL, n=2, stream=True, logprobs=True, top_logprobs=2, seed=1)
    assert tokens(live.logprobs) == [("Hel", -0.125), ("lo", -1e-05)]
    assert live.logprobs["content"][0]["bytes"] == [72, 101, 108]  # kept whole
    assert live.record["logprobs"] == {
        "content": {
            "tokens": ["Hel", "lo"],
            "logprobs": [-0.125, -1e-05],
            "top": [[["Hel", -0.125], ["x", -3.25]], [["lo", -1e-05], ["x", -3.25]]],
        }
    }
    assert live.record["choices"][0]["logprobs"]["content"]["tokens"] == ["Yo"]
    [rec] = Store(store).records().values()
    assert rec["response"]["choices"][1]["logprobs"] == live.choices[1].logprobs
    SESSION.set_replay("replay", store)
    again = jc.chat("hi", model=MODEL, n=2, stream=True, logprobs=True, top_logprobs=2, seed=1)
    assert len(server.requests) == 1  # no network
    assert json.dumps(again.logprobs) == json.dumps(live.logprobs)
    assert json.dumps([vars(c) for c in again.choices]) == json.dumps(
        [vars(c) for c in live.choices]
    )
    assert {k: v for k, v in again.record.items() if k not in ("replayed", "latency_ms")} == {
        k: v for k, v in live.record.items() if k not in ("replayed", "latency_ms")
    }


def test_non_streamed_logprobs_are_kept_as_sent(server):
    lps = {"content": [lp("Hi", -0.5), lp("!", -0.75)], "refusal": None}
    reply = body({"message": {"role": "assistant", "content": "Hi!"}, "logprobs": lps})
    server.script(reply, reply)
    turn = jc.chat("hi", model=MODEL, logprobs=True, top_logprobs=2)
    assert turn.logprobs == lps
    got = sdk().chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], logprobs=True
    )
    assert [(t.token, t.logprob) for t in got.choices[0].logprobs.content] == tokens(turn.logprobs)


# -- valid SSE that must not fail the answer ---------------------------------------------------
OK = sse(chunk("o"), chunk("k"), chunk(finish="stop"))


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(["retry: 3000\n\n", *OK], id="retry-only block"),
        pytest.param(["id: 7\n\n", "event: ping\n\n", *OK], id="id-only and event-only blocks"),
        pytest.param(["data:\n\n", OK[0], "data:\n\n", *OK[1:]], id="empty data line"),
        pytest.param(["\ufeff" + OK[0], *OK[1:]], id="byte-order mark"),
        pytest.param([e.replace("\n", "\r") for e in OK], id="CR line ends"),
        pytest.param([OK[0].replace("data: ", "data:"), *OK[1:]], id="no space after the colon"),
    ],
)
def test_valid_sse_gives_the_whole_answer(server, events):
    server.script(Reply(events=events, split=3))
    turn = jc.chat("hi", model="local", stream=True)
    assert (turn.text, turn.complete) == ("ok", True)


def test_an_answer_with_unicode_line_separators_is_one_line_of_data(server):
    text = "a\u2028b\u2029c\x85d\x0ce\x1cf"
    raw = [f"data: {json.dumps(chunk(text), ensure_ascii=False)}\n\n"]  # as raw UTF-8
    server.script(Reply(events=raw + sse(chunk(finish="stop"))))
    assert jc.chat("hi", model="local", stream=True).text == text


# -- cut short ---------------------------------------------------------------------------------
def test_a_stream_cut_after_every_choice_finished_is_complete(server):
    events = sse(chunk("Hello"), chunk(finish="stop"))
    server.script(Reply(events=events, reset_after=len((events[0] + events[1]).encode())))
    turn = jc.chat("hi", model="local", stream=True)
    assert (turn.text, turn.complete, turn.finish_reason) == ("Hello", True, "stop")
    assert len(server.requests) == 1


def test_a_stream_cut_before_every_choice_of_n_finished_is_incomplete(server):
    events = sse(chunk("A", index=0), chunk(finish="stop", index=0), chunk("B", index=1))
    server.script(Reply(events=events[:3], reset_after=len("".join(events[:3]).encode())))
    with pytest.raises(jc.StreamCutError) as e:
        jc.chat("hi", model=MODEL, n=2, stream=True)
    assert [c.answer for c in e.value.partial.choices] == ["A", "B"]


def test_a_stream_cut_mid_event_after_finish_is_still_complete(server):
    events = sse(chunk("Hi"), chunk(finish="stop"), {"id": "c", "choices": [], "usage": USAGE})
    cut = len((events[0] + events[1]).encode()) + 10  # inside the usage event
    server.script(Reply(events=events, reset_after=cut))
    turn = jc.chat("hi", model="local", stream=True)
    assert (turn.text, turn.complete) == ("Hi", True)


def test_a_non_streamed_body_cut_short_says_so_not_cannot_reach(server):
    reply = completion("The whole answer.")
    size = len(json.dumps(reply.body).encode())
    server.script(*[Reply(body=reply.body, reset_after=size // 2) for _ in range(3)])
    with pytest.raises(jc.ChatConnectionError) as e:
        jc.chat("hi", model="local")
    msg = str(e.value)
    assert "closed the connection before the whole answer arrived" in msg
    assert "status 200" in msg and "bytes of the body read" in msg
    assert "cannot reach" not in msg and "base URL" not in msg
    assert len(server.requests) == 3  # nothing was shown: retried like a connection error


def test_a_non_streamed_body_cut_once_is_retried(server):
    reply = completion("The whole answer.")
    server.script(Reply(body=reply.body, reset_after=10))
    assert jc.chat("hi", model="local").text == "Hello from local."
    assert len(server.requests) == 2


def test_a_connection_dropped_before_any_response_says_so(server):
    server.script(*[Reply(drop=True) for _ in range(3)])
    with pytest.raises(jc.ChatConnectionError) as e:
        jc.chat("hi", model="local")
    assert "closed the connection without answering" in str(e.value)
    assert "cannot reach" not in str(e.value)


# -- in a cell ---------------------------------------------------------------------------------
def test_a_cell_shows_the_refusal_and_every_choice(server, kernels):
    k = kernels()
    refusal = body({"message": {"role": "assistant", "content": None, "refusal": REFUSAL}})
    server.script(refusal)
    ran = k.run(f"%%chat -m {MODEL}\nhi")
    assert ran.error is None
    final = ran.final
    assert f"[refused] {REFUSAL}" in final["data"]["text/plain"]
    assert "refused" in final["data"]["text/plain"].rsplit("[", 1)[1]  # the footer
    assert "Refused:" in final["data"]["text/markdown"]
    assert final["metadata"]["jupyter_chat"]["refusal"] == REFUSAL
    events = sse(chunk("first", index=0), chunk("second", index=1), chunk(finish="stop"))
    events.insert(-1, sse(chunk(finish="stop", index=1), done=False)[0])
    server.script(Reply(events=events))
    ran = k.run(f"%%chat -m {MODEL} -p n=2\nhi")
    assert ran.error is None
    plain, md = ran.final["data"]["text/plain"], ran.final["data"]["text/markdown"]
    assert "first" in plain and "[choice 2]\n\nsecond" in plain
    assert "second" in md and 'data-choice="1"' in md
    assert ran.final["metadata"]["jupyter_chat"]["choices"][0]["answer"] == "second"


@pytest.mark.parametrize("limit", ["read_timeout", "total_timeout"])
def test_a_stream_that_stalls_after_every_choice_finished_is_complete(server, limit):
    from jupyter_chat.providers.config import CONFIG

    CONFIG.configure(**{limit: 0.3})
    events = sse(chunk("Hello"), chunk(finish="stop"))
    first = len((events[0] + events[1]).encode())
    server.script(Reply(events=events, split=first, delay=2.0))  # [DONE] comes too late
    turn = jc.chat("hi", model="local", stream=True)
    assert (turn.text, turn.complete, turn.finish_reason) == ("Hello", True, "stop")
    assert len(server.requests) == 1


def test_a_refused_turn_says_so_in_its_repr(server):
    server.script(body({"message": {"role": "assistant", "content": None, "refusal": "No."}}))
    assert "refused: No." in repr(jc.chat("hi", model=MODEL))

"""Batches over data: a DataFrame with a template, failing rows, the resume that sends only what
is not recorded, the Batch's totals and frame, imap's bounded window, order and concurrency."""

from __future__ import annotations

import json
from typing import Literal

import pandas as pd
import pytest
from dialect_server import Reply, completion, last_user_text
from pydantic import BaseModel

import jupyter_chat as jc

REVIEWS = pd.DataFrame(
    {
        "text": ["Loved it", "Awful", "BROKEN row", "Superb", "Dull", "BROKEN too"],
        "stars": [5, 1, 3, 5, 2, 1],
    },
    index=pd.Index(["r1", "r2", "r3", "r4", "r5", "r6"], name="id"),
)


class Label(BaseModel):
    label: Literal["positive", "negative"]


def classifier(broken: bool):
    """A reply made from the prompt: 'positive' for five stars, a 400 for a BROKEN row."""

    def reply(body: dict) -> Reply:
        text = last_user_text(body)
        if broken and "BROKEN" in text:
            return Reply(status=400, body={"error": {"message": "this row breaks the server"}})
        label = "positive" if "stars: 5" in text else "negative"
        return completion(json.dumps({"label": label}))

    return reply


def test_a_frame_batch_with_failing_rows_then_the_resume_sends_only_those(server, tmp_path):
    jc.set_replay("auto", tmp_path / "batch.chat.jsonl")
    template = "Review: {text} (stars: {stars}). Label it."
    server.script(*[classifier(broken=True)] * 6)
    first = jc.map(
        REVIEWS, template, model="local", schema=Label, return_exceptions=True, progress=False
    )
    assert (first.answered, first.failed, first.replayed) == (4, 2, 0)
    assert isinstance(first[2], jc.InvalidRequestError)
    frame = first.to_pandas()
    assert list(frame.index) == list(REVIEWS.index)
    # the schema's fields first; the raw answer, hash and seed last
    assert list(frame.columns) == [
        "label",
        "error",
        "finish_reason",
        "total_tokens",
        "cost_usd",
        "replayed",
        "repaired",
        "answer",
        "request_hash",
        "seed",
    ]
    assert frame.loc["r1", "label"] == "positive" and frame.loc["r2", "label"] == "negative"
    assert "breaks the server" in frame.loc["r3", "error"] and pd.isna(frame.loc["r3", "label"])
    assert frame["request_hash"].notna().all()  # failed rows say which request failed

    server.reset()
    server.script(*[classifier(broken=False)] * 6)
    again = jc.map(REVIEWS, template, model="local", schema=Label, progress=False)
    sent = [last_user_text(r.body) for r in server.requests]
    assert len(sent) == 2 and all("BROKEN" in s for s in sent)
    assert (again.answered, again.failed, again.replayed) == (6, 0, 4)
    redo = again.to_pandas()
    assert list(redo["replayed"]) == [True, True, False, True, True, False]
    assert list(redo["request_hash"]) == list(frame["request_hash"])
    assert again.facts()["sent"] == 2


def test_templates_fill_rows_by_the_cells_rules(server):
    frame = pd.DataFrame({"a b": ["x"], "n": [1]}, index=[7])
    server.script(*[lambda body: completion(last_user_text(body))] * 2)
    out = jc.map(
        frame, 'Echo {row["a b"]} #{index} {{"json": {n}}} `{n}`', model="local", progress=False
    )
    assert out[0].text == 'Echo x #7 {"json": 1} `{n}`'
    out = jc.map([{"q": "one"}], "Q: {q}", model="local", progress=False)
    assert out[0].text == "Q: one"


def test_a_bad_template_fails_before_anything_is_sent(server):
    with pytest.raises(jc.ConfigError, match="'txt', which is not a column"):
        jc.map(REVIEWS, "Label: {txt}", model="local", progress=False)
    with pytest.raises(jc.ConfigError, match="names no column"):
        jc.map(REVIEWS, "local:m", progress=False)  # the model given as the template
    with pytest.raises(jc.ConfigError, match="needs prompt="):
        jc.map(REVIEWS, model="local", progress=False)
    with pytest.raises(jc.ConfigError, match="not str"):
        jc.map("one prompt", model="local", progress=False)
    assert server.requests == []


def test_a_missing_key_in_one_item_stands_in_its_place(server):
    out = jc.map(
        [{"q": "a"}, {"x": "b"}], "Q: {q}", model="local", return_exceptions=True, progress=False
    )
    assert out[0].text == "Hello from local." and isinstance(out[1], jc.ConfigError)
    assert "item 1" in str(out[1]) and len(server.requests) == 1


def test_batch_totals_and_repr(server):
    jc.set_price("local:*", input=1.0, output=2.0)  # USD per 1M tokens: 5 in, 3 out
    out = jc.map(["a", "b"], model="local", progress=False)
    assert out.tokens == 16 and out.cost_usd == pytest.approx(2 * 11e-6)
    assert out.spent_usd == out.cost_usd and out.saved_usd == 0 and out.unpriced == 0
    assert repr(out) == "<Batch: 2 items · 2 answered · 0 failed · 16 tokens · $0.000022>"


def test_imap_draws_inputs_only_as_the_window_frees(server):
    drawn = []

    def prompts():
        for i in range(200):
            drawn.append(i)
            yield f"q{i}"

    seen = 0
    with jc.imap(prompts(), model="local", concurrency=4) as results:
        for n, turn in enumerate(results):
            assert turn.text == "Hello from local."
            seen += 1
            assert len(drawn) - seen <= 8, (n, len(drawn))  # 2 x concurrency held at most
    assert seen == 200 and len(server.requests) == 200


def test_imap_keeps_order_and_leaving_early_cancels_the_rest(server):
    server.script(*[lambda body: completion(last_user_text(body))] * 50)
    with jc.imap((f"q{i}" for i in range(50)), model="local", concurrency=2) as results:
        got = [next(results).text for _ in range(3)]
    assert got == ["q0", "q1", "q2"]
    assert len(server.requests) <= 3 + 4  # the window, no more


def test_a_provider_concurrency_limit_holds_across_batches(server, env):
    env.write_text(env.read_text() + "\n[providers.local]\nconcurrency = 2\n")
    server.script(*[Reply(body=completion("x").body, stall=0.2) for _ in range(8)])
    jc.map([f"q{i}" for i in range(8)], model="local", concurrency=8, progress=False)
    assert server.max_active == 2


def test_a_template_over_a_list_fills_item_or_keys(server):
    server.script(*[lambda body: completion(last_user_text(body))] * 2)
    out = jc.map(["cat", "dog"], "Plural of {item}?", model="local", progress=False)
    assert [t.text for t in out] == ["Plural of cat?", "Plural of dog?"]
    with pytest.raises(jc.ConfigError, match="names no column"):
        jc.map(["a", "b"], "local:m", progress=False)
    with pytest.raises(jc.ConfigError, match="'x', which is not a column"):
        jc.map([{"q": 1}], "{x}", model="local", progress=False)


def test_a_row_whose_stream_is_cut_is_retried_within_the_retry_budget(server):
    """Nothing of a row is shown before it ends, so a cut stream is retried like a connection
    error (max_retries, 2 here) instead of failing the row; past the budget the row fails with
    StreamCutError in its place."""
    from dialect_server import chunk, sse

    def cut(body: dict) -> Reply:
        return Reply(events=sse(chunk("half an ans"), done=False))

    def whole(body: dict) -> Reply:
        return Reply(events=sse(chunk(f"all of {last_user_text(body)}"), chunk(finish="stop")))

    server.script(cut, cut, whole)
    (turn,) = jc.map(["q"], model="local", stream=True, progress=False)
    assert turn.text == "all of q" and turn.complete
    assert len(server.requests) == 3  # two cuts, then the answer
    server.reset()
    server.script(cut, cut, cut)
    (failed,) = jc.map(["q2"], model="local", stream=True, progress=False, return_exceptions=True)
    assert isinstance(failed, jc.StreamCutError)
    assert len(server.requests) == 3  # the first try and max_retries retries, no more
    server.reset()
    server.script(cut, whole)
    (again,) = jc.imap(["q3"], model="local", stream=True)
    assert again.text == "all of q3" and len(server.requests) == 2


def test_without_a_schema_the_answer_leads_the_frame(server):
    frame = jc.map(["a", "b"], model="local", progress=False).to_pandas()
    assert list(frame.columns)[0] == "answer" and list(frame.columns)[-2:] == [
        "request_hash",
        "seed",
    ]

"""Samples over loopback: K requests at once, each with the seed derived from the ask's seed and
its index (session/seeds.py), each recorded and replayed apart, one filed in the thread, and
how far they agree."""

from __future__ import annotations

import asyncio
import json

import pytest
from dialect_server import Reply, completion

import jupyter_chat as jc
from jupyter_chat.session.samples import MAX_SAMPLES, SamplesError
from jupyter_chat.session.seeds import sample_seed, sample_seeds
from jupyter_chat.session.state import SESSION

MODEL = "openai:gpt-test"
CITIES = ["Paris", "Lyon", "Nice"]


def city(body: dict) -> Reply:
    """An answer that depends on the seed sent (none: Paris), as a seeded model's would."""
    return completion(CITIES[(body.get("seed") or 0) % 3])


def seeds_sent(server) -> list:
    return [r.body.get("seed") for r in server.requests]


def test_each_sample_sends_the_seed_derived_from_the_asks_seed_and_its_index(server):
    server.script(*[city] * 5)
    turn = jc.chat("Capital?", model=MODEL, seed=7, samples=5)
    assert sorted(seeds_sent(server)) == sorted(sample_seeds(7, 5))
    assert [t.record["params"]["seed"] for t in turn.samples] == sample_seeds(7, 5)
    assert turn.samples[0].record["params"]["seed"] == 7  # sample 0 is the plain ask
    assert len(set(sample_seeds(7, 5))) == 5
    assert [t.record["sample"] for t in turn.samples] == [{"index": i, "of": 5} for i in range(5)]
    assert turn.agreement["seeds"] == sample_seeds(7, 5)


def test_sample_seeds_are_stable_across_runs_and_whatever_order_the_answers_arrive_in(server):
    slow_first = [
        (lambda body, d=d: Reply(body=city(body).body, stall=d)) for d in (0.4, 0.3, 0.2, 0.1, 0)
    ]
    server.script(*slow_first)
    first = jc.chat("Capital?", model=MODEL, samples=5)  # the seed derived from the prompt
    server.reset()
    server.script(*[city] * 5)
    again = jc.chat("Capital?", model=MODEL, samples=5)
    assert [t.record["params"]["seed"] for t in first.samples] == [
        t.record["params"]["seed"] for t in again.samples
    ]
    assert [t.text for t in first.samples] == [t.text for t in again.samples]
    base = SESSION.derive_seed("prompt:Capital?")
    assert first.samples[3].record["params"]["seed"] == sample_seed(base, 3)


def test_samples_are_sent_at_once(server):
    server.script(*[Reply(body=completion("x").body, stall=0.3) for _ in range(4)])
    jc.chat("q", model=MODEL, samples=4)
    assert server.max_active == 4


def test_the_agreement_says_how_many_distinct_answers_and_the_most_common_share(server):
    server.script(*[city] * 8)
    turn = jc.chat("Capital?", model=MODEL, seed=11, samples=8)
    texts = [t.text for t in turn.samples]
    a = turn.agreement
    assert a["k"] == a["answered"] == 8
    assert a["distinct"] == len(set(texts))
    top = max(set(texts), key=lambda x: (texts.count(x), -texts.index(x)))
    assert a["common"]["count"] == texts.count(top)
    assert a["common"]["share"] == round(texts.count(top) / 8, 4)
    assert a["common"]["members"] == [i for i, t in enumerate(texts) if t == top]
    # the thread files the first sample of the most common answer, and says so
    assert a["picked"] == texts.index(top) and a["why"] == "the most common answer"
    assert turn.text == top and turn.record["agreement"] == a


def test_the_thread_files_one_sample_the_picked_one(server):
    server.script(*[city] * 4)
    turn = jc.chat("Capital?", model=MODEL, seed=3, samples=4, pick=2, thread="t")
    assert turn.agreement["picked"] == 2 and turn.agreement["why"] == "picked"
    assert turn.text == turn.samples[2].text
    history = SESSION.history("t")
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"] == turn.samples[2].text
    server.script(city)
    jc.chat("And the next?", model=MODEL, thread="t")
    assert [m["content"] for m in server.requests[-1].body["messages"]][:2] == [
        "Capital?",
        turn.samples[2].text,
    ]


def test_a_structured_answer_agrees_per_field_with_mean_and_spread_for_numbers(server):
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "stars": {"type": "integer"}},
        "required": ["label", "stars"],
    }
    stars = iter([4, 5, 4, 2])

    def graded(body: dict) -> Reply:
        n = next(stars)
        return completion(json.dumps({"label": "good" if n > 2 else "bad", "stars": n}))

    server.script(*[graded] * 4)
    turn = jc.chat("Grade it.", model=MODEL, seed=1, samples=4, schema=schema)
    fields = {f["field"]: f for f in turn.agreement["fields"]}
    assert fields["label"]["common"] == "good" and fields["label"]["share"] == 0.75
    assert "mean" not in fields["label"]
    s = fields["stars"]
    assert (s["mean"], s["min"], s["max"], s["common"], s["agree"]) == (3.75, 2, 5, 4, 2)
    assert s["sd"] == pytest.approx(1.0897, abs=1e-4)
    assert turn.agreement["distinct"] == 3  # {good,4} twice, {good,5}, {bad,2}
    assert turn.parsed == {"label": "good", "stars": 4}


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"samples": 0}, "samples must be a whole number from 1 to"),
        ({"samples": -2}, "samples must be a whole number"),
        ({"samples": True}, "samples must be a whole number"),
        ({"samples": "3"}, "samples must be a whole number"),
        ({"samples": MAX_SAMPLES + 1}, f"more than {MAX_SAMPLES} requests"),
        ({"samples": 10**9}, f"more than {MAX_SAMPLES} requests"),
        ({"samples": 3, "stream": True}, "samples and stream=True together"),
        ({"samples": 3, "pick": 3}, "pick must be 'common' or a sample's index from 0 to 2"),
        ({"samples": 3, "pick": "best"}, "pick must be"),
        ({"pick": 1}, "pick= chooses among samples"),
        ({"samples": 2, "tools": [len]}, "samples and tools together"),
    ],
)
def test_bad_samples_are_one_config_error_line_and_nothing_is_sent(server, kwargs, said):
    with pytest.raises(jc.ConfigError) as err:
        jc.chat("q", model=MODEL, **kwargs)
    assert said in str(err.value) and "\n" not in str(err.value)
    assert server.requests == []


def test_samples_and_pick_are_not_provider_parameters():
    from jupyter_chat.session.resolve import check_param_names

    for name, where in (("samples", "--samples K or samples="), ("pick", "--pick N or pick=")):
        with pytest.raises(jc.ConfigError, match=where):
            check_param_names({name: 3})


def test_a_recorded_distribution_replays_offline_sample_by_sample(server, tmp_path):
    store = tmp_path / "s.chat.jsonl"
    jc.set_replay("record", store)
    server.script(*[city] * 6)
    live = jc.chat("Capital?", model=MODEL, seed=5, samples=6)
    assert len(store.read_text().splitlines()) == 6  # each sample its own recording
    jc.set_replay("replay", store)
    server.reset()
    again = jc.chat("Capital?", model=MODEL, seed=5, samples=6)
    assert server.requests == []
    assert [t.text for t in again.samples] == [t.text for t in live.samples]
    assert all(t.record["replayed"] for t in again.samples)
    assert again.agreement == live.agreement


def test_with_the_seed_off_samples_run_unseeded_and_still_replay_apart(server, tmp_path):
    SESSION.seed = None  # %chat seed off
    answers = iter(["Paris", "Lyon", "Paris", "Nice"])
    server.script(*[(lambda body: completion(next(answers)))] * 4)
    jc.set_replay("record", tmp_path / "u.chat.jsonl")
    live = jc.chat("Capital?", model=MODEL, samples=4)
    assert seeds_sent(server) == [None] * 4
    assert live.agreement["unseeded"] is True and live.agreement["seeds"] == [None] * 4
    assert all(any("unseeded" in n for n in t.record["notes"]) for t in live.samples)
    hashes = [t.record["request_hash"] for t in live.samples]
    assert len(set(hashes)) == 4  # kept apart in the store by their index
    jc.set_replay("replay", tmp_path / "u.chat.jsonl")
    server.reset()
    again = jc.chat("Capital?", model=MODEL, samples=4)
    assert server.requests == []
    assert [t.text for t in again.samples] == [t.text for t in live.samples]
    assert (
        again.samples[0].record["request_hash"]
        == jc.chat("Capital?", model=MODEL).record["request_hash"]
    )  # sample 0 is the plain ask, under its own key


def test_a_failed_sample_files_nothing_and_keeps_what_answered(server, tmp_path):
    jc.set_replay("record", tmp_path / "f.chat.jsonl")
    bad = Reply(status=400, body={"error": {"message": "nope"}})
    server.script(city, bad, city)
    with pytest.raises(SamplesError) as err:
        jc.chat("Capital?", model=MODEL, seed=2, samples=3, thread="t")
    assert "1 of 3 samples failed" in str(err.value) and "nothing filed" in str(err.value)
    assert len(err.value.samples.turns) == 2
    assert SESSION.history("t") == []
    assert len((tmp_path / "f.chat.jsonl").read_text().splitlines()) == 2


def test_achat_takes_samples_too(server):
    server.script(*[city] * 3)
    turn = asyncio.run(jc.achat("Capital?", model=MODEL, seed=9, samples=3))
    assert [t.record["params"]["seed"] for t in turn.samples] == sample_seeds(9, 3)
    assert turn.agreement["k"] == 3


def test_n_choices_of_one_request_get_the_same_agreement(server):
    def choices(body: dict) -> Reply:
        reply = completion("A")
        reply.body["choices"] = [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": c}}
            for i, c in enumerate(["Yes.", "No.", "Yes."])
        ]
        return reply

    server.script(choices)
    turn = jc.chat("q", model=MODEL, n=3)
    a = turn.agreement
    assert (a["k"], a["distinct"], a["common"]["count"], a["groups"]) == (3, 2, 2, [0, 1, 0])


def test_map_samples_each_item_and_to_pandas_has_one_row_per_sample(server):
    import pandas as pd

    server.script(*[city] * 6)
    frame = pd.DataFrame({"q": ["Capital?", "Largest city?"]}, index=["a", "b"])
    batch = jc.map(frame, "{q}", model=MODEL, samples=3, seed=5, progress=False)
    assert len(server.requests) == 6 and batch.answered == 2
    assert [len(t.samples) for t in batch] == [3, 3]
    assert batch.tokens == 6 * 8  # every sample's tokens count
    rows = batch.to_pandas()
    assert list(rows.index) == ["a", "a", "a", "b", "b", "b"]
    assert rows["sample"].tolist() == [0, 1, 2, 0, 1, 2]
    assert rows["seed"].tolist() == sample_seeds(5, 3) * 2
    assert rows["answer"].tolist() == [t.text for b in batch for t in b.samples]
    filed = rows[rows["filed"]]
    assert filed["answer"].tolist() == [t.text for t in batch]
    with pytest.raises(jc.ConfigError, match="imap does not take samples"):
        jc.imap(["q"], model=MODEL, samples=2)


def test_map_keeps_a_failed_items_samples_error_in_its_place(server):
    bad = Reply(status=400, body={"error": {"message": "nope"}})
    server.script(city, city, bad, city)
    batch = jc.map(["one", "two"], model=MODEL, samples=2, return_exceptions=True, progress=False)
    assert batch.answered == 1 and batch.failed == 1
    assert isinstance([r for r in batch if not isinstance(r, jc.Turn)][0], SamplesError)

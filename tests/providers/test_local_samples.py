"""Samples against the real llama-cpp-python server and the packaged model (the ``local``
extra, which CI installs): the derived seeds reach the server, the agreement figures describe
what came back, a structured answer agrees per field, and a recorded distribution replays
offline, sample by sample, with no server at all."""

from __future__ import annotations

import json

import pytest

import jupyter_chat as jc
from jupyter_chat.providers import local
from jupyter_chat.session.seeds import sample_seeds
from jupyter_chat.session.state import SESSION

SHORT = {"max_tokens": 8}


@pytest.fixture(scope="module")
def managed():
    """The kernel's own server, started by the first request (LOCAL_BASE_URL unset)."""
    yield local.SERVER
    local.stop()


@pytest.fixture(autouse=True)
def no_base_url(monkeypatch, managed):
    monkeypatch.delenv("LOCAL_BASE_URL")


def test_samples_send_their_derived_seeds_and_the_figures_describe_the_answers(managed):
    turn = jc.chat("Once upon a time", model="local", seed=3, samples=4, temperature=1.5, **SHORT)
    assert [t.record["params"]["seed"] for t in turn.samples] == sample_seeds(3, 4)
    texts = [t.text for t in turn.samples]
    assert all(t.complete for t in turn.samples)
    a = turn.agreement
    normal = [" ".join(t.split()) for t in texts]
    assert a["distinct"] == len(set(normal)) and a["k"] == a["answered"] == 4
    assert a["common"]["count"] == max(normal.count(t) for t in normal)
    assert turn.text == texts[a["picked"]]
    assert a["distinct"] > 1  # hot sampling with four seeds: not one answer four times


def test_at_temperature_zero_every_sample_agrees(managed):
    turn = jc.chat("The capital of France is", model="local", samples=3, temperature=0, **SHORT)
    a = turn.agreement
    assert (a["distinct"], a["common"]["count"], a["common"]["share"]) == (1, 3, 1.0)
    assert len(set(a["seeds"])) == 3  # distinct seeds all the same


def test_a_structured_answer_agrees_per_field(managed):
    schema = {
        "type": "object",
        "properties": {"word": {"type": "string"}, "number": {"type": "integer"}},
        "required": ["word", "number"],
    }
    turn = jc.chat(
        "Give a word and a number as JSON.",
        model="local",
        seed=1,
        samples=3,
        schema=schema,
        temperature=1.0,
        max_tokens=40,
    )
    fields = {f["field"]: f for f in turn.agreement["fields"]}
    assert set(fields) == {"word", "number"}
    numbers = [t.parsed["number"] for t in turn.samples]
    assert fields["number"]["mean"] == pytest.approx(sum(numbers) / 3, abs=1e-3)
    assert (fields["number"]["min"], fields["number"]["max"]) == (min(numbers), max(numbers))


def test_a_recorded_distribution_replays_without_the_server(managed, tmp_path):
    store = tmp_path / "local.chat.jsonl"
    jc.set_replay("record", store)
    live = jc.chat("Once upon a time", model="local", samples=3, temperature=1.5, **SHORT)
    local.stop()
    jc.set_replay("replay", store)
    again = jc.chat("Once upon a time", model="local", samples=3, temperature=1.5, **SHORT)
    assert [t.text for t in again.samples] == [t.text for t in live.samples]
    assert all(t.record["replayed"] for t in again.samples)
    assert again.agreement == live.agreement
    assert not local.status()["running"]  # nothing was started to replay
    SESSION.set_replay("off")


def test_a_cell_and_the_api_in_one_kernel_ask_the_same_samples(kernels):
    """In a real kernel with its own managed server: ``%%chat --samples`` and ``chat(samples=)``
    with the same seed send the same requests (the same seeds, the same keys in a store); the
    server's answers need not repeat (its sampling depends on its prompt cache)."""
    k = kernels(env={"LOCAL_BASE_URL": ""})
    cell = k.run(
        "%%chat -m local --seed 5 --samples 3 --temperature 0 --max-tokens 8 -o t\nHi", timeout=300
    )
    assert cell.reply["status"] == "ok", cell.error
    # --temperature parses a float: 0.0 on the wire, so the API call says 0.0 too
    api = k.run(
        "a = jupyter_chat.chat('Hi', model='local', seed=5, samples=3, temperature=0.0, max_tokens=8)\n"
        "print(json.dumps([[s.record['params']['seed'] for s in x.samples] for x in (t, a)]))\n"
        "print(json.dumps([[s.record['request_hash'] for s in x.samples] for x in (t, a)]))\n"
        "jupyter_chat.local.stop()",
        timeout=300,
    )
    assert api.reply["status"] == "ok", api.error
    seeds, keys = (json.loads(line) for line in api.stdout.splitlines()[:2])
    assert seeds[0] == seeds[1] == sample_seeds(5, 3)
    assert keys[0] == keys[1] and len(set(keys[0])) == 3

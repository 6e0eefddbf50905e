"""Sweeps over loopback, in a real kernel: the same prompt across one parameter's values (or
seeds), a column each, labelled by the value, each column its own seeded request with only
the swept value different, recorded and replayed offline; the finished grid marks what differs
from the first column; ``%%chat --sweep`` and ``compare(sweep=)`` ask the same columns."""

from __future__ import annotations

import json
import re

import pytest
from dialect_server import Reply, chunk, sse

COMPARE = "application/vnd.jupyter-chat.compare+json"
ANSWERS = {  # by temperature: two alike, one that wanders
    0: "The sky is blue because air scatters blue light.",
    0.7: "The sky is blue because air scatters blue light.",
    1.2: "The sky is blue because tiny molecules scatter violet and blue light.",
}


def by_temperature(body: dict) -> Reply:
    text = ANSWERS.get(body.get("temperature"), f"seed {body.get('seed')} says hi.")
    return Reply(events=sse(chunk(text), chunk(finish="stop")))


@pytest.fixture(scope="module")
def k(kernels):
    return kernels()


def value(k, expr: str):
    ran = k.run(f"print(json.dumps({expr}))")
    assert ran.reply["status"] == "ok", ran.error
    return json.loads(ran.stdout)


def bodies(server) -> list[dict]:
    return [r.body for r in server.requests if r.method == "POST"]


def test_a_temperature_sweep_sends_one_seeded_request_per_value(server, k):
    server.script(*[by_temperature] * 3)
    ran = k.run(
        "jupyter_chat.compare('Why is the sky blue?', sweep={'temperature': [0, 0.7, 1.2]})"
    )
    assert ran.reply["status"] == "ok", ran.error
    sent = sorted(bodies(server), key=lambda b: b["temperature"])
    assert [b["temperature"] for b in sent] == [0, 0.7, 1.2]
    assert len({b["seed"] for b in sent}) == 1  # the derived seed, the same in every column
    strip = [{k: v for k, v in b.items() if k != "temperature"} for b in sent]
    assert strip[0] == strip[1] == strip[2]  # only the swept value differs
    grid = ran.final["data"][COMPARE]
    assert [c["label"] for c in grid["columns"]] == ["T=0", "T=0.7", "T=1.2"]
    first, same, wanders = grid["columns"]
    assert "diff" not in first
    assert same["diff"] == {"same": True, "tokens": 10}
    assert wanders["diff"]["same"] is False and wanders["diff"]["words"] == 5
    records = ran.final["metadata"]["jupyter_chat_columns"]
    assert [r["params"]["temperature"] for r in records] == [0, 0.7, 1.2]
    md = ran.final["data"]["text/markdown"]
    assert md.count('<em class="jupyter-chat-diffnote">same as column 1</em>') == 1
    assert '<em class="jupyter-chat-diffnote">5 words differ from column 1</em>' in md
    marks = re.findall(r'<mark class="jupyter-chat-diff">(.*?)</mark>', md)
    assert marks == ["tiny molecules scatter violet and"]
    assert "== T=0.7 == (same as column 1)" in ran.final["data"]["text/plain"]


def test_a_seed_sweep_sends_the_seeds_given(server, k):
    server.script(*[by_temperature] * 3)
    k.run("c = jupyter_chat.compare('P', models=['eigencloud'], sweep='seed=1,2,3'); c.wait()")
    assert sorted(b["seed"] for b in bodies(server)) == [1, 2, 3]
    assert value(k, "c.labels") == ["seed 1", "seed 2", "seed 3"]
    server.reset()
    server.script(*[by_temperature] * 4)
    k.run("c = jupyter_chat.compare('P', models=['local', 'openai:m'], sweep={'top_p': [0.5, 1]})")
    k.run("c.wait()")
    assert value(k, "c.labels") == [
        "local · top_p=0.5",
        "local · top_p=1",
        "openai:m · top_p=0.5",
        "openai:m · top_p=1",
    ]
    sent = sorted((r.dialect, r.body["top_p"]) for r in server.requests)
    assert sent == [("local", 0.5), ("local", 1), ("openai", 0.5), ("openai", 1)]


def test_the_magic_and_the_api_ask_the_same_columns(server, k):
    server.script(*[by_temperature] * 3)
    ran = k.run("%%chat --seed 5 --sweep temperature=0,0.7,1.2\nWhy is the sky blue?")
    assert ran.reply["status"] == "ok", ran.error
    magic = ran.final
    by_magic = sorted(json.dumps(b, sort_keys=True) for b in bodies(server))
    server.reset()
    server.script(*[by_temperature] * 3)
    ran = k.run(
        "jupyter_chat.compare('Why is the sky blue?', seed=5, sweep='temperature=0,0.7,1.2')"
    )
    by_api = sorted(json.dumps(b, sort_keys=True) for b in bodies(server))
    assert by_magic == by_api  # the very same requests
    api = ran.final
    hashes = [
        [r["request_hash"] for r in o["metadata"]["jupyter_chat_columns"]] for o in (magic, api)
    ]
    assert hashes[0] == hashes[1]
    for key in ("label", "diff"):
        assert [c.get(key) for c in magic["data"][COMPARE]["columns"]] == [
            c.get(key) for c in api["data"][COMPARE]["columns"]
        ]
    # without a seed: the magic derives one from the cell, the API from the prompt; each sends
    # that one seed in every column
    server.reset()
    k.run("%%chat --sweep temperature=0,1\nP")
    assert len({b["seed"] for b in bodies(server)}) == 1


def test_a_dry_run_shows_each_columns_request(server, k):
    ran = k.run("%%chat --dry-run -m openai:m --sweep seed=1,2\nP")
    assert ran.reply["status"] == "ok", ran.error
    shown = ran.final["data"]["text/plain"]
    assert '"seed": 1' in shown and '"seed": 2' in shown
    assert server.requests == []


BAD = {
    "%%chat -m eigencloud --sweep top_k=1,40\nP": "eigencloud does not take the parameter 'top_k'",
    "%%chat -m eigenai --sweep seed=1,2\nP": "eigenai does not take a seed",
    "%%chat --sweep temperature=\nP": "no values",
    "%%chat --sweep temperature=0,hot\nP": "the values mix a number and a string",
    "%%chat --sweep temperature=0,1 --sweep top_p=0.5,1\nP": "one parameter at a time, not 2",
    "%%chat --temperature 0.5 --sweep temperature=0,1\nP": "temperature is given too",
    "%%chat --seed 3 --sweep seed=1,2\nP": "a seed is given too",
}


@pytest.mark.parametrize("cell", sorted(BAD))
def test_a_bad_sweep_fails_the_cell_in_one_line_and_sends_nothing(server, k, cell):
    ran = k.run(cell)
    assert ran.reply["status"] == "error"
    assert ran.error["ename"] == "ConfigError"
    line = "\n".join(ran.error["traceback"])
    assert BAD[cell] in line and len(ran.error["traceback"]) == 1 and "\n" not in line
    assert server.requests == [] and ran.displays == []


def test_the_api_refuses_the_same_sweeps(server, k):
    ran = k.run("jupyter_chat.compare('P', temperatures=[0, 1], sweep={'temperature': [0, 1]})")
    assert ran.error["ename"] == "ConfigError" and "given too" in ran.error["evalue"]
    ran = k.run("jupyter_chat.compare('P', sweep={'temperature': []})")
    assert ran.error["ename"] == "ConfigError" and "no values" in ran.error["evalue"]
    assert server.requests == []


def test_a_recorded_sweep_replays_offline(server, k, tmp_path):
    store = tmp_path / "sweep.chat.jsonl"
    server.script(*[by_temperature] * 3)
    k.run(f"jupyter_chat.set_replay('record', {str(store)!r})")
    cell = "%%chat --sweep temperature=0,0.7,1.2\nWhy is the sky blue?"
    live = k.run(cell)
    assert live.reply["status"] == "ok", live.error
    assert len(server.requests) == 3
    server.reset()
    k.run(f"jupyter_chat.set_replay('replay', {str(store)!r})")
    again = k.run(cell)
    assert again.reply["status"] == "ok", again.error
    assert server.requests == []  # nothing sent
    assert len(again.displays) == 1  # replayed: one display of the finished grid
    a, b = live.final["data"][COMPARE], again.final["data"][COMPARE]
    assert a["columns"] == b["columns"]  # answers, labels, diffs: the same
    records = again.final["metadata"]["jupyter_chat_columns"]
    assert all(r["replayed"] for r in records)
    assert [r["params"]["temperature"] for r in records] == [0, 0.7, 1.2]
    k.run("jupyter_chat.set_replay('off')")


def test_the_live_widget_shows_the_finished_grid_with_its_diffs(server, k):
    server.script(*[by_temperature] * 2)
    k.run("c = jupyter_chat.compare('P', sweep={'temperature': [0, 1.2]}); c.wait()")
    k.run("import time\nwhile len(c.children) != 1: time.sleep(0.02)")
    out = value(k, "c.children[0].outputs[0]['data']")
    assert [col.get("diff", {}).get("words") for col in out[COMPARE]["columns"]] == [None, 5]
    assert '<mark class="jupyter-chat-diff">' in out["text/markdown"]


def test_compare_samples_each_column_with_the_seeds_chat_samples_sends(server, k):
    server.script(*[by_temperature] * 3)
    ran = k.run("jupyter_chat.compare('Name a colour.', samples=3)")
    assert ran.reply["status"] == "ok", ran.error
    compared = [b["seed"] for b in bodies(server)]
    grid = ran.final["data"][COMPARE]
    assert [c["label"] for c in grid["columns"]] == ["sample 0", "sample 1", "sample 2"]
    records = ran.final["metadata"]["jupyter_chat_columns"]
    seeds = [r["params"]["seed"] for r in records]
    assert sorted(compared) == sorted(seeds) and len(set(seeds)) == 3
    k.run("from jupyter_chat.session.seeds import sample_seeds")
    assert value(k, f"sample_seeds({seeds[0]}, 3)") == seeds  # sample 0 keeps the seed
    assert "3 samples · 3 distinct answers · most common 1 of 3 (33%)" in grid["totals"]
    assert "3 samples · 3 distinct answers" in ran.final["data"]["text/markdown"]
    server.reset()
    server.script(*[by_temperature] * 3)
    k.run("t = jupyter_chat.chat('Name a colour.', samples=3)")  # the same seeds as chat's
    assert sorted(b["seed"] for b in bodies(server)) == sorted(seeds)
    assert value(k, "[s.record['params']['seed'] for s in t.samples]") == seeds
    server.reset()
    server.script(*[by_temperature] * 4)
    k.run("c = jupyter_chat.compare('P', models=['local', 'openai:m'], samples=2); c.wait()")
    assert value(k, "c.labels") == [
        "local · sample 0",
        "local · sample 1",
        "openai:m · sample 0",
        "openai:m · sample 1",
    ]
    assert value(k, "c.totals_text()").count("2 samples") == 2


def test_compare_samples_refused_in_one_line(server, k):
    for call, why in (
        ("samples=0", "samples must be a whole number"),
        ("samples=2, sweep='seed=1,2'", "each sample's seed is derived"),
        ("samples=20, sweep='temperature=0,1'", "at most 32"),
    ):
        ran = k.run(f"jupyter_chat.compare('P', {call})")
        assert ran.error["ename"] == "ConfigError" and why in ran.error["evalue"], ran.error
    assert server.requests == []

"""The one resolution rule (session/resolve.py), through every front end in a real kernel:
``%%chat``, ``%chat``, the panel, ``compare()``, ``%%chat --compare``, ``chat()``, ``achat()``
and ``map()`` all ask the same way."""

from __future__ import annotations

import json

import pytest

from jupyter_chat.session.resolve import Ask, resolve
from jupyter_chat.session.state import SESSION

# one request from each front end, all for the notebook's default model
FRONT_ENDS = {
    "cell": "%%chat\nSame question",
    "chat()": "jupyter_chat.chat('Same question')",
    "achat()": "await jupyter_chat.achat('Same question')",
    "map()": "jupyter_chat.map(['Same question'])",
    "compare()": "jupyter_chat.compare('Same question').wait()",
    "panel": "p = jupyter_chat.panel(); p.send('Same question'); p.wait()",
}


@pytest.fixture(autouse=True)
def fresh(k):
    k.run("SESSION.__init__()")


def sent(server) -> list[dict]:
    return [r.body for r in server.requests if r.method == "POST"]


@pytest.mark.parametrize("front", list(FRONT_ENDS))
def test_every_front_end_follows_chat_use_the_notebook_system_and_defaults(server, k, front):
    k.run("%chat use eigencloud:some-model")
    k.run("%chat system Be terse.")
    k.run("%chat defaults max_tokens=33")
    ran = k.run(FRONT_ENDS[front])
    assert ran.reply["status"] == "ok", ran.error
    [body] = sent(server)
    assert server.requests[0].dialect == "eigencloud"
    assert body["model"] == "some-model"
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["max_tokens"] == 33
    assert isinstance(body["seed"], int)  # a derived seed, everywhere


@pytest.mark.parametrize("front", ["cell", "chat()", "compare()", "panel"])
def test_an_empty_system_prompt_means_none_everywhere(server, k, front):
    k.run("%chat use openai:m")
    k.run("%chat system Be terse.")
    code = {
        "cell": '%%chat -s ""\nNo system',
        "chat()": "jupyter_chat.chat('No system', system='')",
        "compare()": "jupyter_chat.compare('No system', system='').wait()",
        "panel": "p = jupyter_chat.panel(); p.system.value = ''; p.send('No system'); p.wait()",
    }[front]
    assert k.run(code).reply["status"] == "ok"
    [body] = sent(server)
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_derived_seeds_are_stable_and_off_means_none_for_every_front_end(server, k):
    for code in FRONT_ENDS.values():
        if "panel" not in code:
            k.run(code.replace("Same question", "Seeded").replace("%%chat", "%%chat -m openai:m"))
    first = [b.get("seed") for b in sent(server)]
    server.reset()
    for code in FRONT_ENDS.values():
        if "panel" not in code:
            k.run(code.replace("Same question", "Seeded").replace("%%chat", "%%chat -m openai:m"))
    assert [b.get("seed") for b in sent(server)] == first and None not in first
    # the Python API derives from the prompt: chat, achat, map and compare agree
    assert len(set(first[1:])) == 1
    server.reset()
    k.run("%chat seed off")
    for code in FRONT_ENDS.values():
        k.run(code.replace("%%chat", "%%chat -m openai:m"))
    assert [b.get("seed") for b in sent(server)] == [None] * len(FRONT_ENDS)


def test_a_comparison_seeds_each_column_as_a_cell_would_and_keeps_given_seeds(server, k):
    cell = "%%chat --compare openai:m1,eigencloud:m2\nSame seed, other model"
    assert k.run(cell).reply["status"] == "ok"
    seeds = {r.dialect: r.body["seed"] for r in server.requests}
    assert set(seeds) == {"openai", "eigencloud"} and len(set(seeds.values())) == 1
    server.reset()
    assert k.run(cell).reply["status"] == "ok"  # re-run: the same seeds
    assert {r.dialect: r.body["seed"] for r in server.requests} == seeds
    server.reset()
    k.run("c = jupyter_chat.compare('P', models=['openai:m'], seeds=[4, 5]); c.wait()")
    assert sorted(r.body["seed"] for r in server.requests) == [4, 5]


def test_a_comparison_builds_no_request_for_a_model_it_does_not_compare(server, k):
    k.run("import os; _eden = os.environ.pop('EDENAI_API_KEY')")
    try:
        k.run("%chat use edenai:openai/gpt-4o")  # a default whose key is missing
        ran = k.run("%%chat --compare openai:m1,eigencloud:m2\nCompare")
        assert ran.reply["status"] == "ok", ran.error
        assert sorted(r.dialect for r in server.requests) == ["eigencloud", "openai"]
        ran = k.run("%%chat --compare openai:m1,eigencloud:m2 --dry-run\nCompare")
        shown = json.loads(ran.final["data"]["text/plain"])
        assert [s["provider"] for s in shown] == ["openai", "eigencloud"]
    finally:
        k.run("os.environ['EDENAI_API_KEY'] = _eden")


def test_the_panels_model_picker_is_the_notebooks_default(server, k):
    k.run("p = jupyter_chat.panel(); p.model.value = 'eigencloud:picked'")
    assert k.run("jupyter_chat.chat('After the picker')").reply["status"] == "ok"
    assert server.requests[-1].dialect == "eigencloud"
    assert server.requests[-1].body["model"] == "picked"


def test_the_rule_itself(env):
    SESSION.__init__()
    SESSION.model, SESSION.system, SESSION.params = "openai:m", "Sys", {"top_p": 0.5}
    r = resolve(Ask(seed_from="x"))
    assert (r.provider, r.model, r.thread, r.system) == ("openai", "m", None, "Sys")
    assert r.params["top_p"] == 0.5 and isinstance(r.params["seed"], int)
    r = resolve(Ask(model="eigencloud", system="", params={"top_p": 0.9}, seed=3))
    assert (r.provider, r.model, r.system) == ("eigencloud", None, None)
    assert r.params == {"top_p": 0.9, "seed": 3}
    assert resolve(Ask(current_thread=True)).thread == SESSION.current
    assert "seed" not in resolve(Ask()).params  # nothing to derive from, nothing sent
    r = resolve(Ask(model="adaptive:p/m", seed_from="x"))
    assert "seed" not in r.params and r.notes and "does not take a seed" in r.notes[0]
    assert json.dumps(r.params)  # all JSON

"""``%%chat --samples K`` in a real kernel: the seeds the API sends, stable under re-run, more
samples and a pick; one output that every frontend renders (the samples view), one turn filed;
bad options one line with nothing sent; a recorded notebook replayed under strict nbval offline."""

from __future__ import annotations

import json

import pytest
from dialect_server import Reply, completion

import jupyter_chat as jc
from jupyter_chat.display.samples import SAMPLES_MIME
from jupyter_chat.session.seeds import sample_seeds

MODEL = "openai:gpt-test"
CITIES = ["Paris", "Lyon", "Nice"]


def city(body: dict) -> Reply:
    return completion(CITIES[(body.get("seed") or 0) % 3])


@pytest.fixture(autouse=True)
def fresh(k):
    k.run("SESSION.__init__(); jupyter_chat.set_replay('off')")


def sent_seeds(server) -> list:
    return sorted(r.body.get("seed") for r in server.requests)


def test_the_cell_sends_the_same_sample_seeds_as_the_api(server, k):
    server.script(*[city] * 5)
    ran = k.run(f"%%chat -m {MODEL} --seed 7 --samples 5\nCapital?")
    assert ran.reply["status"] == "ok", ran.error
    from_cell = sent_seeds(server)
    server.reset()
    server.script(*[city] * 5)
    jc.chat("Capital?", model=MODEL, seed=7, samples=5)
    assert from_cell == sent_seeds(server) == sorted(sample_seeds(7, 5))


def test_derived_sample_seeds_are_stable_and_neither_more_samples_nor_a_pick_redraws(server, k):
    def seeds(cell: str) -> list:
        server.reset()
        server.script(*[city] * 8)
        ran = k.run(cell)
        assert ran.reply["status"] == "ok", ran.error
        return [s["seed"] for s in ran.final["data"][SAMPLES_MIME]["samples"]]

    four = seeds(f"%%chat -m {MODEL} --samples 4\nCapital?")
    assert len(set(four)) == 4
    assert seeds(f"%%chat -m {MODEL} --samples 4\nCapital?") == four  # re-run
    assert seeds(f"%%chat -m {MODEL} --samples 6\nCapital?")[:4] == four  # more samples
    assert seeds(f"%%chat -m {MODEL} --samples 4 --pick 2\nCapital?") == four  # a pick
    server.reset()
    server.script(city)
    k.run(f"%%chat -m {MODEL}\nCapital?")
    assert server.requests[0].body["seed"] == four[0]  # sample 0 is the cell without samples
    assert four == sample_seeds(four[0], 4)


def test_the_cell_shows_the_samples_view_and_files_one_turn(server, k):
    server.script(*[city] * 6)
    ran = k.run(f"%%chat -m {MODEL} --seed 4 --samples 6 -t geo -o t\nCapital?")
    assert ran.reply["status"] == "ok", ran.error
    data, meta = ran.final["data"], ran.final["metadata"]
    view = data[SAMPLES_MIME]
    answers = [s["answer"] for s in view["samples"]]
    top = max(set(answers), key=lambda a: (answers.count(a), -answers.index(a)))
    share = round(100 * answers.count(top) / 6)
    line = f"6 samples · {len(set(answers))} distinct answers · most common "
    line += f"{answers.count(top)} of 6 ({share}%)"
    plain, md = data["text/plain"], data["text/markdown"]
    assert plain.startswith(f"[{line}]") and line in md
    assert md.count('<details class="jupyter-chat-sample"') == 6  # each one click away
    assert md.startswith('<div class="jupyter-chat-samples">') and "\n" not in md
    picked = answers.index(top)
    assert f"filed sample {picked}, the most common answer" in plain
    assert [s["filed"] for s in view["samples"]] == [i == picked for i in range(6)]
    assert [r["params"]["seed"] for r in meta["jupyter_chat_samples"]] == sample_seeds(4, 6)
    check = k.run("print(json.dumps([t.text, len(t.samples), SESSION.history('geo')]))")
    text, n, history = json.loads(check.stdout)
    assert (text, n) == (top, 6)
    assert history == [
        {"role": "user", "content": "Capital?"},
        {"role": "assistant", "content": top},
    ]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("--samples 0", "samples must be a whole number from 1 to 64"),
        ("--samples 1000", "more than 64 requests"),
        ("--samples 3 --pick 3", "pick must be 'common' or a sample's index from 0 to 2"),
        ("--samples 3 --pick best", "give a sample's index (from 0) or common"),
        ("--pick 1", "--pick chooses among samples"),
        ("--samples 2 --tools len", "--samples does not take --tools"),
        ("--samples 2 --compare openai:a,openai:b --pick 1", "a comparison files nothing"),
        ("--samples 2 --sweep seed=1,2", "samples= with seeds= or a seed sweep"),
        ("--samples x", "invalid int value"),
        ("-p samples=3", "--samples K or samples="),
    ],
)
def test_bad_samples_options_fail_in_one_line_and_send_nothing(server, k, options, said):
    ran = k.run(f"%%chat -m {MODEL} {options}\nCapital?")
    assert ran.reply["status"] == "error"
    shown = (ran.error or ran.reply)["evalue"]  # a UsageError comes as the reply's evalue
    assert said in shown and "\n" not in shown, shown
    assert server.requests == []


def test_dry_run_shows_every_samples_request(server, k):
    ran = k.run(f"%%chat -m {MODEL} --seed 7 --samples 3 --dry-run\nCapital?")
    assert ran.reply["status"] == "ok", ran.error
    shown = json.loads(ran.final["data"]["text/plain"])
    assert [r["body"]["seed"] for r in shown] == sample_seeds(7, 3)
    assert all("stream" not in r["body"] or not r["body"]["stream"] for r in shown)
    assert server.requests == []


def test_a_failed_sample_shows_the_others_and_fails_the_cell(server, k):
    server.script(city, Reply(status=400, body={"error": {"message": "bad seed"}}), city)
    ran = k.run(f"%%chat -m {MODEL} --seed 1 --samples 3 -t f\nCapital?")
    assert ran.reply["status"] == "error"
    assert "1 of 3 samples failed" in ran.error["evalue"]
    view = ran.final["data"][SAMPLES_MIME]
    assert sum(s["error"] is not None for s in view["samples"]) == 1
    assert "nothing filed" in ran.final["data"]["text/plain"]
    assert k.run("print(SESSION.history('f'))").stdout.strip() == "[]"


def test_compare_with_samples_asks_each_model_the_same_sample_seeds(server, k):
    server.script(*[city] * 4)
    ran = k.run(f"%%chat --compare {MODEL},openai:other --seed 7 --samples 2\nCapital?")
    assert ran.reply["status"] == "ok", ran.error
    sent = sorted((r.body["model"], r.body["seed"]) for r in server.requests)
    assert sent == sorted((m, s) for m in ("gpt-test", "other") for s in sample_seeds(7, 2))


def test_an_interrupt_stops_every_sample_in_one_calm_line_and_files_nothing(server, k, tmp_path):
    store = tmp_path / "i.chat.jsonl"
    k.run(f"jupyter_chat.set_replay('record', {str(store)!r})")
    server.script(city, *[Reply(body=completion("late").body, stall=30) for _ in range(2)])
    reply, errors, displays = k.interrupted(
        f"%%chat -m {MODEL} --seed 3 --samples 3 -t i\nCapital?", after=2.0
    )
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    (error,) = errors
    (line,) = error["traceback"]
    assert "interrupted: 1 of 3 samples answered, nothing filed" in line
    assert "interrupted: nothing filed" in displays[-1]["data"]["text/plain"]
    assert k.run("print(SESSION.history('i'))").stdout.strip() == "[]"
    assert len(store.read_text().splitlines()) == 1  # the sample that answered is kept
    server.reset()
    assert k.run("print('usable')").stdout.strip() == "usable"

"""The chat panel and the comparison, driven through their widget state in a real kernel."""

from __future__ import annotations

import json
import re

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse

MIME = "application/vnd.jupyter-chat+json"

KEYS = [k for (*_x, k) in DIALECTS.values() if k]


@pytest.fixture(autouse=True)
def fresh(k):
    k.run("SESSION.__init__()")


def value(k, expr: str):
    ran = k.run(f"print(json.dumps({expr}))")
    assert ran.reply["status"] == "ok", ran.error
    return json.loads(ran.stdout)


def test_typing_and_enter_sends_on_the_current_thread(server, k):
    k.run("p = jupyter_chat.panel(model='edenai:openai/gpt-4o')")
    # what the message box does on Enter: the text, then one more submit
    k.run("p.composer.value = 'Hello panel'; p.composer.submits += 1")
    k.run("p.wait()")
    assert value(k, "p.composer.value") == ""
    assert server.requests[-1].body["messages"][-1] == {"role": "user", "content": "Hello panel"}
    history = value(k, "SESSION.history('default')")
    assert history == [
        {"role": "user", "content": "Hello panel"},
        {"role": "assistant", "content": "Hello from edenai."},
    ]
    shown = value(k, "p.transcript.html()")
    assert "Hello panel" in shown and "Hello from edenai." in shown and "Thinking." in shown
    k.run("%%chat -m edenai:openai/gpt-4o\nAnd the magic continues it")
    sent = server.requests[-1].body["messages"]
    assert [m["content"] for m in sent] == [
        "Hello panel",
        "Hello from edenai.",
        "And the magic continues it",
    ]


def test_the_panel_returns_at_once_and_the_kernel_stays_free(server, k):
    server.script(Reply(events=sse(*(chunk(f"w{i} ") for i in range(40))), split=200, delay=0.05))
    k.run("p = jupyter_chat.panel(model='local'); p.send('slow one')")
    assert value(k, "p.busy is not None") is True  # the cell above returned mid-stream
    assert value(k, "1 + 1") == 2  # another cell runs meanwhile
    k.run("p.wait()")
    assert value(k, "p.busy is None") is True
    assert "w39" in value(k, "p.transcript.html()")


def test_stop_keeps_the_partial_answer_marked_incomplete(server, k):
    server.script(Reply(events=sse(*(chunk(f"w{i} ") for i in range(200))), split=200, delay=0.1))
    k.run("p = jupyter_chat.panel(model='local', thread='stopme'); p.send('long')")
    k.run("import time\nwhile 'w1' not in p.transcript.html(): time.sleep(0.02)")
    k.run("p.stop(); p.wait()")
    shown = value(k, "p.transcript.html()")
    assert "w0" in shown and "interrupted" in shown
    assert "stopped" in value(k, "p.status.value")
    assert value(k, "SESSION.history('stopme')") == []  # the thread stays consistent
    assert value(k, "p.send_btn.disabled") is False  # and the panel usable


def test_the_panel_sends_only_what_the_user_set(server, k):
    k.run("p = jupyter_chat.panel(model='eigencloud'); p.send('untouched'); p.wait()")
    body = server.requests[-1].body
    assert not {"temperature", "top_p", "max_tokens"} & set(body)  # nothing made up
    assert value(k, "[f.placeholder for f in p.numbers.values()]") == ["default"] * 3
    k.run(
        "p.numbers['temperature'].value = '0.25'; p.numbers['max_tokens'].value = '77'; "
        "p.system.value = 'Be terse.'; p.send('set'); p.wait()"
    )
    body = server.requests[-1].body
    assert (body["temperature"], body["max_tokens"]) == (0.25, 77) and "top_p" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    # the notebook's defaults still apply, and the fields say so
    k.run("%chat defaults top_p=0.5")
    k.run("q = jupyter_chat.panel(model='eigencloud'); q.send('nb'); q.wait()")
    assert server.requests[-1].body["top_p"] == 0.5
    assert value(k, "q.numbers['top_p'].placeholder") == "default: 0.5"
    k.run("q.numbers['top_p'].value = 'lots'; q.send('bad')")
    assert "top_p: &#x27;lots&#x27; is not a number" in value(k, "q.status.value")
    assert value(k, "q.composer.value") == ""  # send('bad') was given the text: box untouched
    # the picker is the notebook's model, as for cells
    k.run("q.model.value = 'eigenai'")
    k.run("%%chat\nhi")
    assert server.requests[-1].dialect == "eigenai"


def test_the_panel_opens_on_a_model_that_can_answer(server, k):
    opts = value(k, "jupyter_chat.panel().model.options")
    assert opts and all(o.partition(":")[2] for o in opts)  # never a provider without a model
    # nothing chosen: the first provider with a key and a default model (local last)
    first = value(k, "jupyter_chat.session.resolve.answerable_models()")
    first = [m for m in first if not m.startswith("local:")][0]
    assert value(k, "jupyter_chat.panel().model.value") == first
    k.run("%chat use edenai:openai/gpt-4o")
    assert value(k, "jupyter_chat.panel().model.value") == "edenai:openai/gpt-4o"
    k.run("%chat use openai")  # a provider without a default model: never opened on as is
    assert value(k, "jupyter_chat.session.resolve.opening_model()") != "openai"
    # no key anywhere: local
    k.run(
        "import os; saved = {v: os.environ.pop(v) for v in list(os.environ) "
        "if v.endswith('_API_KEY')}; SESSION.model = None"
    )
    try:
        assert value(k, "jupyter_chat.session.resolve.opening_model()") == "local"
    finally:
        k.run("os.environ.update(saved)")


def test_a_cut_answer_says_so(server, k):
    server.script(Reply(events=sse(chunk("cut sho"), chunk(finish="length"))))
    k.run("p = jupyter_chat.panel(model='eigenai'); p.numbers['max_tokens'].value = '3'")
    k.run("p.send('x'); p.wait()")
    assert "cut at the token limit (3 tokens)" in value(k, "p.status.value")


def test_the_seed_shown_is_the_seed_sent_and_extra_parameters(server, k):
    k.run(
        "p = jupyter_chat.panel(model='eigenai'); "
        "p.extra.value = '{\"top_k\": 40}'; p.send('x'); p.wait()"
    )
    assert server.requests[-1].body["top_k"] == 40
    assert "seed" not in server.requests[-1].body  # a provider without seeds: none, and said
    assert "no seed sent" in value(k, "p.seed_sent.value")
    k.run("p = jupyter_chat.panel(model='eigencloud'); p.send('x'); p.wait()")
    body = server.requests[-1].body
    assert value(k, "p.seed.value") == ""  # nothing typed: derived per prompt, and it says so
    assert value(k, "p.seed.placeholder").startswith("derived per prompt")
    assert f"sent: {body['seed']} (derived from the prompt)" in value(k, "p.seed_sent.value")
    k.run("p = jupyter_chat.panel(model='eigencloud'); p.seed.value = '31'; p.send('x'); p.wait()")
    assert server.requests[-1].body["seed"] == 31
    assert "sent: 31 (typed)" in value(k, "p.seed_sent.value")
    k.run("p.seed.value = 'seven'; p.send('y')")
    assert "seed: &#x27;seven&#x27; is not a whole number" in value(k, "p.status.value")


WIDGET = "application/vnd.jupyter.widget-view+json"
PANEL = "application/vnd.jupyter-chat-panel+json"


def test_a_shown_panel_keeps_its_transcript_in_its_output(server, k):
    """One output: the widget view, and the transcript as a cell's turns (Markdown, plain
    text, the structured turns), updated in that output as turns finish."""
    ran = k.run("p = jupyter_chat.panel(model='local'); p")
    (shown,) = ran.displays
    data, display_id = shown["content"]["data"], shown["content"]["transient"]["display_id"]
    assert {WIDGET, PANEL, "text/markdown", "text/plain"} <= set(data)
    assert data["text/plain"] == "[chat panel · thread default · 0 turns]"  # not the repr
    model_id = data[WIDGET]["model_id"]
    # a turn finishing while another cell runs is not shown in that cell
    ran = k.run("p.send('Hello panel'); p.wait()")
    assert not ran.of("update_display_data")
    # shown again here: this output is updated too, in place
    ran = k.run("display(p); p.send('Again *please*'); p.wait()")
    second = ran.of("display_data")[0]["content"]["transient"]["display_id"]
    assert second != display_id
    updates = ran.of("update_display_data")
    assert [u["content"]["transient"]["display_id"] for u in updates] == [second]
    data = updates[-1]["content"]["data"]
    assert data[WIDGET]["model_id"] == model_id  # the same live panel
    turns = data[PANEL]["turns"]
    assert [t["data"][MIME]["messages"][0]["content"] for t in turns] == [
        "Hello panel",
        "Again *please*",
    ]
    assert all(t["data"][MIME]["answer"] == "Hello from local." for t in turns)
    assert turns[0]["metadata"]["jupyter_chat"]["provider"] == "local"  # the run record
    md, text = data["text/markdown"], data["text/plain"]
    assert md.count("Hello from local.") == 2 and "<em>please</em>" in md and "ChatPanel" not in md
    assert text.startswith("[chat panel · thread default · 2 turns]")
    assert "user: Again *please*" in text and "assistant: " in text and "ChatPanel(" not in text


def test_the_panel_magic_shows_the_same_output(server, k):
    k.run("%load_ext jupyter_chat")
    (shown,) = k.run("%chat panel -m local -t magic").displays
    data = shown["content"]["data"]
    assert {WIDGET, PANEL} <= set(data) and data[PANEL]["thread"] == "magic"
    assert data["text/plain"] == "[chat panel · thread magic · 0 turns]"


def test_a_failed_turn_is_kept_in_the_saved_transcript(server, k):
    server.script(Reply(status=400, body={"error": {"message": "the model is busy"}}))
    ran = k.run("p = jupyter_chat.panel(model='local'); display(p); p.send('Try me'); p.wait()")
    data = ran.of("update_display_data")[-1]["content"]["data"]
    (turn,) = data[PANEL]["turns"]
    assert turn["data"][MIME]["status"] == "error"
    assert "the model is busy" in turn["data"][MIME]["error"]
    assert "the model is busy" in data["text/plain"] and "Try me" in data["text/markdown"]


def test_errors_show_in_place_with_retry_and_the_prompt_is_kept(server, k):
    server.script(Reply(status=400, body={"error": {"message": "bad key sk-test-openai-9a0b1c"}}))
    k.run("p = jupyter_chat.panel(model='openai:gpt-test'); p.composer.value = 'x'")
    k.run("p.composer.submits += 1; p.wait()")
    shown = value(k, "p.transcript.html()")
    assert "jp-error-color1" in shown and "bad key ***" in shown
    assert not [key for key in KEYS if key in shown]
    assert value(k, "p.status.value") == ""  # shown once, in place
    assert value(k, "p.composer.value") == "x"  # the prompt is not lost
    k.run(
        "err = [c for c in p.transcript.children if 'jp-ChatPanel-error' in c._dom_classes]\n"
        "err[0].children[1].click(); p.wait()"
    )
    shown = value(k, "p.transcript.html()")
    assert "bad key" not in shown and shown.count("Hello from openai.") == 1
    assert value(k, "p.composer.value") == ""
    assert len(value(k, "SESSION.history('default')")) == 2  # one pair, the retried one
    k.run("p.extra.value = 'not json'; p.send('y')")
    assert "extra:" in value(k, "p.status.value")
    k.run("p.extra.value = ''; p.send('z'); p.wait()")
    assert value(k, "p.status.value") == ""  # usable again


def test_a_missing_key_offers_a_hidden_key_field(server, k):
    k.run("import os; os.environ.pop('EDENAI_API_KEY')")
    try:
        k.run("p = jupyter_chat.panel(model='edenai:openai/gpt-4o'); p.send('x')")
        assert value(k, "p.key_field.layout.display") == ""
        key = DIALECTS["edenai"][3]
        # what the field's script sends on Set: one custom message, never a synced value
        k.run(f"p.key_field._handle_custom_msg({{'type': 'key', 'value': '{key}'}}, [])")
        k.run("p.send('x'); p.wait()")
        assert "Hello from edenai." in value(k, "p.transcript.html()")
        state = value(k, "json.dumps(p.key_field.get_state(), default=str)")
        assert key not in state and "value" not in json.loads(state)
    finally:
        k.run(f"os.environ['EDENAI_API_KEY'] = '{DIALECTS['edenai'][3]}'")


def test_new_thread_clear_and_export(server, k, tmp_path):
    k.run("p = jupyter_chat.panel(model='local'); p._new_thread(); p.send('in new'); p.wait()")
    thread = value(k, "p.thread.value")
    assert thread.startswith("panel-") and len(value(k, f"SESSION.history('{thread}')")) == 2
    k.run(f"import os; os.chdir({str(tmp_path)!r}); p._export()")
    assert (tmp_path / f"{thread}.md").exists()
    k.run("p._clear()")
    assert value(k, f"SESSION.history('{thread}')") == []


def test_several_panels_share_threads(server, k):
    k.run("a = jupyter_chat.panel(model='local'); b = jupyter_chat.panel(model='local')")
    k.run("a.send('from a'); a.wait(); b.send('from b'); b.wait()")
    sent = server.requests[-1].body["messages"]
    assert [m["content"] for m in sent] == ["from a", "Hello from local.", "from b"]


def test_model_text_is_escaped(server, k):
    server.script(
        Reply(
            events=sse(
                chunk('<img src=x onerror="alert(1)"><script>x()</script>'), chunk(finish="stop")
            )
        )
    )
    k.run("p = jupyter_chat.panel(model='local'); p.send('x'); p.wait()")
    shown = value(k, "p.transcript.html()")
    assert "<script>" not in shown and "<img" not in shown and "&lt;script&gt;" in shown


def test_compare_streams_columns_concurrently(server, k):
    server.script(
        *[
            Reply(events=sse(chunk(f"answer {i}"), chunk(finish="stop")), stall=0.5)
            for i in range(2)
        ]
    )
    k.run("c = jupyter_chat.compare('Same prompt', models=['local', 'openai:gpt-test'])")
    k.run("turns = c.wait()")
    assert server.max_active == 2  # both requests were in flight at once
    texts = value(k, "[t.text for t in turns]")
    assert sorted(texts) == ["answer 0", "answer 1"]
    assert {r.dialect for r in server.requests} == {"local", "openai"}
    cols = value(k, "[col.outputs[0]['data']['text/markdown'] for col in c.columns]")
    assert all("answer" in col for col in cols)
    # shown as a cell's value: the cell ends with the static grid, no widget left in it
    ran = k.run("c")
    assert "application/vnd.jupyter.widget-view+json" in ran.displays[0]["content"]["data"]
    final = ran.final["data"]
    # the static grid: Markdown and plain text, and the columns' turns for the extension
    assert set(final) == {
        "text/markdown",
        "text/plain",
        "application/vnd.jupyter-chat.compare+json",
    }
    assert "jupyter-chat-grid" in final["text/markdown"]
    assert "== local ==" in final["text/plain"] and "answer 0" in final["text/plain"]


def test_compare_over_seeds_and_the_magic(server, k):
    k.run("c = jupyter_chat.compare('P', models=['eigencloud'], seeds=[1, 2]); c.wait()")
    assert sorted(r.body["seed"] for r in server.requests) == [1, 2]
    assert value(k, "c.labels") == ["seed 1", "seed 2"]  # what differs, and only that
    k.run("c = jupyter_chat.compare('P', models=['local', 'eigenai'], temperatures=[0, 0.7])")
    assert value(k, "c.labels") == [
        "local · T=0",
        "local · T=0.7",
        "eigenai · T=0",
        "eigenai · T=0.7",
    ]
    k.run("c.wait()")
    server.reset()
    ran = k.run("%%chat --compare local,edenai:openai/gpt-4o\nCompare me")
    assert ran.reply["status"] == "ok", ran.error
    grid = ran.final["data"]["text/markdown"]
    assert "<strong>local</strong>" in grid and "<strong>edenai:openai/gpt-4o</strong>" in grid
    shown = re.sub(r"<[^>]*>", "", grid)  # the second column's differing word is marked
    assert "Hello from local." in shown and "Hello from edenai." in shown
    assert '<mark class="jupyter-chat-diff">edenai</mark>' in grid
    assert "== edenai:openai/gpt-4o ==" in ran.final["data"]["text/plain"]
    assert len(server.requests) == 2
    ran = k.run("%%chat --compare local\nOne model")
    assert ran.reply["status"] == "error"

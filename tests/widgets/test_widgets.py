"""The chat panel and the comparison, driven through their widget state in a real kernel."""

from __future__ import annotations

import json

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse

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
    shown = value(k, "p.history.value")
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
    assert "w39" in value(k, "p.history.value")


def test_stop_keeps_the_partial_answer_marked_incomplete(server, k):
    server.script(Reply(events=sse(*(chunk(f"w{i} ") for i in range(200))), split=200, delay=0.1))
    k.run("p = jupyter_chat.panel(model='local', thread='stopme'); p.send('long')")
    k.run("import time\nwhile 'w1' not in p.reply.value: time.sleep(0.02)")
    k.run("p.stop(); p.wait()")
    reply = value(k, "p.reply.value")
    assert "w0" in reply and "stopped: incomplete" in reply
    assert "stopped" in value(k, "p.status.value")
    assert value(k, "SESSION.history('stopme')") == []  # the thread stays consistent
    assert value(k, "p.send_btn.disabled") is False  # and the panel usable


def test_panel_defaults_are_the_magics_defaults(server, k):
    k.run(
        "p = jupyter_chat.panel(); p.model.value = 'eigencloud'; p.temperature.value = 0.25; "
        "p.max_tokens.value = 77; p.system.value = 'Be terse.'"
    )
    k.run("%%chat\nhi")
    body = server.requests[-1].body
    assert server.requests[-1].dialect == "eigencloud"
    assert (body["temperature"], body["max_tokens"]) == (0.25, 77)
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


def test_fixed_seed_and_extra_parameters(server, k):
    k.run(
        "p = jupyter_chat.panel(model='eigenai'); p.seed_fixed.value = False; "
        "p.extra.value = '{\"top_k\": 40}'; p.send('x'); p.wait()"
    )
    assert server.requests[-1].body["top_k"] == 40
    k.run(
        "p = jupyter_chat.panel(model='eigencloud'); p.seed.value = 31; "
        "p.seed_fixed.value = True; p.send('x'); p.wait()"
    )
    assert server.requests[-1].body["seed"] == 31


def test_errors_show_in_the_panel_short_red_and_key_free(server, k):
    server.script(Reply(status=401, body={"error": {"message": "bad key sk-test-openai-9a0b1c"}}))
    k.run("p = jupyter_chat.panel(model='openai:gpt-test'); p.send('x'); p.wait()")
    status = value(k, "p.status.value")
    assert "jp-error-color1" in status and "bad key ***" in status
    assert not [key for key in KEYS if key in status]
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
        assert "Hello from edenai." in value(k, "p.history.value")
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
    shown = value(k, "p.history.value")
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
    cols = value(k, "[col.value for col in c.columns]")
    assert all("answer" in col for col in cols)


def test_compare_over_seeds_and_the_magic(server, k):
    k.run("c = jupyter_chat.compare('P', models=['eigencloud'], seeds=[1, 2]); c.wait()")
    assert sorted(r.body["seed"] for r in server.requests) == [1, 2]
    server.reset()
    ran = k.run("%%chat --compare local,edenai:openai/gpt-4o\nCompare me")
    assert ran.reply["status"] == "ok", ran.error
    table = ran.final["data"]["text/markdown"]
    assert "| local | Hello from local\\. |" in table
    assert "| edenai\\:openai\\/gpt\\-4o | Hello from edenai\\. |" in table
    assert "edenai:openai/gpt-4o  Hello from edenai." in ran.final["data"]["text/plain"]
    assert len(server.requests) == 2
    ran = k.run("%%chat --compare local\nOne model")
    assert ran.reply["status"] == "error"

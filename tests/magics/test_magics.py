"""%%chat and %chat in a real IPython kernel against the loopback dialect server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse
from kernel import kernel_env, wire_size

from jupyter_chat.display.bundle import MIME

ROOT = Path(__file__).resolve().parents[2]
KEYS = [k for (*_x, k) in DIALECTS.values() if k]
RECORD_FIELDS = {
    "provider",
    "host",
    "model",
    "params",
    "thread",
    "request_hash",
    "finish_reason",
    "usage",
    "latency_ms",
    "system_fingerprint",
    "replayed",
    "complete",
}


@pytest.fixture(autouse=True)
def fresh_state(k):
    k.run("from jupyter_chat.session.state import SESSION; SESSION.__init__()")


def no_key_in(ran) -> None:
    blob = json.dumps([m["content"] for m in ran.messages]) + json.dumps(ran.reply)
    assert [key for key in KEYS if key in blob] == []
    assert "Bearer " not in blob


def sent_messages(server, i=-1):
    return [(m["role"], m["content"]) for m in server.requests[i].body["messages"]]


def test_load_ext_imports_nothing_heavy(server, kernels, tmp_path):
    kernel = kernels(load=False, cwd=tmp_path)
    loaded = kernel.run("%load_ext jupyter_chat")
    shown = [m for m in loaded.messages if m["msg_type"] not in ("status", "execute_input")]
    assert loaded.reply["status"] == "ok" and shown == [], shown
    ran = kernel.run(
        "import sys; m = get_ipython().magics_manager.magics\n"
        "print('chat' in m['cell'], 'chat' in m['line'], sorted(x for x in ('httpx', "
        "'pydantic', 'httpx_sse', 'jupyter_chat.client.runtime', "
        "'jupyter_chat.providers.profiles', 'jupyter_chat.session.api') if x in sys.modules))"
    )
    assert ran.stdout.strip() == "True True []"  # registered, and nothing heavy loaded
    assert server.requests == []


def test_answer_streams_into_one_display_then_the_full_bundle(server, k):
    text = "".join(f"word{i} " for i in range(40))
    server.script(
        Reply(
            events=sse(
                *(chunk(f"word{i} ") for i in range(40)),
                chunk(finish="stop", usage={"total_tokens": 50}),
            ),
            split=120,
            delay=0.02,
        )
    )
    ran = k.run("%%chat -m openai:gpt-test\nSay forty words.")
    assert ran.reply["status"] == "ok"
    displays = ran.displays
    assert displays[0]["msg_type"] == "display_data"
    assert all(d["msg_type"] == "update_display_data" for d in displays[1:])
    ids = {d["content"]["transient"]["display_id"] for d in displays}
    assert len(ids) == 1  # one display per turn
    partial = [d["content"]["data"]["text/plain"] for d in displays[1:-1]]
    assert any(p.startswith("word0") and text.strip() not in p for p in partial)  # mid-stream
    final = ran.final
    assert set(final["data"]) == {"text/markdown", "text/plain", MIME}
    assert final["data"]["text/markdown"].startswith(
        f'<div class="jupyter-chat-turn"><div class="jupyter-chat-answer"><p>{text.strip()}</p>'
    )
    record = final["metadata"]["jupyter_chat"]
    assert set(record) >= RECORD_FIELDS
    assert record["complete"] is True and record["usage"] == {"total_tokens": 50}
    turn = final["data"][MIME]
    assert turn["answer"] == text and turn["status"] == "complete"
    assert turn["messages"] == [{"role": "user", "content": "Say forty words."}]
    no_key_in(ran)


def test_a_2000_token_answer_stays_within_the_display_budget(server, k):
    server.script(
        Reply(
            events=sse(*(chunk(f"t{i % 10} ") for i in range(2000)), chunk(finish="stop")),
            split=600,
            delay=0.001,
        )
    )
    ran = k.run("%%chat -m openai:gpt-test\nLong answer please.")
    assert ran.reply["status"] == "ok"
    assert len(ran.final["data"][MIME]["answer"]) == 6000
    assert len(ran.displays) < 250
    assert wire_size(ran.displays) < 1_500_000


def test_reasoning_is_folded_apart_from_the_answer(server, k):
    ran = k.run("%%chat -m eigencloud\nhi")
    md = ran.final["data"]["text/markdown"]
    assert md.startswith(
        '<div class="jupyter-chat-turn"><details><summary>Reasoning</summary><p>The user greets.'
    )
    assert md.index("</details>") < md.index("Hello from eigencloud.")
    assert "[reasoning: 31 characters, hidden]" in ran.final["data"]["text/plain"]
    assert ran.final["data"][MIME]["reasoning"] == "The user greets. Reply briefly."


def test_tool_calls_are_shown(server, k):
    server.script(
        Reply(
            events=sse(
                chunk(
                    tool_calls=[
                        {
                            "index": 0,
                            "id": "call_1",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ]
                ),
                chunk(finish="tool_calls"),
            )
        )
    )
    ran = k.run("%%chat -m openai:gpt-test\nWeather?")
    assert (
        "<strong>Tool call</strong> <code>get_weather</code>" in ran.final["data"]["text/markdown"]
    )
    assert ran.final["data"][MIME]["tool_calls"][0]["id"] == "call_1"


def test_no_stream_shows_once(server, k):
    ran = k.run("%%chat --no-stream -m local\nhi")
    assert [d["msg_type"] for d in ran.displays] == ["display_data"]
    assert "stream" not in server.requests[0].body


def test_footer_shows_model_seed_tokens_and_time(server, k):
    ran = k.run("%%chat -m eigencloud --seed 11\nhi")
    foot = ran.final["data"]["text/plain"].rsplit("[", 1)[1]
    assert foot.startswith("eigencloud:test-model · seed 11 · 8 tokens · ")
    assert foot.rstrip().endswith(" s · signature not verifiable]")  # streamed: no signature


# -- threads ------------------------------------------------------------------------------------
def test_default_thread_continues_and_t_picks_another(server, k):
    k.run("%%chat -m local\nfirst")
    k.run("%%chat -m local\nsecond")
    assert sent_messages(server) == [
        ("user", "first"),
        ("assistant", "Hello from local."),
        ("user", "second"),
    ]
    k.run("%%chat -m local -t other\nthird")
    assert sent_messages(server) == [("user", "third")]
    k.run("%%chat -m local --new\nfourth")
    assert sent_messages(server) == [("user", "fourth")]
    k.run("%%chat -m local\nfifth")
    assert sent_messages(server) == [
        ("user", "fourth"),
        ("assistant", "Hello from local."),
        ("user", "fifth"),
    ]


def test_rerunning_a_cell_replaces_its_turn(server, k):
    k.run("%%chat -m local\nA", cell_id="cell-a")
    k.run("%%chat -m local\nB", cell_id="cell-b")
    k.run("%%chat -m local\nA edited", cell_id="cell-a")  # re-run the first cell
    assert sent_messages(server) == [("user", "A edited")]  # sees only what came before it
    k.run("%%chat -m local\nC", cell_id="cell-c")
    assert sent_messages(server) == [
        ("user", "A edited"),
        ("assistant", "Hello from local."),
        ("user", "B"),
        ("assistant", "Hello from local."),
        ("user", "C"),
    ]


def test_without_cell_ids_identical_source_is_the_same_cell(server, k):
    k.run("%%chat -m local\nsame")
    k.run("%%chat -m local\nsame")
    k.run("%%chat -m local\nnext")
    assert sent_messages(server) == [
        ("user", "same"),
        ("assistant", "Hello from local."),
        ("user", "next"),
    ]


def test_python_api_and_magics_share_threads(server, k):
    k.run('import jupyter_chat; jupyter_chat.chat("from python", model="local", thread="shared")')
    k.run("%%chat -m local -t shared\nfrom the magic")
    assert sent_messages(server) == [
        ("user", "from python"),
        ("assistant", "Hello from local."),
        ("user", "from the magic"),
    ]


def test_history_window_in_turns(server, k):
    for i in range(4):
        k.run(f"%%chat -m local\nq{i}")
    k.run("%chat window 1")
    k.run("%%chat -m local\nlast")
    assert sent_messages(server) == [
        ("user", "q3"),
        ("assistant", "Hello from local."),
        ("user", "last"),
    ]


def test_export_thread_as_markdown_and_json(server, k, tmp_path):
    k.run("%%chat -m local -t ex\nexport me")
    md, js = tmp_path / "t.md", tmp_path / "t.json"
    assert k.run(f"%chat export ex {md}").reply["status"] == "ok"
    assert k.run(f"%chat export ex {js}").reply["status"] == "ok"
    assert "## user\n\nexport me" in md.read_text()
    data = json.loads(js.read_text())
    assert data["turns"][0]["messages"][1] == {"role": "assistant", "content": "Hello from local."}
    assert not [key for key in KEYS if key in js.read_text()]
    ran = k.run(f"%chat export nothread {tmp_path / 'x.md'}")
    assert ran.reply["status"] == "error" and not (tmp_path / "x.md").exists()


# -- seeds --------------------------------------------------------------------------------------
def seed_of(server, i=-1):
    return server.requests[i].body.get("seed")


def test_seeds_derive_from_the_cell_not_the_order(server, k):
    k.run("%%chat -m eigencloud\nx", cell_id="s1")
    k.run("%%chat -m eigencloud\ny", cell_id="s2")
    a, b = seed_of(server, 0), seed_of(server, 1)
    k.run("%%chat -m eigencloud\ny", cell_id="s2")  # out of order, re-run
    k.run("%%chat -m eigencloud\nx", cell_id="s1")
    assert (seed_of(server, 2), seed_of(server, 3)) == (b, a) and a != b
    k.run("%%chat -m eigencloud\nx")  # no cell id (nbval, a terminal): the same seed
    k.run("%%chat -m eigencloud\nx", cell_id="elsewhere")  # another frontend's id: the same
    assert seed_of(server, 4) == seed_of(server, 5) == a
    k.run("%chat seed 5")
    k.run("%%chat -m eigencloud\nx", cell_id="s1")
    assert seed_of(server) not in (a, b)
    k.run("%%chat -m eigencloud --seed 99\nx", cell_id="s1")
    assert seed_of(server) == 99
    k.run("%chat seed off")
    ran = k.run("%%chat -m eigencloud\nx", cell_id="s1")
    assert seed_of(server) is None and "seed" not in ran.final["metadata"]["jupyter_chat"]["params"]


def test_seed_is_in_the_record_or_noted_when_the_provider_has_none(server, k):
    ran = k.run("%%chat -m eigencloud\nx", cell_id="r1")
    assert ran.final["metadata"]["jupyter_chat"]["params"]["seed"] == seed_of(server)
    ran = k.run("%%chat -m adaptive:proj\nx", cell_id="r1")
    record = ran.final["metadata"]["jupyter_chat"]
    assert ran.reply["status"] == "ok" and "seed" not in server.requests[-1].body
    assert "adaptive does not take a seed" in record["notes"][0]


# -- interpolation ------------------------------------------------------------------------------
def test_interpolation_of_names_json_code_and_errors(server, k):
    k.run("cfg = {'model': 'm1'}; n = 3")
    k.run("1/0")
    err_cell = k.run("print(len(In) - 1)").stdout.strip()
    err = int(err_cell) - 1
    body = (
        'Use {cfg["model"]} with n={n}, after {Err[' + str(err) + "]}.\n"
        'JSON stays: {"a": {"b": [1, 2]}} and {{literal}}.\n'
        '```python\nprint(f"{n}")\n```'
    )
    ran = k.run("%%chat -m local\n" + body)
    assert ran.reply["status"] == "ok", ran.error
    sent = server.requests[-1].body["messages"][-1]["content"]
    assert sent.startswith("Use m1 with n=3, after ZeroDivisionError: division by zero.")
    assert 'JSON stays: {"a": {"b": [1, 2]}} and {literal}.' in sent
    assert sent.endswith('print(f"{n}")\n```')
    server.reset()
    ran = k.run("%%chat -m local\nWhat is {undefined_thing}?")
    assert ran.reply["status"] == "error" and server.requests == []
    assert "unknown name 'undefined_thing'" in ran.error["traceback"][0]
    k.run("%%chat -m local --no-interpolate\nKeep {undefined_thing}")
    assert server.requests[-1].body["messages"][-1]["content"] == "Keep {undefined_thing}"


# -- failures -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply,cls,text",
    [
        (
            Reply(status=401, body={"error": {"message": "Invalid API key sk-test-openai-9a0b1c"}}),
            "AuthenticationError",
            "Invalid API key ***",
        ),
        (Reply(status=404, body={"details": "Not Found"}), "NotFoundError", "Not Found"),
        (
            Reply(status=422, body={"detail": [{"loc": ["body", "model"], "msg": "bad model"}]}),
            "InvalidRequestError",
            "model: bad model",
        ),
        (
            Reply(events=sse(chunk("par"), {"error": {"message": "overloaded"}}, done=False)),
            "ProviderError",
            "overloaded",
        ),
    ],
)
def test_errors_fail_the_cell_with_one_short_keyless_line(server, k, reply, cls, text):
    k.run("%%chat -m openai:gpt-test -t errs\nbefore")
    server.script(reply)
    ran = k.run("%%chat -m openai:gpt-test -t errs\nboom")
    assert ran.reply["status"] == "error"
    assert ran.error["ename"] == cls
    [line] = ran.error["traceback"]
    assert text in line and "Traceback" not in line
    no_key_in(ran)
    k.run("%%chat -m openai:gpt-test -t errs\nafter")
    assert sent_messages(server) == [
        ("user", "before"),
        ("assistant", "Hello from openai."),
        ("user", "after"),
    ]  # the failed turn left no trace


def test_bad_options_are_usage_errors_and_send_nothing(server, k):
    for line in [
        "--temperature hot",
        "-p notapair",
        "-p 'x=[1,'",
        "--format yaml",
        "-m eigencloud -p top_k=3",
        "-t 'bad name'",
        "--bogus",
    ]:
        ran = k.run(f"%%chat {line}\nhi")
        assert ran.reply["status"] == "error", line
    assert server.requests == []


def test_interrupt_keeps_the_partial_answer_marked_incomplete(server, k):

    k.run("%%chat -m local -t intr\nbefore")
    server.script(Reply(events=sse(*(chunk(f"w{i} ") for i in range(300))), split=100, delay=0.05))
    reply, errors, finals = k.interrupted("%%chat -m local -t intr\nlong one", after=1.5)
    # the cell fails as interrupted (Run All stops there), with one calm line: no frames
    assert reply["status"] == "error"
    assert reply["ename"] == "KeyboardInterrupt"
    (error,) = errors
    assert error["ename"] == "KeyboardInterrupt"
    kept = len(finals[-1]["data"][MIME]["answer"])
    assert kept > 0
    assert error["traceback"] == [
        f"\x1b[31minterrupted: kept {kept} characters, nothing filed\x1b[0m"
    ]
    assert "Traceback" not in json.dumps(errors) and "site-packages" not in json.dumps(errors)
    last = finals[-1]
    assert last["metadata"]["jupyter_chat"]["complete"] is False
    assert last["data"][MIME]["status"] == "interrupted"
    assert last["data"][MIME]["answer"].startswith("w0 w1")
    assert "interrupted" in last["data"]["text/plain"]
    k.run("%%chat -m local -t intr\nafter")
    assert sent_messages(server) == [
        ("user", "before"),
        ("assistant", "Hello from local."),
        ("user", "after"),
    ]


# -- formats and options ------------------------------------------------------------------------
def test_format_json_pretty_prints_or_fails_clearly(server, k):
    server.script(Reply(events=sse(chunk('```json\n{"a":1,"b":[2]}\n```'), chunk(finish="stop"))))
    ran = k.run("%%chat -m local --format json\nJSON please")
    pretty = '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}'.replace('"', "&quot;").replace("\n", "&#10;")
    assert (
        f'<pre><code class="language-json">{pretty}</code></pre>'
        in (ran.final["data"]["text/markdown"])
    )
    server.script(Reply(events=sse(chunk("not json"), chunk(finish="stop"))))
    ran = k.run("%%chat -m local --format json\nJSON please")
    assert ran.reply["status"] == "error" and "not valid JSON" in ran.error["traceback"][0]


def test_format_code_offers_the_next_cell_and_out_stores_the_turn(server, k):
    server.script(
        Reply(events=sse(chunk("Here:\n```python\nprint(1)\n```\n"), chunk(finish="stop")))
    )
    ran = k.run("%%chat -m local --format code -o t\ncode please")
    payload = ran.reply["payload"]
    assert payload and payload[0]["source"] == "set_next_input"
    assert payload[0]["text"] == "print(1)"
    out = k.run("print(type(t).__name__, t.record['provider'])").stdout.strip()
    assert out == "Turn local"


def test_dry_run_shows_the_request_without_key_and_sends_nothing(server, k):
    ran = k.run("%%chat -m edenai:openai/gpt-4o --dry-run -p 'fallbacks=[\"a/b\"]'\nhi")
    # shown as a JSON code block that opens whole (no application/json: Lab's JSON viewer
    # opens it folded)
    assert "application/json" not in ran.final["data"]
    req = json.loads(ran.final["data"]["text/plain"])
    assert "```json" in ran.final["data"]["text/markdown"]
    assert req["headers"]["Authorization"] == "***"
    assert req["body"]["fallbacks"] == ["a/b"]
    assert server.requests == []
    no_key_in(ran)


# -- %chat --------------------------------------------------------------------------------------
def test_chat_help_lists_every_subcommand(k):
    text = k.run("%chat help").final["data"]["text/plain"]
    for name in [
        "providers",
        "models",
        "use",
        "provider",
        "key",
        "threads",
        "history",
        "system",
        "seed",
        "export",
        "defaults",
        "window",
        "help",
    ]:
        assert f"%chat {name}" in text
    ran = k.run("%chat export --help")
    assert "usage: %chat export" in ran.stdout and ran.reply["status"] == "ok"


def test_key_is_asked_hidden_and_never_echoed(server, k):
    secret = "sk-typed-at-the-prompt-77"
    ran = k.run("%chat key openai", stdin=secret)
    assert ran.stdin_prompts and ran.stdin_prompts[0]["password"] is True
    ran2 = k.run("%%chat -m openai:gpt-test\nhi")
    assert server.requests[-1].headers["authorization"] == f"Bearer {secret}"
    for r in (ran, ran2):
        assert secret not in json.dumps([m["content"] for m in r.messages])


def test_use_system_defaults_and_models(server, k):
    k.run("%chat use edenai:openai/gpt-4o")
    k.run("%chat system Answer in French.")
    k.run("%chat defaults temperature=0.2 'fallbacks=[\"x/y\"]'")
    k.run("%%chat\nhi")
    body = server.requests[-1].body
    assert body["model"] == "openai/gpt-4o" and server.requests[-1].dialect == "edenai"
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert (body["temperature"], body["fallbacks"]) == (0.2, ["x/y"])
    ran = k.run("%chat models openai")
    assert "openai-model-a" in ran.final["data"]["text/plain"]
    ran = k.run("%chat provider add mine --base-url " + server.base_url("local") + " --no-key")
    assert ran.reply["status"] == "ok"
    assert "Hello from local." in k.run("%%chat -m mine:x\nhi").final["data"]["text/plain"]


def terminal_ipython(server, tmp_path, options: str) -> Any:
    """Terminal IPython (no kernel) running one %%chat cell with ``options``."""
    import subprocess
    import sys

    code = (
        "ip = get_ipython(); ip.run_line_magic('load_ext', 'jupyter_chat'); "
        f"ip.run_cell_magic('chat', {options!r}, 'hi')"
    )
    env = kernel_env(server, str(tmp_path / "none.toml"))
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", code]
    return subprocess.run(
        ipython, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )


def test_terminal_ipython_prints_plain_text(server, tmp_path):
    out = terminal_ipython(server, tmp_path, "-m eigencloud --seed 4")
    lines = out.stdout.splitlines()
    assert lines[-2] == "Hello from eigencloud."
    assert lines[-1].startswith("[eigencloud:test-model · seed 4 · 8 tokens")
    assert "<details>" not in out.stdout and "The user greets" not in out.stdout


def test_terminal_ipython_obeys_no_escape_sequence_from_the_model(server, tmp_path):
    from hostile import TERMINAL

    server.script(
        Reply(
            events=sse(
                chunk("Hi " + TERMINAL, model="m\x1b]0;fake\x07 · signature verified"),
                chunk(finish="stop"),
            )
        )
    )
    out = terminal_ipython(server, tmp_path, "-m openai:gpt-test")
    assert out.returncode == 0, out.stderr
    assert not any(c in out.stdout for c in "\x1b\x07\x9b\r")
    assert "]0;pwned-title" in out.stdout  # the text is there, its escape is not
    footer = out.stdout.splitlines()[-1]
    assert footer.startswith('[openai:"m ]0;fake  · signature verified"')  # quoted: no badge


# -- with the JupyterLab extension present: only new text is sent --------------------------------
def test_with_the_extension_a_turn_sends_only_new_text_then_one_final_update(
    server, kernels, tmp_path
):
    kernel = kernels(load=False, cwd=tmp_path)
    ran = kernel.run("%load_ext jupyter_chat")
    assert ran.of("comm_open") == []  # the kernel opens nothing: executors see no comm
    kernel.open_extension_comm()  # what the extension does when it connects
    words = [f"w{i} " for i in range(400)]
    server.script(
        Reply(
            events=sse(chunk(reasoning="think "), *(chunk(w) for w in words), chunk(finish="stop")),
            split=2000,
            delay=0.01,
        )
    )
    ran = kernel.run("%%chat -m edenai:openai/gpt-4o\nGo")
    assert ran.reply["status"] == "ok"
    first, *rest = ran.displays
    turn_id = first["content"]["data"][MIME]["turn_id"]
    assert first["content"]["data"][MIME]["status"] == "streaming"
    assert len(rest) == 1 and rest[0]["content"]["data"][MIME]["status"] == "complete"
    deltas = [m["content"]["data"] for m in ran.of("comm_msg")]
    assert deltas and {d["turn"] for d in deltas} == {turn_id}
    assert "".join(d.get("answer", "") for d in deltas) == "".join(words)
    assert "".join(d.get("reasoning", "") for d in deltas) == "think "
    answer = len("".join(words))
    streamed = wire_size(ran.of("comm_msg"))
    assert streamed < 3 * answer  # the streaming costs about the text itself
    no_key_in(ran)


def test_a_turn_shown_as_a_value_is_sanitized_markdown(server, k):
    server.script(
        Reply(events=sse(chunk("**hi** <img src=x onerror=alert(1)>"), chunk(finish="stop")))
    )
    ran = k.run("import jupyter_chat\nt = jupyter_chat.chat('hi', model='edenai:openai/gpt-4o')\nt")
    assert ran.reply["status"] == "ok", ran.error
    [result] = ran.of("execute_result")
    md = result["content"]["data"]["text/markdown"]
    assert md.startswith('<div class="jupyter-chat-answer"><p><strong>hi</strong> &lt;img')
    assert "<img" not in md


def test_chat_replay_alone_tells_mode_store_and_this_kernels_counts(server, k, tmp_path):
    store = tmp_path / "counts.chat.jsonl"
    first = k.run(f"%chat replay auto {store}")
    second = k.run(f"%chat replay auto {store}")
    assert first.final["data"] == second.final["data"]  # the same whatever the store holds
    k.run("%%chat -m local\nOne")  # a miss, recorded
    k.run("%%chat -m local\nOne")  # a hit
    status = k.run("%chat replay").final["data"]["text/plain"]
    lines = {line.split("  ")[0]: line.split()[-1] for line in status.splitlines()[1:]}
    assert lines["mode"] == "auto" and lines["recordings in it"] == "1"
    assert (lines["replayed here"], lines["missed"], lines["recorded"]) == ("1", "1", "1")
    k.run("%chat replay off")

"""No key in any traceback, nor in anything kept after a provider echoes it.

Every error path runs in a real kernel under ``%xmode Verbose`` (which prints each frame's
local variables): the cell fails with one line and no message of the cell holds a key or an
auth header. Then a provider that echoes its key in a successful answer: the key is in no
output, record, recording, history or export.
"""

from __future__ import annotations

import json

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse

KEYS = [k for (*_x, k) in DIALECTS.values() if k]
OPENAI_KEY = DIALECTS["openai"][3]
CELL = "%%chat -m openai:gpt-test\nhi"


@pytest.fixture(scope="module")
def k(kernels):
    return kernels(
        "%xmode Verbose\n"
        "jupyter_chat.configure(read_timeout=0.5, backoff_base=0.01, backoff_cap=0.02)"
    )


def leaked(ran) -> list[str]:
    blob = json.dumps([m["content"] for m in ran.messages]) + json.dumps(ran.reply)
    return [key for key in KEYS if key in blob] + (["Bearer sk"] if "Bearer sk" in blob else [])


def one_line_failure(ran) -> None:
    assert ran.reply["status"] == "error"
    shown = "".join(ran.error["traceback"]) if ran.error else ran.stderr  # UsageError: stderr
    lines = [x for x in shown.splitlines() if x.strip()]
    assert len(lines) <= 2 and "Traceback" not in "".join(lines), lines
    assert leaked(ran) == []


def bad_stream(*objs, **kw) -> Reply:
    return Reply(events=sse(*objs, **kw))


# (what the provider sends, the cell): each fails, with one key-free line
SERVER_FAULTS = {
    "401 echoing the key": (
        Reply(status=401, body={"error": {"message": f"bad key {OPENAI_KEY}"}}),
        CELL,
    ),
    "500 HTML page with the key": (
        Reply(
            status=500,
            body=f"<html><body>{'x' * 190} {OPENAI_KEY}</body></html>".encode(),
            content_type="text/html",
        ),
        CELL,
    ),
    "a 1 MB error message": (Reply(status=400, body={"error": {"message": "e" * 2**20}}), CELL),
    "choices is an object": (bad_stream({"id": "x", "choices": {"a": 1}}), CELL),
    "delta is a string": (bad_stream({"id": "x", "choices": [{"delta": "hi"}]}), CELL),
    "tool_calls is a string": (
        bad_stream({"id": "x", "choices": [{"delta": {"tool_calls": "f()"}}]}),
        CELL,
    ),
    "usage is a string": (bad_stream(chunk("hi", usage="many"), chunk(finish="stop")), CELL),
    "deep nesting": (bad_stream("data: " + "[" * 50_000 + "]" * 50_000 + "\n\n"), CELL),
    "bad gzip body": (
        Reply(
            body=b"\x1f\x8b\x08\x00not gzip at all",
            headers={"Content-Encoding": "gzip"},
            content_type="application/json",
        ),
        "%%chat -m openai:gpt-test --no-stream\nhi",
    ),
    "an error event with the key": (
        bad_stream(chunk("part"), {"error": {"message": f"upstream said {OPENAI_KEY}"}}),
        CELL,
    ),
    "the stream is cut": (Reply(events=sse(chunk("half"), done=False), reset_after=40), CELL),
    "a stall past the read timeout": (Reply(events=sse(chunk("x")), stall=2), CELL),
}


@pytest.mark.parametrize("name", list(SERVER_FAULTS))
def test_provider_faults_fail_in_one_keyless_line_under_verbose(server, k, name):
    reply, cell = SERVER_FAULTS[name]
    server.script(*([reply] * 3))  # retried faults meet the same reply
    one_line_failure(k.run(cell))


LOCAL_FAULTS = [
    "%%chat -m openai:gpt-test -p x=NaN\nhi",
    "%%chat -m openai:gpt-test -p 'x={\"a\": Infinity}'\nhi",
    "%chat defaults x=NaN",
    "%chat defaults seed=5",
    "%%chat -m openai:gpt-test -p seed=5\nhi",
    "jupyter_chat.chat('hi', model='openai:gpt-test', x=float('nan'))",
    "jupyter_chat.chat('hi', model='openai:gpt-test', x=object())",
    "jupyter_chat.chat('hi', model='openai:gpt-test', seed='7')",
    "%%chat -m nope:x\nhi",
    "%%chat -m openai:gpt-test\n{undefined_name}",
    "%%chat -m openai:gpt-test --image /dev/zero\nhi",
    "%%chat -m openai:gpt-test -o 'x y'\nhi",
    "%%chat -m openai:gpt-test -o In\nhi",
    "%%chat -m ''\nhi",
    "%chat use ''",
    "%chat replay record /dev/null",
    "%chat provider add x --base-url http://127.0.0.1:9/v1 --header 'X A=b'",
]


@pytest.mark.parametrize("cell", LOCAL_FAULTS)
def test_bad_input_fails_in_one_keyless_line_under_verbose_and_sends_nothing(server, k, cell):
    one_line_failure(k.run(cell))
    assert server.requests == []


def test_an_unexpected_failure_inside_the_request_path_is_one_keyless_line(server, k):
    k.run(
        "import jupyter_chat.stream as _s; _orig = _s.Accumulator.feed_chunk\n"
        "_s.Accumulator.feed_chunk = lambda self, obj: 1 / 0"
    )
    try:
        ran = k.run(CELL)
        one_line_failure(ran)
        assert "ZeroDivisionError" in ran.error["evalue"]
        one_line_failure(k.run("jupyter_chat.chat('hi', model='openai:gpt-test')"))
    finally:
        k.run("_s.Accumulator.feed_chunk = _orig")


def test_a_lone_surrogate_from_the_provider_is_replaced_and_the_thread_goes_on(server, k):
    raw = 'data: {"id": "x", "choices": [{"delta": {"content": "a\\ud800b"}}]}\n\n'
    server.script(Reply(events=sse(raw, chunk(finish="stop"))))
    ran = k.run("%%chat -m openai:gpt-test -t sur\nfirst")
    assert ran.reply["status"] == "ok", ran.error
    assert ran.final["data"]["application/vnd.jupyter-chat+json"]["answer"] == "a\ufffdb"
    ran = k.run("%%chat -m openai:gpt-test -t sur\nsecond")
    assert ran.reply["status"] == "ok", ran.error
    assert server.requests[-1].body["messages"][1]["content"] == "a\ufffdb"


def test_a_key_the_provider_echoes_in_an_answer_is_kept_nowhere(server, k, tmp_path):
    store, export = tmp_path / "echo.chat.jsonl", tmp_path / "echo.json"
    half = len(OPENAI_KEY) // 2
    server.script(
        Reply(
            events=sse(
                chunk(f"your key is {OPENAI_KEY[:half]}", model=OPENAI_KEY),
                chunk(f"{OPENAI_KEY[half:]}.", system_fingerprint=OPENAI_KEY),
                chunk(finish="stop", usage={"total_tokens": 3, "note": OPENAI_KEY}),
            )
        )
    )
    k.run(f"%chat replay record {store}")
    ran = k.run("%%chat -m openai:gpt-test -t echo -o turn\nWhat is my key?")
    assert ran.reply["status"] == "ok", ran.error
    assert leaked(ran) == []
    turn = ran.final["data"]["application/vnd.jupyter-chat+json"]
    assert turn["answer"] == "your key is ***."
    for cell in ("%chat history echo", f"%chat export echo {export}", "print(repr(turn.record))"):
        assert leaked(k.run(cell)) == []
    k.run("%chat replay off")
    for path in (store, export):
        text = path.read_text()
        assert [key for key in KEYS if key in text] == [] and "***" in text


def test_a_recording_that_cannot_be_written_keeps_the_answer_on_screen_and_files_nothing(
    server, k, tmp_path
):
    store = tmp_path / "full.chat.jsonl"
    k.run(f"%chat replay record {store}")
    k.run(
        "import errno, jupyter_chat.replay.store as _r; _put = _r.Store.put\n"
        "def _full(self, rec): raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "_r.Store.put = _full"
    )
    try:
        ran = k.run("%%chat -m openai:gpt-test -t full\nhi")
        one_line_failure(ran)
        assert "not recorded" in ran.error["evalue"] and "No space left" in ran.error["evalue"]
        shown = ran.final["data"]["application/vnd.jupyter-chat+json"]
        assert shown["answer"] == "Hello from openai." and shown["status"] == "error"
        history = k.run("print(json.dumps(SESSION.history('full')))")
        assert history.stdout.strip() == "[]"
    finally:
        k.run("_r.Store.put = _put\n%chat replay off")


def test_a_read_only_store_is_refused_before_anything_is_paid_for(server, k, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    k.run(f"%chat replay record {folder / 'nb.chat.jsonl'}")
    k.run(f"import os; os.chmod({str(folder)!r}, 0o500)")
    try:
        ran = k.run(
            "import os; _access = os.access\n"  # root ignores permissions: ask as a user would
            f"os.access = lambda p, m, **kw: False if str(p).startswith({str(folder)!r}) "
            "else _access(p, m, **kw)\n"
            + "get_ipython().run_cell_magic('chat', '-m openai:gpt-test', 'hi')"
        )
        one_line_failure(ran)
        assert "not writable" in ran.error["evalue"]
        assert server.requests == []
    finally:
        k.run(f"os.access = _access; os.chmod({str(folder)!r}, 0o700)\n%chat replay off")


def test_format_json_on_prose_fails_after_showing_it_and_files_nothing(server, k):
    server.script(Reply(events=sse(chunk("Sure! Here it is."), chunk(finish="stop"))))
    ran = k.run("%%chat -m openai:gpt-test -t js --format json\nJSON please")
    one_line_failure(ran)
    assert "not valid JSON" in ran.error["evalue"]
    assert ran.final["data"]["application/vnd.jupyter-chat+json"]["answer"] == "Sure! Here it is."
    assert k.run("print(json.dumps(SESSION.history('js')))").stdout.strip() == "[]"


def test_a_failed_replay_command_changes_no_state(k, tmp_path):
    store = tmp_path / "bad.jsonl"
    store.write_text('{"key": "x"\n')
    ran = k.run(f"%chat replay record {store}")
    assert ran.reply["status"] == "error" and "corrupted at line 1" in ran.error["evalue"]
    assert k.run("print(SESSION.replay_mode)").stdout.strip() == "off"


def test_a_key_the_model_copies_into_a_tool_calls_arguments_is_kept_nowhere(server, k, tmp_path):
    store, export = tmp_path / "tool.chat.jsonl", tmp_path / "tool.json"
    half = len(OPENAI_KEY) // 2

    def fragment(args: str, first: bool = False) -> dict:
        call: dict = {"index": 0, "function": {"arguments": args}}
        if first:
            call.update(id="call_k", function={"name": "lookup", "arguments": args})
        return chunk(tool_calls=[call])

    server.script(
        Reply(
            events=sse(
                fragment('{"token": "' + OPENAI_KEY[:half], first=True),
                fragment(OPENAI_KEY[half:] + '"}'),
                chunk(finish="tool_calls"),
            )
        )
    )
    k.run(f"%chat replay record {store}")
    ran = k.run("%%chat -m openai:gpt-test -t tool\nUse my key.")
    assert ran.reply["status"] == "ok", ran.error
    assert leaked(ran) == []
    for cell in ("%chat history tool", f"%chat export tool {export}"):
        assert leaked(k.run(cell)) == []
    k.run("%chat replay off")
    recording = json.loads(store.read_text().splitlines()[-1])
    calls = [d for d in recording["deltas"] if d[1] == "tool_call"]
    assert [c[3]["arguments"] for c in calls] == ['{"token": "***"}']  # one call, joined
    assert calls[0][3]["name"] == "lookup" and calls[0][3]["id"] == "call_k"
    for path in (store, export):
        text = path.read_text()
        assert [key for key in KEYS if key in text] == [] and "***" in text

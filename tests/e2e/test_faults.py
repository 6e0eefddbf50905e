"""Faults, bad input and secrets: nothing breaks, nothing is half-done, nothing leaks.

Complements the per-feature tests (retries and error bodies in test_client, replay-store
atomicity in test_replay, interrupts mid-stream in test_magics and test_api).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel import kernel_env

import jupyter_chat as jc

ROOT = Path(__file__).resolve().parents[2]
KEYS = [k for (*_x, k) in DIALECTS.values() if k]


def leaks(text: str) -> list[str]:
    found = [k for k in KEYS if k in text]
    return found + (["Bearer sk-"] if "Bearer sk-" in text else [])


def echo(body: dict) -> Reply:
    prompt = body["messages"][-1]["content"]
    return Reply(events=sse(chunk(f"re: {prompt}"), chunk(finish="stop")))


# -- load -----------------------------------------------------------------------------------------
def test_100_concurrent_requests_with_a_rate_limit_all_complete_in_order(server):
    server.script(
        *[echo] * 20,
        Reply(
            status=429, body={"error": {"message": "slow down"}}, headers={"retry-after-ms": "2000"}
        ),
        *[echo] * 90,
    )
    turns = jc.map([f"q{i}" for i in range(100)], model="local", concurrency=10, stream=True)
    assert [t.text for t in turns] == [f"re: q{i}" for i in range(100)]  # all, in order
    assert server.max_active <= 10  # the concurrency bound held
    # After the 429 every request to the host waits, not just the one that got it. Between the
    # 429 and its retry the server sees only requests already on their way (at most 9) and,
    # once the pause ends, those released with the retry (at most 9, in any order): at most
    # 2 x 9. Without the pause the other slots go on until the in-order window (2 x 10) is full.
    prompts = [r.body["messages"][-1]["content"] for r in server.requests]
    limited = prompts[20]
    retried = prompts.index(limited, 21)
    assert retried - 21 <= 2 * (10 - 1), prompts[21:retried]


def test_a_10_mb_answer_keeps_memory_bounded(tmp_path, server):
    """The client in its own process; the 10 MB stream comes from the loopback server here."""
    code = f"""
import os
os.environ["LOCAL_BASE_URL"] = {server.base_url("local")!r}
os.environ["JUPYTER_CHAT_CONFIG"] = {str(tmp_path / "none.toml")!r}
import jupyter_chat as jc
jc.chat("warm up", model="local")
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
before = hwm()
turn = jc.chat("huge", model="local", stream=True)
assert len(turn.text) == 10_000_000, len(turn.text)
print(hwm() - before)
"""
    server.script(
        Reply(
            body={"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "ok"}}]}
        ),
        Reply(
            events=sse(*(chunk("x" * 1000) for _ in range(10_000)), chunk(finish="stop")),
            split=1 << 16,
        ),
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    growth = int(out.stdout.strip())
    # the answer is held about four times (parts, raw parts, joined answer, raw content)
    assert growth < 120 * 1024 * 1024, f"peak RSS grew by {growth / 1e6:.0f} MB"


# -- interrupts at each stage ---------------------------------------------------------------------
STAGES = {
    "connecting": Reply(events=sse(chunk("late")), stall_headers=30),
    "waiting for the first token": Reply(events=sse(chunk("late")), stall=30),
    "mid-stream": Reply(events=sse(*(chunk("x ") for _ in range(500))), split=100, delay=0.05),
}


@pytest.fixture(scope="module")
def k(kernels):
    return kernels(
        "import time\n"
        "def slow_tool(x: int) -> int:\n    'Sleeps.'\n    time.sleep(30)\n    return x"
    )


def interrupt(k, code: str, wait_for) -> dict:
    msg_id = k.kc.execute(code, stop_on_error=False)
    assert wait_until(wait_for, 20)
    time.sleep(0.3)
    k.km.interrupt_kernel()
    return k.error_of(msg_id)


@pytest.mark.parametrize("stage", list(STAGES))
def test_an_interrupt_at_each_stage_leaves_everything_usable(server, k, stage):
    k.run("SESSION.__init__()")
    k.run("%%chat -m local -t s\nbefore")
    server.script(STAGES[stage])
    n = len(server.requests)
    err = interrupt(k, "%%chat -m local -t s\nnow", lambda: len(server.requests) > n)
    assert err["ename"] == "KeyboardInterrupt"
    ran = k.run("%%chat -m local -t s\nafter")  # the next request works, on a healthy pool
    assert ran.reply["status"] == "ok" and "Hello from local." in ran.final["data"]["text/plain"]
    sent = [m["content"] for m in server.requests[-1].body["messages"]]
    assert sent == ["before", "Hello from local.", "after"]  # nothing half-filed


def test_an_interrupt_during_a_tool_call(server, k):
    k.run("SESSION.__init__()")
    server.script(
        Reply(
            events=sse(
                chunk(
                    tool_calls=[
                        {
                            "index": 0,
                            "id": "c1",
                            "function": {"name": "slow_tool", "arguments": '{"x": 1}'},
                        }
                    ]
                ),
                chunk(finish="tool_calls"),
            )
        )
    )
    n = len(server.requests)
    err = interrupt(
        k, "%%chat -m local -t tools --tools slow_tool\nrun it", lambda: len(server.requests) > n
    )
    assert err["ename"] == "KeyboardInterrupt"
    assert k.run("print(json.dumps(SESSION.history('tools')))").stdout.strip() == "[]"
    assert k.run("%%chat -m local\nafter").reply["status"] == "ok"


# -- bad input: one clear line, nothing changed ----------------------------------------------------
BAD_LINES = [
    "%chat use nope:model",
    "%chat seed abc",
    "%chat window lots",
    "%chat replay sometimes",
    "%chat thread 'bad name'",
    "%chat history 'bad name'",
    "%chat models adaptive",
    "%chat provider add 'bad name' --base-url http://x/v1",
    "%chat provider add x --base-url ftp://x/v1",
    "%chat export nothread out.md",
    "%chat verify nonexistent.ipynb",
    "%chat nosuchcommand",
    "%chat defaults notapair",
    "%chat local start --model /nonexistent.gguf",
]


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_commands_fail_with_one_line_and_change_nothing(k, line):
    k.run("SESSION.__init__(); SESSION.model = 'local'")
    before = k.run(
        "print(json.dumps([SESSION.model, SESSION.seed, SESSION.replay_mode, "
        "SESSION.window_turns, SESSION.params, sorted(jupyter_chat.providers())]))"
    )
    ran = k.run(line)
    assert ran.reply["status"] == "error", line
    text = ran.stderr + "".join(ran.error["traceback"] if ran.error else [])
    assert len([x for x in text.strip().splitlines() if x.strip()]) <= 2, text
    assert "Traceback" not in text
    after = k.run(
        "print(json.dumps([SESSION.model, SESSION.seed, SESSION.replay_mode, "
        "SESSION.window_turns, SESSION.params, sorted(jupyter_chat.providers())]))"
    )
    assert after.stdout == before.stdout


@pytest.mark.parametrize(
    "options",
    [
        "--temperature 3",
        "--temperature hot",
        "--top-p 2",
        "--max-tokens 0",
        "--seed x",
        "-m nope:x",
        "-m adaptive:a/b/c",
        "-t 'no spaces'",
        "-p fallbacks=[1,",
        "-p =3",
        "--format yaml",
        "--image /nonexistent.png",
        "-m eigencloud --image /dev/null",
        "--max-steps",
        "-m local --server-tools a",
    ],
)
def test_bad_cell_options_send_nothing(server, k, options):
    ran = k.run(f"%%chat -m openai:gpt-test {options}\nhi")
    assert ran.reply["status"] == "error"
    assert server.requests == []


def test_corrupted_config_and_store_are_one_line_errors(server, k, tmp_path):
    store = tmp_path / "bad.jsonl"
    store.write_text('{"key": "x"\n')
    ran = k.run(f"%chat replay replay {store}")
    assert ran.reply["status"] == "error" and "corrupted at line 1" in ran.error["evalue"]
    assert len(ran.error["traceback"]) == 1


# -- fuzzing --------------------------------------------------------------------------------------
OPTION_LINES = st.lists(
    st.one_of(
        st.sampled_from(["-m", "-t", "-s", "--seed", "--temperature", "--top-p", "-p", "-o",
                         "--format", "--new", "--no-stream", "--dry-run", "--tools", "-h",
                         "--help", "--image", "--max-tokens", "--compare", "--bogus", "="]),
        st.text(alphabet=st.sampled_from(list("-=\"'abcdefmptsz0123456789.,[]{}: ")), max_size=12),
        st.text(max_size=8),
    ),
    max_size=8,
).map(" ".join)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPTION_LINES)
def test_fuzz_the_cell_option_parser(line):
    """Every line parses into well-typed options, or is a one-line UsageError, or (only when
    it asks for help) prints the help: never another exception."""
    from IPython.core.error import UsageError

    from jupyter_chat.magics.options import FORMATS, Done, cell_parser, parse_params, split
    from jupyter_chat.session.resolve import RESERVED

    try:
        words = split(line)
        args = cell_parser().parse_args(words)
        params = parse_params(args.param)
    except UsageError as exc:
        assert "\n" not in str(exc).strip() and str(exc).strip()
        return
    except Done:
        assert {"-h", "--help"} & set(words) or any(w.startswith("--h") for w in words)
        return
    assert args.format in FORMATS
    for name, kind in (
        ("seed", int),
        ("temperature", float),
        ("top_p", float),
        ("max_tokens", int),
    ):
        assert getattr(args, name) is None or isinstance(getattr(args, name), kind)
    assert all(k.isidentifier() and k not in RESERVED for k in params)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([3, 0.5, -2, "x"]), st.sampled_from(["--seed", "--temperature", "--top-p"]))
def test_the_option_parser_keeps_what_it_is_given(value, option):
    from IPython.core.error import UsageError

    from jupyter_chat.magics.options import cell_parser

    dest = option.lstrip("-").replace("-", "_")
    try:
        args = cell_parser().parse_args([option, str(value)])
    except UsageError:
        assert value == "x" or (option == "--seed" and isinstance(value, float))
        return
    assert getattr(args, dest) == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=5))
def test_fuzz_parameter_pairs(pairs):
    from IPython.core.error import UsageError

    from jupyter_chat.magics.options import parse_params

    try:
        out = parse_params(pairs)
        assert all(k.isidentifier() for k in out)
    except UsageError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_the_sse_path_with_arbitrary_bytes(data):
    """Whatever bytes arrive, the stream ends or raises our own error, and the deltas handed to
    a front end add up to exactly what the result (or the error's partial result) holds."""
    import asyncio

    import httpx

    from jupyter_chat.client.runtime import read_events
    from jupyter_chat.errors import ChatError
    from jupyter_chat.stream import Accumulator

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield data

    handed: list = []
    acc = Accumulator()
    resp = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Body())
    try:
        asyncio.run(read_events(resp, acc, handed.extend))
        handed += acc.finish()
        result = acc.result()
    except ChatError as exc:  # our own error, with what arrived before it
        result = exc.partial
        assert result is not None
    for kind in ("answer", "reasoning"):
        shown = "".join(t for k, i, t in handed if k == kind and i == 0)
        assert shown == getattr(result, kind) if result.choices else shown == ""


# -- secrets ---------------------------------------------------------------------------------------
def test_notebooks_and_everything_they_write_hold_no_key(server, tmp_path):
    """The demo notebooks, run with distinctive keys against the loopback providers (the key-
    guarded cells run too), then every file they produced is scanned."""
    import nbclient
    import nbformat

    work = tmp_path / "nb"
    shutil.copytree(ROOT / "notebooks", work)
    env = kernel_env(server, str(tmp_path / "none.toml"))
    env["LOCAL_BASE_URL"] = server.base_url("local")
    produced = []
    for path in sorted(work.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(work)}},
        ).execute(env=env)
        out = tmp_path / f"executed-{path.name}"
        nbformat.write(nb, out)
        produced.append(out)
    assert len(server.requests) > 0  # the key-guarded cells did call the providers
    assert any("sk-test-eigencloud" in json.dumps(dict(r.headers)) for r in server.requests)
    files = produced + sorted(work.rglob("*"))
    found = {str(f): leaks(f.read_text(errors="replace")) for f in files if f.is_file()}
    assert {f: v for f, v in found.items() if v} == {}


def test_exports_logs_dry_runs_and_widget_state_hold_no_key(server, k, tmp_path):
    k.run("SESSION.__init__()")
    k.run("%%chat -m openai:gpt-test -t sec\nhi")
    server.script(Reply(status=401, body={"error": {"message": f"bad key {KEYS[0]}"}}))
    k.run("p = jupyter_chat.panel(model='eigenai'); p.send('x'); p.wait()")
    dry = k.run("%%chat -m eigencloud --dry-run\nhi")
    k.run(f"%chat export sec {tmp_path / 'sec.json'}")
    k.run(f"%chat export sec {tmp_path / 'sec.md'}")
    state = k.run(
        "import ipywidgets\n"
        "print(json.dumps([w.get_state() for w in list(ipywidgets.Widget.widgets"
        ".values())], default=str))"
    )
    texts = [
        json.dumps([m["content"] for m in dry.messages]),
        state.stdout,
        state.stderr,
        (tmp_path / "sec.json").read_text(),
        (tmp_path / "sec.md").read_text(),
    ]
    assert [leaks(t) for t in texts] == [[]] * len(texts)
    assert "***" in dry.final["data"]["text/plain"]


@pytest.mark.parametrize(
    "code",
    [
        "%%chat --compare local,openai:gpt-test\nslowly",
        "c = jupyter_chat.compare('slowly', models=['local', 'openai:gpt-test']); c.wait()",
    ],
)
def test_an_interrupt_stops_a_comparison(server, k, code):
    slow = Reply(
        events=sse(*(chunk(f"w{i} ") for i in range(400)), chunk(finish="stop")),
        split=40,
        delay=0.05,
    )
    server.script(slow, slow)
    n = len(server.requests)
    err = interrupt(k, code, lambda: len(server.requests) >= n + 2)
    assert err["ename"] == "KeyboardInterrupt"
    assert wait_until(lambda: server.aborted >= 2, 10)  # both streams were closed
    assert k.run("%%chat -m local\nafter").reply["status"] == "ok"

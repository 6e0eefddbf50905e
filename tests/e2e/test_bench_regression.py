"""A light regression check on what benchmarks/ measures: counts and bytes only, never time.

Generous bounds, so that only a real regression fails them (benchmarks/run.py measures the
figures themselves): how many display messages and bytes a streamed 2,000-token answer sends,
with and without the JupyterLab extension's delta streaming; how much ``import jupyter_chat``
and ``%load_ext jupyter_chat`` load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dialect_server import Reply, chunk, sse
from kernel import wire_size

from jupyter_chat.display.bundle import MIME

ROOT = Path(__file__).resolve().parents[2]
TOKENS = [f"tok{i % 10} " for i in range(2000)]
ANSWER = "".join(TOKENS)  # 10,000 characters
HEAVY = (
    "httpx",
    "httpx_sse",
    "pydantic",
    "anyio",
    "jupyter_chat.client.runtime",
    "jupyter_chat.providers.profiles",
    "jupyter_chat.session.api",
)
LOAD_EXT_MODULES = 60  # %load_ext jupyter_chat adds about 5 modules to a kernel's sys.modules


def stream_of_2000_tokens(writes: int, delay: float) -> Reply:
    """The answer as 2,000 chunk events, written in ``writes`` pieces ``delay`` s apart."""
    events = sse(*(chunk(t) for t in TOKENS), chunk(finish="stop"))
    size = len("".join(events).encode())
    return Reply(events=events, split=-(-size // writes), delay=delay)


def test_import_jupyter_chat_loads_no_httpx_or_pydantic():
    code = (
        "import json, sys; n = len(sys.modules); import jupyter_chat; "
        f"print(json.dumps([[m for m in {HEAVY!r} if m in sys.modules], len(sys.modules) - n]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    heavy, added = json.loads(out.stdout)
    assert heavy == []
    assert added < LOAD_EXT_MODULES


def test_load_ext_imports_few_modules_and_nothing_heavy(server, kernels, tmp_path):
    kernel = kernels(load=False, cwd=tmp_path)
    kernel.run("import json, sys; _n0 = len(sys.modules)")
    assert kernel.run("%load_ext jupyter_chat").reply["status"] == "ok"
    ran = kernel.run(
        f"print(json.dumps([len(sys.modules) - _n0, [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    added, heavy = json.loads(ran.stdout)
    assert heavy == []
    assert added < LOAD_EXT_MODULES


def test_a_streamed_2000_token_answer_sends_few_display_messages_and_bytes(
    server, kernels, tmp_path
):
    # ~200 writes over ~2 s: the throttle, not the transport, decides how often the display
    # is updated. Its growth rule bounds the count whatever the pace (about 190 for 10,000
    # characters at worst; about 10 here), and so the bytes (about 21 times the answer).
    kernel = kernels(load=False, cwd=tmp_path)
    assert kernel.run("%load_ext jupyter_chat").reply["status"] == "ok"
    server.script(stream_of_2000_tokens(writes=200, delay=0.01))
    ran = kernel.run("%%chat -m openai:gpt-test\nCount.")
    assert ran.reply["status"] == "ok", ran.error
    assert ANSWER.strip() in ran.final["data"]["text/markdown"]  # the whole answer, rendered
    assert ran.final["data"]["text/plain"].startswith(ANSWER[:200])  # and its head as text
    assert len(ran.displays) < 250
    assert wire_size(ran.displays) < 1_500_000
    assert ran.of("comm_msg") == []  # no extension: no deltas


def test_with_the_extension_display_and_delta_bytes_stay_within_5x_the_answer(
    server, kernels, tmp_path
):
    # With the extension's hello, the text goes out once as deltas (plus about 130 bytes of
    # envelope per comm message, at most one every 50 ms), between a small first display and
    # the final full update, which carries the answer three times (markdown, plain text and
    # the structured turn): about 4.4 times the answer in all for this stream.
    kernel = kernels(load=False, cwd=tmp_path)
    ran = kernel.run("%load_ext jupyter_chat")
    assert ran.of("comm_open") == []  # the kernel opens nothing: executors see no comm
    kernel.open_extension_comm()  # what the extension does when it connects
    server.script(stream_of_2000_tokens(writes=20, delay=0.03))
    ran = kernel.run("%%chat -m openai:gpt-test\nCount.")
    assert ran.reply["status"] == "ok", ran.error
    displays, comms = ran.displays, ran.of("comm_msg")
    assert len(displays) == 2  # the placeholder, then the final update
    assert displays[-1]["content"]["data"][MIME]["answer"] == ANSWER
    deltas = [m["content"]["data"] for m in comms]
    assert "".join(d.get("answer", "") for d in deltas) == ANSWER
    assert wire_size(comms) < 2 * len(ANSWER)  # only new text, each piece once
    assert wire_size(displays) + wire_size(comms) < 5 * len(ANSWER)

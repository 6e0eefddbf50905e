"""The comparison's columns in a real kernel: while they stream they name the model that
answers (the managed local server's model, not ``default``), the cell keeps saying it is busy
until they end, and the finished output carries each column's structured turn for the
JupyterLab extension beside the sanitized HTML."""

from __future__ import annotations

import json

import pytest
from dialect_server import Reply, chunk, sse

COMPARE = "application/vnd.jupyter-chat.compare+json"
TURN = "application/vnd.jupyter-chat+json"


def slow(n: int = 40, delay: float = 0.1) -> Reply:
    return Reply(
        events=sse(*(chunk(f"w{i} ") for i in range(n)), chunk(finish="stop")),
        split=200,
        delay=delay,
    )


@pytest.fixture(scope="module")
def k(kernels):
    return kernels()


def value(k, expr: str):
    ran = k.run(f"print(json.dumps({expr}))")
    assert ran.reply["status"] == "ok", ran.error
    return json.loads(ran.stdout)


# the kernel's own local server, stood in for by the loopback server: the managed profile's
# URL, "started" at the loopback address, its model file named
MANAGED = """
import os
from jupyter_chat.providers import local
_base = os.environ.pop("LOCAL_BASE_URL")
local.SERVER.ensure = lambda: _base
local.SERVER.model = "/models/gemma-3-270m-q4_k_m.gguf"
"""


def test_streaming_columns_name_the_model_that_answers(server, kernels):
    k = kernels(MANAGED)
    server.script(slow(), slow())
    k.run("c = jupyter_chat.compare('P', models=['local', 'openai:gpt-test'])")
    k.run("import time\nwhile 'w2' not in str(c.columns[0].outputs): time.sleep(0.02)")
    live = value(k, "[col.outputs[0] for col in c.columns]")
    k.run("c.wait()")
    assert server.requests[0].path.endswith("/chat/completions")  # it went to the stand-in
    assert live[0]["data"][TURN]["status"] == "streaming"
    md, plain = live[0]["data"]["text/markdown"], live[0]["data"]["text/plain"]
    assert "local:gemma-3-270m-q4_k_m" in md and "local:gemma-3-270m-q4_k_m" in plain
    assert "local:default" not in md + plain
    assert live[0]["metadata"]["jupyter_chat"]["served_model"] == "gemma-3-270m-q4_k_m"
    assert live[0]["metadata"]["jupyter_chat"]["model"] == "default"  # asked: kept as sent
    # a provider that names no model of its own: the one asked for
    assert "openai:gpt-test" in live[1]["data"]["text/plain"]


def test_the_cell_says_busy_until_the_columns_end(server, k):
    server.script(slow(30, 0.1), slow(30, 0.1))
    ran = k.run("jupyter_chat.compare('P', models=['local', 'openai:gpt-test'])", timeout=90)
    assert ran.reply["status"] == "ok", ran.error
    busy = [
        i
        for i, m in enumerate(ran.messages)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "busy"
    ]
    last = max(i for i, m in enumerate(ran.messages) if m["msg_type"] == "update_display_data")
    # said again while the columns streamed (after the live grid, before the final grid)
    first_display = min(i for i, m in enumerate(ran.messages) if m["msg_type"] == "display_data")
    assert len([i for i in busy if first_display < i < last]) >= 2


def test_the_finished_comparison_carries_each_columns_turn(server, k):
    server.script(
        Reply(events=sse(chunk("```python\nprint(1)\n```"), chunk(finish="stop"))),
        Reply(status=400, body={"error": {"message": "no such model"}}),
    )
    ran = k.run("jupyter_chat.compare('Show code', models=['local', 'openai:gpt-test'])")
    data = ran.final["data"]
    assert {"text/markdown", "text/plain", COMPARE} <= set(data)
    assert "application/vnd.jupyter.widget-view+json" not in data
    grid = data[COMPARE]
    assert grid["version"] == 1 and grid["prompt"] == "Show code"
    assert [c["label"] for c in grid["columns"]] == ["local", "openai:gpt-test"]
    ok, failed = grid["columns"]
    assert ok["turn"]["status"] == "complete" and ok["turn"]["answer"].startswith("```python")
    # the run records in the metadata, as a turn's: what a replay changes is not compared data
    records = ran.final["metadata"]["jupyter_chat_columns"]
    assert [r["provider"] for r in records] == ["local", "openai"]
    assert records[0]["complete"] is not False and "record" not in ok
    assert "jupyter_chat" not in ran.final["metadata"]  # not one turn's record
    assert failed["turn"]["status"] == "error" and "no such model" in failed["turn"]["error"]
    assert "1 answer" in grid["totals"] and "1 failed" in grid["totals"]
    # the sanitized HTML for other frontends: the code highlighted into Pygments' classes
    assert '<div class="highlight jupyter-chat-code">' in data["text/markdown"]
    assert '<span class="mi">1</span>' in data["text/markdown"]

"""The Python API (chat, achat, map, Turn) and the client's life inside a real kernel."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse, wait_until

import jupyter_chat as jc

ROOT = Path(__file__).resolve().parents[2]


def test_turn_record_describes_how_the_answer_was_produced(server):
    turn = jc.chat("hi", model="eigencloud", seed=7, temperature=0, max_tokens=50)
    r = turn.record
    assert r["provider"] == "eigencloud" and r["host"] == "127.0.0.1"
    assert r["model"] == "gpt-oss-120b-f16"
    assert r["params"] == {"seed": 7, "temperature": 0, "max_tokens": 50}
    assert r["finish_reason"] == "stop" and r["complete"] is True and r["replayed"] is False
    assert r["usage"]["total_tokens"] == 8 and r["latency_ms"] > 0
    assert r["system_fingerprint"] == "eigenai-llama@0.1.0+eigenai-llama"
    assert r["request_hash"].startswith("sha256:") and len(r["request_hash"]) == 71
    blob = json.dumps(r)
    assert not [k for (*_x, k) in DIALECTS.values() if k and k in blob]


def test_a_number_parameter_is_one_request_however_it_is_written(server):
    # --temperature 0 (the magic parses a float) and temperature=0 (an int) are one request:
    # the same body and hash, so a cell's recording replays for chat() and back
    a = jc.chat("hi", model="eigencloud", seed=1, temperature=0, top_p=1)
    b = jc.chat("hi", model="eigencloud", seed=1, temperature=0.0, top_p=1.0)
    assert a.record["request_hash"] == b.record["request_hash"]
    sent = [json.dumps(r.body, sort_keys=True) for r in server.requests[-2:]]
    assert sent[0] == sent[1] and '"temperature": 0.0' in sent[0]
    assert (
        type(jc.chat("hi", model="eigencloud", max_tokens=5).record["params"]["max_tokens"]) is int
    )


def test_request_hash_is_stable_and_covers_every_parameter(server):
    a = jc.chat("hi", model="eigencloud", seed=1).record["request_hash"]
    b = jc.chat("hi", model="eigencloud", seed=1, stream=True).record["request_hash"]
    c = jc.chat("hi", model="eigencloud", seed=2).record["request_hash"]
    d = jc.chat("hi!", model="eigencloud", seed=1).record["request_hash"]
    assert a == b  # streaming or not is transport, not content
    assert len({a, c, d}) == 3


def test_threads_continue_and_a_failed_turn_leaves_them_unchanged(server):
    jc.chat("first", model="local", thread="t", system="Be brief.")
    jc.chat("second", model="local", thread="t")
    sent = server.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "first"),
        ("assistant", "Hello from local."),
        ("user", "second"),
    ]
    assert server.requests[0].body["messages"][0] == {"role": "system", "content": "Be brief."}
    server.script(Reply(events=sse(chunk("half"), done=False)))
    with pytest.raises(jc.StreamCutError):
        jc.chat("third", model="local", thread="t", stream=True)
    jc.chat("fourth", model="local", thread="t")
    contents = [m["content"] for m in server.requests[-1].body["messages"]]
    assert contents == ["first", "Hello from local.", "second", "Hello from local.", "fourth"]


def test_no_thread_means_a_single_prompt(server):
    jc.chat("a", model="local")
    jc.chat("b", model="local")
    assert len(server.requests[-1].body["messages"]) == 1


def test_achat_from_an_asyncio_program(server):
    async def main():
        return await asyncio.gather(
            jc.achat("x", model="local"), jc.achat("y", model="edenai:openai/gpt-4o", stream=True)
        )

    a, b = asyncio.run(main())
    assert (a.text, b.text, b.reasoning) == ("Hello from local.", "Hello from edenai.", "Thinking.")


def test_sync_chat_works_inside_a_running_event_loop(server):
    async def like_a_kernel_cell():
        return jc.chat("hi", model="local", stream=True)  # no "loop is already running"

    assert asyncio.run(like_a_kernel_cell()).text == "Hello from local."


def test_map_keeps_order_and_bounds_concurrency(server):
    n = 12
    server.script(
        *[
            Reply(events=sse(chunk(f"answer {i}"), chunk(finish="stop")), stall=0.3)
            for i in range(n)
        ]
    )
    turns = jc.map([f"q{i}" for i in range(n)], model="local", concurrency=3, stream=True)
    asked = [r.body["messages"][0]["content"] for r in server.requests]
    # replies are handed out in arrival order, so each turn's text names its request's slot
    by_prompt = {q: f"answer {i}" for i, q in enumerate(asked)}
    assert [t.text for t in turns] == [by_prompt[f"q{i}"] for i in range(n)]
    assert server.max_active == 3


def test_map_honours_a_rate_limit_and_completes_everything(server):
    server.script(
        Reply(status=429, body={"error": {"message": "slow"}}, headers={"retry-after-ms": "200"})
    )
    turns = jc.map([f"q{i}" for i in range(6)], model="local", concurrency=6)
    assert [t.text for t in turns] == ["Hello from local."] * 6
    assert len(server.requests) == 7


def test_map_checks_every_prompt_before_sending_any(server):
    with pytest.raises(jc.InvalidRequestError):
        jc.map(["a", "b"], model="eigencloud", top_k=3)
    with pytest.raises(jc.ConfigError, match="concurrency"):
        jc.map(["a"], model="local", concurrency=0)
    assert server.requests == []


def test_map_errors_raise_or_return_in_place(server):
    server.script(Reply(status=400, body={"error": {"message": "bad prompt"}}))
    with pytest.raises(jc.InvalidRequestError, match="bad prompt"):
        jc.map(["a", "b"], model="local", concurrency=1)
    server.script(Reply(status=400, body={"error": {"message": "bad prompt"}}))
    out = jc.map(["a", "b"], model="local", concurrency=1, return_exceptions=True)
    assert isinstance(out[0], jc.InvalidRequestError) and out[1].text == "Hello from local."


def test_a_turn_has_a_short_repr_and_no_markdown_of_its_own(server):
    turn = jc.chat("hi", model="local")
    assert repr(turn) == "Turn(local:default, 'Hello from local.')"
    long = jc.chat("hi", model="local", max_tokens=5)
    long.text = "x" * 100
    assert repr(long) == f"Turn(local:default, {'x' * 57 + '...'!r})"
    # model text is rendered only through the display (registered at %load_ext), never raw
    assert not hasattr(turn, "_repr_markdown_")


def test_import_is_cheap_and_does_no_provider_work():
    code = (
        "import sys, jupyter_chat; heavy = [m for m in ('httpx', 'pydantic', 'httpx_sse', "
        "'jupyter_chat.providers.profiles', 'jupyter_chat.client.runtime', 'jupyter_chat.session.api') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


# -- a real IPython kernel ----------------------------------------------------------------------
@pytest.fixture
def kernel(server):
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items()}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run_cell(kc, code: str, timeout: float = 60):
    msg_id = kc.execute(textwrap.dedent(code))
    out, err = [], None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            err = content
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), err


def test_chat_in_a_real_kernel_streams_and_is_interruptible(server, kernel):
    km, kc = kernel
    out, err = run_cell(
        kc,
        """
        import jupyter_chat
        t = jupyter_chat.chat("hi", model="edenai:openai/gpt-4o", stream=True)
        print(t.text, "|", t.reasoning, "|", t.record["provider"])
    """,
    )
    assert err is None, err
    assert out.strip() == "Hello from edenai. | Thinking. | edenai"
    # a slow stream, interrupted like the stop button does
    server.script(Reply(events=sse(*(chunk("x") for _ in range(200))), split=80, delay=0.1))
    msg_id = kc.execute(
        'jupyter_chat.chat("slow", model="local", stream=True)', stop_on_error=False
    )
    assert wait_until(lambda: len(server.requests) == 2, 20)
    km.interrupt_kernel()
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "error":
            assert msg["content"]["ename"] == "KeyboardInterrupt"
            break
    assert wait_until(lambda: server.aborted == 1, 10)  # the stream was closed, not left running
    out, err = run_cell(kc, 'print(jupyter_chat.chat("again", model="local").text)')
    assert err is None and out.strip() == "Hello from local."

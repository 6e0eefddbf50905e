"""The ``local`` provider against the real llama-cpp-python server and the packaged model.

These need the ``local`` extra (CI installs it); nothing here is skipped when it is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import jupyter_chat as jc
from jupyter_chat.client.call import Call
from jupyter_chat.client.request import build_request
from jupyter_chat.providers import local

GREEDY = {"temperature": 0, "max_tokens": 12}


@pytest.fixture(scope="module")
def managed():
    """The kernel's own server, started by the first request (LOCAL_BASE_URL unset)."""
    yield local.SERVER
    local.stop()


@pytest.fixture(autouse=True)
def no_base_url(monkeypatch, managed):
    monkeypatch.delenv("LOCAL_BASE_URL")


def test_first_use_starts_the_server_and_status_tells_about_it(managed):
    turn = jc.chat("Say hello", model="local", **GREEDY)
    assert turn.text and turn.record["host"] == "127.0.0.1"
    assert turn.usage["completion_tokens"] <= 12
    st = local.status()
    assert st["running"] and st["model"].endswith("gemma-3-270m-q4_k_m.gguf")
    assert 100 < st["memory_mb"] < 2000  # logits_all off: well under the 3 GB it costs on
    port = st["port"]
    jc.chat("Again", model="local", **GREEDY)
    assert local.status()["port"] == port  # reused, not restarted


def test_streaming_turn_and_what_the_server_does_not_report(managed):
    turn = jc.chat("Tell me a story", model="local", stream=True, **GREEDY)
    assert turn.text and turn.complete and turn.finish_reason in ("stop", "length")
    # llama-cpp-python ignores stream_options.include_usage: never faked, and since its
    # profile says so (silent_stream_usage), not flagged as a fault on every local turn
    assert turn.usage is None
    assert "the server reported no token usage" not in turn.record.get("notes", [])
    plain = jc.chat("Tell me a story", model="local", **GREEDY)
    assert plain.usage["completion_tokens"] > 0  # the same server reports it unstreamed


def test_the_managed_server_gets_256_tokens_by_default_and_names_its_model(managed):
    from jupyter_chat.display.footer import footer

    turn = jc.chat("Say hi", model="local", temperature=0, stop=["\n"])
    assert turn.record["params"]["max_tokens"] == 256 and turn.usage["completion_tokens"] <= 256
    # llama.cpp echoes the model asked for ("default"): the GGUF's name is shown instead
    name = Path(local.status()["model"]).stem
    assert turn.record["model"] == "default" and turn.record["served_model"] == name
    assert footer(turn.record, "complete").startswith(f"local:{name} · seed ")
    explicit = jc.chat("Say hi", model="local", temperature=0, max_tokens=2)
    assert explicit.record["params"]["max_tokens"] == 2 and explicit.finish_reason == "length"
    assert "cut at the token limit" in footer(explicit.record, "complete")


def test_max_tokens_ends_with_finish_reason_length(managed):
    turn = jc.chat("Count from one to one hundred:", model="local", temperature=0, max_tokens=4)
    assert turn.finish_reason == "length" and turn.usage["completion_tokens"] == 4


def test_stop_sequence(managed):
    """The greedy answer without ``stop``, then with a word of it as ``stop``: the answer ends
    just before that word (so the server did stop there, not by chance)."""
    free = jc.chat("Count: 1, 2, 3,", model="local", temperature=0, max_tokens=24)
    words = free.text.split()
    assert len(words) >= 3, free.text
    word = words[2]
    cut = jc.chat("Count: 1, 2, 3,", model="local", temperature=0, max_tokens=24, stop=[word])
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[: free.text.index(word)]


def test_temperature_zero_is_deterministic(managed):
    a = jc.chat("Write one sentence about rivers.", model="local", temperature=0, max_tokens=20)
    b = jc.chat("Write one sentence about rivers.", model="local", temperature=0, max_tokens=20)
    assert a.text == b.text and a.text


def test_two_concurrent_requests_both_complete(managed):
    turns = jc.map(
        ["First prompt", "Second prompt"], model="local", concurrency=2, stream=True, **GREEDY
    )
    assert all(t.complete and t.text for t in turns)


def test_a_schema_constrains_even_the_small_base_model(managed):
    """json_object with the schema: llama.cpp decodes by a grammar, so the 270M base model,
    whose prose means nothing, still answers JSON that validates, first time."""
    from typing import Literal

    from pydantic import BaseModel

    class Label(BaseModel):
        label: Literal["positive", "negative", "neutral"]
        stars: int

    frame = ["Loved every minute.", "Dull and too long.", "It was fine."]
    batch = jc.map(
        frame,
        "Review: {item}",
        model="local",
        schema=Label,
        temperature=0,
        max_tokens=40,
        progress=False,
        repair=0,
    )
    assert batch.answered == 3
    for turn in batch:
        assert isinstance(turn.parsed, Label) and "repaired" not in turn.record


def test_null_content_beside_tool_calls_is_accepted(managed):
    messages = [
        {"role": "user", "content": "What is the weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    assert jc.chat(messages, model="local", **GREEDY).complete  # null sent as "": no HTTP 500


def test_interrupt_mid_stream_leaves_the_server_usable(managed):
    req = build_request(
        "local",
        None,
        [{"role": "user", "content": "A long story:"}],
        {"temperature": 0, "max_tokens": 400},
        stream=True,
    )
    call = Call(req)
    for _out in call:
        break  # leaving the loop cancels the request and closes the stream
    assert call._done.is_set() and not call.partial().complete
    assert jc.chat("Still there?", model="local", **GREEDY).complete


def test_server_killed_mid_stream_is_a_clear_error_and_the_next_use_restarts(managed):
    jc.chat("warm up", model="local", **GREEDY)
    old_pid = local.status()["pid"]
    req = build_request(
        "local",
        None,
        [{"role": "user", "content": "A long story:"}],
        {"temperature": 0, "max_tokens": 400},
        stream=True,
    )
    call = Call(req)
    got = threading.Event()

    def kill_after_first_token():
        got.wait(30)
        managed.proc.kill()

    threading.Thread(target=kill_after_first_token, daemon=True).start()
    with pytest.raises(jc.ChatError) as e:
        for _out in call:
            got.set()
    assert isinstance(e.value, (jc.StreamCutError, jc.ChatConnectionError))
    assert e.value.partial is not None and not e.value.partial.complete
    turn = jc.chat("back?", model="local", **GREEDY)
    assert turn.complete and local.status()["pid"] != old_pid


def test_local_base_url_points_at_a_server_the_user_runs(managed, monkeypatch):
    url = local.SERVER.ensure()
    monkeypatch.setenv("LOCAL_BASE_URL", url)
    local.stop()  # nothing managed now; the user's "own" server is gone too, so:
    with pytest.raises(jc.ChatConnectionError, match="cannot reach 127.0.0.1"):
        jc.chat("hi", model="local", **GREEDY)
    assert not local.status()["running"]  # LOCAL_BASE_URL set: nothing was started


# -- start-up failures ----------------------------------------------------------------------
def test_missing_model_file_is_a_clear_error(managed, monkeypatch, tmp_path):
    local.stop()
    monkeypatch.setenv("JUPYTER_CHAT_LOCAL_MODEL", str(tmp_path / "nope.gguf"))
    with pytest.raises(jc.ConfigError, match="local model not found: .*nope.gguf"):
        jc.chat("hi", model="local")


def test_configuring_a_missing_model_is_refused_then_not_at_the_first_request(managed, tmp_path):
    before = local.SERVER.settings
    with pytest.raises(jc.ConfigError, match="local model not found: .*nope.gguf"):
        local.configure(model=str(tmp_path / "nope.gguf"))
    assert local.SERVER.settings == before  # nothing changed


def test_a_file_that_is_not_a_model_fails_with_the_servers_last_lines(
    managed, monkeypatch, tmp_path
):
    local.stop()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a gguf file" * 100)
    monkeypatch.setenv("JUPYTER_CHAT_LOCAL_MODEL", str(bad))
    with pytest.raises(jc.ProviderError, match="did not start") as e:
        jc.chat("hi", model="local")
    assert "last lines" in str(e.value)
    assert not local.status()["running"]


def test_missing_package_says_how_to_install_it(managed, monkeypatch):
    import importlib.util

    local.stop()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llama_cpp" else real(name, *a),
    )
    with pytest.raises(jc.ConfigError, match=r"jupyter-chat\[local\]"):
        jc.chat("hi", model="local")


def test_forced_tool_calls_work_with_chatml_function_calling(managed):
    calls = []

    def get_weather(city: str) -> str:
        """Get the weather for a city."""
        calls.append(city)
        return "sunny"

    local.start(chat_format="chatml-function-calling")
    try:
        # Forced, the real server returns a call and the function runs in the kernel. Left to
        # choose ("auto" after the first step), this small base model calls again and again:
        # the step limit stops it with a clear error (see the README).
        with pytest.raises(jc.ChatError, match="still calling tools after 2 steps"):
            jc.chat(
                "What is the weather in Paris?",
                model="local",
                tools=[get_weather],
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
                max_steps=2,
                temperature=0,
                max_tokens=60,
            )
        assert len(calls) == 1 and isinstance(calls[0], str)
    finally:
        local.stop()
        local.SERVER.settings = local.Settings()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited


def _answers(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_server_started_from_a_short_lived_thread_outlives_it_and_dies_with_its_kernel():
    script = (
        "import threading, time, jupyter_chat\n"
        "t = threading.Thread(target=jupyter_chat.local.start); t.start(); t.join()\n"
        "st = jupyter_chat.local.status(); print(st['pid'], st['port'], flush=True)\n"
        "time.sleep(300)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOCAL_BASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        pid, port = map(int, proc.stdout.readline().split())
        time.sleep(2)  # the thread that started it ended long ago
        assert _alive(pid) and _answers(port)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)  # the kernel died by SIGKILL: its server went too


def test_an_interrupt_in_the_kernel_never_reaches_the_server(server, tmp_path):
    from kernel import PATGATEWAY_TOML, Kernel, kernel_env

    cfg = tmp_path / "config.toml"
    cfg.write_text(PATGATEWAY_TOML)
    env = {k: v for k, v in kernel_env(server, str(cfg)).items() if k != "LOCAL_BASE_URL"}
    k = Kernel(env, cwd=str(tmp_path))
    try:
        ran = k.run(  # jupyter_chat.local is there without importing it first
            "import jupyter_chat; jupyter_chat.local.start(); "
            "st = jupyter_chat.local.status(); print(st['pid'], st['port'])",
            timeout=180,
        )
        assert ran.reply["status"] == "ok", ran.error
        pid, port = map(int, ran.stdout.split())
        k.start("import time; time.sleep(30)")
        time.sleep(1)
        k.km.interrupt_kernel()
        ran = k.run("print('after')")
        assert ran.stdout == "after\n"
        assert _alive(pid) and _answers(port)
        ran = k.run(
            "t = jupyter_chat.chat('Hi', model='local', max_tokens=3); st = jupyter_chat.local"
            ".status(); print(t.complete, st['pid'], st['port'])"
        )
        assert ran.stdout == f"True {pid} {port}\n"  # the same process, not restarted
    finally:
        k.run("jupyter_chat.local.stop()")
        k.close()

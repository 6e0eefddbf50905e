"""The append-only store: one line per recording, an index that reads only what is new, a torn
last line skipped and repaired, kernels appending at once, a kernel killed mid-batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest
from dialect_server import Reply, chunk, sse

import jupyter_chat as jc
from jupyter_chat.replay.store import Store
from jupyter_chat.session.state import SESSION


def rec(key: str, answer: str = "a") -> dict:
    return {"key": key, "response": {"choices": [{"answer": answer}]}, "deltas": []}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "nb.chat.jsonl"


def test_a_recording_is_one_appended_line_and_earlier_lines_never_change(path):
    s = Store(path)
    s.put(rec("k1"))
    s.put(rec("k2"))
    before = path.read_bytes()
    s.put(rec("k1", "again"))  # a later recording of the same key wins
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3
    assert all(line.startswith(b'{"key": "') for line in after.splitlines())
    assert Store(path).get("k1")["response"]["choices"][0]["answer"] == "again"
    assert len(Store(path)) == 2 and Store(path).keys() == {"k1", "k2"}


def test_the_index_reads_only_what_was_appended_since_it_last_looked(path, monkeypatch):
    s = Store(path)
    for i in range(50):
        s.put(rec(f"k{i}"))
    reader = Store(path)
    assert len(reader) == 50
    offset = reader._offset
    Store(path).put(rec("late"))  # another writer (another kernel) appends
    seen = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda b, *a, **k: seen.append(b) or real(b, *a, **k))
    assert reader.get("late") is not None
    assert reader._offset > offset and len(seen) == 1  # indexing parsed nothing; get, one line


def test_a_torn_last_line_is_skipped_with_a_warning_and_cut_at_the_next_write(path):
    s = Store(path)
    s.put(rec("k1"))
    with path.open("ab") as f:  # a kernel killed in the middle of writing a recording
        f.write(b'{"key": "k2", "response": {"cho')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh = Store(path)
        assert fresh.keys() == {"k1"}  # the store opens; what was finished replays
    assert any("incomplete" in str(w.message) for w in caught)
    fresh.put(rec("k3"))
    lines = path.read_bytes().splitlines()
    assert [json.loads(x)["key"] for x in lines] == ["k1", "k3"]  # repaired, nothing merged
    assert Store(path).keys() == {"k1", "k3"}


def test_two_kernels_appending_at_once_lose_nothing(path):
    code = (
        "import sys\nfrom jupyter_chat.replay.store import Store\n"
        "s = Store(sys.argv[1])\n"
        "for i in range(200):\n"
        "    s.put({'key': f'{sys.argv[2]}-{i}', 'response': {'choices': []}, 'deltas': [],"
        " 'pad': 'x' * (i * 37 % 5000)})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), t]) for t in "abc"]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    lines = path.read_bytes().splitlines()
    assert len(lines) == 600 and len({json.loads(x)["key"] for x in lines}) == 600


def test_a_kernel_killed_while_recording_leaves_a_store_that_replays_what_it_finished(
    server, kernels, tmp_path, monkeypatch
):
    store = tmp_path / "batch.chat.jsonl"
    slow = Reply(
        events=sse(*(chunk(f"w{i} ") for i in range(20)), chunk(finish="stop")),
        delay=0.02,
        split=30,
    )
    server.script(*[slow] * 200)
    k = kernels(load=True)
    k.run(f"%chat replay record {store}")
    k.start(
        "jupyter_chat.map([f'prompt {i}' for i in range(200)], model='local', concurrency=8,"
        " stream=True)"
    )
    deadline = time.monotonic() + 60
    while (
        not store.exists() or store.read_bytes().count(b"\n") < 10
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(k.km.provisioner.process.pid, signal.SIGKILL)  # mid-batch, mid-write perhaps
    time.sleep(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finished = Store(store).records()
    assert 10 <= len(finished) < 200
    monkeypatch.setenv("LOCAL_BASE_URL", "http://127.0.0.1:9/v1")  # replay: no network
    SESSION.set_replay("replay", store)
    for r in finished.values():
        prompt = r["request"]["messages"][-1]["content"]
        turn = jc.chat(prompt, model="local", stream=True)
        assert turn.record["replayed"] is True and turn.text.startswith("w0 ")

"""A batch in a real kernel: the progress bar (a widget) that ends as the static summary in the
same output, the summary alone when everything replays (so a saved notebook's output is the
same however it ran), the text bar in a terminal, interrupts that keep what finished."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from dialect_server import Reply, completion, last_user_text
from kernel import kernel_env

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def fresh(k):
    k.run("SESSION.__init__(); jupyter_chat.set_replay('off')")


def test_the_bar_ends_as_the_summary_in_the_same_output(server, k, tmp_path):
    store = tmp_path / "b.chat.jsonl"
    server.script(*[Reply(body=completion("ok").body, stall=0.2) for _ in range(6)])
    ran = k.run(
        f"jupyter_chat.set_replay('auto', {str(store)!r})\n"
        "b = jupyter_chat.map([f'q{i}' for i in range(6)], model='local', concurrency=2)"
    )
    assert ran.reply["status"] == "ok", ran.error
    first = ran.of("display_data")
    bar = [m for m in first if WIDGET in m["content"]["data"]]
    assert len(bar) == 1  # one bar, shown while it ran
    display_id = bar[0]["content"]["transient"]["display_id"]
    updates = ran.of("update_display_data")
    assert updates and updates[-1]["content"]["transient"]["display_id"] == display_id
    summary = updates[-1]["content"]
    assert WIDGET not in summary["data"]
    assert (
        summary["data"]["text/plain"] == "batch: 6 items · 6 answered · 0 failed · 48 tokens · $0"
    )
    facts = summary["metadata"]["jupyter_chat_batch"]
    assert (facts["sent"], facts["replayed"]) == (6, 0)
    # the bar counted as it went: its label said how many were done
    labels = [
        m["content"]["data"]["state"]["value"]
        for m in ran.of("comm_msg")
        if "value" in m["content"].get("data", {}).get("state", {})
        and isinstance(m["content"]["data"]["state"]["value"], str)
    ]
    assert any(" done" in v and "replayed" in v for v in labels)

    # everything recorded: no bar, the same summary as the only output
    again = k.run("b = jupyter_chat.map([f'q{i}' for i in range(6)], model='local')")
    shown = again.of("display_data")
    assert len(shown) == 1 and not again.of("update_display_data")
    assert shown[0]["content"]["data"] == summary["data"]
    assert shown[0]["content"]["metadata"]["jupyter_chat_batch"]["replayed"] == 6
    assert len(server.requests) == 6


def test_failures_are_listed_and_progress_false_is_silent(server, k):
    server.script(
        completion("fine"), Reply(status=400, body={"error": {"message": "row two is bad"}})
    )
    ran = k.run(
        "b = jupyter_chat.map(['a', 'b'], model='local', concurrency=1, return_exceptions=True)"
    )
    text = ran.final["data"]["text/plain"]
    assert text.startswith("batch: 2 items · 1 answered · 1 failed")
    assert "- 1: local: row two is bad (HTTP 400)" in text
    quiet = k.run("b = jupyter_chat.map(['a'], model='local', progress=False)")
    assert quiet.displays == [] and quiet.stderr == ""


def test_an_interrupt_keeps_what_finished_and_the_rerun_sends_the_rest(server, k, tmp_path):
    store = tmp_path / "i.chat.jsonl"
    k.run(f"jupyter_chat.set_replay('auto', {str(store)!r})")

    def slow(body):
        return Reply(body=completion(last_user_text(body)).body, stall=0.4)

    server.script(*[slow] * 20)
    msg_id = k.start(
        "b = jupyter_chat.map([f'q{i}' for i in range(20)], model='local', concurrency=1)"
    )
    time.sleep(1.6)
    k.km.interrupt_kernel()
    error = k.error_of(msg_id)
    assert error["ename"] == "BatchInterrupted"
    assert "run the same batch again to send only the rest" in error["evalue"]
    assert "Traceback" not in "".join(error["traceback"])  # one line, no frames
    recorded = len(store.read_text().splitlines())
    assert 1 <= recorded < 20
    server.reset()
    server.script(*[lambda body: completion(last_user_text(body))] * 20)
    ran = k.run(
        "b = jupyter_chat.map([f'q{i}' for i in range(20)], model='local')\n"
        "print(json.dumps([b.replayed, [t.text for t in b]]))"
    )
    replayed, texts = json.loads(ran.stdout)
    assert replayed == recorded and len(server.requests) == 20 - recorded
    assert texts == [f"q{i}" for i in range(20)]


def test_a_terminal_gets_a_text_bar_on_stderr(server, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    code = (
        "import jupyter_chat\n"
        "b = jupyter_chat.map(['a', 'b', 'c'], model='local')\n"
        "print(b.answered)\n"
    )
    for argv in (
        [sys.executable, "-c", code],
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "-c", code],
    ):
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            env=kernel_env(server, str(cfg)),
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().endswith("3")
        err = out.stderr
        assert "[########################] 3/3 done · 0 failed · 0 replayed" in err
        assert "batch: 3 items · 3 answered · 0 failed · 24 tokens" in err + out.stdout

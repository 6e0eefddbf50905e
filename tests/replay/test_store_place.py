"""A store that cannot be created or appended to is refused when the mode is set (issue 20):
one clear line naming the store and what to do, nothing sent, nothing changed, the mode as it
was. Real paths (/proc, /sys, a file standing where a folder should be), a real kernel."""

from __future__ import annotations

import os

import pytest
from dialect_server import completion

import jupyter_chat as jc
from jupyter_chat.session.state import SESSION

BAD = {
    "/proc": ("/proc/x.chat.jsonl", "cannot create files in /proc"),
    "/sys": ("/sys/x.chat.jsonl", "cannot create files in /sys"),
    "under a file": ("{tmp}/notes.txt/x.chat.jsonl", "notes.txt is a file, not a folder"),
    "deep under a file": ("{tmp}/notes.txt/a/b/x.chat.jsonl", "notes.txt is a file, not a folder"),
    "a folder": ("{tmp}", "not a regular file"),
    "a device": ("/dev/null", "not a regular file"),
}


def bad_path(tmp_path, name: str) -> tuple[str, str]:
    (tmp_path / "notes.txt").write_text("keep me\n")
    path, why = BAD[name]
    return path.format(tmp=tmp_path), why


def listing(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}


@pytest.mark.parametrize("mode", ["record", "auto"])
@pytest.mark.parametrize("name", list(BAD))
def test_the_api_refuses_a_store_it_could_not_write(server, tmp_path, name, mode):
    if name == "/sys" and not os.path.isdir("/sys"):
        pytest.skip("no /sys here")
    path, why = bad_path(tmp_path, name)
    before = listing(tmp_path)
    with pytest.raises(jc.ConfigError) as err:
        jc.set_replay(mode, path)
    message = str(err.value)
    assert why in message and "as the replay store" in message and "\n" not in message
    assert "a folder you can write" in message  # what to do
    assert "bug" not in message and "NotADirectoryError" not in message
    assert SESSION.replay_mode == "off" and SESSION.store is None  # nothing changed
    assert listing(tmp_path) == before  # no store, no lock, no probe left behind
    server.script(completion("live"))
    assert jc.chat("hi", model="openai:m").text == "live"  # the mode is still off
    assert len(server.requests) == 1


def test_replay_mode_refuses_a_path_that_can_never_hold_a_store(server, tmp_path):
    path, _ = bad_path(tmp_path, "under a file")
    with pytest.raises(jc.ConfigError, match="notes.txt is a file, not a folder"):
        jc.set_replay("replay", path)
    jc.set_replay("replay", "/proc/x.chat.jsonl")  # readable, empty: replaying misses clearly
    assert server.requests == []


def test_a_good_store_is_accepted_and_nothing_is_made_until_a_turn_is_recorded(server, tmp_path):
    store = tmp_path / "new" / "folder" / "nb.chat.jsonl"
    jc.set_replay("record", store)
    assert not (tmp_path / "new").exists()  # checked for real, then undone
    assert os.listdir(tmp_path) == []
    jc.chat("hi", model="openai:m")
    assert store.is_file() and len(server.requests) == 1


@pytest.mark.parametrize("name", ["/proc", "under a file"])
def test_in_a_kernel_the_magic_fails_with_one_line_and_the_next_cell_sends_nothing_unkept(
    server, k, tmp_path, name
):
    path, why = bad_path(tmp_path, name)
    ran = k.run(f"%chat replay record {path}")
    assert ran.reply["status"] == "error"
    lines = [x for x in "".join(ran.error["traceback"]).splitlines() if x.strip()]
    assert len(lines) == 1 and why in lines[0] and "Traceback" not in lines[0], lines
    assert "bug in jupyter-chat" not in lines[0]
    assert server.requests == []
    mode = k.run("print(SESSION.replay_mode, SESSION.store)").stdout.split()
    assert mode == ["off", "None"]  # the mode as it was
    ran = k.run("%%chat -m openai:gpt-test\nhi")  # a live call: paid and shown, not lost
    assert ran.reply["status"] == "ok" and len(server.requests) == 1
    assert "not recorded" not in "".join(map(str, ran.messages))

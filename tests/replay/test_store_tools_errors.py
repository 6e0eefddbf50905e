"""``jupyter-chat store ...`` on bad input (issue 20), as a user runs it (a real subprocess):
a missing file, a junk line, a symlinked output, a folder that is not there. Each is one line
naming the file and what to do, exit 2, and changes nothing; no tool crashes on a junk line,
and dropping one keeps every good line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from store_lines import rec

from jupyter_chat.replay.store import Store

JUNK = [b"junk line", b'{"key": "x", "response": {"choices": 5}, "deltas": []}', b"[[[[[["]


def line(key: str, answer: str, when: str = "2026-01-01T00:00:00+00:00") -> bytes:
    return json.dumps(rec(key, answer, when)).encode()


def store_with(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_chat.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(ran: subprocess.CompletedProcess, *says: str) -> str:
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jupyter-chat: "), lines
    assert "Traceback" not in ran.stderr and "Error:" not in lines[0], lines
    assert "bug in jupyter-chat" not in lines[0]
    for s in says:
        assert s in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.name: (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
        for p in folder.iterdir()
    }


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "{missing}"],
        ["compact", "{missing}"],
        ["merge", "out.jsonl", "{missing}"],
        ["merge", "out.jsonl", "good.jsonl", "{missing}"],
        ["prune", "{missing}", "--notebook", "nb.ipynb"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_missing_store_is_one_line_naming_it(tmp_path, args):
    store_with(tmp_path / "good.jsonl", line("a", "1"))
    missing = tmp_path / "gone.chat.jsonl"
    before = snapshot(tmp_path)
    ran = cli("store", *[a.format(missing=missing) for a in args], cwd=tmp_path)
    one_line(ran, f"no replay store at {missing}", "Check the path")
    assert snapshot(tmp_path) == before  # no out.jsonl, nothing rewritten


def test_prune_with_a_missing_or_broken_notebook_is_one_line(tmp_path):
    store = store_with(tmp_path / "s.jsonl", line("a", "1"))
    one_line(cli("store", "prune", str(store), "--notebook", "nb.ipynb", cwd=tmp_path), "nb.ipynb")
    (tmp_path / "nb.ipynb").write_text("not a notebook")
    ran = cli("store", "prune", str(store), "--notebook", "nb.ipynb", cwd=tmp_path)
    one_line(ran, "cannot read the notebook", "nb.ipynb")
    assert store.read_bytes() == line("a", "1") + b"\n"


@pytest.mark.parametrize("junk", JUNK, ids=["text", "not a recording", "unclosed JSON"])
def test_a_junk_line_is_named_and_no_tool_crashes_or_loses_a_good_line(tmp_path, junk):
    good = [line("a", "1"), line("b", "2"), line("a", "3")]
    store = store_with(tmp_path / "s.chat.jsonl", good[0], junk, good[1], b"", good[2])
    original = store.read_bytes()

    ran = cli("store", "stats", str(store), cwd=tmp_path)  # reports, and says what to do
    assert ran.returncode == 0, ran.stderr
    assert "2 recordings in 5 lines (1 superseded)" in ran.stdout and "bad lines: 1" in ran.stdout
    assert "line 2 is bad" in ran.stderr and "--drop-bad" in ran.stderr

    for args in (["compact", str(store)], ["merge", "out.jsonl", str(store)]):
        ran = cli("store", *args, cwd=tmp_path)  # refused: nothing changed
        one_line(ran, str(store), "1 bad line: line 2", "nothing was changed", "--drop-bad")
        assert store.read_bytes() == original and not (tmp_path / "out.jsonl").exists()
    ran = cli("store", "prune", str(store), "--notebook", "nb.ipynb", cwd=tmp_path)
    one_line(ran, "line 2", "compact --drop-bad", "Then prune")
    assert store.read_bytes() == original

    ran = cli("store", "merge", "--drop-bad", "out.jsonl", str(store), cwd=tmp_path)
    assert ran.returncode == 0 and "dropped bad line 2" in ran.stderr
    assert Store(tmp_path / "out.jsonl").keys() == {"a", "b"}
    ran = cli("store", "compact", "--drop-bad", str(store), cwd=tmp_path)
    assert ran.returncode == 0 and "5 lines -> 2" in ran.stdout
    assert "dropped bad line 2" in ran.stderr
    kept = Store(store).records()  # every good recording, the latest of each
    assert {k: r["response"]["choices"][0]["answer"] for k, r in kept.items()} == {
        "a": "3",
        "b": "2",
    }


def test_many_junk_lines_are_counted_and_a_few_named(tmp_path):
    store = store_with(tmp_path / "s.jsonl", line("a", "1"), *[b"junk"] * 7)
    ran = cli("store", "compact", str(store), cwd=tmp_path)
    message = one_line(ran, "7 bad lines: line 2", "line 4", "and 4 more")
    assert "line 5" not in message


def test_a_junk_line_in_the_output_of_merge_is_refused_too(tmp_path):
    out = store_with(tmp_path / "out.jsonl", line("keep", "me"), b"junk")
    src = store_with(tmp_path / "src.jsonl", line("new", "1"))
    original = out.read_bytes()
    one_line(cli("store", "merge", str(out), str(src), cwd=tmp_path), f"{out} has 1 bad line")
    assert out.read_bytes() == original
    assert cli("store", "merge", "--drop-bad", str(out), str(src), cwd=tmp_path).returncode == 0
    assert Store(out).keys() == {"keep", "new"}


def test_store_tools_never_write_through_a_symlink(tmp_path):
    precious = store_with(tmp_path / "precious.jsonl", line("p", "mine"), b"junk")
    src = store_with(tmp_path / "src.jsonl", line("a", "1"))
    (tmp_path / "out.jsonl").symlink_to(precious)
    (tmp_path / "link.jsonl").symlink_to(src)
    before = snapshot(tmp_path)
    for args in (
        ["merge", "out.jsonl", "src.jsonl"],
        ["merge", "--drop-bad", "out.jsonl", "src.jsonl"],
        ["compact", "--drop-bad", "out.jsonl"],
        ["compact", "link.jsonl"],
        ["prune", "link.jsonl", "--notebook", "nb.ipynb"],
    ):
        ran = cli("store", *args, cwd=tmp_path)
        one_line(ran, "is a symbolic link", "nothing was changed", "Give the file itself")
        assert snapshot(tmp_path) == before, args
    # reading through a link is fine: stats, and a link as a merge source
    assert cli("store", "stats", "link.jsonl", cwd=tmp_path).returncode == 0
    assert cli("store", "merge", "all.jsonl", "link.jsonl", cwd=tmp_path).returncode == 0
    assert Store(tmp_path / "all.jsonl").keys() == {"a"}


def test_merge_into_a_folder_that_is_not_there_or_a_folder(tmp_path):
    src = store_with(tmp_path / "src.jsonl", line("a", "1"))
    ran = cli("store", "merge", "no/such/out.jsonl", str(src), cwd=tmp_path)
    one_line(ran, "cannot write", "does not exist", "Create the folder")
    (tmp_path / "dir").mkdir()
    one_line(cli("store", "merge", "dir", str(src), cwd=tmp_path), "not a regular file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "src.jsonl"]


def test_an_unreadable_store_is_one_line(tmp_path):
    store = store_with(tmp_path / "s.jsonl", line("a", "1"))
    store.chmod(0)
    if os.access(store, os.R_OK):  # root reads anything: make it a folder in the way instead
        store.chmod(0o644)
        store = tmp_path / "under.jsonl" / "x.jsonl"
        (tmp_path / "under.jsonl").write_text("a file\n")
    ran = cli("store", "stats", str(store), cwd=tmp_path)
    one_line(ran, str(store))

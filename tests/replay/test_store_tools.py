"""``jupyter-chat store stats|compact|merge|prune``."""

from __future__ import annotations

import json

from browser_lab import write_notebook
from kernel import kernel_env
from store_lines import rec

from jupyter_chat.cli import main as cli
from jupyter_chat.replay.store import Store


def test_stats_counts_recordings_superseded_lines_and_a_torn_tail(tmp_path, capsys):
    path = tmp_path / "s.chat.jsonl"
    s = Store(path)
    for key, answer in (("a", "1"), ("b", "2"), ("a", "3")):
        s.put(rec(key, answer))
    with path.open("ab") as f:
        f.write(b'{"key": "c", "resp')
    assert cli(["store", "stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 recordings in 3 lines (1 superseded)" in out and "torn last line: yes" in out
    assert "by provider: local 2" in out


def test_compact_keeps_the_latest_of_each_and_readers_follow(tmp_path, capsys):
    path = tmp_path / "c.chat.jsonl"
    s = Store(path)
    for i in range(5):
        s.put(rec("same", str(i)))
    s.put(rec("other", "x"))
    reader = Store(path)
    assert len(reader) == 2
    path.chmod(0o640)
    assert cli(["store", "compact", str(path)]) == 0
    assert path.stat().st_mode & 0o777 == 0o640  # the permissions it had
    assert "6 lines -> 2" in capsys.readouterr().out
    assert path.read_text().count("\n") == 2
    assert reader.get("same")["response"]["choices"][0]["answer"] == "4"  # re-indexed
    Store(path).put(rec("new", "y"))  # appending goes on after a compaction
    assert reader.keys() == {"same", "other", "new"}


def test_merge_takes_the_most_recent_recording_of_each_request(tmp_path, capsys):
    a, b, out = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "all.jsonl"
    Store(a).put(rec("k", "old", "2026-01-01T00:00:00+00:00"))
    Store(a).put(rec("only-a", "1"))
    Store(b).put(rec("k", "new", "2026-02-01T00:00:00+00:00"))
    Store(b).put(rec("only-b", "2"))
    assert cli(["store", "merge", str(out), str(a), str(b)]) == 0
    merged = Store(out)
    assert merged.keys() == {"k", "only-a", "only-b"}
    assert merged.get("k")["response"]["choices"][0]["answer"] == "new"


def test_prune_keeps_what_the_notebook_uses(server, tmp_path, capsys, monkeypatch):
    import nbclient
    import nbformat

    store = tmp_path / "p.chat.jsonl"
    cells = ["%load_ext jupyter_chat\n%chat replay auto p.chat.jsonl", "%%chat -m local\nKept"]
    path = write_notebook(tmp_path / "p.ipynb", cells)
    env = kernel_env(server, str(tmp_path / "none.toml"))
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    Store(store).put(rec("stale", "from a cell since deleted"))
    assert len(Store(store)) == 2
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert cli(["store", "prune", str(store), "--notebook", str(path), "--dry-run"]) == 0
    assert "1 recording unused" in capsys.readouterr().out and len(Store(store)) == 2
    assert cli(["store", "prune", str(store), "--notebook", str(path)]) == 0
    assert "2 recordings -> 1" in capsys.readouterr().out
    [kept] = Store(store).records().values()
    assert kept["request"]["messages"][-1]["content"] == "Kept"
    assert json.loads(store.read_text())["key"] == kept["key"]

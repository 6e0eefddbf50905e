"""A notebook with sweeps (``%%chat --sweep`` and ``compare(sweep=)``), recorded by nbclient
over loopback, then checked by strict nbval with no key and no provider: every column is
replayed from its own recording, and the outputs (labels, answers, the marks of what differs)
are the same as recorded."""

from __future__ import annotations

import json

from dialect_server import Reply, chunk, sse
from test_notebooks import offline_env, strict_nbval

ANSWERS = {
    0: "The sky is blue because air scatters blue light.",
    0.7: "The sky is blue because air scatters blue light.",
    1.2: "The sky is blue because tiny molecules scatter violet light.",
}
CELLS = [
    "%load_ext jupyter_chat\n%chat replay auto sweep.chat.jsonl",
    "%%chat --sweep temperature=0,0.7,1.2\nWhy is the sky blue?",
    "import jupyter_chat\n"
    "jupyter_chat.compare('Name a colour.', models=['openai:m1'], sweep={'seed': [1, 2]})",
]
COMPARE = "application/vnd.jupyter-chat.compare+json"


def answer(body: dict) -> Reply:
    text = ANSWERS.get(body.get("temperature"), f"Colour {body.get('seed')}: blue.")
    return Reply(events=sse(chunk(text), chunk(finish="stop")))


def test_a_recorded_sweep_notebook_passes_strict_nbval_offline(server, tmp_path):
    import nbclient
    import nbformat
    from browser_lab import write_notebook
    from kernel import kernel_env

    server.script(*[answer] * 5)
    path = write_notebook(tmp_path / "sweep.ipynb", CELLS)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=kernel_env(server, str(tmp_path / "none.toml")))
    nbformat.write(nb, path)
    assert len(server.requests) == 5  # a request per column
    temps = nb.cells[1].outputs[0]["data"][COMPARE]["columns"]
    assert [c["label"] for c in temps] == ["T=0", "T=0.7", "T=1.2"]
    assert temps[1]["diff"]["same"] and temps[2]["diff"]["words"] == 4
    seeds = nb.cells[2].outputs[0]["data"][COMPARE]["columns"]
    assert [c["label"] for c in seeds] == ["seed 1", "seed 2"]
    assert seeds[1]["diff"]["changed"] == [[1, 2]]
    store = (tmp_path / "sweep.chat.jsonl").read_text()
    assert len(store.strip().splitlines()) >= 5  # each column recorded

    requests = len(server.requests)
    out = strict_nbval(path, offline_env(tmp_path), tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(CELLS)} passed" in out.stdout
    assert len(server.requests) == requests  # offline: nothing was sent

    broken = json.loads(path.read_text())
    broken["cells"][1]["outputs"][0]["data"][COMPARE]["columns"][2]["diff"]["changed"] = []
    path.write_text(json.dumps(broken))
    assert strict_nbval(path, offline_env(tmp_path), tmp_path).returncode != 0  # it compares

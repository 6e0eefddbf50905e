"""Notebooks under real runners: every notebook under notebooks/ under strict nbval (outputs
compared), a notebook recorded by nbclient then checked by strict nbval offline (no key, no
reachable provider), and nbconvert on a chat notebook.

The notebooks replay their answers from the stores shipped beside them, so the outputs are the
same on every machine; scripts/record_notebooks.py re-records them against the local model.
The main job (the quickstart, live on the local model) is checked through `make quickstart`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs_under_nbval(notebook, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = str(tmp_path / "none.toml")  # the embedded default: local
    env["JUPYTER_CHAT_LOCAL_MODEL"] = str(tmp_path / "absent.gguf")  # a live call would fail
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--rootdir",
            str(tmp_path),
            str(notebook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    cells = sum(c == "code" for c in re.findall(r'"cell_type": "(\w+)"', notebook.read_text()))
    assert f"{cells} passed" in summary, summary


def test_the_main_job_runs_headless_on_the_local_model(tmp_path):
    """`make quickstart`: the quickstart, executed live (replay off) on the local model."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = str(tmp_path / "none.toml")
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "quickstart.py"), "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "quickstart ok: 3 chat turns" in out.stdout  # the three %%chat cells
    assert (tmp_path / "quickstart.ipynb").exists() and (tmp_path / "quickstart.txt").exists()
    assert "· replayed" not in (tmp_path / "quickstart.txt").read_text()  # live, not replayed


def offline_env(tmp_path) -> dict[str, str]:
    """No key, and every provider's base URL at a port where nothing listens."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    from dialect_server import DIALECTS

    for dialect in DIALECTS:
        env[dialect.upper().replace("-", "_") + "_BASE_URL"] = "http://127.0.0.1:9/v1"
    env["JUPYTER_CHAT_CONFIG"] = str(tmp_path / "none.toml")
    return env


def strict_nbval(path: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         "--rootdir", str(cwd), str(path)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )  # fmt: skip


RESEARCH_CELLS = [
    "%load_ext jupyter_chat\n%chat replay auto study.chat.jsonl",
    "%%chat -m edenai:openai/gpt-4o -t study\nSummarise the method.",
    "%%chat -m edenai:openai/gpt-4o -t study --no-stream\nAnd the result?",
    "%%chat -m eigencloud --seed 3\nA second opinion.",
    "import jupyter_chat\nturn = jupyter_chat.chat('Plain API call', model='openai:m')\n"
    "print(turn.text, turn.record['served_model'])",
    "turn",
    "%%chat --compare openai:m1,eigencloud:m2\nCompare.",
    "%chat history study",
]


def test_a_notebook_recorded_by_nbclient_passes_strict_nbval_offline(server, tmp_path):
    """The research workflow: record a notebook (streamed turns, a whole one, the API, a
    comparison) with nbclient, then check it with strict nbval with no key and no provider."""
    import nbclient
    import nbformat
    from browser_lab import write_notebook
    from kernel import kernel_env

    path = write_notebook(tmp_path / "study.ipynb", RESEARCH_CELLS)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=kernel_env(server, str(tmp_path / "none.toml")))
    nbformat.write(nb, path)
    streamed = nb.cells[1].outputs
    assert len(streamed) == 1 and "Hello from edenai." in streamed[0]["data"]["text/plain"]
    requests = len(server.requests)
    out = strict_nbval(path, offline_env(tmp_path), tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(RESEARCH_CELLS)} passed" in out.stdout
    assert len(server.requests) == requests  # offline: nothing was sent
    broken = json.loads(path.read_text())
    broken["cells"][1]["outputs"][0]["data"]["text/plain"] = "an answer never given"
    path.write_text(json.dumps(broken))
    assert strict_nbval(path, offline_env(tmp_path), tmp_path).returncode != 0  # it compares


def test_nbconvert_on_a_chat_notebook_prints_no_comm_warning(server, tmp_path):
    """The kernel only registers its comm target: an executor without the extension (here
    nbconvert) sees no comm and logs no 'No handler found for comm target'."""
    from browser_lab import write_notebook
    from kernel import kernel_env

    path = write_notebook(
        tmp_path / "plain.ipynb", ["%load_ext jupyter_chat", "%%chat -m local\nHello"]
    )
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(path)],
        capture_output=True,
        text=True,
        env=kernel_env(server, str(tmp_path / "none.toml")),
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "comm target" not in out.stderr.lower() and "comm_open" not in out.stderr, out.stderr
    assert "Hello from local." in (tmp_path / "plain.nbconvert.ipynb").read_text()


def test_the_batch_notebook_resumes_live_after_its_interruption(tmp_path):
    """batch-evaluation.ipynb live on the real local model from an empty store: the imap loop
    is interrupted after three rows, and the map that follows sends only the rows not recorded
    (the summary's metadata says how many were replayed); the saved summary line is the one
    a full replay shows."""
    import shutil

    import nbclient
    import nbformat

    source = ROOT / "notebooks" / "batch-evaluation.ipynb"
    path = tmp_path / source.name
    shutil.copy(source, path)  # the store is not copied: every answer is new
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = str(tmp_path / "none.toml")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)
    code = [c for c in nb.cells if c.cell_type == "code"]
    interrupted = next(c for c in code if "KeyboardInterrupt" in c.source)
    assert [o["ename"] for o in interrupted.outputs if o["output_type"] == "error"] == [
        "KeyboardInterrupt"
    ]
    printed = "".join(o.get("text", "") for o in interrupted.outputs)
    assert [line.split()[0] for line in printed.splitlines()] == ["r1", "r2", "r3"]
    resumed = next(c for c in code if c.source.startswith("batch = jupyter_chat.map"))
    (summary,) = resumed.outputs  # the bar became the summary, in the same output
    facts = summary["metadata"]["jupyter_chat_batch"]
    assert facts["replayed"] >= 3 and facts["sent"] == 8 - facts["replayed"]
    assert facts["failed"] == 0 and facts["spent_usd"] > 0 and facts["saved_usd"] > 0
    shipped = nbformat.read(source, as_version=4)
    shipped_summary = next(
        c for c in shipped.cells if c.get("source", "").startswith("batch = jupyter_chat.map")
    ).outputs[0]
    assert (
        summary["data"]["text/plain"].split(" · ")[:3]
        == (shipped_summary["data"]["text/plain"].split(" · ")[:3])
    )  # "batch: 8 items · 8 answered · 0 failed", live or replayed
    store = tmp_path / "batch-evaluation.chat.jsonl"
    assert len({json.loads(line)["key"] for line in store.read_text().splitlines()}) == 8

"""Every notebook under notebooks/ runs top to bottom under nbval, outputs compared (strict).

The notebooks replay their answers from the stores shipped beside them, so the outputs are the
same on every machine; scripts/record_notebooks.py re-records them against the local model.
The main job (the quickstart, live on the local model) is checked through `make quickstart`.
"""

from __future__ import annotations

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
            "--nbval-lax",
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

"""The notebooks under notebooks/ run top to bottom under nbval, against the real local model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs_under_nbval(notebook, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = str(tmp_path / "none.toml")  # the embedded default: local
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

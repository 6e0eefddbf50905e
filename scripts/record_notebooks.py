"""Re-record the notebooks' replay stores against the local model, then save their outputs.

    python scripts/record_notebooks.py [--outputs-only] [NOTEBOOK ...]

For each notebook: its store (NAME.chat.jsonl) is recorded afresh by running it with
JUPYTER_CHAT_REPLAY=record on the embedded local model (no keys, no *_BASE_URL), then the
notebook runs again in its own mode (auto: everything replays) and its outputs are saved. The
test suite (nbval) compares exactly those outputs. With --outputs-only the stores are kept and
only the outputs are saved afresh from them (after a change to how outputs are shaped).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)
    return nb


def main(paths: list[str]) -> int:
    outputs_only = "--outputs-only" in paths
    paths = [p for p in paths if p != "--outputs-only"]
    notebooks = [Path(p).resolve() for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = str(ROOT / "build" / "no-config.toml")
    for path in notebooks:
        store = path.with_name(path.stem + ".chat.jsonl")
        if not outputs_only:
            store.unlink(missing_ok=True)
            run(path, {**env, "JUPYTER_CHAT_REPLAY": "record"})
        nb = run(path, env)
        nbformat.write(nb, path)
        print(f"{path.name}: {sum(1 for _ in store.open())} recordings in {store.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run the main job without a browser: execute notebooks/quickstart.ipynb live on the embedded
local model (replay off) and say where the outputs went: an executed notebook and a plain-text
transcript, in build/quickstart/ (or --output DIR)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "quickstart.ipynb"


def transcript(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts.append(f"In [{cell.get('execution_count') or ' '}]:\n{cell.source}\n")
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain") or ""
            if out.get("output_type") == "error":
                text = f"{out['ename']}: {out['evalue']}"
            if text:
                parts.append(text if text.endswith("\n") else text + "\n")
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", default=str(ROOT / "build" / "quickstart"))
    out_dir = Path(parser.parse_args().output)
    nb = nbformat.read(SOURCE, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(SOURCE.parent)}}
    )
    failed = None
    try:
        # live: the recordings shipped beside the notebook are not used
        client.execute(env={**os.environ, "JUPYTER_CHAT_REPLAY": "off"})
    except nbclient.exceptions.CellExecutionError as exc:
        failed = exc
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / "quickstart.ipynb")
    (out_dir / "quickstart.txt").write_text(transcript(nb), encoding="utf-8")
    turns = [
        o.metadata["jupyter_chat"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "jupyter_chat" in o.get("metadata", {})
    ]
    for r in turns:
        tokens = (r.get("usage") or {}).get("total_tokens", "?")
        print(
            f"  turn: {r['provider']}:{r['model']} seed={r['params'].get('seed')} "
            f"tokens={tokens} {r['latency_ms']:.0f} ms complete={r['complete']}"
        )
    print(f"executed notebook: {out_dir / 'quickstart.ipynb'}")
    print(f"transcript:        {out_dir / 'quickstart.txt'}")
    if failed is not None:
        print(f"FAILED: {str(failed).strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    print(f"quickstart ok: {len(turns)} chat turns")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A notebook with samples cells (``%%chat --samples``, a structured answer's samples, the API's
``samples=``) recorded by nbclient, then checked by strict nbval offline: the whole distribution
replays, sample by sample, and the outputs compare equal."""

from __future__ import annotations

import json

from dialect_server import Reply, completion
from test_notebooks import offline_env, strict_nbval

from jupyter_chat.display.samples import SAMPLES_MIME

MODEL = "openai:gpt-test"
CITIES = ["Paris", "Lyon", "Nice"]


def city(body: dict) -> Reply:
    return completion(CITIES[(body.get("seed") or 0) % 3])


def test_a_recorded_samples_cell_replays_under_strict_nbval_offline(server, tmp_path):
    import nbclient
    import nbformat
    from browser_lab import write_notebook
    from kernel import kernel_env

    cells = [
        "%load_ext jupyter_chat\n%chat replay auto samples.chat.jsonl",
        f"%%chat -m {MODEL} --samples 5\nCapital?",
        f"%%chat -m {MODEL} --samples 3 --schema Grade\nGrade it.",
        "import jupyter_chat\n"
        f"t = jupyter_chat.chat('Capital?', model='{MODEL}', samples=4, seed=2)\n"
        "print(t.agreement['distinct'], [s.text for s in t.samples])",
    ]
    cells.insert(1, "Grade = {'type': 'object', 'properties': {'stars': {'type': 'integer'}}, "
                 "'required': ['stars']}")  # fmt: skip
    server.script(*[city] * 5, *[lambda b: completion(f'{{"stars": {b["seed"] % 5}}}')] * 3)
    server.script(*[city] * 4)
    path = write_notebook(tmp_path / "samples.ipynb", cells)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=kernel_env(server, str(tmp_path / "none.toml")))
    nbformat.write(nb, path)
    assert len(server.requests) == 12
    (out,) = nb.cells[2].outputs
    assert out["data"][SAMPLES_MIME]["agreement"]["k"] == 5
    fields = nb.cells[3].outputs[0]["data"][SAMPLES_MIME]["agreement"]["fields"]
    assert fields[0]["field"] == "stars" and "mean" in fields[0]
    ran = strict_nbval(path, offline_env(tmp_path), tmp_path)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert f"{len(cells)} passed" in ran.stdout
    assert len(server.requests) == 12  # offline: nothing was sent
    broken = json.loads(path.read_text())
    broken["cells"][2]["outputs"][0]["data"]["text/plain"] = "[1 sample]"
    path.write_text(json.dumps(broken))
    assert strict_nbval(path, offline_env(tmp_path), tmp_path).returncode != 0  # it compares

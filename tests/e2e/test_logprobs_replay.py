"""Token probabilities through real kernels over loopback: ``%%chat --logprobs`` streamed and
not, and ``logprobs=`` on the API, recorded by nbclient, then replayed offline byte for byte
(the outputs' data the same JSON) and under strict nbval (no key, no provider)."""

from __future__ import annotations

import json

import nbclient
import nbformat
from browser_lab import MIME, write_notebook
from kernel import kernel_env
from logprobs_data import reply_with_logprobs, tokens_of
from test_notebooks import offline_env, strict_nbval

from jupyter_chat.display import logprobs as L

STREAMED = "Token by token, the answer arrives with its probabilities, streamed."
WHOLE = "All at once, the answer arrives with its probabilities, whole."
API = "From Python too."
CELLS = [
    "%load_ext jupyter_chat\n%chat replay auto lp.chat.jsonl",
    "%%chat -m openai:gpt-test --logprobs 3\nStream it.",
    "%%chat -m openai:gpt-test --logprobs --no-stream\nAll at once.",
    "import jupyter_chat\n"
    "turn = jupyter_chat.chat('API', model='openai:gpt-test', logprobs=2, stream=True)\n"
    "print(turn.record['params']['top_logprobs'], len(turn.logprobs['content']))",
    "turn",
]


def execute(path, env, tmp_path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)
    return nb


def data_of(nb) -> list[str]:
    return [
        json.dumps(o.get("data"), sort_keys=True)
        for c in nb.cells
        for o in c.outputs
        if o["output_type"] in ("display_data", "execute_result")
    ]


def test_logprobs_record_and_replay_byte_for_byte(server, tmp_path):
    server.script(
        reply_with_logprobs(STREAMED, pieces_per_event=2),
        reply_with_logprobs(WHOLE),
        reply_with_logprobs(API),
    )
    path = write_notebook(tmp_path / "lp.ipynb", CELLS)
    live = execute(path, kernel_env(server, str(tmp_path / "none.toml")), tmp_path)
    nbformat.write(live, path)
    sent = [r.body for r in server.requests]
    assert [(b.get("stream", False), b["logprobs"], b["top_logprobs"]) for b in sent] == [
        (True, True, 3),
        (False, True, 5),  # --logprobs alone: five alternatives where the provider gives them
        (True, True, 2),
    ]
    for cell, text, k in ((1, STREAMED, 3), (2, WHOLE, 5)):
        [out] = live.cells[cell].outputs
        lp = L.unpack(out["data"][MIME]["logprobs"])
        assert lp["tokens"] == tokens_of(text) and "logprobs" not in out["metadata"]["jupyter_chat"]
        assert all(len(t) <= 2 * (k - 1) for t in lp["top"])
        assert L.footer_text(lp) in out["data"]["text/plain"]
        assert L.OPEN in out["data"]["text/markdown"]
    assert live.cells[3].outputs[0]["text"] == f"2 {len(tokens_of(API))}\n"

    # offline: the same notebook replays every output's data byte for byte
    requests = len(server.requests)
    again = execute(path, offline_env(tmp_path), tmp_path)
    assert data_of(again) == data_of(live)
    assert len(server.requests) == requests
    out = strict_nbval(path, offline_env(tmp_path), tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(CELLS)} passed" in out.stdout
    assert len(server.requests) == requests  # nothing was sent


def test_a_provider_without_logprobs_fails_the_cell_before_sending(server, k):
    ran = k.run("%%chat -m eigenai --logprobs\nhi")
    assert ran.reply["status"] == "error"
    assert "eigenai does not give token log-probabilities" in ran.reply["evalue"]
    assert server.requests == []
    ran = k.run("%%chat -m eigencloud --logprobs 3\nhi")
    assert "without alternatives" in ran.reply["evalue"] and server.requests == []

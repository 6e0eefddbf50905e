"""``evaluate(..., executor=client)`` on a real Dask ``LocalCluster`` of two worker processes
against the loopback server: the same answers, seeds and scores as the local run (each
(model, setting)'s ``map`` shards its rows to the workers)."""

from __future__ import annotations

import pytest
from dialect_server import completion, last_user_text

import jupyter_chat as jc
from jupyter_chat.experiment import numeric

distributed = pytest.importorskip("distributed")

DATA = [{"q": f"{i} + {i}?", "target": str(2 * i)} for i in range(6)]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def sums(body: dict):
    """Right for the strong model, one off for the weak one; the seed in the answer."""
    a = int(last_user_text(body).split()[1])
    right = 2 * a + (body["model"] == "weak")
    return completion(f"{right} (seed {body.get('seed')})")


def run(server, **kw):
    server.reset()
    server.script(*[sums] * 48)
    return jc.evaluate(
        DATA, "Q: {q}", models=["openai:strong", "openai:weak"], samples=2,
        scorers=[numeric(which="first")], max_tokens=8, progress=False, **kw,
    )  # fmt: skip


def test_an_experiment_on_dask_is_the_local_experiment(server, client, tmp_path):
    jc.set_replay("record", tmp_path / "local.chat.jsonl")
    here = run(server)
    jc.set_replay("record", tmp_path / "dask.chat.jsonl")
    far = run(server, executor=client)
    assert len(server.requests) == 24
    cols = ["item", "model", "sample", "answer", "numeric", "seed", "request_hash"]
    assert far.to_pandas()[cols].equals(here.to_pandas()[cols])
    assert [e["numeric"]["mean"] for e in far.summary_rows()] == [1.0, 0.0]

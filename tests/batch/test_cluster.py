"""``map(..., executor=client)`` on a real Dask ``LocalCluster`` of two worker processes against
the loopback server: the same answers, seeds and request hashes as a local run, the keys
handed over but never logged, the shards merged into the store and gone, the resume sending
nothing, a budget split across the shards never crossed; and no dask at import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dialect_server import DIALECTS, completion, last_user_text

import jupyter_chat as jc
from jupyter_chat.batch.shard import Keys
from jupyter_chat.replay.store import Store

distributed = pytest.importorskip("distributed")

KEY = DIALECTS["openai"][3]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def echo(body: dict):
    return completion(f"ok {last_user_text(body)} seed {body.get('seed')}")


def run(server, prompts, **kw):
    server.reset()
    server.script(*[echo] * len(prompts))
    return jc.map(prompts, model="openai:gpt-x", max_tokens=16, progress=False, **kw)


def test_a_dask_run_is_the_local_run_and_its_shards_merge_into_the_store(server, client, tmp_path):
    prompts = [f"row {i}" for i in range(24)]
    jc.set_replay("record", tmp_path / "local.chat.jsonl")
    here = run(server, prompts)
    jc.set_replay("record", tmp_path / "dask.chat.jsonl")
    far = run(server, prompts, executor=client)
    # every row was sent once, from the workers, with the notebook's key
    assert sorted(last_user_text(r.body) for r in server.requests) == sorted(prompts)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)
    assert [t.text for t in far] == [t.text for t in here]
    assert [t.record["params"]["seed"] for t in far] == [t.record["params"]["seed"] for t in here]
    assert far.hashes == here.hashes
    assert [t.record["request_hash"] for t in far] == here.hashes
    assert (far.answered, far.replayed, far.failed) == (24, 0, 0)
    # the shards were merged into the store (jupyter-chat store merge) and removed
    assert Store(tmp_path / "dask.chat.jsonl").keys() == set(here.hashes)
    assert not [p.name for p in tmp_path.iterdir() if ".shard-" in p.name]
    # a re-run replays all of it here: nothing is sent, nothing goes to the workers
    jc.set_replay("auto", tmp_path / "dask.chat.jsonl")
    again = run(server, prompts, executor=client)
    assert server.requests == [] and again.replayed == 24
    assert [t.text for t in again] == [t.text for t in here]


def test_an_interrupted_runs_shards_are_merged_before_the_next_run(server, client, tmp_path):
    path = tmp_path / "nb.chat.jsonl"
    jc.set_replay("record", tmp_path / "elsewhere.jsonl")
    first = run(server, ["a", "b", "c"])
    (tmp_path / "nb.chat.jsonl.shard-0").write_bytes((tmp_path / "elsewhere.jsonl").read_bytes())
    jc.set_replay("auto", path)
    again = run(server, ["a", "b", "c", "d"], executor=client)
    assert [last_user_text(r.body) for r in server.requests] == ["d"]
    assert again.replayed == 3 and [t.text for t in again[:3]] == [t.text for t in first]
    assert not list(tmp_path.glob("*.shard-*"))


def test_the_keys_travel_to_the_workers_but_are_never_shown_or_logged(server, client):
    keys = Keys({"openai": ("Authorization", "Bearer", KEY, "127.0.0.1")})
    assert KEY not in repr(keys) and KEY not in str(keys)
    run(server, ["x", "y"], executor=client)
    logs = repr(client.get_worker_logs()) + repr(client.get_scheduler_logs())
    assert KEY not in logs


def test_a_budget_is_split_across_the_shards_and_never_crossed(server, client):
    jc.set_price("openai:*", input=1000.0, output=1000.0)

    def costly(body: dict):
        usage = {"prompt_tokens": 60, "completion_tokens": 16, "total_tokens": 76}
        return completion("ok", usage=usage)

    prompts = [f"q{i}" for i in range(12)]
    server.reset()
    server.script(*[costly] * 12)
    batch = jc.map(
        prompts,
        model="openai:gpt-x",
        max_tokens=16,
        budget=0.6,
        executor=client,
        return_exceptions=True,
        progress=False,
    )
    assert 0 < batch.answered == len(server.requests) < 12
    assert batch.spent_usd <= 0.6
    assert all("not sent" in str(r) for r in batch if isinstance(r, jc.ChatError))


def test_a_wrong_executor_is_refused_before_anything_is_sent(server):
    with pytest.raises(jc.ConfigError, match="a Dask distributed Client, not ThreadPoolExecutor"):
        from concurrent.futures import ThreadPoolExecutor

        jc.map(["a"], model="openai:gpt-x", executor=ThreadPoolExecutor(), progress=False)
    assert server.requests == []


def test_importing_jupyter_chat_and_map_imports_no_dask():
    code = (
        "import sys, jupyter_chat, jupyter_chat.batch.api;"
        "assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_shard_carries_no_key_and_its_share_of_the_providers_limits(server, env):
    from jupyter_chat.batch.shard import portable
    from jupyter_chat.providers.config import CONFIG
    from jupyter_chat.session.ask import Options, prepare_call
    from jupyter_chat.session.prepare import request_hash

    env.write_text(env.read_text() + "\n[providers.openai]\nrpm = 100\nconcurrency = 9\n")
    CONFIG.__init__()
    prep = prepare_call("a", Options(model="openai:gpt-x"))
    shard = portable(prep, 2)
    assert (shard.request.profile.rpm, shard.request.profile.concurrency) == (50, 4)
    assert prep.request.profile.rpm == 100 and prep.request.auth is not None
    assert shard.request.auth is None and request_hash(shard.request) == request_hash(prep.request)


def test_the_progress_sums_what_each_shard_reports_and_shows_each(server, client):
    from jupyter_chat.batch.cluster import Sharded
    from jupyter_chat.batch.progress import ProgressView
    from jupyter_chat.batch.run import Progress

    counts = Progress(total=12)
    sharded = Sharded(client, [], [], 4, counts, lambda: None)
    sharded.n = 2
    sharded._heard((0.0, {"shard": 1, "done": 4, "failed": 1, "usd": 0.0}))
    sharded._sum((2, 0, 2))  # two rows replayed here before the shards started
    assert (counts.done, counts.failed, counts.replayed, counts.shards) == (6, 1, 2, [0, 4])
    line = ProgressView(counts, False, 0).line()
    assert line.startswith("6/12 done · 1 failed · 2 replayed") and line.endswith("shards 0 + 4")


def test_an_interrupt_stops_the_shards_keeps_what_finished_and_the_rerun_sends_the_rest(
    server, client, tmp_path
):
    import _thread
    import threading
    import time

    from dialect_server import Reply

    seen = []

    def slow(body: dict):
        """Each answer 0.5 s late; the 6th request arrives only once 2 rows have finished (2
        at once per shard): the notebook is interrupted then."""
        seen.append(body)
        if len(seen) == 6:
            threading.Timer(0.05, _thread.interrupt_main).start()
        return Reply(body=echo(body).body, stall=0.5)

    jc.set_replay("auto", tmp_path / "nb.chat.jsonl")
    prompts = [f"row {i}" for i in range(24)]
    server.script(*[slow] * 24)
    with pytest.raises(jc.BatchInterrupted) as err:
        jc.map(
            prompts,
            model="openai:gpt-x",
            max_tokens=16,
            concurrency=2,
            progress=False,
            executor=client,
        )
    sent = len(server.requests)
    time.sleep(0.5)
    assert len(server.requests) == sent < 24  # the workers stopped
    kept = Store(tmp_path / "nb.chat.jsonl").keys()
    assert 0 < len(kept) <= sent and not list(tmp_path.glob("*.shard-*"))
    assert "recorded" in str(err.value)
    server.reset()
    server.script(*[echo] * 24)
    again = run(server, prompts, executor=client)
    assert len(server.requests) == 24 - len(kept) and again.replayed == len(kept)
    assert [t.text.split(" seed")[0] for t in again] == [f"ok {p}" for p in prompts]


def test_each_shard_gets_its_rows_share_of_the_budget_and_the_token_cap():
    from jupyter_chat.batch.cluster import _share

    assert _share({"left": 1.0, "unknown": 1000, "rows": 4}, 1) == {"budget": 0.25, "unknown": 250}
    assert _share({"left": None, "unknown": "allow", "rows": 4}, 3) == {
        "budget": None,
        "unknown": "allow",
    }

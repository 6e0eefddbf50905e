"""Batches: throughput of ``jupyter_chat.map`` and ``imap`` against ``AsyncOpenAI`` with a
semaphore on the same server; structured answers' cost per turn; ``imap``'s memory at several
lengths.

    PYTHONPATH=. python benchmarks/batch.py [--quick] [--full]

The loopback server (benchmarks/_sse_server.py, its own process) answers at once, so what is
measured is each client's own cost per request:

* throughput, 1,000 and 10,000 prompts at concurrency 16 (``/fast``): ``jupyter_chat.map``
  (every request built and checked, answered, recorded in a ``Batch``) and ``imap``, vs what
  a user writes instead: ``AsyncOpenAI`` + ``asyncio.Semaphore(16)`` + ``gather``. Requests per
  second, medians; the ratio is the anchor's time over ours' inverted (ours / anchor, lower is
  better).
* structured answers (``/json``, 500 sequential ``chat()`` calls): with ``schema=`` (a pydantic
  model; response_format sent, the answer found and validated) vs without; the overhead per
  turn in microseconds, and ``Schema.parse`` alone.
* memory: ``imap`` over 10,000, 100,000 (and with ``--full`` 1,000,000) generated prompts,
  each in a fresh process, results dropped as they come: peak RSS growth over the same process
  after a 1,000-prompt warm-up, and the Python memory blocks left allocated afterwards
  (``sys.getallocatedblocks()``, after a collection). Constant memory means no blocks kept
  whatever the length; RSS also counts what the allocator holds on to.

Writes benchmarks/results/batch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time

from _common import HERE, NO_CONFIG, meta, start_server, stop_server, warn_load, write_result

CONCURRENCY = 16


def setup_env(base: str) -> None:
    for var in [v for v in os.environ if v.endswith(("_API_KEY", "_BASE_URL"))]:
        del os.environ[var]
    os.environ["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    os.environ["LOCAL_BASE_URL"] = base


def throughput(port: int, sizes: list[int], runs: int) -> dict:
    import openai

    import jupyter_chat as jc

    base = f"http://127.0.0.1:{port}/fast/v1"
    setup_env(base)
    aoai = openai.AsyncOpenAI(base_url=base, api_key="x", max_retries=0)
    loop = asyncio.new_event_loop()

    def jc_map(prompts: list[str]) -> int:
        batch = jc.map(prompts, model="local:m", concurrency=CONCURRENCY, progress=False)
        return batch.answered

    def jc_imap(prompts: list[str]) -> int:
        with jc.imap(prompts, model="local:m", concurrency=CONCURRENCY) as results:
            return sum(1 for _ in results)

    def anchor(prompts: list[str]) -> int:
        async def main() -> int:
            sem = asyncio.Semaphore(CONCURRENCY)

            async def one(p: str) -> str:
                async with sem:
                    r = await aoai.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": p}]
                    )
                    return r.choices[0].message.content or ""

            return len(await asyncio.gather(*(one(p) for p in prompts)))

        return loop.run_until_complete(main())

    clients = {"jupyter_chat.map": jc_map, "jupyter_chat.imap": jc_imap, "AsyncOpenAI": anchor}
    for fn in clients.values():  # warm-up: imports, connections
        fn([f"warm {i}" for i in range(50)])
    out: dict = {}
    for n in sizes:
        prompts = [f"Question {i}: what does line {i} of the notebook do?" for i in range(n)]
        times: dict[str, list[float]] = {k: [] for k in clients}
        for _ in range(runs):
            for name, fn in clients.items():  # alternate between clients
                t = time.perf_counter()
                assert fn(prompts) == n
                times[name].append(time.perf_counter() - t)
        out[str(n)] = {
            name: {"seconds": statistics.median(ts), "per_s": n / statistics.median(ts)}
            for name, ts in times.items()
        }
        row = out[str(n)]
        print(
            f"{n:>6} prompts: "
            + ", ".join(f"{k} {v['per_s']:,.0f}/s" for k, v in row.items())
            + f"; map/anchor {row['jupyter_chat.map']['seconds'] / row['AsyncOpenAI']['seconds']:.2f}x"
        )
    return out


def structured(port: int, turns: int, runs: int) -> dict:
    from typing import Literal

    from pydantic import BaseModel

    import jupyter_chat as jc
    from jupyter_chat.structured.schema import Schema

    setup_env(f"http://127.0.0.1:{port}/json/v1")

    class Label(BaseModel):
        label: Literal["positive", "negative"]
        stars: int

    def plain() -> None:
        for i in range(turns):
            jc.chat(f"Review {i}", model="local:m")

    def with_schema() -> None:
        for i in range(turns):
            assert jc.chat(f"Review {i}", model="local:m", schema=Label).parsed.stars == 4

    plain(), with_schema()  # warm-up
    times: dict[str, list[float]] = {"plain": [], "schema": []}
    for _ in range(runs):
        for name, fn in (("plain", plain), ("schema", with_schema)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    per = {k: statistics.median(v) / turns * 1e6 for k, v in times.items()}
    schema = Schema(Label)
    answer = '{"label": "positive", "stars": 4}'
    t = time.perf_counter()
    for _ in range(10_000):
        schema.parse(answer)
    parse_us = (time.perf_counter() - t) / 10_000 * 1e6
    out = {
        "plain_us_per_turn": per["plain"],
        "schema_us_per_turn": per["schema"],
        "overhead_us_per_turn": per["schema"] - per["plain"],
        "parse_us": parse_us,
    }
    print(
        f"structured: {per['plain']:.0f} µs a turn plain, {per['schema']:.0f} µs with a schema "
        f"(+{out['overhead_us_per_turn']:.0f} µs; Schema.parse alone {parse_us:.1f} µs)"
    )
    return out


MEMORY_CHILD = r"""
import gc, os, resource, sys, time
import jupyter_chat as jc

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
n = int(sys.argv[1])
with jc.imap((f"q{i}" for i in range(1000)), model="local:m", concurrency=16) as r:
    for _ in r:
        pass
with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark after the warm-up
    f.write("5")
base = rss()
gc.collect()
blocks = sys.getallocatedblocks()
t = time.perf_counter()
done = 0
with jc.imap((f"Question {i}?" for i in range(n)), model="local:m", concurrency=16) as r:
    for _ in r:
        done += 1
seconds = time.perf_counter() - t
gc.collect()
print(done, base, rss(), seconds, sys.getallocatedblocks() - blocks)
"""


def memory(port: int, sizes: list[int]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    env.update(
        JUPYTER_CHAT_CONFIG=NO_CONFIG,
        LOCAL_BASE_URL=f"http://127.0.0.1:{port}/fast/v1",
        PYTHONPATH=str(HERE.parent),
    )
    out = {}
    for n in sizes:
        res = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(n)],
            capture_output=True,
            text=True,
            env=env,
            timeout=7200,
        )
        if res.returncode != 0:
            raise SystemExit(res.stderr[-2000:])
        done, base, peak, seconds, blocks = res.stdout.split()
        assert int(done) == n
        out[str(n)] = {
            "growth_mb": float(peak) - float(base),
            "base_mb": float(base),
            "seconds": float(seconds),
            "blocks_kept": int(blocks),  # Python objects' memory blocks left over
        }
        print(
            f"imap {n:>9,} prompts: peak RSS +{out[str(n)]['growth_mb']:.1f} MB over "
            f"{float(base):.0f} MB, {int(blocks):+,} Python blocks kept "
            f"({float(seconds):.0f} s, {n / float(seconds):,.0f}/s)"
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 prompts, fewer runs")
    ap.add_argument("--full", action="store_true", help="also imap over 1,000,000 prompts")
    args = ap.parse_args()
    load = warn_load()
    runs = 1 if args.quick else 3
    sizes = [1000] if args.quick else [1000, 10_000]
    mem_sizes = [10_000, 100_000] + ([1_000_000] if args.full else [])
    proc, port = start_server()
    try:
        data = {
            "meta": meta(args.quick, load_avg_1min_start=load, concurrency=CONCURRENCY),
            "throughput": throughput(port, sizes, runs),
            "structured": structured(port, 200 if args.quick else 500, runs),
            "memory": memory(port, mem_sizes),
        }
    finally:
        stop_server(proc)
    write_result("batch", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``jupyter_chat.map(..., executor=client)`` on 2 local Dask worker processes against one
kernel, for the same batch: 400 prompts against a server that takes 50 ms per request.

    PYTHONPATH=. python benchmarks/cluster.py [--quick]

The loopback server (benchmarks/_sse_server.py, its own process) answers each
``POST /slow/v1/chat/completions`` after 50 ms asleep; requests on different connections wait
at the same time, so the server is never the limit. Replay is off (nothing recorded).

* ``map(prompts, concurrency=16, executor=client)``: a ``distributed.LocalCluster`` of 2
  worker processes (one thread each), each running its shard of 200 rows 16 at once; wall
  time of the whole call (rows prepared here, shipped, answered, results back in order);
* the anchor: ``map(prompts, concurrency=16)`` in this one process (the same 16 per process);
* and ``map(prompts, concurrency=32)`` here: as many requests in flight as the 2 workers
  together, which is what a kernel does when the provider allows it.

The cluster is started once, unmeasured; each client runs once unmeasured; then runs
alternate between clients; medians. Every run's answers are checked to be the same texts in
the same order. Writes benchmarks/results/cluster.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import (
    NO_CONFIG,
    meta,
    server_stats,
    start_server,
    stop_server,
    wall_results,
    warn_load,
    write_result,
)

PROMPTS = 400
DELAY_MS = 50


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs instead of 7")
    args = ap.parse_args()
    runs = 3 if args.quick else 7
    load = warn_load()
    os.environ["SSE_SLOW_MS"] = str(DELAY_MS)
    proc, port = start_server()
    for var in [v for v in os.environ if v.endswith(("_API_KEY", "_BASE_URL"))]:
        del os.environ[var]
    os.environ["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    os.environ["LOCAL_BASE_URL"] = f"http://127.0.0.1:{port}/slow/v1"
    prompts = [f"Question {i}: what does line {i} of the notebook do?" for i in range(PROMPTS)]
    try:
        import distributed

        import jupyter_chat

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)

        def kernel(c: int):
            return lambda n=PROMPTS: jupyter_chat.map(
                prompts[:n], model="local:m", concurrency=c, progress=False
            )

        def dask(n: int = PROMPTS):
            return jupyter_chat.map(
                prompts[:n], model="local:m", concurrency=16, progress=False, executor=client
            )

        clients = {
            "2 Dask workers x concurrency 16": dask,
            "one kernel, concurrency 16": kernel(16),
            "one kernel, concurrency 32": kernel(32),
        }
        expected = None
        for fn in clients.values():  # warm-up: imports, connections, the workers' imports
            assert fn(64).answered == 64
        times: dict[str, list[float]] = {k: [] for k in clients}
        peak: dict[str, int] = {}
        for i in range(runs):
            for name, fn in clients.items():
                server_stats(port, reset=True)
                t0 = time.perf_counter()
                batch = fn()
                ms = (time.perf_counter() - t0) * 1e3
                st = server_stats(port)
                texts = [t.text for t in batch]
                expected = expected or texts
                assert texts == expected and st["requests"] == PROMPTS, (name, st)
                times[name].append(ms)
                peak[name] = max(peak.get(name, 0), st["max_active"])
                print(f"   run {i + 1} {name:34} {ms:8.1f} ms  peak in flight {st['max_active']}")
        client.close()
        cluster.close()
        versions = {"distributed": distributed.__version__}
    finally:
        stop_server(proc)
    res = wall_results(times, peak)
    ours = res["2 Dask workers x concurrency 16"]["wall_ms"]
    print(f"\n{PROMPTS} prompts, server takes {DELAY_MS} ms each (median of {runs} runs)")
    for name, r in res.items():
        print(
            f"   {name:34} {r['wall_ms']:8.1f} ms  dask / it {ours / r['wall_ms']:5.2f}x  "
            f"peak in flight {r['peak_in_flight']}"
        )
    write_result(
        "cluster",
        {
            "meta": meta(
                args.quick,
                load_avg_1min_start=load,
                prompts=PROMPTS,
                delay_ms=DELAY_MS,
                workers=2,
                runs=runs,
                versions=versions,
            ),
            "results": res,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``jupyter_chat.map`` over many prompts against a server that takes 50 ms per request.

    PYTHONPATH=. python benchmarks/concurrency.py [--quick]

The loopback server (benchmarks/_sse_server.py, its own process) answers each
``POST /slow/v1/chat/completions`` with a non-streamed ``chat.completion`` after 50 ms asleep;
requests on different connections wait at the same time. 200 prompts:

* ``jupyter_chat.map(prompts, model="local:m", concurrency=16)``: wall time of the whole call
  (every prompt prepared and checked, sent, answered, results in order);
* the anchor a user would write first: a sequential loop with the openai SDK
  (``OpenAI().chat.completions.create`` per prompt);
* a concurrent anchor: ``AsyncOpenAI`` with ``asyncio.Semaphore(16)`` and ``gather``;
* the ideal: 200 / 16 x 50 ms = 625 ms (the aim: within 1.2x of it). With every request taking
  exactly 50 ms, 13 waves are needed, so 650 ms is the true floor.

Each client does one unmeasured warm-up (imports, connections); then runs alternate between
clients; medians. The server's peak of requests in progress shows the concurrency reached.
Writes benchmarks/results/concurrency.json.
"""

from __future__ import annotations

import argparse
import asyncio
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

PROMPTS = 200
CONCURRENCY = 16
DELAY_MS = 50
IDEAL_MS = PROMPTS / CONCURRENCY * DELAY_MS
AIM = 1.2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs of map, 1 sequential loop")
    args = ap.parse_args()
    runs, seq_runs = (3, 1) if args.quick else (7, 3)
    load = warn_load()

    proc, port = start_server()
    base = f"http://127.0.0.1:{port}/slow/v1"
    for var in [v for v in os.environ if v.endswith(("_API_KEY", "_BASE_URL"))]:
        del os.environ[var]
    os.environ["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    os.environ["LOCAL_BASE_URL"] = base
    prompts = [f"Question {i}: what does line {i} of the notebook do?" for i in range(PROMPTS)]
    try:
        import openai

        import jupyter_chat
        from jupyter_chat.client.runtime import RUNTIME

        oai = openai.OpenAI(base_url=base, api_key="x", max_retries=0)
        loop = asyncio.new_event_loop()
        aoai = openai.AsyncOpenAI(base_url=base, api_key="x", max_retries=0)

        def jc_map(n: int = PROMPTS) -> list[str]:
            return [
                t.text
                for t in jupyter_chat.map(prompts[:n], model="local:m", concurrency=CONCURRENCY)
            ]

        def openai_loop(n: int = PROMPTS) -> list[str]:
            return [
                oai.chat.completions.create(model="m", messages=[{"role": "user", "content": p}])
                .choices[0]
                .message.content
                for p in prompts[:n]
            ]

        def openai_gather(n: int = PROMPTS) -> list[str]:
            async def go() -> list[str]:
                sem = asyncio.Semaphore(CONCURRENCY)

                async def one(p: str) -> str:
                    async with sem:
                        r = await aoai.chat.completions.create(
                            model="m", messages=[{"role": "user", "content": p}]
                        )
                        return r.choices[0].message.content

                return await asyncio.gather(*(one(p) for p in prompts[:n]))

            return loop.run_until_complete(go())

        clients = {
            "jupyter_chat.map": (jc_map, runs),
            "openai SDK async + Semaphore(16)": (openai_gather, runs),
            "openai SDK sequential loop": (openai_loop, seq_runs),
        }
        for fn, _ in clients.values():  # warm-up: imports, connection pools
            assert all(a.startswith("ok ") for a in fn(CONCURRENCY))
        times: dict[str, list[float]] = {k: [] for k in clients}
        peak: dict[str, int] = {}
        for i in range(runs):
            for name, (fn, n) in clients.items():
                if i >= n:
                    continue
                server_stats(port, reset=True)
                t0 = time.perf_counter()
                answers = fn()
                ms = (time.perf_counter() - t0) * 1e3
                st = server_stats(port)
                assert len(answers) == PROMPTS and all(a.startswith("ok ") for a in answers), name
                assert st["requests"] == PROMPTS, (name, st)
                times[name].append(ms)
                peak[name] = max(peak.get(name, 0), st["max_active"])
                print(
                    f"   run {i + 1} {name:34} {ms:8.1f} ms  peak in flight {st['max_active']}",
                    flush=True,
                )
        loop.run_until_complete(aoai.close())
        loop.close()
        oai.close()
        connections = server_stats(port)["connections"]
        RUNTIME.close()
    finally:
        stop_server(proc)

    res = wall_results(times, peak)
    ours = res["jupyter_chat.map"]["wall_ms"]
    print(
        f"\n{PROMPTS} prompts, server takes {DELAY_MS} ms each, concurrency {CONCURRENCY} "
        f"(median of runs); ideal {IDEAL_MS:.0f} ms"
    )
    for name, r in res.items():
        print(
            f"   {name:34} {r['wall_ms']:8.1f} ms  {r['wall_ms'] / IDEAL_MS:5.2f}x ideal  "
            f"ours / it {ours / r['wall_ms']:6.3f}x  peak in flight {r['peak_in_flight']}"
        )
    ok = ours <= AIM * IDEAL_MS
    print(f"aim: map within {AIM}x of ideal ({AIM * IDEAL_MS:.0f} ms): {'met' if ok else 'MISSED'}")
    write_result(
        "concurrency",
        {
            "meta": meta(
                args.quick,
                load_avg_1min_start=load,
                prompts=PROMPTS,
                concurrency=CONCURRENCY,
                delay_ms=DELAY_MS,
                runs=runs,
                seq_runs=seq_runs,
                connections_opened=connections,
                versions={"openai": openai.__version__},
            ),
            "ideal_ms": IDEAL_MS,
            "floor_ms": -(-PROMPTS // CONCURRENCY) * DELAY_MS,
            "aim": AIM,
            "results": res,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

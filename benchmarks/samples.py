"""Samples: ``chat(prompt, samples=8)`` against a server that answers 8 at once, vs one
request, at 50 ms and at 500 ms per request.

    PYTHONPATH=. python benchmarks/samples.py [--quick]

The loopback server (benchmarks/_sse_server.py, its own process) answers each
``POST /slow/v1/chat/completions`` with a non-streamed ``chat.completion`` after 50 ms (then,
in a second server, 500 ms: a short answer from a hosted model) asleep; requests on different
connections wait at the same time, so the provider allows 8 at once.

* ``jupyter_chat.chat(prompt, samples=8)``: wall time of the whole call (8 requests prepared
  with their derived seeds, sent at once, answered, the agreement worked out, one filed);
* the anchor: ``jupyter_chat.chat(prompt)``, one request (the aim: 8 samples within 1.2x of it);
* for scale: the same 8 seeds asked one after another with ``jupyter_chat.chat`` in a loop.

Each runs once unmeasured (imports, connections); then runs alternate between them; medians.
The server's peak of requests in progress shows the concurrency reached.
Writes benchmarks/results/samples.json.
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

K = 8
DELAYS_MS = (50, 500)
AIM = 1.2
PROMPT = "Name one prime number between 10 and 50."


def measure(delay_ms: int, runs: int) -> dict:
    """Median wall times of the three clients against a server taking ``delay_ms``."""
    os.environ["SSE_SLOW_MS"] = str(delay_ms)
    proc, port = start_server()
    for var in [v for v in os.environ if v.endswith(("_API_KEY", "_BASE_URL"))]:
        del os.environ[var]
    os.environ["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    os.environ["LOCAL_BASE_URL"] = f"http://127.0.0.1:{port}/slow/v1"
    try:
        import jupyter_chat
        from jupyter_chat.session.seeds import sample_seeds

        def one(seed: int) -> list[str]:
            return [jupyter_chat.chat(PROMPT, model="local:m", seed=seed).text]

        def samples(seed: int) -> list[str]:
            turn = jupyter_chat.chat(PROMPT, model="local:m", seed=seed, samples=K)
            assert turn.agreement["k"] == K
            return [t.text for t in turn.samples]

        def loop(seed: int) -> list[str]:
            return [
                jupyter_chat.chat(PROMPT, model="local:m", seed=s).text
                for s in sample_seeds(seed, K)
            ]

        clients = {
            f"chat(samples={K})": (samples, K),
            "chat(), one request": (one, 1),
            f"{K} x chat() in a loop": (loop, K),
        }
        for fn, n in clients.values():  # warm-up
            assert len(fn(0)) == n
        times: dict[str, list[float]] = {k: [] for k in clients}
        peak: dict[str, int] = {}
        for i in range(runs):
            for name, (fn, n) in clients.items():
                if name.endswith("loop") and i >= max(1, runs // 5):
                    continue  # for scale only: a few runs
                server_stats(port, reset=True)
                t0 = time.perf_counter()
                answers = fn(i + 1)
                ms = (time.perf_counter() - t0) * 1e3
                st = server_stats(port)
                assert len(answers) == n and all(a.startswith("ok ") for a in answers), name
                assert st["requests"] == n, (name, st)
                times[name].append(ms)
                peak[name] = max(peak.get(name, 0), st["max_active"])
    finally:
        stop_server(proc)
    res = wall_results(times, peak)
    ours = res[f"chat(samples={K})"]["wall_ms"]
    single = res["chat(), one request"]["wall_ms"]
    print(f"\n{K} samples, server takes {delay_ms} ms per request, {K} at once (medians)")
    for name, r in res.items():
        print(
            f"   {name:24} {r['wall_ms']:8.1f} ms  samples / it {ours / r['wall_ms']:5.2f}x  "
            f"peak in flight {r['peak_in_flight']}"
        )
    print(
        f"aim: {K} samples within {AIM}x of one request: {'met' if ours <= AIM * single else 'MISSED'}"
    )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 runs instead of 15")
    args = ap.parse_args()
    runs = 5 if args.quick else 15
    load = warn_load()
    results = {str(d): measure(d, runs if d < 100 else max(3, runs // 3)) for d in DELAYS_MS}
    from jupyter_chat.client.runtime import RUNTIME

    RUNTIME.close()
    write_result(
        "samples",
        {
            "meta": meta(args.quick, load_avg_1min_start=load, k=K, runs=runs),
            "aim": AIM,
            "delays_ms": list(DELAYS_MS),
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

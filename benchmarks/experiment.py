"""Experiments: ``evaluate`` over 1,000 items x 2 models x 3 samples (6,000 requests) against
the same requests through plain ``map``, and what scoring costs per answer.

    PYTHONPATH=. python benchmarks/experiment.py [--quick]

The loopback server (benchmarks/_sse_server.py, its own process) answers each
``POST /fast/v1/chat/completions`` at once with a non-streamed ~200-character answer.

* ``jupyter_chat.evaluate(items, "Q: {q}", models=[A, B], samples=3, scorers=["exact"],
  concurrency=16)``: wall time of the whole call (every request prepared, sent, answered,
  regrouped per item, then scored and gathered into an ``Experiment``, its summary worked
  out with intervals);
* the anchor: the same 6,000 requests through ``jupyter_chat.map(prompts, model=M,
  samples=3, concurrency=16)``, once per model (the aim: within 1.1x);
* scoring: ``experiment.rescore([scorer])`` over the 6,000 stored answers for each built-in
  scorer and a Python function, time per answer (no request is sent).

Replay is off (nothing recorded). Each runs once unmeasured; then runs alternate; medians.
Writes benchmarks/results/experiment.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _common import (
    NO_CONFIG,
    meta,
    server_stats,
    start_server,
    stop_server,
    warn_load,
    write_result,
)

ITEMS = 1000
MODELS = ["local:a", "local:b"]
K = 3
CONCURRENCY = 16
AIM = 1.1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    args = ap.parse_args()
    runs = 2 if args.quick else 5
    load = warn_load()
    proc, port = start_server()
    for var in [v for v in os.environ if v.endswith(("_API_KEY", "_BASE_URL"))]:
        del os.environ[var]
    os.environ["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    os.environ["LOCAL_BASE_URL"] = f"http://127.0.0.1:{port}/fast/v1"
    items = [{"q": f"question {i}", "target": f"answer {i}"} for i in range(ITEMS)]
    prompts = [f"Q: question {i}" for i in range(ITEMS)]
    total = ITEMS * len(MODELS) * K
    try:
        import jupyter_chat as jc
        from jupyter_chat.experiment import contains, exact, json_valid, match, numeric, regex

        def run_evaluate() -> object:
            exp = jc.evaluate(
                items,
                "Q: {q}",
                models=MODELS,
                samples=K,
                scorers=["exact"],
                concurrency=CONCURRENCY,
                progress=False,
            )
            assert exp.answered == total and len(exp.summary_rows()) == len(MODELS)
            return exp

        def run_map() -> object:
            batches = [
                jc.map(prompts, model=m, samples=K, concurrency=CONCURRENCY, progress=False)
                for m in MODELS
            ]
            assert sum(len(b.draws) for b in batches) == total
            return batches

        clients = {"evaluate": run_evaluate, "map per model": run_map}
        for fn in clients.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {k: [] for k in clients}
        exp = None
        for _ in range(runs):
            for name, fn in clients.items():
                server_stats(port, reset=True)
                t0 = time.perf_counter()
                out = fn()
                times[name].append((time.perf_counter() - t0) * 1e3)
                assert server_stats(port)["requests"] == total, name
                if name == "evaluate":
                    exp = out
        assert exp is not None

        def python_scorer(answer, target):
            return answer.endswith(target)

        scorers = {
            "exact": exact(),
            "match": match(),
            "contains": contains(),
            "regex": regex(r"\bok\b"),
            "numeric": numeric(),
            "json_valid": json_valid(),
            "Python function": python_scorer,
        }
        scoring: dict[str, float] = {}
        for name, s in scorers.items():
            per = []
            for _ in range(3):
                server_stats(port, reset=True)
                t0 = time.perf_counter()
                exp.rescore([s])  # type: ignore[attr-defined]
                per.append((time.perf_counter() - t0) * 1e6 / total)
                assert server_stats(port)["requests"] == 0
            scoring[name] = statistics.median(per)
    finally:
        stop_server(proc)
    from jupyter_chat.client.runtime import RUNTIME

    RUNTIME.close()
    res = {
        name: {"wall_ms": statistics.median(t), "runs_ms": [round(x) for x in t]}
        for name, t in times.items()
    }
    ours, anchor = res["evaluate"]["wall_ms"], res["map per model"]["wall_ms"]
    print(f"\n{ITEMS:,} items x {len(MODELS)} models x {K} samples = {total:,} requests (medians)")
    for name, r in res.items():
        print(
            f"   {name:16} {r['wall_ms']:9,.0f} ms  {total / r['wall_ms'] * 1e3:7,.0f} requests/s"
        )
    print(
        f"   ratio {ours / anchor:.3f}x (aim <= {AIM}x): {'met' if ours <= AIM * anchor else 'MISSED'}"
    )
    print("scoring per answer (rescore, no requests):")
    for name, us in scoring.items():
        print(f"   {name:16} {us:8.2f} µs")
    write_result(
        "experiment",
        {
            "meta": meta(
                args.quick,
                load_avg_1min_start=load,
                items=ITEMS,
                models=MODELS,
                k=K,
                concurrency=CONCURRENCY,
                runs=runs,
            ),
            "aim": AIM,
            "results": res,
            "scoring_us_per_answer": scoring,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What OpenTelemetry tracing costs a turn: CPU per streamed turn with an SDK configured, with
the API imported but no SDK, and with neither, as ratios.

    PYTHONPATH=. python benchmarks/telemetry.py [--quick]

Each configuration runs in a fresh process (a tracer provider is set once per process) against
the loopback server (benchmarks/_sse_server.py, its own process: its CPU is not counted):

* ``off``: nothing in the process imports OpenTelemetry (jupyter-chat then imports nothing and
  looks nothing up but ``sys.modules``);
* ``api``: ``opentelemetry.trace`` imported, no SDK (the proxy provider: nothing records);
* ``sdk``: the SDK's ``TracerProvider`` with a ``BatchSpanProcessor`` and an exporter that
  drops what it is given (what a real exporter does on its own thread is not ours).

Measured: process CPU (every thread) per ``chat(..., stream=True)`` of 10 chunks after a
warm-up, the median of several runs, and the span alone (``telemetry.turn_span`` on a finished
turn, repeated). Ratios against ``off``. Writes benchmarks/results/telemetry.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _common import HERE, NO_CONFIG, ROOT, meta, start_server, stop_server, warn_load, write_result

CONFIGS = ("off", "api", "sdk")

ONE_RUN = """
import json, os, sys, time
mode, turns = sys.argv[1], int(sys.argv[2])
if mode in ("api", "sdk"):
    from opentelemetry import trace
if mode == "sdk":
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)
import jupyter_chat as jc
from jupyter_chat.session import telemetry
from jupyter_chat.session.ask import Options, prepare_call

def turn():
    return jc.chat("Say hello.", model="local:m", stream=True, thread="bench")

for _ in range(50):  # warm: the client, the loop thread, the profiles, the tracer
    last = turn()
cpu0 = time.process_time()
for _ in range(turns):
    last = turn()
per_turn = (time.process_time() - cpu0) / turns
prep = prepare_call("Say hello.", Options(model="local:m", stream=True, thread="bench"))
class Meta:
    latency_ms, ttft_ms = 1.0, 0.5
reps = 5000
cpu0 = time.process_time()
for _ in range(reps):
    telemetry.turn_span(prep, last, Meta())
span = (time.process_time() - cpu0) / reps
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print(json.dumps({"turn_us": per_turn * 1e6, "span_us": span * 1e6, "otel_modules": len(loaded)}))
"""


def one(mode: str, port: int, turns: int) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL"))
        and not k.startswith(("JUPYTER_CHAT_", "OTEL_"))
    }
    env.update(
        JUPYTER_CHAT_CONFIG=NO_CONFIG,
        LOCAL_BASE_URL=f"http://127.0.0.1:{port}/bulk/v1",
        PYTHONPATH=str(ROOT),
    )
    out = subprocess.run(
        [sys.executable, "-c", ONE_RUN, mode, str(turns)],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer turns and runs")
    args = ap.parse_args()
    load = warn_load()
    runs, turns = (3, 200) if args.quick else (7, 500)
    proc, port = start_server(10)
    samples: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    try:
        for _ in range(runs):  # interleaved, so a slow moment of the machine hits all alike
            for mode in CONFIGS:
                samples[mode].append(one(mode, port, turns))
    finally:
        stop_server(proc)
    results = {}
    for mode in CONFIGS:
        results[mode] = {
            "turn_us": statistics.median(s["turn_us"] for s in samples[mode]),
            "span_us": statistics.median(s["span_us"] for s in samples[mode]),
            "otel_modules": samples[mode][0]["otel_modules"],
        }
    off = results["off"]["turn_us"]
    for mode in CONFIGS:
        r = results[mode]
        r["ratio_to_off"] = r["turn_us"] / off
        print(
            f"{mode:>3}: {r['turn_us']:8.1f} µs CPU per streamed turn ({r['ratio_to_off']:.3f}x "
            f"off); the span alone {r['span_us']:6.2f} µs; {r['otel_modules']} opentelemetry "
            "modules loaded"
        )
    data = {
        "meta": meta(args.quick, load_avg_1min_start=load, turns=turns, runs=runs, chunks=10),
        "results": results,
    }
    write_result("telemetry", data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

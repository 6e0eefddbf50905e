"""Recording and replaying batches: the append-only store at several sizes.

    PYTHONPATH=. python benchmarks/store.py [--quick]

Every figure is measured in its own process (so peak RSS is that batch's), against the
loopback server (benchmarks/_sse_server.py, its own process), which streams a 10-chunk answer
for each request (``/bulk/v1``):

* ``jupyter_chat.map`` over N prompts at concurrency 16, streamed, with replay off (the anchor)
  and in record mode (each turn appended to the store as it completes): time per turn, the
  ratio record / off (the aim: at most 1.2x at 10,000 turns), store size, peak RSS;
* the same batch replayed from that store with the provider unreachable: time per turn;
* a fresh process that opens a store of N recordings (``%chat replay replay``: the index is
  built) and replays one turn: wall time (the aim: well under a second at 100,000). The
  100,000-recording store is the 10,000 one's lines repeated under new keys (the same line
  sizes as real recordings), because recording 100,000 turns live takes too long here.

Writes benchmarks/results/store.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import NO_CONFIG, meta, start_server, stop_server, warn_load, write_result

HERE = Path(__file__).resolve().parent
CONCURRENCY = 16
AIM_RECORD = 1.2
AIM_OPEN_MS = 1000

BATCH = r"""
import json, os, resource, sys, time
import jupyter_chat
from jupyter_chat.session.state import SESSION
n, mode, store = int(sys.argv[1]), sys.argv[2], sys.argv[3]
prompts = [f"Item {i}: classify this review as positive or negative." for i in range(n)]
if mode != "off":
    SESSION.set_replay(mode, store)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
turns = jupyter_chat.map(prompts, model="local:m", concurrency=16, stream=True)
wall = time.perf_counter() - t0
assert len(turns) == n and all(t.text for t in turns)
assert all(t.record["replayed"] for t in turns) == (mode == "replay")
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
print(json.dumps({"wall_s": wall, "ms_per_turn": wall * 1e3 / n, "peak_growth_mb": peak}))
"""

OPEN = r"""
import json, sys, time
t0 = time.perf_counter()
import jupyter_chat
from jupyter_chat.session.state import SESSION
t1 = time.perf_counter()
SESSION.set_replay("replay", sys.argv[1])
turn = jupyter_chat.chat(sys.argv[2], model="local:m", stream=True)
t2 = time.perf_counter()
assert turn.record["replayed"] and turn.text
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "open_and_replay_ms": (t2 - t1) * 1e3}))
"""


def run(code: str, *args: str, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def grow(src: Path, dst: Path, n: int) -> None:
    """A store of ``n`` recordings made of ``src``'s lines under new keys."""
    lines = src.read_bytes().splitlines()
    with dst.open("wb") as f:
        for i in range(n - len(lines)):
            line = lines[i % len(lines)]
            key_end = line.index(b'",', 9)
            f.write(b'{"key": "sha256:grown-%09d' % i + line[key_end:] + b"\n")
        f.write(b"\n".join(lines) + b"\n")  # the real ones last: the replayed turn is one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 and 10,000 turns, one run each")
    args = ap.parse_args()
    sizes = [1_000, 10_000]
    runs = 1 if args.quick else 2
    load = warn_load()
    proc, port = start_server()
    tmp = Path(tempfile.mkdtemp(prefix="jc-bench-store-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env.update(JUPYTER_CHAT_CONFIG=NO_CONFIG, LOCAL_BASE_URL=f"http://127.0.0.1:{port}/bulk/v1")
    offline = {**env, "LOCAL_BASE_URL": "http://127.0.0.1:9/v1"}
    results: dict = {}
    try:
        run(BATCH, "100", "off", "-", env=env)  # warm-up: caches, the server
        for n in sizes:
            best: dict = {}
            for _ in range(runs):  # alternate, keep each mode's fastest run
                store = tmp / f"b{n}.chat.jsonl"
                store.unlink(missing_ok=True)
                for mode in ("off", "record"):
                    r = run(BATCH, str(n), mode, str(store), env=env)
                    if mode not in best or r["wall_s"] < best[mode]["wall_s"]:
                        best[mode] = r
            best["record"]["store_mb"] = store.stat().st_size / 1e6
            best["replay"] = run(BATCH, str(n), "replay", str(store), env=offline)
            best["open"] = run(
                OPEN,
                str(store),
                "Item 0: classify this review as positive or negative.",
                env=offline,
            )
            results[f"{n}"] = best
            r = best
            print(
                f"{n:>7,} turns: off {r['off']['ms_per_turn']:.3f} ms/turn, record "
                f"{r['record']['ms_per_turn']:.3f} ms/turn "
                f"({r['record']['wall_s'] / r['off']['wall_s']:.2f}x), store "
                f"{r['record']['store_mb']:.1f} MB, replay {r['replay']['ms_per_turn']:.3f} ms/turn, "
                f"open + one turn {r['open']['open_and_replay_ms']:.0f} ms; peak RSS growth off "
                f"{r['off']['peak_growth_mb']:.0f} MB, record {r['record']['peak_growth_mb']:.0f} MB",
                flush=True,
            )
        big = tmp / "b100000.chat.jsonl"
        grow(tmp / f"b{sizes[-1]}.chat.jsonl", big, 100_000)
        results["100000"] = {
            "open": run(
                OPEN, str(big), "Item 0: classify this review as positive or negative.", env=offline
            ),
            "store_mb": big.stat().st_size / 1e6,
        }
        print(
            f"100,000 recordings ({results['100000']['store_mb']:.0f} MB): open + one turn "
            f"{results['100000']['open']['open_and_replay_ms']:.0f} ms",
            flush=True,
        )
    finally:
        stop_server(proc)
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    write_result(
        "store",
        {
            "meta": meta(args.quick, load=load, concurrency=CONCURRENCY),
            "aims": {"record_ratio_at_10000": AIM_RECORD, "open_ms_at_100000": AIM_OPEN_MS},
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

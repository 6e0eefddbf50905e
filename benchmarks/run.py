"""Every benchmark in one command, summed up in one table of ratios against anchors.

    python benchmarks/run.py [--quick] [--only CASE,...]      (or: make bench)

Runs each case module in its own process, in this order (each writes
benchmarks/results/CASE.json and prints its own details):

* footprint.py: install size on top of IPython + ipywidgets, vs jupyter-ai-magics and chatlab
  (first: it may install its anchors, so it must not overlap the timed cases);
* client.py: client CPU per streamed chunk, warm time to first token, import time, vs the
  openai SDK and bare httpx-sse;
* magics.py: ``%load_ext`` vs jupyter-ai-magics; a 2,000-token answer rendered in a kernel vs
  updating the display on every chunk;
* extension.py: the same answer with the JupyterLab extension's hello answered (deltas over a
  comm), vs the answer's own size;
* logprobs.py: the same answer asked with ``--logprobs K`` (K = 0, 5, 20): the bytes sent to
  the browser (with the extension and without) and added to the saved notebook, vs the
  answer's size and the same turn without logprobs;
* lab_render.py: a ~3,000-token Markdown answer with 200 formulas streamed into JupyterLab in
  Chromium: main-thread long tasks while streaming and the final render time, vs the aims;
* concurrency.py: ``jupyter_chat.map`` over 200 prompts at concurrency 16 against a 50 ms
  server, vs the ideal and the openai SDK;
* samples.py: ``chat(prompt, samples=8)`` against a server that answers 8 at once (50 ms, then
  500 ms per request), vs one request and vs the 8 asked in a loop;
* memory.py: peak RSS growth for a 1,000-turn thread and a 10 MB streamed answer, vs bare
  httpx and the openai SDK;
* store.py: recording and replaying batches of 1,000 and 10,000 turns vs the same batch with
  replay off, and opening stores of 1,000 to 100,000 recordings to replay one turn;
* batch.py: ``map`` and ``imap`` over 1,000 and 10,000 prompts vs ``AsyncOpenAI`` with a
  semaphore, the structured-answer overhead per turn, ``imap``'s memory at 10,000 and 100,000
  prompts (1,000,000 with ``benchmarks/batch.py --full``);
* experiment.py: ``evaluate`` over 1,000 items x 2 models x 3 samples vs the same requests
  through plain ``map``, and scoring cost per answer for each built-in scorer;
* cluster.py: ``map(..., executor=client)`` on 2 local Dask worker processes vs one kernel,
  400 prompts against a 50 ms server;
* telemetry.py: CPU per streamed turn with an OpenTelemetry SDK configured and with the API
  alone, vs nothing traced.

Anchors are installed on first use into benchmarks/.anchors/ (git-ignored). Every figure is
measured in this run on this machine; ratios are jupyter-chat / anchor (lower is better);
medians over several runs (fewer with --quick). Prints the table and writes it as
benchmarks/results/all.json and benchmarks/results/all.md. Exits 1 if a case failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CASES = (
    "footprint",
    "client",
    "magics",
    "extension",
    "logprobs",
    "lab_render",
    "concurrency",
    "samples",
    "memory",
    "store",
    "batch",
    "experiment",
    "cluster",
    "telemetry",
)


# -- formatting --------------------------------------------------------------------------------
def n(v: float, digits: int = 0) -> str:
    return f"{v:,.{digits}f}"


def ms(v: float) -> str:
    return f"{v:,.0f} ms" if abs(v) >= 100 else f"{v:.1f} ms" if abs(v) >= 10 else f"{v:.2f} ms"


def mb(v: float) -> str:
    return f"{v:,.0f} MB" if abs(v) >= 100 else f"{v:.1f} MB" if abs(v) >= 1 else f"{v:.2f} MB"


def x(a: float, b: float) -> str:
    if not b:
        return "n/a"
    r = a / b
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x" if r >= 0.01 else f"{r:.4f}x"


def met(ok: bool | None) -> str:
    return "-" if ok is None else "yes" if ok else "NO"


Row = dict[str, str]


def row(case: str, ours: str, anchors: str, ratio: str, aim: str, ok: bool | None) -> Row:
    return {
        "case": case,
        "jupyter-chat": ours,
        "anchor(s)": anchors,
        "ratio": ratio,
        "aim": aim,
        "met?": met(ok),
    }


# -- one function per case: its JSON -> table rows -----------------------------------------------
def rows_footprint(d: dict) -> list[Row]:
    r = d["results"]
    ours = r["jupyter-chat"]["on_top_mb"]
    anchors = [(k, r[k]["on_top_mb"]) for k in ("jupyter-ai-magics", "chatlab") if k in r]
    aim = d["meta"].get("aim_mb", 15)
    note = "" if r["jupyter-chat"]["measured"].startswith("wheel") else " (deps + own files)"
    return [
        row(
            "7. install size on top of IPython + ipywidgets",
            mb(ours) + note,
            "; ".join(f"{k} {mb(v)}" for k, v in anchors),
            " / ".join(x(ours, v) for _, v in anchors),
            f"< {aim:.0f} MB",
            ours < aim,
        )
    ]


def rows_client(d: dict) -> list[Row]:
    out = []
    for framing, label in (
        ("per-event", "one HTTP chunk per event"),
        ("coalesced", "coalesced reads"),
    ):
        c = {k: v["cpu_us_per_chunk"] for k, v in d["cpu"][framing].items()}
        ours, oai, sse = c["jupyter_chat Call"], c["openai SDK"], c["httpx-sse"]
        out.append(
            row(
                f"2. client CPU per streamed chunk ({label})",
                f"{ours:.1f} µs",
                f"openai SDK {oai:.0f} µs; httpx-sse {sse:.1f} µs",
                f"{x(ours, oai)} / {x(ours, sse)}",
                "<= 1.33x httpx-sse (20 vs 15 µs)",
                ours / sse <= 20 / 15,
            )
        )
    t = d["ttft"]
    ours, oai, sse = (t[k]["overhead_ms"] for k in ("jupyter_chat Call", "openai SDK", "httpx-sse"))
    out.append(
        row(
            "3. warm TTFT, overhead over a raw socket's",
            f"+{ours:.2f} ms",
            f"openai SDK +{oai:.2f} ms; httpx-sse +{sse:.2f} ms",
            f"{x(ours, oai)} / {x(ours, sse)}",
            "< 1.5 ms",
            ours < 1.5,
        )
    )
    i = d["import"]
    ours, oai, sse = (i[k]["import_ms"] for k in ("jupyter_chat", "openai SDK", "httpx-sse"))
    out.append(
        row(
            "extra: `import jupyter_chat`, fresh interpreter",
            ms(ours),
            f"openai SDK {ms(oai)}; httpx-sse {ms(sse)}",
            f"{x(ours, oai)} / {x(ours, sse)}",
            "loads no httpx or pydantic",
            i["jupyter_chat"]["lazy_ok"],
        )
    )
    return out


def rows_load_ext(d: dict) -> list[Row]:
    e = d["load_ext"]
    ours, ai = e["jupyter_chat"], e.get("jupyter_ai_magics")
    aims = d["meta"]["aims"]
    ok = (
        ours["cpu_ms"] < aims["load_ext_cpu_ms"]
        and ours["lazy_ok"]
        and (ai is None or ai["cpu_ms"] >= aims["load_ext_speedup"] * ours["cpu_ms"])
    )
    return [
        row(
            "1. `%load_ext` in a fresh kernel: CPU (modules added)",
            f"{ms(ours['cpu_ms'])} ({ours['modules']:.0f})",
            f"jupyter-ai-magics {ms(ai['cpu_ms'])} ({ai['modules']:.0f})"
            if ai
            else "jupyter-ai-magics not installed",
            x(ours["cpu_ms"], ai["cpu_ms"]) if ai else "n/a",
            f"< {aims['load_ext_cpu_ms']} ms, >= {aims['load_ext_speedup']}x faster",
            ok,
        )
    ]


def rows_render(d: dict) -> list[Row]:
    out = []
    aims = d["meta"]["aims"]
    seconds = d["meta"].get("paced_seconds", 4)
    for mode, label in (("paced", f"over {seconds:.0f} s"), ("fast", "at once")):
        r = d["render"][mode]
        ours, naive = r["jupyter_chat"], r["naive"]
        out.append(
            row(
                f"4. 2,000-token answer {label}: display messages / MB",
                f"{ours['messages']:.0f} / {mb(ours['bytes'] / 1e6)}",
                f"update on every chunk: {n(naive['messages'])} / {mb(naive['bytes'] / 1e6)}",
                f"{x(ours['messages'], naive['messages'])} / {x(ours['bytes'], naive['bytes'])}",
                "< 250 / < 1.5 MB",
                ours["messages"] < aims["messages"] and ours["bytes"] / 1e6 < aims["mb"],
            )
        )
    return out


def rows_extension(d: dict, naive: dict | None) -> list[Row]:
    out = []
    answer = d["meta"]["answer_chars"]
    for mode, label in (("paced", "over 4 s"), ("fast", "at once")):
        r = d["results"][mode]
        anchors = f"the answer: {answer / 1e3:.0f} KB"
        ratio = f"{r['bytes'] / answer:.2f}x the answer"
        if naive:
            nb = naive[mode]["naive"]["bytes"]
            anchors += f"; update on every chunk: {mb(nb / 1e6)}"
            ratio += f" / {x(r['bytes'], nb)}"
        out.append(
            row(
                f"4. the same {label}, Lab extension present: display + comm bytes (comm messages)",
                f"{r['bytes'] / 1e3:.1f} KB ({r['comm_messages']:.0f})",
                anchors,
                ratio,
                f"<= {d['aim_ratio']:.0f}x the answer",
                r["bytes"] / answer <= d["aim_ratio"],
            )
        )
    return out


def rows_logprobs(d: dict) -> list[Row]:
    out = []
    answer = d["meta"]["answer_chars"]
    ext = d["results"]["extension"]
    base = ext["none"]
    for k in ("0", "5", "20"):
        r = ext[k]
        out.append(
            row(
                f"4. the same answer with `--logprobs {k}`, Lab extension present: bytes to the "
                "browser / added to the saved notebook",
                f"{r['browser_bytes'] / 1e3:,.0f} KB / +{r['saved_added'] / 1e3:,.0f} KB",
                f"the answer {answer / 1e3:,.0f} KB; without logprobs "
                f"{base['browser_bytes'] / 1e3:,.0f} KB / {base['saved_bytes'] / 1e3:,.0f} KB saved",
                f"{x(r['browser_bytes'], answer)} / {x(r['saved_added'], answer)} the answer",
                "measured (none set)",
                None,
            )
        )
    return out


def rows_lab_render(d: dict) -> list[Row]:
    s, aims = d["summary"], d["aims_ms"]
    label = (
        f"4. {s['tokens']:,.0f}-token answer, {s['formulas']:.0f} formulas, streamed into "
        f"JupyterLab at {d['meta']['tokens_per_s']:.0f} tokens/s"
    )
    return [
        row(
            f"{label}: longest main-thread task while streaming (long tasks)",
            f"{ms(s['longest_streaming_ms'])} ({s['longtasks_streaming']:.0f})",
            "-",
            x(s["longest_streaming_ms"], aims["longest_streaming"]) + " the aim",
            f"<= {aims['longest_streaming']:.0f} ms",
            s["longest_streaming_ms"] <= aims["longest_streaming"],
        ),
        row(
            f"{label}: final render, last delta to typeset DOM",
            ms(s["final_from_last_delta_ms"]),
            "-",
            x(s["final_from_last_delta_ms"], aims["final"]) + " the aim",
            f"< {aims['final']:.0f} ms",
            s["final_from_last_delta_ms"] < aims["final"],
        ),
    ]


def rows_concurrency(d: dict) -> list[Row]:
    r, ideal = d["results"], d["ideal_ms"]
    m = d["meta"]
    ours = r["jupyter_chat.map"]["wall_ms"]
    seq = r["openai SDK sequential loop"]["wall_ms"]
    conc = r["openai SDK async + Semaphore(16)"]["wall_ms"]
    return [
        row(
            f"5. `map`, {m['prompts']} prompts x {m['delay_ms']} ms, concurrency "
            f"{m['concurrency']}: wall time",
            ms(ours),
            f"ideal {ms(ideal)}; openai SDK sequential loop {ms(seq)}; "
            f"AsyncOpenAI + Semaphore(16) {ms(conc)}",
            f"{x(ours, ideal)} / {x(ours, seq)} / {x(ours, conc)}",
            f"<= {d['aim']}x ideal",
            ours <= d["aim"] * ideal,
        )
    ]


def rows_samples(d: dict) -> list[Row]:
    out = []
    k = d["meta"]["k"]
    for delay in d["delays_ms"]:
        r = d["results"][str(delay)]
        ours = r[f"chat(samples={k})"]["wall_ms"]
        one = r["chat(), one request"]["wall_ms"]
        loop = r[f"{k} x chat() in a loop"]["wall_ms"]
        out.append(
            row(
                f"5. `chat(samples={k})`, server {delay} ms per request, {k} at once: wall time",
                ms(ours),
                f"one request {ms(one)}; {k} in a loop {ms(loop)}",
                f"{x(ours, one)} / {x(ours, loop)}",
                f"<= {d['aim']}x one request",
                ours <= d["aim"] * one,
            )
        )
    return out


def rows_memory(d: dict) -> list[Row]:
    out = []
    for label, r in d["results"].items():
        ours = r["jupyter_chat"]
        anchors = [(k, v) for k, v in r.items() if k != "jupyter_chat"]
        if label.startswith("thread"):
            turns = label.split()[1]
            case = (
                f"6. {int(turns):,}-turn thread ({mb(ours['history_bytes'] / 1e6)} of "
                "history): peak RSS growth"
            )
            what = "keeping the list"
        else:
            case = f"6. one {ours['answer_chars'] / 1e6:.0f} MB answer streamed: peak RSS growth"
            what = "streaming"
        ours_cell = mb(ours["peak_growth_mb"])
        if "answer_chars" in ours:
            ours_cell += f" ({ours['peak_growth_mb'] * 1e6 / ours['answer_chars']:.1f}x the answer)"
        out.append(
            row(
                case,
                ours_cell,
                "; ".join(f"{k} {what} {mb(v['peak_growth_mb'])}" for k, v in anchors),
                " / ".join(x(ours["peak_growth_mb"], v["peak_growth_mb"]) for _, v in anchors),
                "none set",
                None,
            )
        )
    return out


def rows_store(d: dict) -> list[Row]:
    out = []
    r = d["results"]
    for n in ("1000", "10000"):
        b = r[n]
        off, rec = b["off"], b["record"]
        out.append(
            row(
                f"8. record a batch of {int(n):,} streamed turns (map, concurrency 16): time per "
                f"turn (store size; peak RSS growth)",
                f"{rec['ms_per_turn']:.2f} ms ({mb(rec['store_mb'])}; +{mb(rec['peak_growth_mb'])})",
                f"replay off {off['ms_per_turn']:.2f} ms (+{mb(off['peak_growth_mb'])})",
                x(rec["wall_s"], off["wall_s"]),
                "<= 1.2x replay off at 10,000" if n == "10000" else "none set",
                rec["wall_s"] <= d["aims"]["record_ratio_at_10000"] * off["wall_s"]
                if n == "10000"
                else None,
            )
        )
        out.append(
            row(
                f"8. replay the same {int(n):,} turns offline: time per turn",
                f"{b['replay']['ms_per_turn']:.2f} ms",
                f"replay off {off['ms_per_turn']:.2f} ms",
                x(b["replay"]["wall_s"], off["wall_s"]),
                "none set",
                None,
            )
        )
    for n in ("1000", "10000", "100000"):
        o = r[n]["open"]["open_and_replay_ms"]
        out.append(
            row(
                f"8. open a store of {int(n):,} recordings and replay one turn (fresh process)",
                ms(o),
                "-",
                "-",
                "well under 1 s at 100,000" if n == "100000" else "none set",
                o < d["aims"]["open_ms_at_100000"] if n == "100000" else None,
            )
        )
    return out


def rows_batch(d: dict) -> list[Row]:
    out = []
    for n, r in d["throughput"].items():
        anchor = r["AsyncOpenAI"]
        for name in ("jupyter_chat.map", "jupyter_chat.imap"):
            out.append(
                row(
                    f"9. `{name.split('.')[1]}`, {int(n):,} prompts at concurrency 16, instant "
                    "server: requests/s",
                    f"{r[name]['per_s']:,.0f}/s",
                    f"AsyncOpenAI + Semaphore(16) {anchor['per_s']:,.0f}/s",
                    x(r[name]["seconds"], anchor["seconds"]),
                    "none set",
                    None,
                )
            )
    s = d["structured"]
    out.append(
        row(
            "9. structured answer (pydantic schema, response_format, validation): time per turn",
            f"{s['schema_us_per_turn']:,.0f} µs (+{s['overhead_us_per_turn']:.0f} µs; "
            f"parse {s['parse_us']:.1f} µs)",
            f"no schema {s['plain_us_per_turn']:,.0f} µs",
            x(s["schema_us_per_turn"], s["plain_us_per_turn"]),
            "none set",
            None,
        )
    )
    mem = d["memory"]
    first = mem[min(mem, key=int)]["growth_mb"]
    for n, m in mem.items():
        out.append(
            row(
                f"9. `imap` over {int(n):,} prompts: peak RSS growth",
                f"+{mb(m['growth_mb'])}, {m.get('blocks_kept', 0):+,} Python blocks kept "
                f"({int(n) / m['seconds']:,.0f}/s)",
                f"the same at {int(min(mem, key=int)):,}: +{mb(first)}",
                x(m["growth_mb"], first),
                "no Python objects kept (blocks)",
                m["blocks_kept"] < 1000 if "blocks_kept" in m else None,
            )
        )
    return out


def rows_experiment(d: dict) -> list[Row]:
    m, r = d["meta"], d["results"]
    ours, anchor = r["evaluate"]["wall_ms"], r["map per model"]["wall_ms"]
    total = m["items"] * len(m["models"]) * m["k"]
    scoring = d["scoring_us_per_answer"]
    return [
        row(
            f"11. `evaluate`, {m['items']:,} items x {len(m['models'])} models x {m['k']} "
            f"samples ({total:,} requests, concurrency {m['concurrency']}): wall time",
            ms(ours),
            f"the same requests through `map` per model {ms(anchor)}",
            x(ours, anchor),
            f"<= {d['aim']}x `map`",
            ours <= d["aim"] * anchor,
        ),
        row(
            "11. scoring an answer (`rescore`, no request): built-ins; a Python function",
            ", ".join(f"{k} {v:.1f} µs" for k, v in scoring.items() if k != "Python function"),
            f"a Python function {scoring['Python function']:.1f} µs",
            "-",
            "none set",
            None,
        ),
    ]


def rows_cluster(d: dict) -> list[Row]:
    m, r = d["meta"], d["results"]
    ours = r["2 Dask workers x concurrency 16"]["wall_ms"]
    k16, k32 = (
        r["one kernel, concurrency 16"]["wall_ms"],
        r["one kernel, concurrency 32"]["wall_ms"],
    )
    return [
        row(
            f"12. `map(executor=)`, {m['prompts']} prompts x {m['delay_ms']} ms, "
            f"{m['workers']} local Dask workers x concurrency 16: wall time",
            ms(ours),
            f"one kernel at concurrency 16 {ms(k16)}; at 32 {ms(k32)}",
            f"{x(ours, k16)} / {x(ours, k32)}",
            "none set",
            None,
        )
    ]


def rows_telemetry(d: dict) -> list[Row]:
    r = d["results"]
    off = r["off"]
    out = []
    for mode, label in (("api", "the API imported, no SDK"), ("sdk", "an SDK configured")):
        out.append(
            row(
                f"10. OpenTelemetry, {label}: CPU per streamed turn (the span alone)",
                f"{r[mode]['turn_us']:,.0f} µs ({r[mode]['span_us']:.1f} µs)",
                f"nothing traced {off['turn_us']:,.0f} µs",
                x(r[mode]["turn_us"], off["turn_us"]),
                "span < 10 µs without an SDK" if mode == "api" else "none set",
                r[mode]["span_us"] < 10 if mode == "api" else None,
            )
        )
    return out


# -- running -----------------------------------------------------------------------------------
def run_case(name: str, quick: bool, log: Path) -> dict:
    """Run benchmarks/NAME.py; its output goes to the terminal and to ``log``."""
    args = [sys.executable, "-u", str(HERE / f"{name}.py")] + (["--quick"] if quick else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print(f"\n=== {name} ===", flush=True)
    t0 = time.perf_counter()
    with log.open("w") as f:
        p = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env
        )
        for line in p.stdout:  # type: ignore[union-attr]
            print("   " + line, end="", flush=True)
            f.write(line)
        rc = p.wait()
    return {"returncode": rc, "seconds": round(time.perf_counter() - t0, 1)}


def gpu() -> str:
    if shutil.which("nvidia-smi"):
        p = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip().splitlines()[0]
    return "none"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem / 2**30, 1),
        "gpu": gpu(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def table_text(rows: list[Row]) -> str:
    cols = list(rows[0])
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in cols]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(cols, widths)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(r[c].ljust(w) for c, w in zip(cols, widths)) for r in rows]
    return "\n".join(lines)


def table_md(rows: list[Row]) -> str:
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    out += ["| " + " | ".join(r[c].replace("|", "\\|") for c in cols) + " |" for r in rows]
    return "\n".join(out)


def versions(cases: dict) -> dict:
    v: dict[str, str] = {}
    c = cases.get("client", {}).get("meta", {}).get("versions", {})
    v.update({k: c[k] for k in ("openai", "httpx", "httpx_sse") if c.get(k)})
    m = cases.get("magics", {}).get("meta", {}).get("versions", {})
    v.update({k: m[k] for k in ("jupyter_ai_magics", "ipykernel", "ipython") if m.get(k)})
    f = cases.get("footprint", {}).get("results", {})
    for name in ("jupyter-ai-magics", "chatlab"):
        added = f.get(name, {}).get("added", {})
        if name in added:
            v[name.replace("-", "_") + " (footprint)"] = added[name]["version"]
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (under 3 minutes)")
    ap.add_argument("--only", help=f"comma-separated cases, of: {', '.join(CASES)}")
    ap.add_argument(
        "--table-only",
        action="store_true",
        help="run nothing: rebuild the table from the results already there",
    )
    args = ap.parse_args()
    only = args.only.split(",") if args.only else list(CASES)
    unknown = set(only) - set(CASES)
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(sorted(unknown))}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    if load0[0] > 0.5:
        print(
            f"warning: load average {load0[0]:.2f}: other processes share the CPUs, timings "
            "will be noisy (counts, bytes and memory are not affected much)"
        )
    start = time.time()
    runs: dict[str, dict] = {}
    for name in CASES:
        if name in only and not args.table_only:
            runs[name] = run_case(name, args.quick, RESULTS / f"{name}.log")
    previous: dict = {}
    if args.table_only:  # the latest result of each case, whenever it ran
        start = 0
        if (RESULTS / "all.json").exists():
            previous = json.loads((RESULTS / "all.json").read_text())["meta"]
            load0 = (previous["load_avg_1min"]["start"],)
            args.quick = previous["quick"]
        runs = {
            name: {"returncode": 0, "seconds": None}
            for name in only
            if (RESULTS / f"{name}.json").exists()
        }
        if not runs:
            raise SystemExit("no results yet: run benchmarks/run.py first")

    # the results of this run (a case that failed or was not run is left out, never stale)
    cases: dict[str, dict] = {}
    for name in runs:
        path = RESULTS / f"{name}.json"
        if path.exists() and path.stat().st_mtime >= start:
            cases[name] = json.loads(path.read_text())
    naive = cases.get("magics", {}).get("render")
    table: list[tuple[str, Callable[[dict], list[Row]]]] = [
        ("magics", rows_load_ext),
        ("client", rows_client),
        ("magics", rows_render),
        ("extension", lambda d: rows_extension(d, naive)),
        ("logprobs", rows_logprobs),
        ("lab_render", rows_lab_render),
        ("concurrency", rows_concurrency),
        ("samples", rows_samples),
        ("memory", rows_memory),
        ("footprint", rows_footprint),
        ("store", rows_store),
        ("batch", rows_batch),
        ("experiment", rows_experiment),
        ("cluster", rows_cluster),
        ("telemetry", rows_telemetry),
    ]
    rows: list[Row] = []
    for name, build in table:
        if name in cases:
            rows += build(cases[name])
    for name, r in runs.items():
        if r["returncode"] or name not in cases:
            rows.append(
                row(
                    f"{name}: FAILED (exit {r['returncode']}; see benchmarks/results/{name}.log)",
                    "-",
                    "-",
                    "-",
                    "-",
                    None,
                )
            )

    info = machine()
    total = previous.get("seconds", 0) if args.table_only else time.time() - start
    where = (
        f"{info['cpus']} cores ({info['cpu']}), {info['memory_gb']:.0f} GB, GPU: "
        f"{info['gpu']}, Python {info['python']}, {info['os']}"
    )
    mode = "--quick" if args.quick else "full"
    print(
        f"\n{'=' * 100}\nall benchmarks ({mode} run, {total / 60:.1f} min; ratios are "
        f"jupyter-chat / anchor, lower is better)\n"
    )
    print(table_text(rows))
    print(
        f"\nmachine: {where}; load average {load0[0]:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end"
    )

    anchor_versions = versions(cases)
    (RESULTS / "all.json").write_text(
        json.dumps(
            {
                "meta": {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "quick": args.quick,
                    "seconds": round(total, 1),
                    "machine": info,
                    "load_avg_1min": {"start": load0[0], "end": os.getloadavg()[0]},
                    "anchor_versions": anchor_versions,
                    "command": "make bench",
                },
                "cases_run": runs,
                "rows": rows,
                "results": cases,
            },
            indent=2,
        )
        + "\n"
    )
    md = [
        table_md(rows),
        "",
        f"One {mode} run of `make bench` ({total / 60:.1f} min) on {where}; load average "
        f"{load0[0]:.2f} at the start. Anchors: "
        + ", ".join(f"{k} {v}" for k, v in anchor_versions.items())
        + ".",
    ]
    (RESULTS / "all.md").write_text("\n".join(md) + "\n")
    print(
        f"wrote {(RESULTS / 'all.json').relative_to(ROOT)} and "
        f"{(RESULTS / 'all.md').relative_to(ROOT)}"
    )
    return 1 if any(r["returncode"] for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

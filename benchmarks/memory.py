"""Peak memory of a long thread and of one huge answer, against the openai SDK.

    PYTHONPATH=. python benchmarks/memory.py [--quick] [--sdk-thread-turns N]

Each measurement runs in a fresh child process (this file with ``--child``) against the
loopback server (benchmarks/_sse_server.py, its own process, not counted):

* ``thread``: sequential turns in one thread, so each request carries the whole history
  (2 x i messages). jupyter-chat: ``jupyter_chat.chat(prompt, model="local:m", thread="t")``.
  Anchors, each keeping one message list that the loop extends with every prompt and answer:
  bare ``httpx.Client`` posting it as JSON, and the openai SDK's ``chat.completions.create``.
  The server (``/fast``) answers at once with a fixed ~200-character reply. 1,000 turns for
  jupyter-chat and bare httpx; the openai SDK gets 250 turns (the other two are measured at 250
  too, for those ratios) because its request transform walks the whole history on every call:
  1,000 turns cost it minutes of CPU (``--sdk-thread-turns 1000`` measures it anyway).
  Growths of a few MB are mostly the allocator's (how much free heap the warm-up left), not
  objects kept: compare with bare httpx, which keeps nothing but the list.
* ``big``: one 10 MB answer streamed (10,000 SSE events of 1,000 characters, ``/big``):
  ``jupyter_chat.chat(..., stream=True).text`` against the openai SDK's ``stream=True`` deltas
  joined into one string.

In the child: imports and one small warm-up request of the same kind first (so code and
connection pools are not counted), ``gc.collect()``, the resident size (VmRSS), then the peak
counter is reset (``/proc/self/clear_refs``), the work runs, and the peak (VmHWM) minus the
resident size before is the growth. ``retained`` is VmRSS after the work (and ``gc.collect()``)
minus the same; the work's result is dropped first, except the thread itself. Medians over
children (3, or 1 with --quick). Writes benchmarks/results/memory.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

from _common import HERE, clean_env, meta, start_server, stop_server, warn_load, write_result

TURNS = 1000
SDK_TURNS = 250
MB = 1e6


def status() -> dict[str, int]:
    """VmRSS and VmHWM in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def prompt(i: int) -> str:
    return f"Turn {i}: and what does the next cell of the notebook do, in one short sentence?"


# -- the children ------------------------------------------------------------------------------
def child(case: str, who: str, port: int, turns: int) -> dict:
    url = f"http://127.0.0.1:{port}"
    base = f"{url}/{'fast' if case == 'thread' else 'big'}/v1"
    warm = f"{url}/{'fast' if case == 'thread' else 'bulk'}/v1"  # small: 10 streamed chunks
    if who == "jupyter_chat":
        import jupyter_chat

        os.environ["LOCAL_BASE_URL"] = warm
        jupyter_chat.chat("warm-up", model="local:m", thread="warm", stream=case == "big")
        os.environ["LOCAL_BASE_URL"] = base
        if case == "thread":

            def work() -> dict:
                for i in range(turns):
                    jupyter_chat.chat(prompt(i), model="local:m", thread="t")
                from jupyter_chat.session.state import SESSION

                history = SESSION.history("t", None)
                return {
                    "messages": len(history),
                    "history_bytes": len(json.dumps(history).encode()),
                }
        else:

            def work() -> dict:
                return {
                    "answer_chars": len(jupyter_chat.chat("hi", model="local:m", stream=True).text)
                }
    elif who == "httpx":
        import httpx

        client = httpx.Client(timeout=60)
        client.post(
            f"{warm}/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "w"}]},
        ).json()
        messages: list[dict] = []

        def work() -> dict:
            for i in range(turns):
                messages.append({"role": "user", "content": prompt(i)})
                r = client.post(
                    f"{base}/chat/completions", json={"model": "m", "messages": messages}
                ).json()
                messages.append(
                    {"role": "assistant", "content": r["choices"][0]["message"]["content"]}
                )
            return {"messages": len(messages), "history_bytes": len(json.dumps(messages).encode())}
    else:
        import openai

        clients = {u: openai.OpenAI(base_url=u, api_key="x", max_retries=0) for u in (warm, base)}
        if case == "thread":
            clients[warm].chat.completions.create(
                model="m", messages=[{"role": "user", "content": "w"}]
            )
            messages = []

            def work() -> dict:
                for i in range(turns):
                    messages.append({"role": "user", "content": prompt(i)})
                    r = clients[base].chat.completions.create(model="m", messages=messages)
                    messages.append({"role": "assistant", "content": r.choices[0].message.content})
                return {
                    "messages": len(messages),
                    "history_bytes": len(json.dumps(messages).encode()),
                }
        else:

            def stream(url: str) -> str:
                parts = []
                for ch in clients[url].chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}], stream=True
                ):
                    if ch.choices and ch.choices[0].delta.content:
                        parts.append(ch.choices[0].delta.content)
                return "".join(parts)

            stream(warm)

            def work() -> dict:
                return {"answer_chars": len(stream(base))}

    gc.collect()
    before = status()["VmRSS"]
    peak_reset = reset_peak()
    t0 = time.perf_counter()
    out = work()
    seconds = time.perf_counter() - t0
    after = status()
    gc.collect()
    return {
        **out,
        "turns": turns if case == "thread" else None,
        "rss_before_mb": before / MB,
        "peak_growth_mb": (after["VmHWM"] - before) / MB,
        "retained_mb": (status()["VmRSS"] - before) / MB,
        "seconds": seconds,
        "peak_reset": peak_reset,
    }


# -- the parent --------------------------------------------------------------------------------
def run_child(case: str, who: str, port: int, turns: int = 0) -> dict:
    p = subprocess.run(
        [sys.executable, str(HERE / "memory.py"), "--child", case, who, str(port), str(turns)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if p.returncode:
        raise RuntimeError(f"{case} {who} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one child each")
    ap.add_argument(
        "--sdk-thread-turns",
        type=int,
        default=SDK_TURNS,
        help=f"turns for the openai SDK's thread (default {SDK_TURNS})",
    )
    ap.add_argument(
        "--child", nargs=4, metavar=("CASE", "WHO", "PORT", "TURNS"), help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.child:
        case, who, port, turns = args.child
        print(json.dumps(child(case, who, int(port), int(turns))))
        return 0
    reps = 1 if args.quick else 3
    sdk_turns = args.sdk_thread_turns
    # label -> who -> (case, child kind, turns)
    plan = {
        f"thread {TURNS}": {
            "jupyter_chat": ("thread", "jupyter_chat", TURNS),
            "bare httpx": ("thread", "httpx", TURNS),
        }
    }
    plan[f"thread {sdk_turns}"] = {
        "jupyter_chat": ("thread", "jupyter_chat", sdk_turns),
        "openai SDK": ("thread", "openai", sdk_turns),
        "bare httpx": ("thread", "httpx", sdk_turns),
    }
    plan["big"] = {"jupyter_chat": ("big", "jupyter_chat", 0), "openai SDK": ("big", "openai", 0)}
    load = warn_load()
    proc, port = start_server()
    res: dict[str, dict] = {}
    try:
        for label, whos in plan.items():
            samples: dict[str, list[dict]] = {who: [] for who in whos}
            for i in range(reps):
                for who, (case, kind, turns) in whos.items():
                    s = run_child(case, kind, port, turns)
                    samples[who].append(s)
                    print(
                        f"   {label:11} run {i + 1} {who:12} peak +{s['peak_growth_mb']:7.1f} MB"
                        f"  retained +{s['retained_mb']:7.1f} MB  {s['seconds']:6.2f} s",
                        flush=True,
                    )
            res[label] = {}
            for who, ss in samples.items():
                res[label][who] = {
                    k: statistics.median(s[k] for s in ss)
                    for k in ("peak_growth_mb", "retained_mb", "seconds", "rss_before_mb")
                }
                res[label][who].update(
                    {
                        k: ss[0][k]
                        for k in ss[0]
                        if k in ("messages", "history_bytes", "answer_chars", "peak_reset", "turns")
                    }
                )
                res[label][who]["runs"] = ss
    finally:
        stop_server(proc)

    print(
        f"\nmemory (median of {reps} child process(es); growth over the resident size after "
        "warm-up)"
    )
    for label, r in res.items():
        ours = r["jupyter_chat"]
        size = (ours.get("history_bytes") or ours.get("answer_chars") or 0) / MB
        what = "final history as JSON" if label.startswith("thread") else "answer"
        for who, x in r.items():
            print(
                f"   {label:11} {who:12} peak +{x['peak_growth_mb']:7.1f} MB  retained "
                f"+{x['retained_mb']:7.1f} MB  ({what}: {size:.2f} MB)  {x['seconds']:.2f} s"
            )
        for who, x in r.items():
            if who != "jupyter_chat":
                rel = ours["peak_growth_mb"] / x["peak_growth_mb"]
                print(f"   {label:11} ours / {who}: peak {rel:.2f}x")
    import openai

    write_result(
        "memory",
        {
            "meta": meta(
                args.quick,
                load_avg_1min_start=load,
                turns=TURNS,
                sdk_turns=sdk_turns,
                reps=reps,
                versions={"openai": openai.__version__},
            ),
            "results": res,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The %%chat magics in a real IPython kernel, side by side with what a user would do instead.

    PYTHONPATH=. python benchmarks/magics.py [--quick]

Cases (each kernel is a fresh ``ipykernel`` process driven with jupyter_client):

1. ``%load_ext`` cost: ``%load_ext jupyter_chat`` versus ``%load_ext jupyter_ai_magics`` (the
   anchor, installed by this script into its own venv, benchmarks/.anchors/venv, if absent).
   Inside the kernel, the process CPU time (``time.process_time()``, all threads) and wall time
   of ``get_ipython().run_line_magic('load_ext', ...)`` alone, and how many modules it added to
   ``sys.modules``; median over fresh kernels (5, or 2 with --quick). Also checks that
   ``%load_ext jupyter_chat`` imported neither httpx nor pydantic.
2. rendering a 2,000-token answer into a cell: a loopback SSE server (a thread of this process)
   streams 2,000 OpenAI ``chat.completion.chunk`` events (delta.content ``tok{i%10} ``), a finish
   chunk and ``[DONE]``, either ``paced`` (spread over ~4 s) or ``fast`` (no pause). In one
   fresh kernel with ``LOCAL_BASE_URL`` pointing at it: ``%%chat -m local`` versus the naive
   loop (httpx + httpx-sse, ``handle.update(...)`` after every chunk). Counted from the
   kernel's iopub messages for the cell: display_data + update_display_data messages and the
   bytes of their JSON content (what goes to the browser); also the cell's wall time and the
   kernel's CPU time for it. Median over repetitions (3, or 1 with --quick).

Prints absolute numbers and ratios (ours / anchor); writes benchmarks/results/magics.json.
Exits 1 if %load_ext jupyter_chat imported httpx or pydantic or an answer came out wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PacedSSE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ANCHOR_VENV = HERE / ".anchors" / "venv"
ANCHOR_PY = ANCHOR_VENV / "bin" / "python"
N = 2000
PACED_SECONDS = 4.0
ANSWER = "".join(f"tok{i % 10} " for i in range(N))
HEAVY = (
    "httpx",
    "pydantic",
    "langchain",
    "langchain_core",
    "jupyter_chat.client.runtime",
    "jupyter_chat.providers.profiles",
)
AIMS = {"load_ext_cpu_ms": 150, "load_ext_speedup": 10, "messages": 250, "mb": 1.5}


# -- the anchor's venv ---------------------------------------------------------------------------
def ensure_anchor() -> tuple[str | None, str | None]:
    """(jupyter-ai-magics version, None) or (None, why it is missing)."""
    if not ANCHOR_PY.exists():
        print(f"creating {ANCHOR_VENV.relative_to(ROOT)} with jupyter-ai-magics (about a minute)")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(ANCHOR_VENV)], check=True)
            subprocess.run(
                [str(ANCHOR_PY), "-m", "pip", "install", "-q", "jupyter-ai-magics", "ipykernel"],
                check=True,
            )
        except subprocess.CalledProcessError as e:
            return None, f"installing jupyter-ai-magics failed: {e}"
    r = subprocess.run(
        [
            str(ANCHOR_PY),
            "-c",
            "import importlib.metadata as m; print(m.version('jupyter-ai-magics'))",
        ],
        capture_output=True,
        text=True,
    )
    if r.returncode:
        return None, f"jupyter-ai-magics is not importable in the anchor venv: {r.stderr[-300:]}"
    return r.stdout.strip(), None


# -- a kernel --------------------------------------------------------------------------------
def kernel_env(base_url: str | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL"))
        and not k.startswith("JUPYTER_CHAT_")
        and k != "PYTHONPATH"
    }
    # a config file that does not exist: the user's own config must not change what is measured
    env["JUPYTER_CHAT_CONFIG"] = str(Path(tempfile.gettempdir()) / "jc-bench-no-config.toml")
    if base_url:
        env["LOCAL_BASE_URL"] = base_url
    return env


class Kernel:
    """A fresh kernel running ``python``; ``run`` executes a cell and collects its iopub."""

    def __init__(self, python: str, env: dict[str, str], cwd: str) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        spec_dir = Path(cwd) / "kernels" / "bench"
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "bench",
                    "language": "python",
                }
            )
        )
        ksm = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
        self.km = KernelManager(kernel_name="bench", kernel_spec_manager=ksm)
        log = Path(cwd) / "kernel-stderr.log"  # ipykernel's own warnings, shown if it dies
        with log.open("w") as err:
            self.km.start_kernel(env=env, cwd=cwd, stderr=err)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=60)
        except RuntimeError:
            self.close()
            raise RuntimeError(f"{python}: the kernel did not start:\n{log.read_text()}") from None

    def run(self, code: str, cell_id: str | None = None, timeout: float = 120) -> dict:
        """{'messages': iopub messages of the cell, 'reply': ..., 'wall': seconds}."""
        kc = self.kc
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg = kc.session.msg(
            "execute_request", content, metadata={"cellId": cell_id} if cell_id else {}
        )
        t0 = time.perf_counter()
        kc.shell_channel.send(msg)
        msgs, end = [], time.monotonic() + timeout
        while True:
            try:
                m = kc.get_iopub_msg(timeout=0.05)
            except Exception:
                if time.monotonic() > end:
                    raise TimeoutError(f"cell did not finish: {code[:60]!r}") from None
                continue
            if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            msgs.append(m)
        wall = time.perf_counter() - t0
        while True:
            reply = kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return {"messages": msgs, "reply": reply["content"], "wall": wall}

    def stdout(self, code: str) -> str:
        ran = self.run(code)
        if ran["reply"]["status"] != "ok":
            raise RuntimeError(f"{code[:60]!r}: {ran['reply'].get('evalue')}")
        return "".join(
            m["content"]["text"]
            for m in ran["messages"]
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
        )

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


# -- case 1: %load_ext -----------------------------------------------------------------------
LOAD_EXT = """\
_b_n0, _b_c0, _b_w0 = len(sys.modules), time.process_time(), time.perf_counter()
get_ipython().run_line_magic("load_ext", {name!r})
_b_c1, _b_w1, _b_n1 = time.process_time(), time.perf_counter(), len(sys.modules)
print(json.dumps({{"cpu_ms": (_b_c1 - _b_c0) * 1e3, "wall_ms": (_b_w1 - _b_w0) * 1e3,
                  "modules": _b_n1 - _b_n0, "heavy_before": _b_heavy0,
                  "heavy_after": [m for m in {heavy!r} if m in sys.modules],
                  "cell_magics": [m for m in ("chat", "ai")
                                  if m in get_ipython().magics_manager.magics["cell"]]}}))
"""


def load_ext_once(python: str, name: str) -> dict:
    with tempfile.TemporaryDirectory() as cwd:
        k = Kernel(python, kernel_env(), cwd)
        try:
            k.stdout(
                f"import sys, time, json; _b_heavy0 = [m for m in {HEAVY!r} if m in sys.modules]"
            )
            return json.loads(k.stdout(LOAD_EXT.format(name=name, heavy=HEAVY)))
        finally:
            k.close()


def case_load_ext(runs: int, anchor: bool) -> dict:
    who = {"jupyter_chat": (sys.executable, "jupyter_chat")}
    if anchor:
        who["jupyter_ai_magics"] = (str(ANCHOR_PY), "jupyter_ai_magics")
    samples: dict[str, list[dict]] = {name: [] for name in who}
    for i in range(runs):  # alternate, so drift in the machine's load hits both alike
        for name, (python, ext) in who.items():
            samples[name].append(s := load_ext_once(python, ext))
            print(
                f"   run {i + 1}/{runs} {name:18} {s['cpu_ms']:8.1f} ms CPU "
                f"{s['wall_ms']:8.1f} ms wall {s['modules']:5d} modules",
                flush=True,
            )
    out = {}
    for name, ss in samples.items():
        out[name] = {
            "cpu_ms": statistics.median(s["cpu_ms"] for s in ss),
            "wall_ms": statistics.median(s["wall_ms"] for s in ss),
            "modules": statistics.median(s["modules"] for s in ss),
            "heavy_after": ss[-1]["heavy_after"],
            "heavy_before": ss[-1]["heavy_before"],
            "runs": [
                {k: round(v, 2) if isinstance(v, float) else v for k, v in s.items()} for s in ss
            ],
        }
    ours = samples["jupyter_chat"]
    out["jupyter_chat"]["lazy_ok"] = all(
        not {"httpx", "pydantic"} & set(s["heavy_after"]) for s in ours
    )
    return out


# -- case 2: rendering -----------------------------------------------------------------------
def chunk(content: str | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    obj = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "default",
        "choices": [
            {
                "index": 0,
                "delta": {} if content is None else {"content": content},
                "finish_reason": finish,
            }
        ],
    }
    if usage:
        obj["usage"] = usage
    return b"data: %s\n\n" % json.dumps(obj, separators=(",", ":")).encode()


class SSEServer(PacedSSE):
    """Loopback OpenAI-style streaming server in a thread: one HTTP chunk per SSE event, paced
    over PACED_SECONDS when ``mode == "paced"``. Keep-alive; the request body is ignored."""

    def __init__(self) -> None:
        self.mode = "paced"
        usage = {"prompt_tokens": 1, "completion_tokens": N, "total_tokens": N + 1}
        self.events = [chunk(f"tok{i % 10} ") for i in range(N)] + [
            chunk(None, "stop", usage),
            b"data: [DONE]\n\n",
        ]
        super().__init__()

    def script(self) -> tuple[list[bytes], float]:
        return self.events, (N / PACED_SECONDS if self.mode == "paced" else 0.0)


# The naive loop (update after every chunk); FLOOR is the same loop showing the text only once,
# at the end: the transport's own cost and the least a display can send.
NAIVE = """\
import json, httpx, httpx_sse
from IPython.display import display
handle, text = display({{"text/plain": ""}}, raw=True, display_id=True), ""
with httpx.Client(timeout=60) as client, httpx_sse.connect_sse(
        client, "POST", "{url}/chat/completions",
        json={{"model": "default", "messages": [{{"role": "user", "content": "hi"}}],
              "stream": True}}) as events:
    for sse in events.iter_sse():
        if sse.data == "[DONE]":
            break
        delta = json.loads(sse.data)["choices"][0]["delta"].get("content")
        if delta:
            text += delta
            handle.update({{"text/markdown": text, "text/plain": text}}, raw=True)
"""
FLOOR = NAIVE.replace("\n            handle.update(", "\nhandle.update(")
OURS = "%%chat -m local\nhi"


def displays(ran: dict) -> list[dict]:
    return [m for m in ran["messages"] if m["msg_type"] in ("display_data", "update_display_data")]


def wire_size(messages: list[dict]) -> int:
    """Bytes of the display messages' content as JSON (what goes to the browser)."""
    return sum(len(json.dumps(m["content"])) for m in messages)


def render_once(k: Kernel, code: str, cell_id: str) -> dict:
    k.stdout("_b_c0 = time.process_time()")
    ran = k.run(code, cell_id=cell_id)
    cpu = float(k.stdout("print(time.process_time() - _b_c0)"))
    if ran["reply"]["status"] != "ok":
        raise RuntimeError(f"{code[:40]!r} failed: {ran['reply'].get('evalue')}")
    ds = displays(ran)
    data = ds[-1]["content"]["data"] if ds else {}
    final = data.get("text/markdown") or data.get("text/plain", "")  # ours: plain is a head
    return {
        "messages": len(ds),
        "bytes": wire_size(ds),
        "wall_s": ran["wall"],
        "kernel_cpu_s": cpu,
        "answer_ok": ANSWER.strip() in final,
    }


def case_render(reps: int) -> dict:
    server = SSEServer()
    url = f"http://127.0.0.1:{server.port}/v1"
    out: dict = {}
    with tempfile.TemporaryDirectory() as cwd:
        k = Kernel(sys.executable, kernel_env(url), cwd)
        try:
            k.stdout("import time")
            if k.run("%load_ext jupyter_chat")["reply"]["status"] != "ok":
                raise RuntimeError("%load_ext jupyter_chat failed")
            # one unmeasured call each first: imports (httpx, ...) and the connection pool
            server.mode = "fast"
            render_once(k, OURS, "ours")
            render_once(k, NAIVE.format(url=url), "naive")
            for mode in ("paced", "fast"):
                server.mode = mode
                for name, code in (
                    ("jupyter_chat", OURS),
                    ("naive", NAIVE.format(url=url)),
                    ("display at end", FLOOR.format(url=url)),
                ):
                    runs = []
                    for _ in range(reps):
                        # the same cell id each time: re-running the cell replaces its turn
                        runs.append(r := render_once(k, code, name))
                        r["server_s"] = server.durations[-1]
                    out.setdefault(mode, {})[name] = {
                        **{
                            key: statistics.median(r[key] for r in runs)
                            for key in ("messages", "bytes", "wall_s", "kernel_cpu_s", "server_s")
                        },
                        "answer_ok": all(r["answer_ok"] for r in runs),
                        "runs": runs,
                    }
                    m = out[mode][name]
                    print(
                        f"   {mode:5} {name:14} {m['messages']:6.0f} messages "
                        f"{m['bytes'] / 1e6:7.2f} MB  cell {m['wall_s']:5.2f} s  kernel CPU "
                        f"{m['kernel_cpu_s']:5.2f} s  (server stream {m['server_s']:.2f} s)",
                        flush=True,
                    )
        finally:
            k.close()
            server.close()
    return out


# -- report ----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}x" if b else "-"


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("-+-".join("-" * w for w in widths))


def report(ext: dict, render: dict, anchor: str | None, why: str | None) -> list[dict]:
    rows: list[dict] = []
    ours, ai = ext["jupyter_chat"], ext.get("jupyter_ai_magics")
    for key, unit in (("cpu_ms", "ms CPU"), ("wall_ms", "ms wall"), ("modules", "modules")):
        rows.append(
            {
                "case": f"%load_ext: {unit}",
                "ours": ours[key],
                "anchor": ai[key] if ai else None,
                "anchor_name": "jupyter_ai_magics",
                "unit": unit.split()[0],
            }
        )
    for mode, r in render.items():
        for key, what, unit, scale in (
            ("messages", "display messages", "", 1),
            ("bytes", "display MB", "MB", 1e6),
            ("kernel_cpu_s", "kernel CPU", "s", 1),
            ("wall_s", "cell wall", "s", 1),
        ):
            rows.append(
                {
                    "case": f"2,000 tokens {mode}: {what}",
                    "ours": r["jupyter_chat"][key] / scale,
                    "anchor": r["naive"][key] / scale,
                    "anchor_name": "naive",
                    "unit": unit,
                    "floor": r["display at end"][key] / scale,
                }
            )

    def fmt(v: float | None, unit: str) -> str:
        if v is None:
            return "n/a"
        return (
            f"{v:.0f}"
            if unit in ("", "modules")
            else f"{v:.2f} {unit}"
            if unit in ("MB", "s")
            else f"{v:.1f} {unit}"
        )

    print()
    print_table(
        [("case", "jupyter_chat", "anchor", "anchor is", "ours / anchor", "display at end")]
        + [
            (
                r["case"],
                fmt(r["ours"], r["unit"]),
                fmt(r["anchor"], r["unit"]),
                r["anchor_name"],
                ratio(r["ours"], r["anchor"]) if r["anchor"] is not None else "-",
                fmt(r["floor"], r["unit"]) if "floor" in r else "-",
            )
            for r in rows
        ]
    )
    print(
        f"(anchor: jupyter-ai-magics {anchor or 'not installed: ' + str(why)}; naive = "
        "httpx + httpx-sse, handle.update() after every chunk; display at end = the same "
        "loop updating once after the stream; bytes = JSON of the display messages' content; "
        "ratios lower is better)"
    )

    heavy = ", ".join(ours["heavy_after"]) or "none"
    print(
        f"\n%load_ext jupyter_chat left httpx and pydantic unimported: "
        f"{'OK' if ours['lazy_ok'] else 'FAIL'} (of {', '.join(HEAVY)} loaded: {heavy})"
    )
    if ai:
        print(f"%load_ext jupyter_ai_magics loaded: {', '.join(ai['heavy_after']) or 'none'}")
    aims = [("%load_ext jupyter_chat CPU < 150 ms", ours["cpu_ms"] < AIMS["load_ext_cpu_ms"])]
    if ai:
        aims.append(
            (
                "%load_ext >= 10x faster (CPU) than jupyter_ai_magics",
                ai["cpu_ms"] >= AIMS["load_ext_speedup"] * ours["cpu_ms"],
            )
        )
    for mode, r in render.items():
        a = r["jupyter_chat"]
        aims.append((f"{mode}: < 250 display messages", a["messages"] < AIMS["messages"]))
        aims.append((f"{mode}: < 1.5 MB", a["bytes"] / 1e6 < AIMS["mb"]))
    for text, ok in aims:
        print(f"aim: {text}: {'met' if ok else 'MISSED'}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 kernels per load_ext, 1 rendering")
    args = ap.parse_args()
    runs, reps = (2, 1) if args.quick else (5, 3)

    anchor, why = ensure_anchor()
    if why:
        print(f"WARNING: {why}; measuring jupyter_chat only")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before starting; expect noisy numbers")
    print(f"1. %load_ext in a fresh kernel ({runs} kernels each)")
    ext = case_load_ext(runs, anchor is not None)
    print(f"2. rendering {N:,} tokens into a cell ({reps} run(s) each, after one warm-up)")
    render = case_render(reps)
    rows = report(ext, render, anchor, why)

    import httpx
    import httpx_sse
    import ipykernel
    import IPython

    out = HERE / "results" / "magics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "meta": {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "quick": args.quick,
                    "load_ext_kernels": runs,
                    "render_reps": reps,
                    "tokens": N,
                    "paced_seconds": PACED_SECONDS,
                    "python": platform.python_version(),
                    "machine": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_avg_1min": {"start": load, "end": os.getloadavg()[0]},
                    "versions": {
                        "jupyter_ai_magics": anchor,
                        "anchor_error": why,
                        "ipykernel": ipykernel.__version__,
                        "ipython": IPython.__version__,
                        "httpx": httpx.__version__,
                        "httpx_sse": getattr(httpx_sse, "__version__", None),
                    },
                    "aims": AIMS,
                },
                "load_ext": ext,
                "render": render,
                "table": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    ok = ext["jupyter_chat"]["lazy_ok"] and all(
        r["answer_ok"] for mode in render.values() for r in mode.values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Our shared provider client side by side with what a user would pick instead.

    PYTHONPATH=. python benchmarks/client.py [--quick]

Cases (all against a loopback SSE server in its own process, benchmarks/_sse_server.py, so its
CPU is not counted):

1. client CPU per streamed chunk, accumulation included: 10,000 ``chat.completion.chunk``
   events sent as fast as possible; process CPU time (all threads, so our background loop
   thread counts) divided by 10,000; median over runs after one warm-up each. Two framings:
   ``per-event`` (one HTTP chunk per event, as streaming servers send them: the HTTP layer
   then works once per event) and ``coalesced`` (one HTTP chunk for the whole stream).
2. warm time-to-first-token overhead: the server sends headers and the first content chunk at
   once, pauses ~50 ms, then the rest. Each client's time from just before the request to the
   first content delta, minus the same for a raw keep-alive socket client; medians. Also how
   many new connections each warm request opened (0 = the connection was reused) and, for
   jupyter_chat, where the time went (build_request, loop-side TTFB/TTFT from ``Call.meta``).
3. ``import`` in a fresh interpreter (median of subprocess runs), and which heavy modules
   ``import jupyter_chat`` pulled in (httpx, pydantic and jupyter_chat.providers.profiles must not be).

Prints absolute numbers and a table of ratios (ours / anchor); writes
benchmarks/results/client.json. Exits 1 if the lazy-import check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
N = 10_000
EXPECTED = "tok " * N
TTFT_TEXT = "tok " * 4
MESSAGES = [{"role": "user", "content": "hi"}]
BODY = {"model": "m", "messages": MESSAGES, "stream": True}
FRAMINGS = {"per-event": "bulk", "coalesced": "coalesced"}  # label -> server route
ROUTES = (*FRAMINGS.values(), "ttft")

# A config file that does not exist: the user's own config must not change what is measured.
os.environ["JUPYTER_CHAT_CONFIG"] = str(Path(tempfile.gettempdir()) / "jc-bench-no-config.toml")


# -- the server ------------------------------------------------------------------------------
def start_server() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_sse_server.py"), str(N)], stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit(f"the SSE server did not start: {line!r}")
    return proc, int(line)


class RawClient:
    """The baseline: one keep-alive socket, fixed request bytes, no parsing beyond framing."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, body: bytes = b"") -> bytes:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def ttft(self) -> float:
        """Seconds from sending the request to the first byte of the body's first chunk."""
        req = self.request("POST", "/ttft/v1/chat/completions", json.dumps(BODY).encode())
        t0 = time.perf_counter()
        self.sock.sendall(req)
        buf, first = b"", None
        while not buf.endswith(b"\r\n0\r\n\r\n"):
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            buf += data
            if first is None:
                i = buf.find(b"\r\n\r\n")
                if 0 <= i < len(buf) - 4:
                    first = time.perf_counter()
        assert first is not None and b"tok " in buf
        return first - t0

    def connections(self) -> int:
        """How many connections the server has accepted so far."""
        self.sock.sendall(self.request("GET", "/stats"))
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(b"}"):
            buf += self.sock.recv(65536)
        return json.loads(buf.split(b"\r\n\r\n", 1)[1])["connections"]


# -- the clients -----------------------------------------------------------------------------
class Clients:
    """Every client under test, each created once and reused (warm connections)."""

    def __init__(self, port: int) -> None:
        import httpx
        import openai
        from httpx_sse import aconnect_sse, connect_sse

        import jupyter_chat
        from jupyter_chat.client.call import Call
        from jupyter_chat.client.request import build_request

        self.base = f"http://127.0.0.1:{port}"
        self.loop = asyncio.new_event_loop()  # for the async anchors, on this thread
        self.httpx, self.ahttpx = httpx.Client(), httpx.AsyncClient()
        self.connect_sse, self.aconnect_sse = connect_sse, aconnect_sse
        self.oai = {
            r: openai.OpenAI(base_url=f"{self.base}/{r}/v1", api_key="x", max_retries=0)
            for r in ROUTES
        }
        self.aoai = {
            r: openai.AsyncOpenAI(base_url=f"{self.base}/{r}/v1", api_key="x", max_retries=0)
            for r in ROUTES
        }
        self.jc, self.Call, self.build_request = jupyter_chat, Call, build_request
        self.jc_parts: list[tuple[float, float, float]] = []  # build, meta ttfb, meta ttft (ms)

    def close(self) -> None:
        self.httpx.close()
        for c in self.oai.values():
            c.close()

        async def aclose() -> None:
            await self.ahttpx.aclose()
            for c in self.aoai.values():
                await c.close()

        self.loop.run_until_complete(aclose())
        self.loop.close()
        from jupyter_chat.client.runtime import RUNTIME

        RUNTIME.close()

    # Each anchor is a generator of content pieces; the harness joins them (case 1) or
    # notes the time of the first (case 2). A generator step costs well under 1 us a chunk.
    def openai_sync(self, route: str):
        stream = self.oai[route].chat.completions.create(model="m", messages=MESSAGES, stream=True)
        for chunk in stream:
            if chunk.choices:
                c = chunk.choices[0].delta.content
                if c:
                    yield c

    async def openai_async(self, route: str):
        stream = await self.aoai[route].chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        )
        async for chunk in stream:
            if chunk.choices:
                c = chunk.choices[0].delta.content
                if c:
                    yield c

    def httpx_sse_sync(self, route: str):
        url = f"{self.base}/{route}/v1/chat/completions"
        with self.connect_sse(self.httpx, "POST", url, json=BODY) as source:
            for sse in source.iter_sse():  # read to the end so the connection is kept
                if sse.data != "[DONE]":
                    for ch in json.loads(sse.data)["choices"]:
                        c = ch["delta"].get("content")
                        if c:
                            yield c

    async def httpx_sse_async(self, route: str):
        url = f"{self.base}/{route}/v1/chat/completions"
        async with self.aconnect_sse(self.ahttpx, "POST", url, json=BODY) as source:
            async for sse in source.aiter_sse():
                if sse.data != "[DONE]":
                    for ch in json.loads(sse.data)["choices"]:
                        c = ch["delta"].get("content")
                        if c:
                            yield c

    def jc_request(self, route: str):
        os.environ["LOCAL_BASE_URL"] = f"{self.base}/{route}/v1"
        return self.build_request("local", "m", MESSAGES, {}, stream=True)

    # -- case 1: one whole stream, returning the accumulated answer ------------------------
    def full_stream(self, route: str) -> dict:
        async def ajoin(agen) -> str:
            return "".join([c async for c in agen])

        def jc_chat() -> str:
            os.environ["LOCAL_BASE_URL"] = f"{self.base}/{route}/v1"
            return self.jc.chat("hi", model="local:m", stream=True).text

        return {
            "jupyter_chat Call": lambda: self.Call(self.jc_request(route)).wait().answer,
            "jupyter_chat chat()": jc_chat,
            "openai SDK": lambda: "".join(self.openai_sync(route)),
            "openai SDK async": lambda: self.loop.run_until_complete(
                ajoin(self.openai_async(route))
            ),
            "httpx-sse": lambda: "".join(self.httpx_sse_sync(route)),
            "httpx-sse async": lambda: self.loop.run_until_complete(
                ajoin(self.httpx_sse_async(route))
            ),
        }

    # -- case 2: seconds to the first content delta, the stream then read to its end --------
    def first_token(self) -> dict:
        def sync(gen_fn):
            def run() -> float:
                t0 = time.perf_counter()
                gen = gen_fn("ttft")
                parts = [next(gen)]
                t1 = time.perf_counter()
                parts.extend(gen)
                assert "".join(parts) == TTFT_TEXT
                return t1 - t0

            return run

        def async_(gen_fn):
            async def go() -> float:
                t0 = time.perf_counter()
                gen = gen_fn("ttft")
                parts = [await gen.__anext__()]
                t1 = time.perf_counter()
                parts.extend([c async for c in gen])
                assert "".join(parts) == TTFT_TEXT
                return t1 - t0

            return lambda: self.loop.run_until_complete(go())

        def jc() -> float:
            t0 = time.perf_counter()  # building the request is part of what the user waits for
            req = self.jc_request("ttft")
            tb = time.perf_counter()
            call = self.Call(req)
            t1 = None
            for _out in call:  # keep consuming: breaking out would cancel the request
                if t1 is None:
                    t1 = time.perf_counter()
            assert call.result is not None and call.result.answer == TTFT_TEXT
            self.jc_parts.append(
                ((tb - t0) * 1e3, call.meta.ttfb_ms or 0.0, call.meta.ttft_ms or 0.0)
            )
            return t1 - t0

        return {
            "jupyter_chat Call": jc,
            "openai SDK": sync(self.openai_sync),
            "openai SDK async": async_(self.openai_async),
            "httpx-sse": sync(self.httpx_sse_sync),
            "httpx-sse async": async_(self.httpx_sse_async),
        }


# -- the cases -------------------------------------------------------------------------------
def case_cpu(clients: Clients, route: str, runs: int) -> dict:
    """us of process CPU (and of wall time) per chunk; runs interleaved across clients."""
    fns = clients.full_stream(route)
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    for name, fn in fns.items():  # warm-up: imports, connection, caches
        assert fn() == EXPECTED, name
    for _ in range(runs):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            text = fn()
            c1, w1 = time.process_time(), time.perf_counter()
            assert text == EXPECTED, name
            cpu[name].append((c1 - c0) / N * 1e6)
            wall[name].append((w1 - w0) / N * 1e6)
    return {
        name: {
            "cpu_us_per_chunk": statistics.median(cpu[name]),
            "cpu_us_per_chunk_min": min(cpu[name]),
            "wall_us_per_chunk": statistics.median(wall[name]),
            "cpu_runs": [round(x, 2) for x in cpu[name]],
        }
        for name in fns
    }


def case_ttft(clients: Clients, raw: RawClient, requests: int) -> dict:
    """ms to the first content delta, and the overhead over the raw socket's first byte."""
    fns = {"raw socket": raw.ttft, **clients.first_token()}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn(), fn()  # warm: connection open, code paths hot
    conns = {}
    for name, fn in fns.items():  # connections opened per warm request (1.0: none reused)
        before = raw.connections()
        for _ in range(5):
            fn()
        conns[name] = (raw.connections() - before) / 5
    for _ in range(requests):
        for name, fn in fns.items():
            times[name].append(fn() * 1e3)
    base = statistics.median(times["raw socket"])
    out = {
        name: {
            "ttft_ms": statistics.median(t),
            "overhead_ms": statistics.median(t) - base,
            "p90_ms": sorted(t)[int(0.9 * (len(t) - 1))],
            "new_connections_per_request": conns[name],
        }
        for name, t in times.items()
    }
    parts = clients.jc_parts[-requests:]
    out["jupyter_chat Call"]["breakdown_ms"] = {
        "build_request": statistics.median(p[0] for p in parts),
        "loop_ttfb": statistics.median(p[1] for p in parts),  # request sent -> headers, on loop
        "loop_ttft": statistics.median(p[2] for p in parts),  # send() start -> first delta
    }
    return out


IMPORT_PROBE = """
import sys, time, json
t = time.perf_counter()
import {mod}
ms = (time.perf_counter() - t) * 1e3
watch = ["httpx", "httpx2", "httpx_sse", "pydantic", "anyio", "openai", "jupyter_chat.providers.profiles",
         "jupyter_chat.providers.config", "jupyter_chat.client.runtime"]
print(json.dumps({{"ms": ms, "loaded": [m for m in watch if m in sys.modules],
                   "modules": len(sys.modules)}}))
"""


def case_import(runs: int) -> dict:
    # Bytecode cached as for an installed package (this environment sets
    # PYTHONDONTWRITEBYTECODE), kept outside the source tree; the first run fills it.
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "jc-bench-pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = {}
    for label, mod in (
        ("jupyter_chat", "jupyter_chat"),
        ("openai SDK", "openai"),
        ("httpx-sse", "httpx_sse"),
    ):
        results = []
        for _ in range(runs + 1):  # the first run warms the bytecode and file caches
            p = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE.format(mod=mod)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            results.append(json.loads(p.stdout))
        results = results[1:]
        out[label] = {
            "import_ms": statistics.median(r["ms"] for r in results),
            "loaded": results[0]["loaded"],
            "modules": results[0]["modules"],
        }
    must_not = {"httpx", "pydantic", "jupyter_chat.providers.profiles"}
    out["jupyter_chat"]["lazy_ok"] = not must_not & set(out["jupyter_chat"]["loaded"])
    return out


# -- report ----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def table(cpu: dict, ttft: dict, imp: dict) -> list[dict]:
    """Rows: (case, ours, openai anchor, httpx-sse anchor, unit)."""
    rows = []
    for framing, c in cpu.items():
        us = {name: r["cpu_us_per_chunk"] for name, r in c.items()}
        rows += [
            (
                f"CPU/chunk {framing}, Call vs sync",
                us["jupyter_chat Call"],
                us["openai SDK"],
                us["httpx-sse"],
                "us",
            ),
            (
                f"CPU/chunk {framing}, chat() vs sync",
                us["jupyter_chat chat()"],
                us["openai SDK"],
                us["httpx-sse"],
                "us",
            ),
            (
                f"CPU/chunk {framing}, Call vs async",
                us["jupyter_chat Call"],
                us["openai SDK async"],
                us["httpx-sse async"],
                "us",
            ),
        ]
    rows += [
        (
            "TTFT overhead, vs sync",
            ttft["jupyter_chat Call"]["overhead_ms"],
            ttft["openai SDK"]["overhead_ms"],
            ttft["httpx-sse"]["overhead_ms"],
            "ms",
        ),
        (
            "TTFT overhead, vs async",
            ttft["jupyter_chat Call"]["overhead_ms"],
            ttft["openai SDK async"]["overhead_ms"],
            ttft["httpx-sse async"]["overhead_ms"],
            "ms",
        ),
        (
            "import (fresh interpreter)",
            imp["jupyter_chat"]["import_ms"],
            imp["openai SDK"]["import_ms"],
            imp["httpx-sse"]["import_ms"],
            "ms",
        ),
    ]
    return [
        {
            "case": c,
            "unit": u,
            "jupyter_chat": o,
            "openai": a,
            "httpx_sse": h,
            "ratio_vs_openai": o / a if a > 0 else None,
            "ratio_vs_httpx_sse": o / h if h > 0 else None,
        }
        for c, o, a, h, u in rows
    ]


def print_report(cpu: dict, ttft: dict, imp: dict, rows: list[dict]) -> None:
    for framing, c in cpu.items():
        print(f"\n1. client CPU per chunk, {framing} framing ({N} chunks; median of runs)")
        for name, r in c.items():
            print(
                f"   {name:22} {r['cpu_us_per_chunk']:7.2f} us CPU (min "
                f"{r['cpu_us_per_chunk_min']:6.2f})  {r['wall_us_per_chunk']:7.2f} us wall  "
                f"runs {r['cpu_runs']}"
            )
    print("\n2. warm time to first token (median; overhead = minus the raw socket's)")
    for name, r in ttft.items():
        print(
            f"   {name:22} {r['ttft_ms']:7.3f} ms  overhead {r['overhead_ms']:+7.3f} ms  "
            f"p90 {r['p90_ms']:7.3f} ms  new connections/request "
            f"{r['new_connections_per_request']:.1f}"
        )
    b = ttft["jupyter_chat Call"]["breakdown_ms"]
    print(
        f"   jupyter_chat breakdown: build_request {b['build_request']:.3f} ms, loop-side "
        f"TTFB {b['loop_ttfb']:.3f} ms, loop-side TTFT {b['loop_ttft']:.3f} ms"
    )
    print("\n3. import in a fresh interpreter (median)")
    for name, r in imp.items():
        print(
            f"   {name:22} {r['import_ms']:7.1f} ms  {r['modules']:4d} modules  "
            f"loaded: {', '.join(r['loaded']) or '-'}"
        )
    ok = imp["jupyter_chat"]["lazy_ok"]
    print(
        f"   import jupyter_chat leaves httpx, pydantic, jupyter_chat.providers.profiles unloaded: "
        f"{'OK' if ok else 'FAIL'}"
    )

    head = (
        "case",
        "jupyter_chat",
        "openai SDK",
        "httpx-sse",
        "ratio vs openai",
        "ratio vs httpx-sse",
    )
    cells = [head] + [
        (
            r["case"],
            *(f"{r[k]:.2f} {r['unit']}" for k in ("jupyter_chat", "openai", "httpx_sse")),
            ratio(r["jupyter_chat"], r["openai"]),
            ratio(r["jupyter_chat"], r["httpx_sse"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    print()
    for n, row in enumerate(cells):
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    print(
        "(sync anchors: openai.OpenAI, httpx.Client + connect_sse; async: openai.AsyncOpenAI, "
        "httpx.AsyncClient + aconnect_sse; ratios are ours / anchor, lower is better)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (2 CPU runs, 10 TTFT)")
    args = ap.parse_args()
    runs, requests, import_runs = (2, 10, 3) if args.quick else (5, 30, 5)

    load = os.getloadavg()[0]
    if load > 0.5:
        print(
            f"warning: load average {load:.2f} before starting; other processes share the "
            "CPUs, expect noisy numbers"
        )
    imp = case_import(import_runs)  # first, before this process has imported anything heavy
    proc, port = start_server()
    try:
        clients = Clients(port)
        raw = RawClient(port)
        cpu = {label: case_cpu(clients, route, runs) for label, route in FRAMINGS.items()}
        ttft = case_ttft(clients, raw, requests)
        clients.close()
    finally:
        proc.terminate()
        proc.wait(5)

    rows = table(cpu, ttft, imp)
    print_report(cpu, ttft, imp, rows)

    import httpx
    import httpx_sse
    import openai

    out = HERE / "results" / "client.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "meta": {
                    "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "quick": args.quick,
                    "chunks": N,
                    "cpu_runs": runs,
                    "ttft_requests": requests,
                    "import_runs": import_runs,
                    "python": platform.python_version(),
                    "machine": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_avg_1min": {"start": load, "end": os.getloadavg()[0]},
                    "versions": {
                        "openai": openai.__version__,
                        "httpx": httpx.__version__,
                        "httpx_sse": getattr(httpx_sse, "__version__", None),
                    },
                },
                "cpu": cpu,
                "ttft": ttft,
                "import": imp,
                "table": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if imp["jupyter_chat"]["lazy_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

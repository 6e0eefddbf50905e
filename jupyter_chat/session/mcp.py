"""MCP tools in the one tool loop: ``mcp:NAME`` (every tool of a server) or ``mcp:NAME/TOOL``
become tool definitions and callables beside Python functions, so ``confirm`` and
``max_steps`` apply unchanged. Servers come from ``%chat mcp add`` (this kernel) and the config
file's ``[mcp.NAME]``. A server's tool list and every call's result are recorded in the replay
store (keyed by the server's name, the tool, the arguments and the request whose answer asked
for the call), so a replayed turn neither starts the server nor calls the tool; ``live`` calls
again."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .._secrets import redact, redact_deep
from ..errors import ConfigError, did_you_mean
from ..providers.mcpserver import McpServer, make_server
from .state import SESSION

PREFIX = "mcp:"
_ADDED: dict[str, McpServer] = {}  # %chat mcp add, this kernel
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


def add_server(name: str, **fields: Any) -> McpServer:
    """Add (or replace) an MCP server for this kernel: ``command=``/``args=`` (stdio) or
    ``url=``/``headers=`` (streamable HTTP). Nothing is started until a tool is used."""
    server = make_server(name, {k: v for k, v in fields.items() if v is not None})
    _ADDED[server.name] = server
    return server


def servers() -> dict[str, McpServer]:
    """Every MCP server known here: the config file's, then this kernel's (which win)."""
    from ..providers.config import CONFIG

    return {**CONFIG.mcp_servers(), **_ADDED}


def server(name: str) -> McpServer:
    known = servers()
    if name not in known:
        hint = did_you_mean(name, known) or "Add it with %chat mcp add NAME -- COMMAND ARGS..."
        raise ConfigError(f"no MCP server named {name!r}", hint=hint)
    return known[name]


def is_spec(tool: Any) -> bool:
    return isinstance(tool, str) and tool.startswith(PREFIX)


def expand(tools: list) -> list:
    """``tools`` with each ``mcp:...`` spec replaced by the tools it names."""
    return [x for t in tools for x in (mcp_tools(t) if is_spec(t) else [t])]


def mcp_tools(spec: str, live: bool = False) -> list[McpTool]:
    """The tools ``mcp:NAME`` or ``mcp:NAME/TOOL`` offers (listed once per ask, or replayed)."""
    name, _, only = spec[len(PREFIX) :].partition("/")
    if not name:
        raise ConfigError(f"{spec!r}: expected mcp:NAME or mcp:NAME/TOOL")
    listed = recorded(
        {"mcp": name, "op": "tools/list"},
        live,
        lambda: _run_on_loop("tools", server(name)),
        f"MCP server {name!r}'s tool list",
    )
    tools = [McpTool(name, t, live) for t in listed]
    if only:
        tools = [t for t in tools if t.tool == only]
        if not tools:
            names = [t["name"] for t in listed]
            hint = did_you_mean(only, names) or f"It offers {', '.join(names[:12]) or 'none'}."
            raise ConfigError(f"MCP server {name!r} has no tool {only!r}", hint=hint)
    return tools


class McpTool:
    """One tool of an MCP server, as the tool loop sees it: a definition and ``run_call``."""

    def __init__(self, server: str, listed: dict[str, Any], live: bool = False) -> None:
        self.server = server
        self.tool = listed["name"]
        self.live = live
        self.name = _NOT_A_NAME.sub("_", self.tool)[:64] or "tool"
        params = dict(listed.get("schema") or {"type": "object", "properties": {}})
        params.pop("$schema", None)
        self.definition = {
            "type": "function",
            "function": {
                "name": self.name,
                "description": listed.get("description") or self.tool,
                "parameters": params,
            },
        }

    def __repr__(self) -> str:
        return f"<MCP tool {self.tool!r} of {self.server!r}>"

    def run_call(self, arguments: dict[str, Any], call_id: str, asked_by: str | None) -> str:
        """Call the tool, or replay its recorded result; a failure is an ``McpError``."""
        what = {
            "mcp": self.server,
            "op": "tools/call",
            "tool": self.tool,
            "arguments": arguments,
            "asked_by": asked_by,
            "call": call_id,
        }
        return recorded(
            what,
            self.live,
            lambda: _run_on_loop("call", server(self.server), self.tool, arguments),
            f"the call of {self.tool!r} on MCP server {self.server!r}",
        )


def _run_on_loop(op: str, *args: Any) -> Any:
    import asyncio

    from ..client.mcp import LINKS
    from ..client.runtime import RUNTIME

    if asyncio._get_running_loop() is RUNTIME.loop:  # waiting on it from itself: a deadlock
        raise ConfigError("MCP tools are not run from the shared loop (achat, map, widgets)")
    value = RUNTIME.run(getattr(LINKS, op)(*args))
    return redact(value) if isinstance(value, str) else redact_deep(value)


def recorded(what: dict[str, Any], live: bool, produce: Callable[[], Any], named: str) -> Any:
    """``produce()``'s value, or its recording per the replay mode (record and auto keep it)."""
    from ..replay.store import ReplayMissError

    mode, store = SESSION.replay_state()
    blob = json.dumps(what, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
    if mode in ("replay", "auto") and not live:
        rec = store.get(key)
        if rec is not None and isinstance(rec.get("mcp"), dict) and "value" in rec["mcp"]:
            note_used(key)
            return rec["mcp"]["value"]
        if mode == "replay":
            raise ReplayMissError(
                f"no recording of {named} in {store.path.name}; replay mode starts no MCP server",
                hint="Record it with %chat replay auto (or record), or call the server again "
                "with --live-tools.",
            )
    keep = mode in ("record", "auto")
    if keep:
        store.check_writable()
    start = time.perf_counter()
    value = produce()
    if keep:
        store.put(
            {  # the shape of a recording (store.py checks it), the value under "mcp"
                "v": 1,
                "key": key,
                "request": {"provider": f"{PREFIX}{what['mcp']}", **what},
                "chain_id": None,
                "response": {"choices": []},
                "deltas": [],
                "latency_ms": round((time.perf_counter() - start) * 1000, 1),
                "ttft_ms": None,
                "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "mcp": {"value": value},
            }
        )
        note_used(key)
    return value


def note_used(key: str) -> None:
    """``JUPYTER_CHAT_USED_KEYS=FILE`` lists every recording used or made (as run.py's does:
    ``jupyter-chat store prune`` keeps MCP recordings too)."""
    path = os.environ.get("JUPYTER_CHAT_USED_KEYS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(key + "\n")

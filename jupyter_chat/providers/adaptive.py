"""Adaptive Engine's server-side tools, as profile hooks: ``tools`` are switches
``[{"id", "enabled"}]`` with ``use_tools``, never function definitions (providers.md 2, E)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .hooks import Hooks


class ServerToolsHooks(Hooks):
    def tool_params(
        self, profile: Any, server_tools: list[str] | dict[str, bool] | None, tools: list | None
    ) -> dict[str, Any] | None:
        if server_tools is None and tools is not None:
            if all(isinstance(t, dict) and "id" in t for t in tools):
                return {"tools": list(tools)}  # the switches, given as they are sent
            raise ConfigError(
                f"{profile.name} has server-side tools, not function tools",
                hint="Switch them with --server-tools ID,... (server_tools=[...] in Python).",
            )
        if server_tools is None:
            return None
        switches = (
            server_tools if isinstance(server_tools, dict) else dict.fromkeys(server_tools, True)
        )
        return {
            "tools": [{"id": str(i), "enabled": bool(on)} for i, on in switches.items()],
            "use_tools": True,
        }

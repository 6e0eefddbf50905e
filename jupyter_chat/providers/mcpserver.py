"""An MCP server as data: a command to start (stdio) or a URL (streamable HTTP), from
``%chat mcp add`` or a ``[mcp.NAME]`` table of the config file, checked as it is given; header
values are keys (registered, never shown)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._secrets import Secret, public_url, url_secrets
from ..errors import ConfigError

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
EXAMPLE = '[mcp.NAME] with command = "npx" and args = [...], or url = "http://..."'
_FIELDS = {"command", "args", "env", "cwd", "url", "headers", "timeout"}


@dataclass(frozen=True)
class McpServer:
    """How to reach one MCP server; ``headers`` hold ``Secret`` values."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, Secret] = field(default_factory=dict)
    timeout: float = 60.0  # seconds for one call (the server may take longer to start)

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def where(self) -> str:
        """The command line or the URL, as it may be shown (no header, no credential)."""
        if self.command:
            return " ".join([self.command, *self.args])
        return public_url(self.url or "")

    def identity(self) -> dict[str, Any]:
        """What the server is, for recordings' keys: never a header value or an env value."""
        if self.command:
            return {"name": self.name, "command": [self.command, *self.args]}
        return {"name": self.name, "url": public_url(self.url or "")}


def make_server(name: Any, fields: dict[str, Any]) -> McpServer:
    """A checked server: a ``ConfigError`` naming the bad value (a header value never shown)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(
            f"mcp server name {str(name)[:40]!r}: use letters, digits, - and _",
            hint="e.g. %chat mcp add everything -- npx -y @modelcontextprotocol/server-everything",
        )
    where = f"mcp.{name}"
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r}", hint="Known: " + ", ".join(sorted(_FIELDS))
        )
    command, url = fields.get("command"), fields.get("url")
    if (command is None) == (url is None):
        raise ConfigError(f"{where}: give a command (stdio) or a url (HTTP), one of them")
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise ConfigError(f"{where}: command must be a non-empty string")
    args = fields.get("args", [])
    if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"{where}: args must be a list of strings")
    env = _strings(fields.get("env", {}), f"{where}: env")
    cwd = fields.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(f"{where}: cwd must be a folder's path")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise ConfigError(f"{where}: url must start with http:// or https://")
    headers = {}
    for key, value in _strings(fields.get("headers", {}), f"{where}: headers").items():
        headers[key] = Secret(value, None, f"{where} header {key}")
        scheme, _, token = value.partition(" ")  # "Bearer TOKEN": the token alone is a key too
        if token and scheme.isalpha():
            Secret(token, None, f"{where} header {key}")
    if url is not None:
        for value in url_secrets(url):
            Secret(value, None, f"{where} url")
    timeout = fields.get("timeout", 60.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 3600:
        raise ConfigError(f"{where}: timeout must be a number of seconds under 3600")
    return McpServer(
        name,
        command.strip() if command else None,
        tuple(args),
        env,
        cwd,
        url,
        headers,
        float(timeout),
    )


def _strings(table: Any, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ConfigError(f"{where} must be a table of strings")  # values may be keys: not shown
    return dict(table)

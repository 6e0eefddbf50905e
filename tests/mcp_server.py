"""A tiny MCP server for the tests, built with the ``mcp`` package's MCPServer (FastMCP) and
served over streamable HTTP on 127.0.0.1 (``python tests/mcp_server.py PORT [TOKEN]``; with a
TOKEN, a request without ``Authorization: Bearer TOKEN`` is refused: 401) or over stdio
(``python tests/mcp_server.py --stdio``)."""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("notebook-test-server")


@server.tool()
def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers."""
    return a * b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool()
def fail(why: str) -> str:
    """Always fails, saying why."""
    raise ValueError(why)


@server.tool()
def sleep(seconds: float) -> str:
    """Answers after this many seconds."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def die() -> str:
    """Ends the server's process mid-call."""
    os._exit(3)


def main() -> None:
    if sys.argv[1] == "--stdio":
        return server.run("stdio")
    port = int(sys.argv[1])
    token = sys.argv[2] if len(sys.argv) > 2 else None
    app = server.streamable_http_app()
    if token:
        inner = app

        async def app(scope, receive, send):  # noqa: F811 (the guarded app)
            headers = dict(scope.get("headers") or [])
            wanted = f"Bearer {token}".encode()
            if scope["type"] == "http" and headers.get(b"authorization") != wanted:
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
            await inner(scope, receive, send)

    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

"""MCP servers reached from the shared loop thread: one session per server and kernel, opened
on first use (a stdio server started, an HTTP server connected with its headers) and kept until
the kernel exits; its tools listed, a tool called. Every failure (a server that does not start,
dies mid-call, times out or answers with an error) is one ``McpError`` naming the server and
the tool. The ``mcp`` package is imported here, on first use, never at load."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import tempfile
from typing import Any

from .._secrets import clip
from ..errors import ChatError
from ..providers.mcpserver import McpServer
from .runtime import RUNTIME


class McpError(ChatError):
    """An MCP server failed: it did not start, died, timed out or said the call failed."""


class Link:
    """One server's open session, held by a task on the loop thread until ``close``."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.session: Any = None
        self.task: asyncio.Task | None = None
        self.closing = asyncio.Event()
        # the server's stderr, kept for the error line; closed with the link
        self.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.refused: tuple[int, str] | None = None  # an HTTP server's last error status and
        # reason, which the SDK's own error leaves out

    def last_words(self) -> str:
        """The last line the server wrote to stderr (why it did not start, or died)."""
        with contextlib.suppress(Exception):
            self.errlog.flush()
            self.errlog.seek(0)
            lines = [x.strip() for x in self.errlog.read().splitlines() if x.strip()]
            return f" (it said: {clip(lines[-1], 200)})" if lines else ""
        return ""

    async def hold(self, ready: asyncio.Future) -> None:
        import logging

        from mcp import ClientSession

        logging.getLogger("mcp").addHandler(logging.NullHandler())  # its warnings: not in cells

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await asyncio.wait_for(session.initialize(), start_timeout(self.server))
                self.session = session
                ready.set_result(session)
                await self.closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.session = None

    def _transport(self) -> Any:
        server = self.server
        if server.command:
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(
                command=server.command, args=list(server.args), env=server.env or None,
                cwd=server.cwd,
            )  # fmt: skip
            return stdio_client(params, errlog=self.errlog)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        headers = {k: v.reveal() for k, v in server.headers.items()}

        async def seen(response: Any) -> None:
            if response.status_code >= 400:
                self.refused = (response.status_code, response.reason_phrase)

        @contextlib.asynccontextmanager
        async def connect() -> Any:
            async with (
                create_mcp_http_client(headers=headers) as http,
                streamable_http_client(server.url or "", http_client=http) as streams,
            ):
                http.event_hooks["response"].append(seen)
                yield streams

        return connect()


class Links:
    """The kernel's open sessions, by server name."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._atexit = False

    async def link(self, server: McpServer) -> Link:
        link = self._links.get(server.name)
        if link is not None and (link.server != server or link.task is None or link.task.done()):
            await self._close(link)
            link = None
        if link is not None:
            return link
        try:
            import mcp  # noqa: F401
        except ImportError:
            raise McpError(
                f"MCP server {server.name!r}: MCP tools need the mcp package",
                hint="Install it: pip install 'jupyter-chat[mcp]' (then restart the kernel).",
            ) from None
        link = Link(server)
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        link.task = asyncio.ensure_future(link.hold(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), start_timeout(server))
        except BaseException as exc:
            said = link.last_words()
            await self._close(link)
            if isinstance(exc, asyncio.CancelledError):
                raise
            stdio = server.transport == "stdio"
            why = _why(exc)
            if stdio:
                hint = "Check the command (%chat mcp list) and that it runs in a terminal."
            else:
                hint = "Check the URL and the headers (%chat mcp list) and that the server runs."
            if link.refused:
                code, reason = link.refused
                status = f"HTTP {code} {clip(reason, 80)}".strip()
                why = status if why in status else f"{status}: {why}"
                if code in (401, 403):
                    hint = "The server refused the headers: check the key in them (%chat mcp list)."
            raise McpError(
                f"MCP server {server.name!r} ({clip(server.where(), 120)}) did not "
                f"{'start' if stdio else 'connect'}: {why}{said}",
                hint=hint,
            ) from None
        self._links[server.name] = link
        if not self._atexit:
            atexit.register(self.close_all)
            self._atexit = True
        return link

    async def tools(self, server: McpServer) -> list[dict[str, Any]]:
        """The server's tools: name, description, input schema."""
        link = await self.link(server)
        listed = await self._watch(link, link.session.list_tools(), "listing tools")
        return [
            {"name": t.name, "description": t.description or "", "schema": t.input_schema}
            for t in listed.tools
        ]

    async def call(self, server: McpServer, tool: str, arguments: dict[str, Any]) -> str:
        """Call ``tool``; its result as text, or an ``McpError`` when it failed."""
        link = await self.link(server)
        result = await self._watch(link, link.session.call_tool(tool, arguments), tool)
        text = result_text(result)
        if result.is_error:
            raise McpError(
                f"MCP server {server.name!r}: tool {tool!r} failed: {clip(text, 300) or 'no reason'}",
                hint="The call is not recorded; fix the arguments or the server and run again.",
            )
        return text

    async def _watch(self, link: Link, coro: Any, what: str) -> Any:
        """``coro`` on ``link``'s session, failing at once if the server goes away."""
        server = link.server
        job = asyncio.ensure_future(asyncio.wait_for(coro, server.timeout))
        assert link.task is not None
        try:
            await asyncio.wait({job, link.task}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            job.cancel()
            raise
        if job.done() and not job.cancelled() and job.exception() is None:
            return job.result()
        job.cancel()
        exc = job.exception() if job.done() and not job.cancelled() else None
        said = link.last_words()
        await self._close(link)
        why = "timed out" if isinstance(exc, asyncio.TimeoutError) else "went away"
        raise McpError(
            f"MCP server {server.name!r} {why} while {_doing(what)}"
            f"{': ' + _why(exc) if exc and why != 'timed out' else ''}{said}",
            hint="The next call starts (or connects to) the server again; nothing was filed.",
        ) from None

    async def _close(self, link: Link) -> None:
        if self._links.get(link.server.name) is link:
            del self._links[link.server.name]
        link.closing.set()
        if link.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(link.task, 5)
        link.errlog.close()

    def opened(self) -> dict[str, bool]:
        """Servers with a session open now."""
        return {n: link.session is not None for n, link in self._links.items()}

    def close(self, name: str) -> None:
        link = self._links.get(name)
        if link is not None:
            RUNTIME.submit(self._close(link)).result(10)

    def close_all(self) -> None:
        for name in list(self._links):
            with contextlib.suppress(Exception):
                self.close(name)


def start_timeout(server: McpServer) -> float:
    """Seconds a server may take to start: its call timeout, but at least a minute (npx may
    fetch the package first)."""
    return max(server.timeout, 60.0)


def _doing(what: str) -> str:
    return what if what == "listing tools" else f"calling {what!r}"


def _why(exc: BaseException | None) -> str:
    """An exception in a few words (an ExceptionGroup by its first leaf)."""
    while getattr(exc, "exceptions", None):  # an ExceptionGroup (anyio's task groups)
        exc = exc.exceptions[0]  # type: ignore[union-attr]
    if exc is None:
        return "no reason given"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    text = str(exc).strip() or type(exc).__name__
    return clip(" ".join(text.split()), 200)


def result_text(result: Any) -> str:
    """A tool result's content as text: text parts as they are, other parts described."""
    parts = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {getattr(block, 'mime_type', '?')}]")
        elif kind == "resource":
            res = block.resource
            parts.append(getattr(res, "text", None) or f"[resource: {res.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource: {block.uri}]")
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


LINKS = Links()

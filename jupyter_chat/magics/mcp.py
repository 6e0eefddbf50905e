"""``%chat mcp``: add an MCP server for this kernel (``add NAME -- COMMAND ARGS...`` over stdio,
``add NAME --url URL [--header K=V]`` over streamable HTTP), list the servers, remove one; the
work is in session/mcp.py. Nothing is started here: a server starts when a cell uses its tools."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError

from ..display.markup import Md, code, fence, plain_table, table
from .options import Parser, parse_headers, split

_PARSER: Parser | None = None


def parser() -> Parser:
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    p = Parser(prog="%chat mcp", description="MCP servers whose tools --tools mcp:NAME offers.")
    sub = p.add_subparsers(dest="action", parser_class=Parser, required=True)
    sp = sub.add_parser(
        "add",
        help="add NAME -- COMMAND ARGS... (stdio) or add NAME --url URL [--header K=V] (HTTP)",
        description="Add an MCP server for this kernel: -- COMMAND ARGS... starts it over stdio "
        "(on first use), --url reaches it over streamable HTTP.",
    )
    sp.add_argument("name")
    sp.add_argument("--url", help="a streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp")
    sp.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an HTTP header (repeatable); its value is a key: never shown or recorded",
    )
    sp.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    sp.add_argument("--timeout", type=float, help="seconds for one call (default 60)")
    sp.set_defaults(func=add)
    sub.add_parser("list", help="the servers and where each comes from").set_defaults(func=list_)
    tl = sub.add_parser("tools", help="a server's tools (starts it, or replays its list)")
    tl.add_argument("name")
    tl.set_defaults(func=tools)
    rm = sub.add_parser("remove", help="forget a server added here (and stop it)")
    rm.add_argument("name")
    rm.set_defaults(func=remove)
    _PARSER = p
    return p


def run(line: str) -> None:
    """``%chat mcp ...``: the words after ``--`` are the server's command line."""
    words = split(line)
    command: list[str] = []
    if "--" in words:
        at = words.index("--")
        words, command = words[:at], words[at + 1 :]
    args = parser().parse_args(words or ["list"])
    args.command = command
    return args.func(args)


def _show(markdown: Md, plain: str) -> None:
    from .commands import show_md

    show_md(markdown, plain)


def add(args: Any) -> None:
    from ..session.mcp import add_server

    if bool(args.command) == bool(args.url):
        raise UsageError(
            "%chat mcp add NAME: give -- COMMAND ARGS... (stdio) or --url URL (HTTP), one of them"
        )
    env = parse_headers(args.env) if args.env else None
    fields: dict[str, Any] = {"env": env, "timeout": args.timeout}
    if args.command:
        fields.update(command=args.command[0], args=args.command[1:])
    else:
        fields.update(url=args.url, headers=parse_headers(args.header) or None)
    server = add_server(args.name, **fields)
    toml = [f"[mcp.{server.name}]"]
    if server.command:
        toml += [f"command = {_toml(server.command)}", f"args = {_toml(list(server.args))}"]
    else:
        toml.append(f"url = {_toml(server.where())}")
    if server.headers:  # keys: the user writes them in, outside the notebook's folder
        pairs = ", ".join(f"{_toml(k)} = {_toml('...')}" for k in server.headers)
        toml.append(f"headers = {{ {pairs} }}")
    _show(
        Md("Added MCP server {} ({}: {}) for this kernel; it starts when a cell uses ").format(
            code(server.name), server.transport, code(server.where())
        )
        + Md("{}. To keep it, add this to the config file:\n\n").format(
            code(f"--tools mcp:{server.name}")
        )
        + fence("\n".join(toml), "toml"),
        "\n".join(toml),
    )


def list_(args: Any) -> None:
    from ..client.mcp import LINKS
    from ..session.mcp import _ADDED, servers

    known = servers()
    if not known:
        return _show(
            Md("No MCP servers: add one with {}.").format(code("%chat mcp add NAME -- COMMAND")),
            "No MCP servers.",
        )
    opened = LINKS.opened()
    rows = [
        [
            name,
            s.transport,
            s.where(),
            ", ".join(f"{k}: ***" for k in s.headers),
            "this kernel" if name in _ADDED else "config file",
            "yes" if opened.get(name) else "",
        ]
        for name, s in known.items()
    ]
    header = ["server", "transport", "command or URL", "headers", "from", "running"]
    _show(table(header, rows), plain_table(header, rows))


def tools(args: Any) -> None:
    from .._secrets import clip
    from ..session.mcp import mcp_tools

    rows = [
        [t.name, clip(" ".join(str(t.definition["function"]["description"]).split()), 120)]
        for t in mcp_tools(f"mcp:{args.name}")
    ]
    _show(table(["tool", "description"], rows), plain_table(["tool", "description"], rows))


def remove(args: Any) -> None:
    from ..client.mcp import LINKS
    from ..session.mcp import _ADDED

    if args.name not in _ADDED:
        raise UsageError(f"%chat mcp remove: no server {args.name!r} was added in this kernel")
    del _ADDED[args.name]
    LINKS.close(args.name)
    _show(Md("MCP server {} removed.").format(code(args.name)), f"MCP server {args.name} removed.")


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and lists are TOML too

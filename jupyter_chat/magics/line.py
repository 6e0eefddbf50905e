"""``%chat SUBCOMMAND``: each subcommand is an argparse subparser, so ``%chat seed --help``
works for every one of them and ``%chat help`` lists them all; the work is in commands.py."""

from __future__ import annotations

import argparse
from typing import Any

from ..display.markup import Md, code, table
from . import commands as c
from . import mcp
from .options import Parser, split

_PARSER: Parser | None = None


def parser_() -> Parser:
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    p = Parser(prog="%chat", description="jupyter-chat commands.")
    sub = p.add_subparsers(dest="command", parser_class=Parser)

    def cmd(name: str, func: Any, desc: str) -> Parser:
        s = sub.add_parser(name, description=desc, help=desc)
        s.set_defaults(func=func)
        return s

    cmd("help", help_, "List the commands.")
    cmd("providers", c.providers, "The providers, their base URLs and whether a key is set.")
    cmd("models", c.models, "What a provider's /models endpoint offers.").add_argument(
        "provider", nargs="?"
    )
    cmd("use", c.use, "Set the notebook's default PROVIDER:MODEL.").add_argument("model")
    pa = cmd(
        "provider",
        c.provider_add,
        "provider add NAME --base-url URL ...: add an OpenAI-compatible endpoint.",
    )
    pa.add_argument("action", choices=["add"])
    pa.add_argument("name")
    pa.add_argument("--base-url", required=True, help="ends before /chat/completions")
    pa.add_argument("--path", help="default /chat/completions")
    pa.add_argument("--auth-header", help="default Authorization")
    pa.add_argument("--auth-scheme", help='default Bearer; "" sends the bare key')
    pa.add_argument("--key-env", help="the variable holding the key (default NAME_API_KEY)")
    pa.add_argument("--header", action="append", metavar="NAME=VALUE", help="extra header")
    pa.add_argument("--extends", help="built-in provider whose parameter rules apply")
    pa.add_argument("--model", help="default model")
    pa.add_argument("--no-key", action="store_true", help="the endpoint needs no key")
    cmd("key", c.key, "Set a provider's key for this kernel (hidden prompt).").add_argument(
        "provider"
    )
    cmd("threads", c.threads, "The notebook's threads.")
    cmd("thread", c.thread, "Switch the current thread.").add_argument("name")
    cmd("history", c.history, "Show a thread's messages.").add_argument("thread", nargs="?")
    cmd("clear", c.clear, "Empty a thread.").add_argument("thread", nargs="?")
    cmd(
        "usage", c.usage, "usage [THREAD]: tokens and cost per thread, sent and replayed apart."
    ).add_argument("thread", nargs="?")
    bu = cmd("budget", c.budget, "budget USD | off | status: the notebook's spending limit.")
    bu.add_argument("value", nargs="?", default="status")
    bu.add_argument("--unknown", help="models with no price: allow, refuse, or tokens they may use")
    cmd("system", c.system, "system TEXT | off | show: the notebook's system prompt.")
    cmd(
        "seed", c.seed, "seed N | off | show: the notebook seed cell seeds derive from."
    ).add_argument("value", nargs="?", default="show")
    cmd(
        "defaults", c.defaults, "defaults KEY=VALUE ... | clear: notebook parameters."
    ).add_argument("pairs", nargs="*")
    cmd(
        "window", c.window, "window N | Nt | off: send at most N turns (or N tokens) of history."
    ).add_argument("size")
    lo = cmd("local", c.local_server, "local start|stop|status: the kernel's llama.cpp server.")
    lo.add_argument("action", choices=["start", "stop", "status"])
    lo.add_argument(
        "--model",
        help="a GGUF file (default: JUPYTER_CHAT_LOCAL_MODEL or the packaged Gemma 3 270M)",
    )
    lo.add_argument("--chat-format", help="llama.cpp chat format (gemma, chatml, ...)")
    lo.add_argument("--logprobs", action="store_true", help="allow logprobs (much more memory)")
    lo.add_argument(
        "--when-needed",
        action="store_true",
        help="start it so at the first request that needs it, not now (a replayed one needs none)",
    )
    rp = cmd(
        "replay",
        c.replay,
        "replay off|record|replay|auto [PATH] [--pace]: record answers "
        "beside the notebook and replay them offline.",
    )
    rp.add_argument("mode", nargs="?", choices=["off", "record", "replay", "auto", "check"])
    rp.add_argument("path", nargs="?", help="the store (default: NOTEBOOK.chat.jsonl)")
    rp.add_argument("--pace", action="store_true", help="replay at the recorded pace")
    cmd(
        "verify", c.verify, "verify [PATH]: check EigenCloud signatures in a store or notebook."
    ).add_argument("path", nargs="?")
    cmd(
        "mcp",
        mcp.run,
        "mcp add NAME -- COMMAND ARGS... | add NAME --url URL [--header K=V] | list | remove "
        "NAME: MCP servers whose tools --tools mcp:NAME offers.",
    )
    pn = cmd("panel", c.panel, "panel [-m MODEL] [-t THREAD]: a chat panel (widgets).")
    pn.add_argument("-m", "--model")
    pn.add_argument("-t", "--thread")
    ex = cmd("export", c.export_thread, "export THREAD PATH: write a thread as .md or .json.")
    ex.add_argument("thread")
    ex.add_argument("path")
    _PARSER = p
    return p


def help_(args: Any) -> None:
    parser = parser_()
    rows = [[code(f"%chat {name}"), sub.description or ""] for name, sub in _subparsers(parser)]
    c.show_md(
        Md("**%%chat \\[options\\]** sends the cell to a model (`%%chat --help` for the options).")
        + Md("\n\n")
        + table(["command", "what it does"], rows)
        + Md("\n\nEvery command takes `--help`."),
        "\n".join(f"%chat {name:<10} {sub.description}" for name, sub in _subparsers(parser)),
    )


def _subparsers(p: Parser) -> list[tuple[str, argparse.ArgumentParser]]:
    action = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices.items())


def run_line(line: str) -> None:
    words = line.strip().split(None, 1)
    if not words:
        return help_(None)
    if words[0] == "system" and "--help" not in words[1:2]:
        return c.system(words[1] if len(words) > 1 else "")
    if words[0] == "mcp":  # its own parser: the words after -- are a command line
        return mcp.run(words[1] if len(words) > 1 else "")
    args = parser_().parse_args(split(line))
    return args.func(args)

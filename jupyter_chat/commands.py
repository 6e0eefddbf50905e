"""``%chat SUBCOMMAND``: providers, models, threads, seeds, keys, defaults, export.

Each subcommand is an argparse subparser, so ``%chat seed --help`` works for every one of them
and ``%chat help`` lists them all.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from IPython.core.error import UsageError

from ._secrets import public_url
from .magics import _Parser, _split, parse_headers, parse_params
from .markup import Md, bullets, code, fence, one_line, plain_table, table
from .render import show
from .state import SESSION, check_thread

_PARSER: _Parser | None = None


def _show(markdown: Md, plain: str | None = None) -> None:
    show(markdown, plain if plain is not None else _plain(markdown))


def _plain(markdown: Md) -> str:
    """A Markdown line as plain text: the escapes and code ticks dropped."""
    import html
    import re

    text = re.sub(r"\\(.)", r"\1", str(markdown).replace("`", "").replace("**", ""))
    return html.unescape(text)


def _table(header: list[Any], rows: list[list[Any]]) -> tuple[Md, str]:
    return table(header, rows), plain_table(header, rows)


# -- subcommands --------------------------------------------------------------------------------
def _help(m: Any, args: Any) -> None:
    parser = parser_()
    rows = [[code(f"%chat {name}"), sub.description or ""] for name, sub in _subparsers(parser)]
    _show(
        Md("**%%chat \\[options\\]** sends the cell to a model (`%%chat --help` for the options).")
        + Md("\n\n")
        + table(["command", "what it does"], rows)
        + Md("\n\nEvery command takes `--help`."),
        "\n".join(f"%chat {name:<10} {sub.description}" for name, sub in _subparsers(parser)),
    )


def _providers(m: Any, args: Any) -> None:
    from .config import CONFIG
    from .errors import ChatError
    from .profiles import MANAGED_BASE

    rows = []
    for name, p in CONFIG.profiles().items():
        try:
            url = p.resolved_base_url()
        except ChatError:
            url = f"not set ({p.url_var})"
        if p.managed and url == MANAGED_BASE:
            url = "managed here (started on first use)"
        if not p.key_required:
            key = "not needed"
        elif CONFIG.usable(p):
            key = "set"
        else:
            key = f"missing: {p.key_var} or %chat key {name}"
        rows.append([name, p.title, public_url(url), p.default_model or "", key])
    _show(*_table(["provider", "", "base URL", "default model", "key"], rows))


def _models(m: Any, args: Any) -> None:
    import jupyter_chat

    from .api import resolve_model

    provider = args.provider or resolve_model(SESSION.model)[0]
    ids = [one_line(item.get("id", "?")) for item in jupyter_chat.models(provider)]
    _show(
        Md("**{}** offers {} models:\n\n{}").format(provider, len(ids), bullets(map(code, ids))),
        "\n".join(ids),
    )


def _use(m: Any, args: Any) -> None:
    from .api import resolve_model

    if not args.model.strip():
        raise UsageError("%chat use: give PROVIDER:MODEL (or PROVIDER)")
    provider, model = resolve_model(args.model)  # validates the provider
    SESSION.model = f"{provider}:{model}" if model else provider
    _show(Md("Default model: {}").format(code(SESSION.model)))


def _provider_add(m: Any, args: Any) -> None:
    import jupyter_chat

    headers = parse_headers(args.header) if args.header else None
    fields: dict[str, Any] = dict(
        path=args.path,
        auth_header=args.auth_header,
        auth_scheme=args.auth_scheme,
        key_env=args.key_env,
        headers={k: str(v) for k, v in (headers or {}).items()} or None,
        extends=args.extends,
        default_model=args.model,
    )
    if args.no_key:
        fields["key_required"] = False
    p = jupyter_chat.add_provider(args.name, args.base_url, **fields)
    toml = [f"[providers.{p.name}]", f"base_url = {_toml(public_url(p.base_url or ''))}"]
    toml += [f"{k} = {_toml(v)}" for k, v in fields.items() if isinstance(v, str)]
    if fields.get("headers"):
        pairs = ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in fields["headers"].items())
        toml.append(f"headers = {{ {pairs} }}")
    if args.no_key:
        toml.append("key_required = false")
    _show(
        Md(
            "Added provider {} for this kernel: use {}. To keep it, add this to the config file "
        ).format(code(p.name), code(f"-m {p.name}:MODEL"))
        + Md("(`~/.config/jupyter-chat/config.toml`):\n\n")
        + fence("\n".join(toml), "toml"),
        "\n".join(toml),
    )


def _key(m: Any, args: Any) -> None:
    import getpass

    import jupyter_chat

    from .config import CONFIG

    CONFIG.profile(args.provider)  # unknown provider: fail before asking
    value = getpass.getpass(f"API key for {args.provider} (hidden): ")
    jupyter_chat.set_key(args.provider, value)
    _show(
        Md("Key for {} set for this kernel (never shown, never saved).").format(code(args.provider))
    )


def _threads(m: Any, args: Any) -> None:
    names = sorted(set(SESSION.threads) | {SESSION.current})
    rows = [
        [n, len(SESSION.threads.get(n, ())), "current" if n == SESSION.current else ""]
        for n in names
    ]
    _show(*_table(["thread", "turns", ""], rows))


def _thread(m: Any, args: Any) -> None:
    SESSION.current = check_thread(args.name)
    _show(Md("Current thread: {}").format(code(SESSION.current)))


def _history(m: Any, args: Any) -> None:
    name = check_thread(args.thread or SESSION.current)
    msgs = SESSION.history(name)
    if not msgs:
        return _show(Md("Thread {} is empty.").format(code(name)))
    from .render import history_markdown

    plain = "\n\n".join(f"{x.get('role')}: {_content(x)}" for x in msgs)
    _show(history_markdown(msgs), plain)


def _clear(m: Any, args: Any) -> None:
    name = check_thread(args.thread or SESSION.current)
    SESSION.clear(name)
    _show(Md("Thread {} cleared.").format(code(name)))


def _system(m: Any, text: str) -> None:
    text = text.strip()
    if text in ("", "show"):
        if not SESSION.system:
            return _show(Md("No system prompt."))
        return _show(Md("System prompt:\n\n{}").format(fence(SESSION.system)))
    SESSION.system = None if text == "off" else text
    _show(Md("System prompt cleared.") if SESSION.system is None else Md("System prompt set."))


def _seed(m: Any, args: Any) -> None:
    if args.value == "off":
        SESSION.seed = None
    elif args.value != "show":
        try:
            SESSION.seed = int(args.value)
        except ValueError:
            raise UsageError(
                f"%chat seed: expected a whole number, off or show, not {args.value!r}"
            ) from None
    _show(
        Md("Derived seeds are off: no seed is sent unless --seed is given.")
        if SESSION.seed is None
        else Md(
            "Notebook seed: {}. Each cell sends a seed derived from it and the cell's text."
        ).format(SESSION.seed)
    )


def _defaults(m: Any, args: Any) -> None:
    if args.pairs == ["clear"]:
        SESSION.params = {}
    elif args.pairs:
        SESSION.params = {**SESSION.params, **parse_params(args.pairs, "%chat defaults")}
    shown = Md(", ").join(code(f"{k}={v!r}") for k, v in SESSION.params.items()) or Md("none")
    model = code(SESSION.model) if SESSION.model else Md("(the configured default)")
    _show(Md("Model: {}. Default parameters: {}.").format(model, shown))


def _window(m: Any, args: Any) -> None:
    v = args.size.strip().lower()
    if v == "off":
        SESSION.window_turns = SESSION.window_tokens = None
    elif v.endswith("t") and v[:-1].isdigit():
        SESSION.window_tokens, SESSION.window_turns = int(v[:-1]), None
    elif v.isdigit():
        SESSION.window_turns, SESSION.window_tokens = int(v), None
    else:
        raise UsageError(f"%chat window: expected N (turns), Nt (tokens) or off, not {v!r}")
    _show(Md("History window: {}.").format(args.size))


def _local(m: Any, args: Any) -> None:
    from . import local

    if args.action == "start":
        settings: dict[str, Any] = {}
        if args.model:
            settings["model"] = args.model
        if args.chat_format:
            settings["chat_format"] = args.chat_format
        if args.logprobs:
            settings["logprobs"] = True
        url = local.start(**settings)
        _show(Md("Local server up at {}.").format(code(url)))
    elif args.action == "stop":
        _show(Md("Local server stopped.") if local.stop() else Md("No local server was running."))
    if args.action in ("status", "start"):
        st = local.status()
        if os.environ.get("LOCAL_BASE_URL"):
            _show(
                Md("`local` points at LOCAL_BASE_URL = {}; no server is managed here.").format(
                    code(public_url(os.environ["LOCAL_BASE_URL"]))
                )
            )
        elif not st["running"]:
            _show(Md("No local server running; the first `-m local` request starts one."))
        else:
            _show(
                *_table(
                    ["model", "port", "pid", "memory", "uptime"],
                    [
                        [
                            st["model"],
                            st["port"],
                            st["pid"],
                            f"{st['memory_mb']} MB",
                            f"{st['uptime_s']} s",
                        ]
                    ],
                )
            )


def _replay(m: Any, args: Any) -> None:
    if args.mode is None:
        mode, store = SESSION.replay_state()
        where = Md(" with {}").format(code(_shown_path(store.path))) if store else Md("")
        return _show(Md("Replay mode: **{}**{}.").format(mode, where))
    store = SESSION.set_replay(args.mode, args.path, args.pace)
    n = len(store.records()) if store.path.exists() else 0
    forced = os.environ.get("JUPYTER_CHAT_REPLAY")
    note = f" (JUPYTER_CHAT_REPLAY={forced} is in force for this kernel)" if forced else ""
    _show(
        Md("Replay mode: **{}** with {} ({} recording{}){}.").format(
            args.mode, code(_shown_path(store.path)), n, "" if n == 1 else "s", note
        )
    )


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _shown_path(path: Any) -> str:
    """Relative to the notebook's folder when inside it: outputs stay the same on any machine."""
    from pathlib import Path

    try:
        return str(Path(path).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _verify(m: Any, args: Any) -> None:
    from .audit import audit

    path = args.path or (SESSION.store.path if SESSION.store is not None else None)
    if path is None:
        raise UsageError(
            "%chat verify: give a notebook (.ipynb) or replay store (.jsonl), or "
            "set a store with %chat replay"
        )
    results = audit(path)
    if not results:
        return _show(Md("No signed turns in {}.").format(code(path)))
    rows = [[where, v.state, v.signer or v.reason] for where, v in results]
    _show(*_table(["turn", "signature", "signer or reason"], rows))


def _panel(m: Any, args: Any) -> None:
    from IPython.display import display

    from .widgets import panel

    display(panel(args.model, args.thread))


def _export(m: Any, args: Any) -> None:
    path = SESSION.export(check_thread(args.thread), args.path)
    _show(Md("Thread {} written to {}.").format(code(args.thread), code(path)))


# -- the parser ---------------------------------------------------------------------------------
def parser_() -> _Parser:
    global _PARSER
    if _PARSER is not None:
        return _PARSER
    p = _Parser(prog="%chat", description="jupyter-chat commands.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def cmd(name: str, func: Any, desc: str) -> _Parser:
        s = sub.add_parser(name, description=desc, help=desc)
        s.set_defaults(func=func)
        return s

    cmd("help", _help, "List the commands.")
    cmd("providers", _providers, "The providers, their base URLs and whether a key is set.")
    cmd("models", _models, "What a provider's /models endpoint offers.").add_argument(
        "provider", nargs="?"
    )
    cmd("use", _use, "Set the notebook's default PROVIDER:MODEL.").add_argument("model")
    pa = cmd(
        "provider",
        _provider_add,
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
    cmd("key", _key, "Set a provider's key for this kernel (hidden prompt).").add_argument(
        "provider"
    )
    cmd("threads", _threads, "The notebook's threads.")
    cmd("thread", _thread, "Switch the current thread.").add_argument("name")
    cmd("history", _history, "Show a thread's messages.").add_argument("thread", nargs="?")
    cmd("clear", _clear, "Empty a thread.").add_argument("thread", nargs="?")
    cmd("system", _system, "system TEXT | off | show: the notebook's system prompt.")
    cmd(
        "seed", _seed, "seed N | off | show: the notebook seed cell seeds derive from."
    ).add_argument("value", nargs="?", default="show")
    cmd("defaults", _defaults, "defaults KEY=VALUE ... | clear: notebook parameters.").add_argument(
        "pairs", nargs="*"
    )
    cmd(
        "window", _window, "window N | Nt | off: send at most N turns (or N tokens) of history."
    ).add_argument("size")
    lo = cmd("local", _local, "local start|stop|status: the kernel's llama.cpp server.")
    lo.add_argument("action", choices=["start", "stop", "status"])
    lo.add_argument(
        "--model",
        help="a GGUF file (default: JUPYTER_CHAT_LOCAL_MODEL or the packaged Gemma 3 270M)",
    )
    lo.add_argument("--chat-format", help="llama.cpp chat format (gemma, chatml, ...)")
    lo.add_argument("--logprobs", action="store_true", help="allow logprobs (much more memory)")
    rp = cmd(
        "replay",
        _replay,
        "replay off|record|replay|auto [PATH] [--pace]: record answers "
        "beside the notebook and replay them offline.",
    )
    rp.add_argument("mode", nargs="?", choices=["off", "record", "replay", "auto", "check"])
    rp.add_argument("path", nargs="?", help="the store (default: NOTEBOOK.chat.jsonl)")
    rp.add_argument("--pace", action="store_true", help="replay at the recorded pace")
    cmd(
        "verify", _verify, "verify [PATH]: check EigenCloud signatures in a store or notebook."
    ).add_argument("path", nargs="?")
    pn = cmd("panel", _panel, "panel [-m MODEL] [-t THREAD]: a chat panel (widgets).")
    pn.add_argument("-m", "--model")
    pn.add_argument("-t", "--thread")
    ex = cmd("export", _export, "export THREAD PATH: write a thread as .md or .json.")
    ex.add_argument("thread")
    ex.add_argument("path")
    _PARSER = p
    return p


def _subparsers(p: _Parser) -> list[tuple[str, argparse.ArgumentParser]]:
    action = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices.items())


def run_line(m: Any, line: str) -> None:
    words = line.strip().split(None, 1)
    if not words:
        return _help(m, None)
    if words[0] == "system" and "--help" not in words[1:2]:
        return _system(m, words[1] if len(words) > 1 else "")
    args = parser_().parse_args(_split(line))
    return args.func(m, args)

"""What each ``%chat`` subcommand does: providers, models, threads, seeds, keys, defaults,
usage, replay, verify, export, the panel (line.py parses and dispatches)."""

from __future__ import annotations

import json
import os
from typing import Any

from IPython.core.error import UsageError

from .._secrets import public_url
from ..display.bundle import show
from ..display.markup import Md, bullets, code, fence, one_line, plain_table, table
from ..errors import ConfigError
from ..session.defaults import (
    set_model,
    set_params,
    set_replay,
    set_seed,
    set_system,
    set_window,
)
from ..session.state import SESSION, check_thread
from .options import parse_headers, parse_params


def show_md(markdown: Md, plain: str | None = None) -> None:
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
def providers(args: Any) -> None:
    from ..errors import ChatError
    from ..providers.config import CONFIG
    from ..providers.hooks import MANAGED_BASE

    rows = []
    for name, p in CONFIG.profiles().items():
        try:
            url = p.resolved_base_url()
        except ChatError:
            url = f"not set ({p.url_var})"
        if url == MANAGED_BASE:
            url = "managed here (started on first use)"
        if not p.key_required:
            key = "not needed"
        elif CONFIG.usable(p):
            key = "set"
        else:
            key = f"missing: {p.key_var} or %chat key {name}"
        rows.append([name, p.title, public_url(url), p.default_model or "", key])
    show_md(*_table(["provider", "", "base URL", "default model", "key"], rows))


def models(args: Any) -> None:
    from ..client.models import list_models
    from ..client.runtime import RUNTIME
    from ..session.resolve import resolve_model

    provider = args.provider or resolve_model(SESSION.model)[0]
    ids = [one_line(item.get("id", "?")) for item in RUNTIME.run(list_models(provider))]
    show_md(
        Md("**{}** offers {} models:\n\n{}").format(provider, len(ids), bullets(map(code, ids))),
        "\n".join(ids),
    )


def use(args: Any) -> None:
    if not args.model.strip():
        raise UsageError("%chat use: give PROVIDER:MODEL (or PROVIDER)")
    set_model(args.model)  # validates the provider
    show_md(Md("Default model: {}").format(code(SESSION.model)))


def provider_add(args: Any) -> None:
    from ..providers.config import CONFIG

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
    p = CONFIG.add_provider(args.name, base_url=args.base_url, **fields)
    toml = [f"[providers.{p.name}]", f"base_url = {_toml(public_url(p.base_url or ''))}"]
    toml += [f"{k} = {_toml(v)}" for k, v in fields.items() if isinstance(v, str)]
    if fields.get("headers"):
        pairs = ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in fields["headers"].items())
        toml.append(f"headers = {{ {pairs} }}")
    if args.no_key:
        toml.append("key_required = false")
    show_md(
        Md(
            "Added provider {} for this kernel: use {}. To keep it, add this to the config file "
        ).format(code(p.name), code(f"-m {p.name}:MODEL"))
        + Md("({}):\n\n").format(code(_config_named()))
        + fence("\n".join(toml), "toml"),
        "\n".join(toml),
    )


def key(args: Any) -> None:
    import getpass

    from ..providers.config import CONFIG

    CONFIG.profile(args.provider)  # unknown provider: fail before asking
    value = getpass.getpass(f"API key for {args.provider} (hidden): ")
    CONFIG.set_key(args.provider, value)
    show_md(
        Md("Key for {} set for this kernel (never shown, never saved).").format(code(args.provider))
    )


def threads(args: Any) -> None:
    names = sorted(set(SESSION.threads) | {SESSION.current})
    rows = [
        [n, len(SESSION.threads.get(n, ())), "yes" if n == SESSION.current else ""] for n in names
    ]
    show_md(*_table(["thread", "turns", "current"], rows))


def thread(args: Any) -> None:
    SESSION.current = check_thread(args.name)
    show_md(Md("Current thread: {}").format(code(SESSION.current)))


def history(args: Any) -> None:
    name = check_thread(args.thread or SESSION.current)
    turns = [(e.record, e.messages) for e in SESSION.entries(name)]
    if not turns:
        return show_md(Md("Thread {} is empty.").format(code(name)))
    from ..display.history import history_markdown, history_plain

    show_md(history_markdown(turns), history_plain(turns))


def usage(args: Any) -> None:
    """Requests, tokens and cost per thread and for the notebook: sent (paid) and replayed
    (saved) apart; "cost unknown" where no price or provider cost is known."""
    thread = check_thread(args.thread) if args.thread else None
    rows = [
        [
            name,
            live.requests,
            f"{live.tokens:,}",
            _cost(live),
            rp.requests,
            f"{rp.tokens:,}",
            _cost(rp),
        ]
        for name, live, rp in SESSION.ledger.rows(thread)
    ]
    header = ["thread", "sent", "tokens sent", "spent", "replayed", "tokens replayed", "saved"]
    if not any(row[-1] for row in rows):  # nothing replayed was priced: no "saved" column
        header, rows = header[:-1], [row[:-1] for row in rows]
    show_md(*_table(header, rows))


def _cost(tally: Any) -> str:
    from ..session.accounting import usd

    if not tally.requests:
        return ""
    if tally.unpriced == tally.requests:
        return "cost unknown"
    return usd(tally.usd) + (f" + {tally.unpriced} unpriced" if tally.unpriced else "")


def budget(args: Any) -> None:
    """``%chat budget USD | off | status``: the notebook's spending limit, across cells (a new
    limit keeps what this kernel already spent under the old one)."""
    from ..session.budget import Budget

    value = (args.value or "status").strip()
    if value == "off":
        SESSION.budget = None
    elif value != "status":
        try:
            amount = float(value.lstrip("$").replace(",", ""))
        except ValueError:
            raise UsageError(
                f"%chat budget: expected an amount in USD, off or status, not {value!r}"
            ) from None
        unknown: Any = args.unknown or "refuse"
        if unknown not in ("allow", "refuse"):
            try:
                unknown = int(unknown.replace(",", "").replace("_", ""))
            except ValueError:
                raise UsageError(
                    f"%chat budget --unknown: expected allow, refuse or tokens, not {unknown!r}"
                ) from None
        new = Budget(amount, unknown)
        old = SESSION.budget
        if old is not None:
            new.spent, new.tokens, new.requests, new.unpriced = (
                old.spent,
                old.tokens,
                old.requests,
                old.unpriced,
            )
        SESSION.budget = new
    if SESSION.budget is None:
        return show_md(Md("No budget: nothing limits what this notebook spends."))
    show_md(Md("Notebook {}.").format(SESSION.budget.status()))


def clear(args: Any) -> None:
    name = check_thread(args.thread or SESSION.current)
    SESSION.clear(name)
    show_md(Md("Thread {} cleared.").format(code(name)))


def system(text: str) -> None:
    text = text.strip()
    if text in ("", "show"):
        if not SESSION.system:
            return show_md(Md("No system prompt."))
        return show_md(Md("System prompt:\n\n{}").format(fence(SESSION.system)))
    set_system(None if text == "off" else text)
    show_md(Md("System prompt cleared.") if SESSION.system is None else Md("System prompt set."))


def seed(args: Any) -> None:
    if args.value == "off":
        set_seed(None)
    elif args.value != "show":
        try:
            set_seed(int(args.value))
        except ValueError:
            raise UsageError(
                f"%chat seed: expected a whole number, off or show, not {args.value!r}"
            ) from None
    show_md(
        Md("Derived seeds are off: no seed is sent unless --seed is given.")
        if SESSION.seed is None
        else Md(
            "Notebook seed: {}. Each cell sends a seed derived from it and the cell's text."
        ).format(SESSION.seed)
    )


def defaults(args: Any) -> None:
    if args.pairs == ["clear"]:
        set_params({})
    elif args.pairs:
        set_params(parse_params(args.pairs, "%chat defaults"), merge=True)
    shown = Md(", ").join(code(f"{k}={v!r}") for k, v in SESSION.params.items()) or Md("none")
    model = code(SESSION.model) if SESSION.model else Md("(the configured default)")
    show_md(Md("Model: {}. Default parameters: {}.").format(model, shown))


def window(args: Any) -> None:
    try:
        set_window(args.size)
    except ConfigError as exc:
        raise UsageError(f"%chat window: {exc.message}") from None
    show_md(Md("History window: {}.").format(args.size))


def local_server(args: Any) -> None:
    from ..providers import local

    if args.when_needed and args.action != "start":
        raise UsageError("%chat local: --when-needed goes with start")
    if args.action == "start":
        settings: dict[str, Any] = {}
        if args.model:
            settings["model"] = args.model
        if args.chat_format:
            settings["chat_format"] = args.chat_format
        settings["logprobs"] = bool(args.logprobs)  # a start without it: ~3 GB less again
        if args.when_needed:
            stopped = local.configure(**settings)
            return show_md(
                Md("The local server starts {}at the first live `-m local` request{}.").format(
                    Md("with token log-probabilities ") if args.logprobs else Md(""),
                    Md(" (the one running with other settings was stopped)") if stopped else Md(""),
                )
            )
        url = local.start(**settings)
        show_md(Md("Local server up at {}.").format(code(url)))
    elif args.action == "stop":
        show_md(Md("Local server stopped.") if local.stop() else Md("No local server was running."))
    if args.action in ("status", "start"):
        st = local.status()
        if os.environ.get("LOCAL_BASE_URL"):
            show_md(
                Md("`local` points at LOCAL_BASE_URL = {}; no server is managed here.").format(
                    code(public_url(os.environ["LOCAL_BASE_URL"]))
                )
            )
        elif not st["running"]:
            show_md(Md("No local server running; the first `-m local` request starts one."))
        else:
            show_md(
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


def replay(args: Any) -> None:
    if args.mode is None:
        return show_md(*replay_status())
    store = set_replay(args.mode, args.path, args.pace)
    # the same output whatever the store holds and however the kernel was started, so a
    # notebook's outputs do not change between recording it and replaying it
    show_md(Md("Replay mode: **{}** with {}.").format(args.mode, code(_shown_path(store.path))))


def replay_status() -> tuple[Md, str]:
    """The mode in force, the store, and this kernel's hits, misses and recordings."""
    mode, store = SESSION.replay_state()
    forced = os.environ.get("JUPYTER_CHAT_REPLAY")
    rows = [["mode", mode + (" (JUPYTER_CHAT_REPLAY)" if forced else "")]]
    if store is not None:
        rows += [["store", _shown_path(store.path)], ["recordings in it", len(store)]]
    c = SESSION.replay_counts
    rows += [["replayed here", c["hits"]], ["missed", c["misses"]], ["recorded", c["recorded"]]]
    return table(["", ""], rows), plain_table(["", ""], rows)


def _config_named() -> str:
    """The config file in use as the user named it: ``$JUPYTER_CHAT_CONFIG`` when that says
    where, else its path (``~/...`` in the home folder)."""
    import os

    from ..providers.config import config_path

    return "$JUPYTER_CHAT_CONFIG" if os.environ.get("JUPYTER_CHAT_CONFIG") else _home(config_path())


def _home(path: Any) -> str:
    """``~/...`` for a path in the home folder (outputs stay the same for every user)."""
    from pathlib import Path

    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _shown_path(path: Any) -> str:
    """Relative to the notebook's folder when inside it: outputs stay the same on any machine."""
    from pathlib import Path

    try:
        return str(Path(path).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def verify(args: Any) -> None:
    from ..display.audit import audit

    path = args.path or (SESSION.store.path if SESSION.store is not None else None)
    if path is None:
        raise UsageError(
            "%chat verify: give a notebook (.ipynb) or replay store (.jsonl), or "
            "set a store with %chat replay"
        )
    results = audit(path)
    if not results:
        return show_md(Md("No signed turns in {}.").format(code(path)))
    rows = [[where, v.state, v.signer or v.reason] for where, v in results]
    show_md(*_table(["turn", "signature", "signer or reason"], rows))


def panel(args: Any) -> None:
    from IPython.display import display

    from ..widgets.panel import panel

    display(panel(args.model, args.thread))


def export_thread(args: Any) -> None:
    from ..session.export import export

    path = export(check_thread(args.thread), args.path)
    show_md(Md("Thread {} written to {}.").format(code(args.thread), code(path)))

"""Running one ``%%chat`` turn in a cell: session -> client -> renderer -> session."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError

from . import api, render
from ._secrets import clip
from .errors import ChatError, ProviderError
from .frontend import FRONTEND
from .interpolate import interpolate
from .markup import Md, code, fence, one_line, plain_table, table
from .state import SESSION


def check_options(magics: Any, args: Any) -> None:
    """Options that would fail only after the answer was paid for are refused now."""
    for flag, value in (("-m", args.model), ("-t", args.thread)):
        if value is not None and not value.strip():
            raise UsageError(f"%%chat {flag}: the value is empty")
    if args.out is not None:
        check_variable_name(magics.shell, args.out, "-o")
    if args.compare:
        unsupported = [
            flag
            for flag, used in (
                ("-t", args.thread),
                ("--new", args.new),
                ("--tools", args.tools),
                ("--tool-choice", args.tool_choice),
                ("--confirm", args.confirm),
                ("--server-tools", args.server_tools),
                ("--image", args.image),
                ("--format", args.format != "markdown"),
                ("--no-stream", args.no_stream),
            )
            if used
        ]
        if unsupported:
            raise UsageError(
                f"%%chat --compare does not take {', '.join(unsupported)}: a comparison streams "
                "each model's answer as Markdown and files nothing in a thread"
            )


def check_variable_name(shell: Any, name: str, option: str) -> None:
    import keyword

    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{option} {name!r}: not a valid variable name")
    if name in getattr(shell, "user_ns_hidden", {}) or name in ("In", "Out", "get_ipython"):
        raise UsageError(f"{option} {name!r}: IPython uses that name; choose another")


def run_cell_turn(magics: Any, args: Any, line: str, cell: str) -> None:
    check_options(magics, args)
    prompt = (cell if args.no_interpolate else interpolate(cell, magics.lookup)).strip()
    if not prompt:
        raise UsageError("%%chat: the cell is empty: write the message below the %%chat line")
    from .magics import parse_params

    params = {**SESSION.params, **parse_params(args.param)}
    for name in ("temperature", "top_p", "max_tokens"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    key = magics.cell_key(line, cell)
    # Seeds come from the cell's text, not its id: nbval and terminals send no id, and the
    # seed (hence the request, hence its recording) must be the same wherever the notebook runs.
    seed = (
        args.seed if args.seed is not None else SESSION.derive_seed(magics.source_key(line, cell))
    )
    tools = [_tool(magics, name) for name in _names(args.tools)] if args.tools else None
    images = [magics.shell.user_ns.get(x, x) for x in args.image] if args.image else None
    if args.tool_choice:
        params["tool_choice"] = (
            args.tool_choice
            if args.tool_choice in ("auto", "required", "none")
            else {"type": "function", "function": {"name": args.tool_choice}}
        )
    prep = api.prepare(
        prompt,
        model=args.model or SESSION.model,
        thread=args.thread or SESSION.current,
        system=args.system if args.system is not None else SESSION.system,
        seed=seed,
        stream=not args.no_stream,
        tools=tools,
        images=images,
        key=key,
        fresh=args.new,
        dry_run=args.dry_run,
        server_tools=_names(args.server_tools) if args.server_tools else None,
        **params,
    )
    if args.dry_run:
        return _dry_run(prep)
    if args.compare:
        return _compare(magics, args, prompt, params)
    if args.format == "json":
        prep.check = check_json
    confirm = api.ask_before_call if args.confirm else None
    turn = api.run_tools(
        prep, lambda p: _step(magics, args, p), args.max_steps, confirm, on_result=_show_tool_result
    )
    if args.out:
        magics.shell.user_ns[args.out] = turn
    if args.format == "code":
        magics.shell.set_next_input(render.code_of(turn.text), replace=False)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _tool(magics: Any, name: str) -> Any:
    fn = magics.shell.user_ns.get(name)
    if not callable(fn):
        raise UsageError(f"--tools: {name!r} is not a function defined in this notebook")
    return fn


def _step(magics: Any, args: Any, prep: api.Prepared) -> Any:
    """One request, streamed into its own display; returns its Turn."""
    req = prep.request
    shown = [m for m in req.body["messages"] if m.get("role") == "system"][:1] + prep.new
    shown = [api.hash_images(m) for m in shown]  # outputs keep an image's hash, not its bytes
    early = {
        "provider": req.provider,
        "model": req.body.get("model"),
        "params": api.sent_params(req),
        "thread": prep.thread,
    }
    call = api.open_call(prep)
    live = render.Live(
        early, shown, args.format, magics.terminal, call.acc, FRONTEND if req.stream else None
    )
    if req.stream:
        live.show()
    try:
        for out in call:
            if req.stream:
                live.feed(out)
        turn = api.close_call(prep, call)
    except KeyboardInterrupt:
        _show_partial(live, prep, call, "interrupted", None)
        raise
    except Exception as exc:
        err = exc if isinstance(exc, ChatError) else api.internal_error(exc)
        partial = err.partial if err.partial is not None else call.partial()
        if partial.answer or partial.reasoning or live.handle is not None:
            _show_partial(live, prep, call, "error", str(err), partial)
        if err is exc:
            raise
        raise err from None
    if turn.tool_calls and prep.functions:
        _final(live, prep, turn, turn.text)  # the model asked for tools: show the calls
        return turn
    answer = render.pretty_json(turn.text) if args.format == "json" else turn.text
    _final(live, prep, turn, answer, args.format)
    return turn


def check_json(turn: Any) -> None:
    """--format json: an answer that is not JSON fails the cell (it is shown, and recorded,
    but not filed in the thread)."""
    try:
        render.pretty_json(turn.text)
    except ValueError as exc:
        raise ProviderError(
            f"the answer is not valid JSON ({exc})",
            hint="Ask for JSON only, or use --format markdown.",
            partial=turn.result,
        ) from None


def _show_tool_result(call: dict[str, Any], text: str, ok: bool) -> None:
    name = call.get("function", {}).get("name", "?")
    shown = clip(text, 500)
    verb = "returned" if ok else "failed"
    render.show(
        Md("↳ {} {}\n\n{}").format(code(name), verb, fence(shown)),
        f"↳ {one_line(name)} {verb}: {shown}",
    )


def _final(
    live: render.Live, prep: api.Prepared, turn: Any, answer: str, fmt: str = "markdown"
) -> None:
    data, meta = render.bundle(
        answer=answer,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=live.messages,
        status="complete",
        fmt=fmt,
        signed=turn.signed,
        images=render.thumbnails(prep.new) or None,
    )
    live.final(data, meta, turn.text)


def _show_partial(
    live: render.Live,
    prep: api.Prepared,
    call: Any,
    status: str,
    error: str | None,
    partial: Any = None,
) -> None:
    partial = partial if partial is not None else call.partial()
    record = api.make_record(prep, partial, call.meta)
    record["complete"] = False
    if status == "interrupted":
        record["interrupted"] = True
    data, meta = render.bundle(
        answer=partial.answer,
        reasoning=partial.reasoning,
        tool_calls=partial.tool_calls,
        record=record,
        messages=live.messages,
        status=status,
        fmt=live.fmt,
        error=error,
    )
    live.final(data, meta, partial.answer)


def _dry_run(prep: api.Prepared) -> None:
    public = prep.request.public()
    text = json.dumps(public, indent=2, ensure_ascii=False)
    render.show(fence(text, "json"), text, **{"application/json": public})


def _compare(magics: Any, args: Any, prompt: str, params: dict[str, Any]) -> None:
    """Columns in widget frontends, then a summary table that every frontend shows."""
    from IPython.display import display

    from .widgets import compare

    models = [m.strip() for m in args.compare.split(",") if m.strip()]
    if len(models) < 2:
        raise UsageError("%%chat --compare: give two or more models, comma-separated")
    if args.seed is not None:
        params["seed"] = args.seed
    view = compare(prompt, models=models, system=args.system or SESSION.system, **params)
    display(view)
    rows = []
    for model, turn in zip(models, view.wait()):
        if isinstance(turn, BaseException) or turn is None:
            rows.append([model, f"error: {clip(one_line(str(turn)), 200)}", "", ""])
            continue
        tokens = (turn.usage or {}).get("total_tokens", "")
        seconds = f"{turn.record['latency_ms'] / 1000:.1f} s"
        rows.append([model, clip(" ".join(turn.text.split()), 120), tokens, seconds])
    header = ["model", "answer", "tokens", "time"]
    render.show(table(header, rows), plain_table(header, rows))
    if args.out:
        magics.shell.user_ns[args.out] = view.turns

"""The ``%%chat`` cell: options into the session's ask, then the session's runner with the
cell's view (display/cell.py); ``--compare``, ``--sweep`` and ``--dry-run``."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError

from ..display.bundle import show
from ..display.cell import CellView
from ..display.formats import code_of, pretty_json
from ..display.markup import fence
from ..errors import ProviderError
from ..interpolate import interpolate
from ..session.loop import ask_before_call
from ..session.prepare import Prepared, prepare
from ..session.resolve import Ask
from ..session.runner import answer
from ..session.samples import prepare_samples
from .options import parse_params
from .samples import run_samples, samples_asked


def check_options(magics: Any, args: Any) -> None:
    """Options that would fail only after the answer was paid for are refused now."""
    for flag, value in (("-m", args.model), ("-t", args.thread)):
        if value is not None and not value.strip():
            raise UsageError(f"%%chat {flag}: the value is empty")
    if args.out is not None:
        check_variable_name(magics.shell, args.out, "-o")
    if args.compare or args.sweep:
        unsupported = [
            flag
            for flag, used in (
                ("-t", args.thread),
                ("--new", args.new),
                ("--tools", args.tools),
                ("--live-tools", args.live_tools),
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
                f"%%chat {'--compare' if args.compare else '--sweep'} does not take "
                f"{', '.join(unsupported)}: a comparison streams "
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
    params = parse_params(args.param)
    for name in ("temperature", "top_p", "max_tokens", "logprobs"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.tool_choice:
        params["tool_choice"] = (
            args.tool_choice
            if args.tool_choice in ("auto", "required", "none")
            else {"type": "function", "function": {"name": args.tool_choice}}
        )
    # Seeds come from the cell's text, not its id: nbval and terminals send no id, and the
    # seed (hence the request, hence its recording) must be the same wherever the notebook runs.
    seed_from = magics.source_key(line, cell)
    sampled = samples_asked(args)  # (K, pick) or None, checked before anything is built
    if args.compare or args.sweep:
        if args.budget is not None:
            raise UsageError("--budget limits one ask; %chat budget USD limits comparisons too")
        return _compare(magics, args, prompt, params, seed_from)
    ask = Ask(
        model=args.model,
        thread=args.thread,
        system=args.system,
        seed=args.seed,
        params=params,
        seed_from=seed_from,
        current_thread=True,
    )
    prep = prepare(
        prompt,
        ask,
        stream=not args.no_stream and sampled is None,  # samples are shown whole
        tools=_tools(magics, args) if args.tools else None,
        images=[magics.shell.user_ns.get(x, x) for x in args.image] if args.image else None,
        server_tools=_names(args.server_tools) if args.server_tools else None,
        key=magics.cell_key(line, cell),
        fresh=args.new,
        dry_run=args.dry_run,
        schema=_schema(magics, args.schema) if args.schema else None,
        repair=args.repair,
    )
    if args.budget is not None:  # the cell's own, beside the notebook's (session/budget.py)
        from ..session.budget import Budget

        prep.budget = Budget(args.budget)
    if sampled is not None:
        preps = prepare_samples(prep, sampled[0])
        if args.dry_run:
            return _dry_run(preps)
        if args.format == "json":
            for p in preps:
                p.check = check_json
        return run_samples(magics, args, preps, sampled[1])
    if args.dry_run:
        return _dry_run([prep])
    if args.format == "json":
        prep.check = check_json
    confirm = ask_before_call if args.confirm else None
    view = CellView(args.format, magics.terminal)
    turn = answer(prep, view, max_steps=args.max_steps, confirm=confirm)
    if args.out:
        magics.shell.user_ns[args.out] = turn
    if args.format == "code":
        magics.shell.set_next_input(code_of(turn.text), replace=False)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _schema(magics: Any, name: str) -> Any:
    if name not in magics.shell.user_ns:
        raise UsageError(f"--schema: {name!r} is not defined in this notebook")
    return magics.shell.user_ns[name]


def _tools(magics: Any, args: Any) -> list:
    """--tools: notebook functions, and MCP tools (listed live or replayed: --live-tools)."""
    from ..session.mcp import is_spec, mcp_tools

    out: list = []
    for name in _names(args.tools):
        out += mcp_tools(name, args.live_tools) if is_spec(name) else [_tool(magics, name)]
    return out


def _tool(magics: Any, name: str) -> Any:
    fn = magics.shell.user_ns.get(name)
    if not callable(fn):
        raise UsageError(f"--tools: {name!r} is not a function defined in this notebook")
    return fn


def check_json(turn: Any) -> None:
    """--format json: an answer that is not JSON fails the cell (it is shown, and recorded,
    but not filed in the thread)."""
    try:
        pretty_json(turn.text)
    except ValueError as exc:
        raise ProviderError(
            f"the answer is not valid JSON ({exc})",
            hint="Ask for JSON only, or use --format markdown.",
            partial=turn.result,
        ) from None


def _dry_run(preps: list[Prepared]) -> None:
    public = [p.request.public() for p in preps]
    shown = public[0] if len(public) == 1 else public
    text = json.dumps(shown, indent=2, ensure_ascii=False)
    show(fence(text, "json"), text)  # a code block that opens whole, in every frontend


def _compare(magics: Any, args: Any, prompt: str, params: dict[str, Any], seed_from: str) -> None:
    """The columns stream in widget frontends; the cell ends with the static comparison
    that every frontend shows. Each column is asked as a cell would be (the same derived
    seed); nothing else is built. ``--sweep``: the columns are the values of one parameter
    (with ``--compare``, for each model), checked by the session's one rule as
    ``compare(sweep=...)`` is."""
    from IPython.display import display

    from ..widgets.compare import compare, compare_asks

    if args.compare:
        models = [m.strip() for m in args.compare.split(",") if m.strip()]
        if len(models) < (1 if args.sweep else 2):
            raise UsageError("%%chat --compare: give two or more models, comma-separated")
    else:
        models = [args.model]  # --sweep alone: the cell's model across the values
    sweep = args.sweep if args.sweep else None
    if args.dry_run:
        asks = compare_asks(
            prompt, models, system=args.system, seed_from=seed_from, sweep=sweep,
            seed=args.seed, params=params,
        )  # fmt: skip
        return _dry_run([prepare(prompt, a, stream=True, dry_run=True) for a in asks])
    view = compare(
        prompt,
        models=models,
        system=args.system,
        seed_from=seed_from,
        schema=_schema(magics, args.schema) if args.schema else None,
        repair=args.repair,
        sweep=sweep,
        seed=args.seed,
        samples=args.samples,
        **params,
    )
    display(view)  # runs until every column has finished, then leaves the static grid
    if args.out:
        magics.shell.user_ns[args.out] = view.turns

"""The ask a Python caller writes, defined once: the options every call takes besides its
prompt (model, thread, system, seed, stream, tools, images, schema, repair, provider
parameters), given by ``takes_ask`` to ``chat``, ``achat``, ``map`` and ``imap`` as their
signature and their documentation, and prepared by ``prepare_call``."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
from typing import Any

from ..errors import ConfigError
from .prepare import Prepared, prepare
from .resolve import Ask, seed_source


@dataclasses.dataclass(frozen=True)
class Options:
    """What to ask besides the prompt; ``params`` are the provider parameters."""

    model: str | None = None
    thread: str | None = None
    system: str | None = None
    seed: int | None = None
    stream: bool = False
    tools: list | None = None
    images: list | None = None
    schema: Any = None
    repair: int = 1
    samples: int | None = None
    pick: int | str | None = None
    budget: Any = None
    budget_unknown: Any = "refuse"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


DOCS = """
    model : ``PROVIDER:MODEL``, ``PROVIDER`` (its default model) or ``MODEL``;
        default: the notebook's (``%chat use``), else the configured default.
    thread : a thread name to continue (and extend); ``None`` sends the prompt alone.
    system : a system prompt (default: the notebook's; ``""`` for none).
    seed : sent as the ``seed`` parameter where the provider accepts it (default: derived
        from the notebook seed and the prompt).
    stream : receive the answer as server-sent events.
    tools : Python functions (``@jupyter_chat.tool`` or plain) the model may call, or tool
        definitions as dicts.
    images : paths, http(s) URLs, bytes, PIL images or matplotlib figures.
    schema : a pydantic model, a JSON-schema dict or a type (``list[str]``, a ``TypedDict``):
        the answer must be JSON that matches it; ``turn.parsed`` is the validated value.
    repair : times an answer that does not match is sent back with what is wrong (0: none);
        then a ``SchemaError`` that keeps the raw answer.
    samples : ask K times at once, sample ``i`` with the seed derived from the ask's seed and
        ``i`` (sample 0 keeps it); each recorded; ``turn.samples`` holds all of them and
        ``turn.agreement`` how far they agree (session/samples.py).
    pick : the sample the thread files: ``"common"`` (default: the first sample of the most
        common answer) or a sample's index.
    budget : a limit in USD for this call: refused before anything is sent when its estimate
        (prompts at 4 bytes a token, answers at ``max_tokens``, the ``[prices]``) is over;
        while running, a request that could cross it is not sent (``BudgetError``); replayed
        answers cost nothing. ``%chat budget`` sets one for the whole notebook.
    budget_unknown : a model with no price under a budget: ``"refuse"`` (default: named up
        front), ``"allow"`` (sent, its cost unknown) or a number of tokens it may use.
    **params : any parameter the provider accepts (checked before sending), such as
        ``temperature``, ``tool_choice`` and ``parallel_tool_calls``; they add to
        ``%chat defaults``.
"""

_OPTIONS = [f for f in dataclasses.fields(Options) if f.name != "params"]


def takes_ask(fn: Any) -> Any:
    """``fn(..., options, ...)`` becomes a public call whose signature has the options in
    place of ``options`` (positional where ``options`` is, else keyword-only) and ends with
    ``**params``; its docstring gains the options' documentation."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    at = [p.name for p in params].index("options")
    kind = params[at].kind
    options = [
        inspect.Parameter(f.name, kind, default=f.default, annotation=f.type) for f in _OPTIONS
    ]
    extra = inspect.Parameter("params", inspect.Parameter.VAR_KEYWORD, annotation="Any")
    public = sig.replace(parameters=[*params[:at], *options, *params[at + 1 :], extra])
    names = [f.name for f in _OPTIONS]

    def split(args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = public.bind(*args, **kwargs)
        except TypeError as exc:  # the caller's mistake, said as Python would, in one line
            raise ConfigError(f"{fn.__name__}(): {exc}", hint=f"See help({fn.__name__}).") from None
        bound.apply_defaults()
        given = dict(bound.arguments)
        given["options"] = Options(
            **{n: given.pop(n) for n in names}, params=dict(given.pop("params"))
        )
        return given

    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await fn(**split(args, kwargs))

        wrapper: Any = call_async
    else:

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            return fn(**split(args, kwargs))

        wrapper = call
    wrapper.__signature__ = public
    wrapper.__doc__ = (fn.__doc__ or "").rstrip() + "\n\n    Asking\n    ------" + DOCS
    return wrapper


def prepare_call(prompt: Any, options: Options) -> Prepared:
    """The request for one prompt (checked; nothing is sent)."""
    from .samples import check_samples

    check_samples(options.samples, options.pick, stream=options.stream, tools=options.tools)
    params = dict(options.params)
    server_tools = params.pop("server_tools", None)
    ask = Ask(
        options.model,
        options.thread,
        options.system,
        options.seed,
        params,
        seed_from=seed_source(prompt),
    )
    prep = prepare(
        prompt,
        ask,
        stream=options.stream,
        tools=options.tools,
        images=options.images,
        server_tools=server_tools,
        schema=options.schema,
        repair=options.repair,
    )
    prep.budget = as_budget(options)
    return prep


def as_budget(options: Options) -> Any:
    """The call's ``Budget`` (one for a whole batch: ``map`` makes it once), or None."""
    from .budget import Budget

    b = options.budget
    if b is None or isinstance(b, Budget):
        return b
    return Budget(b, options.budget_unknown)

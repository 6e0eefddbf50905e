"""The comparison: the same prompt to several models (or seeds, temperatures) at once, each
column streaming as it arrives."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
from typing import Any

import ipywidgets as w

from ..session.prepare import prepare
from ..session.resolve import Ask, resolve_model, seed_source
from ..session.schema import as_schema
from ..session.state import SESSION
from .turn import StreamedTurn


class Compare(w.HBox):
    """The same prompt to several models (or seeds, temperatures) at once, in columns."""

    def __init__(self, prompt: str, asks: list[Ask], schema: Any = None, repair: int = 1) -> None:
        self.columns = [w.HTML(layout=w.Layout(flex="1 1 16em", min_width="12em")) for _ in asks]
        super().__init__(self.columns, layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.add_class("jp-ChatCompare")
        self.streams: list[StreamedTurn] = []
        schema = as_schema(schema)
        preps = [  # all checked first
            prepare(prompt, ask, stream=True, schema=schema, repair=repair) for ask in asks
        ]
        for col, label, prep in zip(self.columns, labels(asks), preps):
            self.streams.append(StreamedTurn(col, label, prep, lambda s: None))

    @property
    def turns(self) -> list[Any]:
        """Each column's Turn (or its error), in order, once finished."""
        return [s.turn if s.turn is not None else s.error for s in self.streams]

    def wait(self, timeout: float = 300) -> list[Any]:
        """Each column's Turn (or error) once all have finished. An interrupt stops them all
        (each keeps its partial answer, marked stopped) and is raised."""

        try:
            for s in self.streams:
                # errors are kept in the column and in .turns; an interrupt is not swallowed
                with contextlib.suppress(Exception, concurrent.futures.CancelledError):
                    s.fut.result(timeout)
        except KeyboardInterrupt:
            self.stop()
            raise
        return self.turns

    def stop(self) -> None:
        for s in self.streams:
            s.fut.cancel()


def compare(
    prompt: str,
    models: list[str] | None = None,
    seeds: list[int] | None = None,
    temperatures: list[float] | None = None,
    system: str | None = None,
    seed_from: str | None = None,
    schema: Any = None,
    repair: int = 1,
    **params: Any,
) -> Compare:
    """Stream ``prompt`` to each model (or each seed / temperature) in parallel columns.

    With one model and several seeds or temperatures, each column varies that. Requests run
    concurrently: N columns take about as long as the slowest. Each column goes through the
    session's one resolution rule: without ``seeds`` every column gets the seed derived from
    the prompt (``seed_from``: what it is derived from, the cell's text for ``%%chat
    --compare``), so the columns differ only in what is compared. ``schema``: each column's
    answer is validated (and repaired), as with ``chat``."""
    source = seed_from or seed_source(prompt)
    asks = [
        Ask(model=m, system=system, params=dict(params), seed_from=source) for m in models or [None]
    ]
    if seeds:
        asks = [dataclasses.replace(a, seed=s) for a in asks for s in seeds]
    if temperatures:
        asks = [
            dataclasses.replace(a, params={**a.params, "temperature": t})
            for a in asks
            for t in temperatures
        ]
    return Compare(prompt, asks, schema, repair)


def labels(asks: list[Ask]) -> list[str]:
    """What tells the columns apart: the model, the seed, the temperature."""
    out = []
    for a in asks:
        parts = [a.model or resolve_default()]
        if a.seed is not None:
            parts.append(f"seed {a.seed}")
        if "temperature" in a.params:
            parts.append(f"T={a.params['temperature']}")
        out.append(" · ".join(parts))
    return out


def resolve_default() -> str:
    provider, model = resolve_model(SESSION.model)
    return f"{provider}:{model}" if model else provider

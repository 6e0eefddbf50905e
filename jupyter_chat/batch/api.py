"""``map`` and ``imap``: many prompts (a list, an iterable, a DataFrame with a template) over
the session's one path; ``map`` with a progress bar (progress.py) that ends as a static
summary."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

from ..errors import ChatError, ConfigError
from ..session.accounting import usd
from ..session.ask import Options, as_budget, prepare_call, takes_ask
from ..session.budget import BudgetError, check_run
from ..session.prepare import Prepared
from ..session.run import will_replay
from ..session.runner import one_line_errors
from ..session.samples import SamplesError, SampleSet, prepare_samples
from ..session.state import SESSION
from ..session.telemetry import Group
from ..structured.schema import as_schema
from .items import is_frame, prepared, prompts_of
from .progress import ProgressView
from .result import Batch
from .run import Progress, Results, check_concurrency


class BatchInterrupted(ChatError):
    """The batch was interrupted; ``batch`` holds what finished before, in order."""

    def __init__(self, message: str, *, batch: Batch, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.batch = batch


@one_line_errors
@takes_ask
def map(
    items: Iterable[Any],
    prompt: str | None = None,
    *,
    options: Options,
    concurrency: int = 8,
    return_exceptions: bool = False,
    progress: bool = True,
    executor: Any = None,
) -> Batch:
    """Send many prompts, at most ``concurrency`` at once; a ``Batch`` in input order.

    ``items``: a list of prompts, any iterable, or a pandas DataFrame; with ``prompt`` (a
    template) each item fills it: a row by column (``{text}``, ``{row["a b"]}``, ``{index}``),
    a dict by key, anything else as ``{item}``, by the rules of ``%%chat`` (JSON and code pass
    through). Every request is built and checked before any is sent. ``schema``: each answer
    validated (``turn.parsed``), see ``chat``. A failed item raises its error once all have
    finished, or stays in its place with ``return_exceptions=True``. ``samples=K``: each item
    asked K times (``turn.samples``, ``turn.agreement``; the K requests count against
    ``concurrency``), and ``to_pandas()`` has one row per sample.

    Run a long batch with ``%chat replay auto``: each answer is recorded as it finishes, so
    running the same batch again after a crash, an interrupt or failures sends only what is
    not recorded (``batch.replayed`` says how many were not sent). An interrupt keeps what
    finished and raises ``BatchInterrupted`` (its ``batch``). A 429 pauses every request to
    that host; ``rpm``, ``tpm`` and ``concurrency`` in a provider's config limit all of them.

    ``budget=USD``: refused before anything is sent when the estimate is over; while running,
    no request that could cross it is sent: the rows left are ``BudgetError`` (not sent), and
    unless ``return_exceptions`` a ``BudgetError`` carrying the ``batch`` is raised.
    ``executor=``: a Dask distributed ``Client``; the rows to send are sharded to its workers,
    each recording its own store shard, merged into the store at the end (batch/cluster.py).
    """
    check_concurrency(concurrency)
    index = list(items.index) if is_frame(items) else None
    # every item asks the same: the schema built once, one budget for the batch
    once = _once(options)
    make = functools.partial(prepare_call, options=once)
    # all checked before any is sent
    preps = list(prepared(prompts_of(items, prompt), make, return_exceptions))
    k = options.samples
    if k is not None:  # each item's samples run as K rows of the batch, then are regrouped
        preps = [q for p in preps for q in (prepare_samples(p, k) if ok(p) else [p] * k)]
    if executor is not None:  # an interrupted run's shards first: their rows replay
        from .cluster import merge_shards

        if SESSION.replay_state()[0] in ("record", "auto"):
            merge_shards(SESSION.replay_state()[1])
    live = [p for p in preps if isinstance(p, Prepared) and not will_replay(p)]
    own = once.budget
    check_run(live, own)  # refused before anything is sent (session/budget.py)
    counts = Progress(total=len(preps))
    view = ProgressView(counts, progress, len(live))
    if executor is not None:
        from .cluster import Sharded

        results: Any = Sharded(executor, preps, live, concurrency, counts, view.tick)
    else:
        results = Results(iter(preps), concurrency, True, counts, view.tick, keep_hashes=True)
    done: list[Any] = []
    total, hashes = len(preps) // (k or 1), results.hashes
    try:
        with Group("map", items=total, samples=k, concurrency=concurrency):
            done.extend(results)  # each request's span a child of the batch's
    except KeyboardInterrupt:
        if k is not None:
            done, hashes = regroup(done, preps, k, options.pick), (hashes or [])[::k]
        batch = Batch(done, index[: len(done)] if index else None, hashes, total)
        view.end(batch)
        raise BatchInterrupted(interrupted_message(batch, total), batch=batch) from None
    if k is not None:
        done, hashes = regroup(done, preps, k, options.pick), (hashes or [])[::k]
    batch = Batch(done, index, hashes, total)
    view.end(batch)
    stopped = [r for r in batch if isinstance(r, BudgetError)]
    if stopped and not return_exceptions:
        stop = BudgetError(stopped_message(batch, len(stopped), own), hint=stopped[0].hint)
        stop.batch = batch
        raise stop
    if not return_exceptions:
        for r in batch:
            if isinstance(r, BaseException):
                raise r
    return batch


@takes_ask
def imap(
    items: Iterable[Any],
    prompt: str | None = None,
    *,
    options: Options,
    concurrency: int = 8,
    return_exceptions: bool = False,
) -> Results:
    """``map`` as an iterator: results in input order as they become available, the inputs
    drawn only as requests free up (at most ``2 * concurrency`` held), so a batch of any
    length runs in constant memory apart from what the caller keeps. Each item is checked
    when it is drawn. Use it in ``with``: leaving the block cancels what is in flight
    (finished answers are recorded already). No progress bar. ``budget``: no estimate up
    front (the items are not known yet); a row that could cross it is not sent."""
    check_concurrency(concurrency)
    if options.samples is not None:
        raise ConfigError("imap does not take samples", hint="Use map(..., samples=K).")
    # every item asks the same: the schema built once
    make = functools.partial(prepare_call, options=_once(options))
    preps = prepared(prompts_of(items, prompt), make, return_exceptions)
    group = Group("imap", concurrency=concurrency)
    return Results(preps, concurrency, return_exceptions, group=group)


def ok(prep: Any) -> bool:
    return isinstance(prep, Prepared)


def regroup(done: list[Any], preps: list[Any], k: int, pick: Any) -> list[Any]:
    """Each item's K results as one: the filed sample's Turn holding them all, or its error
    (session/samples.py); items whose samples did not all finish are left out."""
    out: list[Any] = []
    for j in range(len(done) // k):
        group, results = preps[j * k : (j + 1) * k], done[j * k : (j + 1) * k]
        if not ok(group[0]):
            out.append(group[0])
            continue
        try:
            out.append(SampleSet(group, results, pick).finish())
        except SamplesError as exc:
            out.append(exc)
    return out


def _once(options: Options) -> Options:
    """The schema built and the budget made once: every row shares them."""
    return dataclasses.replace(options, schema=as_schema(options.schema), budget=as_budget(options))


def stopped_message(batch: Batch, unsent: int, own: Any) -> str:
    """One line: how far the batch got before a budget stopped it, spent against the limit."""
    b = own if own is not None else SESSION.budget
    where = f"spent {usd(b.spent)} of {usd(b.limit)}" if b is not None else ""
    return f"budget reached: {batch.answered} of {batch.total} answered, {unsent} not sent; {where}"


def interrupted_message(batch: Batch, total: int) -> str:
    mode, _ = SESSION.replay_state()
    kept = (
        "each finished answer is recorded: run the same batch again to send only the rest"
        if mode in ("record", "auto")
        else "replay is off, so a re-run sends everything again (%chat replay auto records "
        "each answer as it finishes)"
    )
    return f"batch interrupted after {batch.answered} of {total} answered; {kept}"

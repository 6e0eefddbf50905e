"""Samples: one prepared ask sent K times at once, each request with its own seed, recorded and
replayed apart; the one rule every front end takes (``%%chat --samples``, ``chat``, ``achat``,
``map``, ``compare``).

- Seeds: sample ``i`` sends ``sample_seed(s, i)`` (seeds.py) where ``s`` is the seed the ask
  sends, so sample 0 is the plain ask. Without a seed (``%chat seed off``, a provider that
  takes none) the samples go unseeded and their records say so; each is then keyed apart in
  the store by its index, so the whole distribution still replays.
- Concurrency: at most ``concurrency`` (8) samples at once, within the provider's own limits
  (``concurrency``, ``rpm``, ``tpm`` in its config).
- Filing: nothing is filed per sample; the thread files one: ``pick`` (an index) when given,
  else the first sample of the most common answer (agreement.py). When a sample fails, none is
  filed and ``SamplesError`` carries the others.

For a front end: ``prepare_samples(prep, k)``, then ``sample(preps)`` (sync, waits; ``tick`` is
called on the calling thread while it waits) or ``await asample(preps)`` (on the shared loop);
both return a ``SampleSet`` with each sample's Turn (or error), the seeds and the summary.
``SampleSet.finish()`` files the picked sample and returns it as a Turn whose ``samples`` holds
all of them; a comparison can use ``SampleSet`` alone (it files nothing)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Callable
from typing import Any

from ..client.request import build_request
from ..client.runtime import RUNTIME
from ..errors import ChatError, ConfigError, calm_interrupt
from .agreement import NO_VALUE, pick_index, share_text, summarize
from .prepare import Prepared, sent_params, set_draw
from .run import file_turn
from .runner import aanswer, check_up_front, internal_error
from .seeds import sample_seeds
from .turn import Turn

MAX_SAMPLES = 64
CONCURRENCY = 8  # samples in flight at once (the provider's own limits apply too)
WAIT = 0.2  # seconds between two ticks while waiting


class SamplesError(ChatError):
    """Some samples failed; nothing was filed. ``samples`` is the ``SampleSet`` (what answered
    is there, and recorded in record/auto mode, so running again sends only the rest)."""

    def __init__(self, message: str, *, samples: SampleSet, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.samples = samples


def check_samples(
    samples: Any, pick: Any = None, *, stream: bool = False, tools: Any = None
) -> int | None:
    """``samples`` as a count (None: no samples), or one ``ConfigError`` line; nothing is
    sent before this passes."""
    if samples is None:
        if pick is not None:
            raise ConfigError("pick= chooses among samples: give samples=K too")
        return None
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(
            f"samples must be a whole number from 1 to {MAX_SAMPLES}, got {samples!r}"
        )
    if samples > MAX_SAMPLES:
        raise ConfigError(
            f"samples={samples} is more than {MAX_SAMPLES} requests for one ask",
            hint="Use map() over the prompt repeated, or several cells, for more.",
        )
    if stream:
        raise ConfigError(
            "samples and stream=True together: samples are shown once all have arrived",
            hint="Leave out stream=True (each sample is one request, answered whole).",
        )
    if tools:
        raise ConfigError(
            "samples and tools together are not supported",
            hint="Run the tools in a plain call, then sample the question that follows.",
        )
    check_pick(pick, samples)
    return samples


def check_pick(pick: Any, k: int) -> None:
    if pick is None or pick == "common":
        return
    if isinstance(pick, bool) or not isinstance(pick, int) or not 0 <= pick < k:
        raise ConfigError(
            f"pick must be 'common' or a sample's index from 0 to {k - 1}, got {pick!r}"
        )


def seeds_of(prep: Prepared, k: int) -> list[int | None]:
    """The seed each sample sends: derived from the ask's own (sample 0 keeps it), or none."""
    seed = prep.request.body.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        return list(sample_seeds(seed, k))
    return [None] * k


def prepare_samples(prep: Prepared, k: int) -> list[Prepared]:
    """The ``k`` requests of one prepared ask, in index order (checked; nothing sent)."""
    req = prep.request
    out = []
    for i, seed in enumerate(seeds_of(prep, k)):
        notes = list(prep.notes)
        if seed is None:
            notes.append(f"sample {i} of {k} unseeded (no seed is sent): an independent draw")
        if i == 0:
            request = req
        else:
            params = sent_params(req)
            if seed is not None:
                params["seed"] = seed
            request = build_request(
                req.provider,
                req.body["model"],
                req.body["messages"],
                params,
                req.stream,
                req.unsendable is None,
            )
            if seed is None:
                set_draw(request, i)
        out.append(dataclasses.replace(prep, request=request, file=False, notes=notes))
    return out


@dataclasses.dataclass
class SampleSet:
    """K samples of one ask: ``results`` (each a Turn or the ChatError in its place, in index
    order), ``seeds`` (None where unseeded), ``summary`` (agreement.py; ``picked`` is the
    sample the thread files, ``why`` says why)."""

    preps: list[Prepared]
    results: list[Any]
    pick: int | str | None = None
    summary: dict[str, Any] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        k = len(self.preps)
        schema = self.preps[0].schema if self.preps else None
        answers = [r.text if isinstance(r, Turn) else None for r in self.results]
        values = None
        if schema is not None:
            values = [
                schema.plain(r.parsed)
                if isinstance(r, Turn) and not r.schema_errors and not r.tool_calls
                else NO_VALUE
                for r in self.results
            ]
        s = summarize(answers, values)
        picked, why = pick_index(s["groups"], None if self.pick == "common" else self.pick)
        s.update(picked=picked, why=why, seeds=[p.request.body.get("seed") for p in self.preps])
        s["unseeded"] = k > 0 and all(seed is None for seed in s["seeds"])
        self.summary = s
        for i, r in enumerate(self.results):
            if isinstance(r, Turn):
                r.record["sample"] = {"index": i, "of": k}

    @property
    def turns(self) -> list[Turn]:
        return [r for r in self.results if isinstance(r, Turn)]

    @property
    def failed(self) -> list[tuple[int, ChatError]]:
        return [(i, r) for i, r in enumerate(self.results) if not isinstance(r, Turn)]

    def line(self) -> str:
        """``8 samples · 3 distinct answers · most common 5 of 8 (62%)``."""
        return share_text(self.summary)

    def finish(self) -> Turn:
        """The picked sample as a Turn holding every sample (``turn.samples``; ``turn.agreement``,
        its record's ``agreement``), filed in its thread; or ``SamplesError`` when any sample
        failed (nothing filed)."""
        failed = self.failed
        if failed:
            i, first = failed[0]
            raise SamplesError(
                f"{len(failed)} of {len(self.results)} samples failed (sample {i}: "
                f"{first}); nothing filed",
                samples=self,
                hint="What answered is kept (recorded in record or auto mode): running again "
                "sends only the rest.",
            )
        picked = self.summary["picked"]
        chosen: Turn = self.results[picked]
        turn = dataclasses.replace(
            chosen, record={**chosen.record, "agreement": self.summary}, samples=list(self.results)
        )
        base = self.preps[0]
        if chosen.complete and base.thread is not None:
            file_turn(base, turn, base.new)
        return turn


async def arun_samples(
    preps: list[Prepared],
    concurrency: int = CONCURRENCY,
    on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Each sample's Turn (or its ChatError) in index order, at most ``concurrency`` at once
    on the shared loop (repairs of a structured answer included); ``on_result(i, result)`` as
    each ends (on the loop thread). A cancellation cancels every sample."""
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int, prep: Prepared) -> Any:
        async with slots:
            try:
                result: Any = await aanswer(prep)
            except ChatError as exc:
                result = exc
            except Exception as exc:
                result = internal_error(exc)
        if on_result is not None:
            on_result(i, result)
        return result

    return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(preps))))


async def asample(
    preps: list[Prepared],
    pick: int | str | None = None,
    concurrency: int = CONCURRENCY,
    on_result: Callable[[int, Any], None] | None = None,
) -> SampleSet:
    """``sample`` for code already on the shared loop (``achat``, the widgets)."""
    check_pick(pick, len(preps))
    check_up_front(preps)
    return SampleSet(preps, await arun_samples(preps, concurrency, on_result), pick)


def sample(
    preps: list[Prepared],
    pick: int | str | None = None,
    concurrency: int = CONCURRENCY,
    on_result: Callable[[int, Any], None] | None = None,
    tick: Callable[[], None] | None = None,
) -> SampleSet:
    """Run the samples and wait (the magics, ``chat``); ``tick()`` is called on this thread
    every 0.2 s while they run. An interrupt cancels them all (finished ones stay recorded)
    and raises one calm line."""
    check_pick(pick, len(preps))
    check_up_front(preps)
    done = [0]

    def count(i: int, result: Any) -> None:
        done[0] += 1
        if on_result is not None:
            on_result(i, result)

    fut = RUNTIME.submit(arun_samples(preps, concurrency, count))
    try:
        while True:
            try:
                results = fut.result(WAIT)
                break
            except concurrent.futures.TimeoutError:
                if tick is not None:
                    tick()
    except KeyboardInterrupt:
        fut.cancel()
        raise calm_interrupt(
            f"interrupted: {done[0]} of {len(preps)} samples answered, nothing filed"
        ) from None
    return SampleSet(preps, results, pick)

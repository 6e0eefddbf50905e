"""Batches: prompts from a list, any iterable or a DataFrame (a ``{column}`` template filled
per row by the cells' interpolation), run on the shared loop at most ``concurrency`` at once,
results in input order. Inputs are drawn only as a window of requests frees up, so a batch of
any length holds a bounded number of inputs and in-flight requests; each answer is recorded as
it completes (auto mode), so re-running a crashed batch sends only what is missing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..client.runtime import RUNTIME
from ..errors import ChatError, ConfigError
from ..interpolate import InterpolationError, interpolate
from .prepare import Prepared, request_hash
from .structured import aturn

TICK = 0.2  # seconds between progress updates while waiting


def is_frame(items: Any) -> bool:
    return hasattr(items, "columns") and hasattr(items, "index") and hasattr(items, "to_dict")


def prompts_of(items: Any, prompt: str | None) -> Iterator[Any]:
    """The prompts of a batch, lazily: each item, or ``prompt`` filled from it (a frame's row
    by column name, ``{row["a b"]}`` and ``{index}`` too; a dict by key; anything else as
    ``{item}``)."""
    if prompt is not None and not isinstance(prompt, str):
        raise ConfigError(f"prompt= is a template string, not {type(prompt).__name__}")
    if is_frame(items):
        if prompt is None:
            raise ConfigError(
                "a DataFrame needs prompt=, a template naming its columns",
                hint='For example prompt="Classify this review: {text}".',
            )
        records = items.to_dict("records")
        values = [
            {**{str(k): v for k, v in r.items()}, "row": r, "index": i}
            for i, r in zip(items.index, records)
        ]
        if values:  # the template is tried on the first row: a wrong name fails now
            _check_template(prompt, values[0])
        return (_fill(prompt, v, v["index"]) for v in values)
    if isinstance(items, (str, bytes, dict)):
        raise ConfigError(
            f"map() takes a list of prompts, an iterable or a DataFrame, not {type(items).__name__}"
        )
    if prompt is None:
        return iter(items)
    values = (dict(item) if isinstance(item, dict) else {"item": item} for item in items)
    first = next(values, None)
    if first is None:
        return iter(())
    _check_template(prompt, first)
    return (_fill(prompt, v, n) for n, v in enumerate(itertools.chain([first], values)))


def _check_template(prompt: str, sample: dict[str, Any]) -> None:
    seen: list[str] = []
    names = set(sample)

    def look(name: str) -> Any:
        seen.append(name)
        return sample[name]

    try:
        interpolate(prompt, look)
    except InterpolationError as exc:
        unknown = [n for n in seen if n not in names]
        if unknown:
            raise ConfigError(
                f"prompt= names {unknown[0]!r}, which is not a column (or key)",
                hint="Columns: " + ", ".join(sorted(names - {"row", "index"})) + ".",
            ) from None
        raise ConfigError(str(exc)) from None
    if not seen:
        raise ConfigError(
            f"prompt={prompt[:40]!r} names no column: every item would send the same text",
            hint="Write {column} (or {item}) where an item's value goes; to choose the model, "
            "use model=.",
        )


def _fill(prompt: str, values: dict[str, Any], where: Any) -> str | ChatError:
    """The filled template, or the error in the item's place (the batch goes on drawing)."""

    def look(name: str) -> Any:
        return values[name]

    try:
        return interpolate(prompt, look)
    except InterpolationError as exc:
        return ConfigError(f"item {where}: {exc.message}", hint=exc.hint)


@dataclass
class Progress:
    """Counts a front end shows while the batch runs (written on the loop thread)."""

    total: int | None = None
    done: int = 0
    failed: int = 0
    replayed: int = 0
    tokens: int = 0
    usd: float = 0.0

    def add(self, result: Any) -> None:
        self.done += 1
        if isinstance(result, BaseException):
            self.failed += 1
            return
        record = result.record
        self.replayed += bool(record.get("replayed"))
        usage = result.usage if isinstance(result.usage, dict) else {}
        self.tokens += usage.get("total_tokens") or 0
        cost = record.get("cost") or {}
        self.usd += cost.get("usd") or 0.0


class Results:
    """The results of a batch in input order, as they become available (``imap``).

    At most ``window`` requests are drawn from the inputs and not yet handed out; closing it
    (``with``, ``close()``, or leaving the loop and dropping it) cancels those in flight.
    Finished answers are recorded as they finish, whatever happens afterwards."""

    def __init__(
        self,
        preps: Iterator[Prepared | ChatError],
        concurrency: int,
        return_exceptions: bool,
        progress: Progress | None = None,
        tick: Callable[[], None] | None = None,
        keep_hashes: bool = False,
    ) -> None:
        check_concurrency(concurrency)
        self._preps = preps
        self._window = 2 * concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: deque[concurrent.futures.Future] = deque()
        self._return_exceptions = return_exceptions
        self.progress = progress if progress is not None else Progress()
        self._tick = tick or (lambda: None)
        self._drawn = self._exhausted = False
        # the request hash of each input, in order (for map's Batch; imap holds none)
        self.hashes: list[str | None] | None = [] if keep_hashes else None

    def __iter__(self) -> Results:
        return self

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __next__(self) -> Any:
        self._fill()
        if not self._pending:
            raise StopIteration
        fut = self._pending.popleft()
        try:
            while True:
                try:
                    result = fut.result(TICK)
                    break
                except concurrent.futures.TimeoutError:
                    self._tick()
                except (ChatError, concurrent.futures.CancelledError) as exc:
                    result = exc
                    break
        except BaseException:
            fut.cancel()
            self.close()
            raise
        self._fill()
        self._tick()
        if isinstance(result, BaseException) and not self._return_exceptions:
            self.close()
            raise result
        return result

    def close(self) -> None:
        """Cancel what is in flight (its answers are not kept); nothing more is drawn."""
        self._exhausted = True
        while getattr(self, "_pending", None):
            self._pending.popleft().cancel()

    def _fill(self) -> None:
        while not self._exhausted and len(self._pending) < self._window:
            try:
                prep = next(self._preps)
            except StopIteration:
                self._exhausted = True
                break
            self._pending.append(self._start(prep))

    def _start(self, prep: Prepared | ChatError) -> concurrent.futures.Future:
        if isinstance(prep, ChatError):  # a bad item, kept in its place
            if self.hashes is not None:
                self.hashes.append(None)
            fut: concurrent.futures.Future = concurrent.futures.Future()
            fut.set_exception(prep)
            self.progress.add(prep)
            return fut
        if self.hashes is not None:
            self.hashes.append(request_hash(prep.request))
        return RUNTIME.submit(self._one(prep))

    async def _one(self, prep: Prepared) -> Any:
        from .api import internal_error

        async with self._slots:
            try:
                result = await aturn(prep)
            except asyncio.CancelledError:
                raise
            except ChatError as exc:
                result = exc
            except Exception as exc:
                result = internal_error(exc)
        self.progress.add(result)
        if isinstance(result, BaseException):
            raise result
        return result


def check_concurrency(concurrency: Any) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")


def prepared(
    prompts: Iterable[Any], make: Callable[[Any], Prepared], return_exceptions: bool
) -> Iterator[Prepared | ChatError]:
    """Each prompt prepared as it is drawn; a bad one raises, or stands in its place as its
    error with ``return_exceptions``."""
    for p in prompts:
        try:
            if isinstance(p, ChatError):
                raise p
            yield make(p)
        except ChatError as exc:
            if not return_exceptions:
                raise exc from None
            yield exc

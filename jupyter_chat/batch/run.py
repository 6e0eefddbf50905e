"""A batch run on the shared loop at most ``concurrency`` at once, results in input order.
Inputs are drawn only as a window of requests frees up, so a batch of any length holds a
bounded number of inputs and in-flight requests; each answer is recorded as it completes (auto
mode), so re-running a crashed batch sends only what is missing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..client.runtime import RUNTIME
from ..errors import ChatError, ConfigError, StreamCutError
from ..providers.config import CONFIG
from ..session.prepare import Prepared, request_hash
from ..session.runner import aanswer, internal_error
from ..session.telemetry import Group

TICK = 0.2  # seconds between progress updates while waiting


@dataclass
class Progress:
    """Counts a front end shows while the batch runs (written on the loop thread)."""

    total: int | None = None
    done: int = 0
    failed: int = 0
    replayed: int = 0
    tokens: int = 0
    usd: float = 0.0
    shards: list[int] | None = None  # rows done per shard (executor=, cluster.py)

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
        group: Group | None = None,
    ) -> None:
        check_concurrency(concurrency)
        self._group = group  # the batch's parent span (telemetry.py), ended with the batch
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
            self.close()
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
        if getattr(self, "_group", None) is not None:
            self._group.end()

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
        if self._group is None:
            return RUNTIME.submit(self._one(prep))
        with self._group.current():  # the request's span is the batch's child
            return RUNTIME.submit(self._one(prep))

    async def _one(self, prep: Prepared) -> Any:
        async with self._slots:
            try:
                result = await answer_row(prep)
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


async def answer_row(prep: Prepared) -> Any:
    """One row's answer. Nothing of it is shown before it ends, so a stream cut short is
    retried like a connection error: up to ``max_retries`` times, with the same backoff."""
    settings = CONFIG.settings
    attempt = 0
    while True:
        try:
            return await aanswer(prep)
        except StreamCutError:
            if attempt >= settings.max_retries:
                raise
            wait = min(settings.backoff_cap, settings.backoff_base * 2**attempt)
            attempt += 1
            await asyncio.sleep(wait * (1 - 0.25 * random.random()))

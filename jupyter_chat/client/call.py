"""The sync bridge: a request running on the shared loop, consumed from synchronous code
(the magics, ``chat()``), with a kernel interrupt cancelling it cleanly."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator

from ..stream import Result
from .request import Request
from .runtime import RUNTIME, Meta, Runtime, accumulator_for


class Call:
    """A request running on the shared loop, consumed from synchronous code.

    Iterate to receive delta lists as they arrive; ``result`` is set at the end. A
    KeyboardInterrupt while waiting cancels the request and closes the stream; what arrived
    stays readable through ``partial()``.
    """

    _END = object()

    def __init__(self, req: Request, runtime: Runtime = RUNTIME) -> None:
        self.request = req
        self.meta = Meta()
        self._acc = accumulator_for(req)
        self.result: Result | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Event()
        self._fut = runtime.submit(self._job(runtime))

    async def _job(self, runtime: Runtime) -> None:
        try:
            res = await runtime.send(self.request, self._queue.put, self._acc, self.meta)
            self._queue.put((Call._END, res, None))
        except asyncio.CancelledError:
            self._queue.put((Call._END, None, KeyboardInterrupt()))
            raise
        except BaseException as exc:  # delivered to the waiting thread
            self._queue.put((Call._END, None, exc))
        finally:
            self._done.set()

    def __iter__(self) -> Iterator[list]:
        try:
            while True:
                item = self._queue.get()
                if type(item) is tuple and item[0] is Call._END:
                    if item[2] is not None:
                        raise item[2]
                    self.result = item[1]
                    return
                yield item
        except (KeyboardInterrupt, GeneratorExit):
            self.cancel()
            raise

    def wait(self) -> Result:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def cancel(self) -> None:
        self._fut.cancel()
        self._done.wait(5)

    def partial(self) -> Result:
        """What arrived so far (keys a provider echoed redacted)."""
        from .._secrets import redact_deep

        return redact_deep(self._acc.result())

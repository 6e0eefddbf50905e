"""A recorded turn served like a live call: the same deltas, in order (at once or at the
recorded pace), then the recorded result."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from ..client.runtime import Meta
from ..stream import Choice, Result
from .recording import result_from_dict

MAX_PACE_WAIT = 10.0  # seconds: --pace never waits longer between two deltas


class ReplayCall:
    """A recorded turn, served like a live ``Call``: iterate for the deltas, then ``result``."""

    def __init__(self, request: Any, record: dict[str, Any], pace: bool = False) -> None:
        self.request = request
        self.record = record
        self.pace = pace
        self.final = result_from_dict(record["response"])
        self.meta = Meta(latency_ms=record.get("latency_ms") or 0.0, ttft_ms=record.get("ttft_ms"))
        self.result: Result | None = None
        self._seen: dict[tuple[int, str], list[str]] = {}  # what has been replayed so far

    def __iter__(self) -> Iterator[list]:
        clock, prev = time.monotonic(), 0.0
        for ms, kind, index, text in self.record["deltas"]:
            if self.pace:  # recorded gaps, each at most MAX_PACE_WAIT: a hint, never a hang
                clock += min(max(ms - prev, 0) / 1000, MAX_PACE_WAIT)
                prev = ms
                wait = clock - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            if kind != "tool_call":
                self._seen.setdefault((index, kind), []).append(text)
            yield [(kind, index, text)]
        self.result = self.final

    def wait(self) -> Result:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def partial(self) -> Result:
        """What was replayed before an interrupt, as a result marked incomplete."""
        if self.result is not None:
            return self.result

        def text(index: int, kind: str) -> str:
            return "".join(self._seen.get((index, kind), ()))

        choices = [
            Choice(
                index=c.index,
                answer=text(c.index, "answer"),
                reasoning=text(c.index, "reasoning"),
                preamble=text(c.index, "preamble"),
            )
            for c in self.final.choices
        ]
        return Result(choices=choices, model=self.final.model, complete=False)

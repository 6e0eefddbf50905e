"""Per-provider limits for every request the kernel sends (cells, batches, comparisons, the
panel): ``concurrency`` requests at once, ``rpm`` requests started and ``tpm`` tokens in any
60 seconds. Tokens are estimated before sending (the body's size / 4 plus ``max_tokens``) and
counted from the answer's usage afterwards. Waiters go in arrival order."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

WINDOW = 60.0


class Gate:
    """The limits of one provider; lives on the loop thread."""

    def __init__(self, rpm: int | None, tpm: int | None, concurrency: int | None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self.slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._turn = asyncio.Lock()  # one waiter at a time checks the windows: arrival order
        self._starts: deque[float] = deque()
        self._tokens: deque[list[float]] = deque()  # [time, tokens]
        self._total = 0.0
        self.now = lambda: asyncio.get_running_loop().time()
        self.sleep = asyncio.sleep

    async def enter(self, estimate: int) -> list[float]:
        """Wait for a slot and room in both windows; returns the ticket for ``leave``."""
        if self.slots is not None:
            await self.slots.acquire()
        try:
            async with self._turn:
                while True:
                    now = self.now()
                    self._prune(now)
                    wait = 0.0
                    if self.rpm and len(self._starts) >= self.rpm:
                        wait = self._starts[0] + WINDOW - now
                    if self.tpm and self._tokens and self._total + estimate > self.tpm:
                        wait = max(wait, self._tokens[0][0] + WINDOW - now)
                    if wait <= 0:
                        break
                    await self.sleep(wait)
                ticket = [now, float(estimate)]
                self._starts.append(now)
                self._tokens.append(ticket)
                self._total += estimate
                return ticket
        except BaseException:
            if self.slots is not None:
                self.slots.release()
            raise

    def leave(self, ticket: list[float], used: int | None) -> None:
        """The request ended: its slot is free; ``used`` tokens replace the estimate."""
        if used is not None and self._tokens and ticket in self._tokens:
            self._total += used - ticket[1]
            ticket[1] = float(used)
        if self.slots is not None:
            self.slots.release()

    def _prune(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - WINDOW:
            self._starts.popleft()
        while self._tokens and self._tokens[0][0] <= now - WINDOW:
            self._total -= self._tokens.popleft()[1]


class Limits:
    """The gates, one per provider, rebuilt when its limits change (only on the loop)."""

    def __init__(self) -> None:
        self._gates: dict[str, tuple[tuple, Gate]] = {}

    def gate(self, profile: Any) -> Gate | None:
        spec = (profile.rpm, profile.tpm, profile.concurrency)
        if spec == (None, None, None):
            return None
        known = self._gates.get(profile.name)
        if known is None or known[0] != spec:
            known = (spec, Gate(*spec))
            self._gates[profile.name] = known
        return known[1]


def estimate_tokens(req: Any) -> int:
    """Tokens a request may use: its body's bytes / 4, plus the answer's limit."""
    body = req.body
    limit = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    return len(req.content) // 4 + (limit if isinstance(limit, int) else 0)


LIMITS = Limits()

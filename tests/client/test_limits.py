"""Per-provider limits: at most ``concurrency`` at once, ``rpm`` requests started and ``tpm``
tokens in any 60 s, waiters in arrival order. A virtual clock stands in for time."""

from __future__ import annotations

import asyncio

import pytest
from dialect_server import Reply, completion

import jupyter_chat as jc
from jupyter_chat.client.limits import Gate


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.t += s
        await asyncio.sleep(0)


def starts(gate: Gate, estimates: list[int], used: list[int] | None = None) -> list[float]:
    clock = Clock()
    gate.now, gate.sleep = clock.now, clock.sleep
    out = []

    async def one(n: int, est: int) -> None:
        ticket = await gate.enter(est)
        out.append((n, clock.t))
        gate.leave(ticket, used[n] if used else None)

    async def main() -> None:
        await asyncio.gather(*(one(n, e) for n, e in enumerate(estimates)))

    asyncio.run(main())
    return [t for _, t in sorted(out)]


def test_rpm_spaces_requests_by_the_window():
    assert starts(Gate(2, None, None), [1] * 5) == [0, 0, 60, 60, 120]


def test_tpm_counts_estimates_then_what_was_used():
    # 100 tokens a minute: two 50-token estimates fit, the third waits a window
    assert starts(Gate(None, 100, None), [50, 50, 50]) == [0, 0, 60]
    # the answers used 10 each: the estimate is replaced, so all three fit at once
    assert starts(Gate(None, 100, None), [50, 50, 50], used=[10, 10, 10]) == [0, 0, 0]
    # one request larger than the whole budget still goes (alone)
    assert starts(Gate(None, 100, None), [500, 10]) == [0, 60]


def test_limits_come_from_the_config_and_hold_for_every_front_end(server, env):
    env.write_text(env.read_text() + "\n[providers.local]\nconcurrency = 1\n")
    server.script(*[Reply(body=completion("x").body, stall=0.1) for _ in range(4)])

    async def two_at_once():
        return await asyncio.gather(jc.achat("a", model="local"), jc.achat("b", model="local"))

    asyncio.run(two_at_once())
    jc.map(["c", "d"], model="local", concurrency=2, progress=False)
    assert server.max_active == 1 and len(server.requests) == 4


def test_bad_limits_are_config_errors(env):
    env.write_text(env.read_text() + "\n[providers.local]\nrpm = 0\n")
    with pytest.raises(jc.ConfigError, match="rpm"):
        jc.chat("x", model="local")

"""The one runner every front end hands its callbacks to: a prepared ask answered live or
replayed, the notebook's tools run and a wrong structured answer repaired, each request's
progress handed to the front end's ``View``; every failure a one-line error, an interrupt one
calm line."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Generator
from typing import Any

from .._secrets import clip
from ..client.runtime import Meta
from ..errors import ChatError, calm_interrupt
from ..stream import Result
from .budget import check_run
from .loop import tool_plan
from .prepare import Prepared
from .repair import repair_plan
from .run import Running, arun, will_replay
from .turn import Turn

Plan = Generator[Prepared, Turn, Turn]


class View:
    """What a front end hands the runner; each callback does nothing unless overridden.

    A request's life: ``begin`` (before anything is sent or replayed), ``delta`` for each
    piece that arrives, then ``end`` with its Turn, or ``fail`` with what had arrived. A tool
    loop or a repair runs several requests; ``tool_result`` sees each tool's result."""

    def begin(self, prep: Prepared, replayed: bool) -> None:
        """A request is about to be sent (or replayed, ``replayed``)."""

    def delta(self, out: list) -> None:
        """Pieces of the answer as they arrive (the stream accumulator's deltas)."""

    def end(self, prep: Prepared, turn: Turn) -> None:
        """The request was answered (the turn is recorded; filed if it is the last)."""

    def fail(
        self, prep: Prepared, partial: Result, meta: Meta, status: str, error: str | None
    ) -> None:
        """The request failed (``status`` ``"error"``) or was interrupted; ``partial`` is what
        had arrived."""

    def tool_result(self, call: dict[str, Any], text: str, ok: bool) -> None:
        """A tool the model called ran in the kernel (``ok``: it did not raise)."""


def internal_error(exc: Exception) -> ChatError:
    return ChatError(
        f"unexpected {type(exc).__name__}: {clip(str(exc), 300)}",
        hint="This is a bug in jupyter-chat; the message above holds no key.",
    )


def one_line_errors(fn: Any) -> Any:
    """Every failure of a public call is a ``ChatError`` (one line in a cell, never a traceback
    through frames that may hold a request); an interrupt is one calm line."""
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except (ChatError, KeyboardInterrupt, asyncio.CancelledError):
                raise
            except Exception as exc:
                raise internal_error(exc) from None

        return wrapper_async

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as exc:
            if hasattr(exc, "_render_traceback_"):
                raise
            raise calm_interrupt("interrupted: nothing filed") from None
        except ChatError:
            raise
        except Exception as exc:
            raise internal_error(exc) from None

    return wrapper


def step(prep: Prepared, view: View) -> Turn:
    """One request, live or replayed, its progress handed to ``view``."""
    running = Running(prep)
    view.begin(prep, running.replayed)
    try:
        for out in running:
            view.delta(out)
        turn = running.finish()
    except KeyboardInterrupt:
        partial = running.partial()
        view.fail(prep, partial, running.meta, "interrupted", None)
        stop = calm_interrupt(f"interrupted: kept {len(partial.answer)} characters, nothing filed")
        stop.partial = partial  # type: ignore[attr-defined]
        raise stop from None
    except Exception as exc:
        err = exc if isinstance(exc, ChatError) else internal_error(exc)
        partial = err.partial if err.partial is not None else running.partial()
        view.fail(prep, partial, running.meta, "error", str(err))
        if err is exc:
            raise
        raise err from None
    view.end(prep, turn)
    return turn


def plan_of(
    prep: Prepared, max_steps: int = 8, confirm: Any = None, view: View | None = None
) -> Plan:
    """The requests an ask takes: repairs for a structured answer, else the tool loop."""
    if prep.schema is not None:
        return repair_plan(prep)
    on_result = view.tool_result if view is not None else None
    return tool_plan(prep, max_steps, confirm, on_result)


@one_line_errors
def answer(
    prep: Prepared, view: View | None = None, *, max_steps: int = 8, confirm: Any = None
) -> Turn:
    """Answer ``prep``, waiting (the magics, ``chat()``): tools run, repairs sent, the final
    turn filed; ``view`` sees each request as it goes."""
    view = view if view is not None else View()
    check_up_front([prep])
    steps = plan_of(prep, max_steps, confirm, view)
    todo = next(steps)
    try:
        while True:
            todo = steps.send(step(todo, view))
    except StopIteration as stop:
        return stop.value


def check_up_front(preps: list[Prepared]) -> None:
    """Refuse before sending when the requests to send are estimated over a budget (the
    call's own, the notebook's): budget.py; the replayed ones cost nothing."""
    check_run([p for p in preps if not will_replay(p)], preps[0].budget if preps else None)


async def aanswer(prep: Prepared, on_delta: Any = None) -> Turn:
    """Answer ``prep`` on the shared loop (``achat``, ``map``, the widgets), repairs included;
    tool calls come back in the turn, they are not run."""
    steps = repair_plan(prep)
    todo = next(steps)
    try:
        while True:
            todo = steps.send(await arun(todo, on_delta))
    except StopIteration as stop:
        return stop.value

"""The Python API: ``chat`` and ``achat`` over the shared client, returning ``Turn``; the ask
(ask.py) and the runner (runner.py) are the session's, as for every front end."""

from __future__ import annotations

import asyncio
from typing import Any

from ..client.runtime import RUNTIME
from .ask import Options, prepare_call, takes_ask
from .loop import ask_before_call
from .runner import aanswer, answer, check_up_front, one_line_errors
from .samples import asample, prepare_samples, sample
from .turn import Turn


@one_line_errors
@takes_ask
def chat(
    prompt: str | list[dict],
    options: Options,
    *,
    max_steps: int = 8,
    confirm: Any = None,
) -> Turn:
    """Send one prompt and wait for the answer.

    Parameters
    ----------
    prompt : the user message (or a list of message dicts).
    max_steps : the tools run in the kernel until the model answers, ``max_steps`` requests
        at most.
    confirm : True to ask before each tool call, or a function ``call -> bool``."""
    prep = prepare_call(prompt, options)
    if options.samples is not None:
        return sample(prepare_samples(prep, options.samples), options.pick).finish()
    confirm = ask_before_call if confirm is True else confirm or None
    return answer(prep, max_steps=max_steps, confirm=confirm)


@one_line_errors
@takes_ask
async def achat(prompt: str | list[dict], options: Options) -> Turn:
    """``chat`` for async code: awaits the shared client's loop from any event loop (one
    request: tool calls come back in ``turn.tool_calls``, they are not run)."""
    prep = prepare_call(prompt, options)
    if options.samples is not None:
        preps = prepare_samples(prep, options.samples)
        done = await asyncio.wrap_future(RUNTIME.submit(asample(preps, options.pick)))
        return done.finish()
    check_up_front([prep])
    return await asyncio.wrap_future(RUNTIME.submit(aanswer(prep)))

"""The Python API: ``chat`` and ``achat`` over the shared client, returning ``Turn``; every
failure a one-line ``ChatError`` (``map`` and ``imap``, with their progress, are in
widgets/batch.py)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from .._secrets import clip
from ..client.runtime import RUNTIME
from ..errors import ChatError
from .loop import ask_before_call, run_tools
from .prepare import Prepared, prepare
from .resolve import Ask, seed_source
from .run import run
from .structured import aturn, drive
from .turn import Turn


def internal_error(exc: Exception) -> ChatError:
    return ChatError(
        f"unexpected {type(exc).__name__}: {clip(str(exc), 300)}",
        hint="This is a bug in jupyter-chat; the message above holds no key.",
    )


def one_line_errors(fn: Any) -> Any:
    """Every failure of a public call is a ``ChatError`` (one line in a cell, never a traceback
    through frames that may hold a request)."""
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
        except (ChatError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise internal_error(exc) from None

    return wrapper


def prepare_call(
    prompt: Any,
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    schema: Any = None,
    repair: int = 1,
    **params: Any,
) -> Prepared:
    """The Python API's request for one prompt (checked; nothing is sent)."""
    server_tools = params.pop("server_tools", None)
    ask = Ask(model, thread, system, seed, params, seed_from=seed_source(prompt))
    return prepare(
        prompt,
        ask,
        stream=stream,
        tools=tools,
        images=images,
        server_tools=server_tools,
        schema=schema,
        repair=repair,
    )


@one_line_errors
def chat(
    prompt: str | list[dict],
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    max_steps: int = 8,
    confirm: Any = None,
    schema: Any = None,
    repair: int = 1,
    **params: Any,
) -> Turn:
    """Send one prompt and wait for the answer.

    Parameters
    ----------
    prompt : the user message (or a list of message dicts).
    model : ``PROVIDER:MODEL`` (``eigencloud:gpt-oss-120b-f16``), ``PROVIDER`` or ``MODEL``;
        default: the notebook's (``%chat use``), else the configured default.
    thread : a thread name to continue (and extend); ``None`` sends the prompt alone.
    system : a system prompt (default: the notebook's; ``""`` for none).
    seed : sent as the ``seed`` parameter where the provider accepts it (default: derived
        from the notebook seed and the prompt).
    stream : receive the answer as server-sent events.
    tools : Python functions (``@jupyter_chat.tool`` or plain) the model may call; they run in
        the kernel until it answers (``max_steps`` requests at most). OpenAI tool dicts work too.
    images : paths, http(s) URLs, bytes, PIL images or matplotlib figures.
    confirm : True to ask before each tool call, or a function ``call -> bool``.
    schema : a pydantic model, a JSON-schema dict or a type (``list[str]``, a ``TypedDict``):
        the answer must be JSON that matches it; ``turn.parsed`` is the validated value.
    repair : times an answer that does not match is sent back with what is wrong (0: none);
        then a ``SchemaError`` that keeps the raw answer.
    **params : any parameter the provider accepts (checked before sending), such as
        ``tool_choice`` and ``parallel_tool_calls``; they add to ``%chat defaults``.
    """
    prep = prepare_call(
        prompt, model, thread, system, seed, stream, tools, images, schema, repair, **params
    )
    if prep.schema is not None:
        return drive(prep, run)
    confirm = ask_before_call if confirm is True else confirm or None
    return run_tools(prep, run, max_steps, confirm)


@one_line_errors
async def achat(
    prompt: str | list[dict],
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    schema: Any = None,
    repair: int = 1,
    **params: Any,
) -> Turn:
    """``chat`` for async code: awaits the shared client's loop from any event loop (one
    request: tool calls come back in ``turn.tool_calls``, they are not run)."""
    prep = prepare_call(
        prompt, model, thread, system, seed, stream, tools, images, schema, repair, **params
    )
    return await asyncio.wrap_future(RUNTIME.submit(aturn(prep)))

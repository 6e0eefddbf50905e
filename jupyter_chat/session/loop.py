"""The tool plan: while the model calls the notebook's functions, run them in the kernel, send
the results back as ``role: tool`` messages and ask again; the whole exchange is filed in the
thread once the model answers. The runner drives it."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

from .._secrets import clip
from ..client.request import build_request
from ..errors import ChatError
from .prepare import Prepared, sent_params
from .run import file_turn, reply_message
from .tools import run_call
from .turn import Turn


class ToolLoopError(ChatError):
    """The model kept calling tools past the step limit."""


def tool_plan(
    prep: Prepared, max_steps: int = 8, confirm: Any = None, on_result: Any = None
) -> Generator[Prepared, Turn, Turn]:
    """Yields each request and is sent its Turn, until the model answers or ``max_steps``
    requests were made; ``on_result(call, text, ok)`` sees each tool's result."""
    first, exchange, calls_made = prep, [], []
    prep = dataclasses.replace(prep, file=not prep.functions)
    turn = yield prep
    steps = 1
    while prep.functions and turn.tool_calls:
        if steps >= max_steps:
            raise ToolLoopError(
                f"the model was still calling tools after {max_steps} steps",
                provider=prep.request.provider,
                hint="Raise the limit (max_steps=..., --max-steps N) or change the prompt.",
                partial=turn.result,
            )
        exchange.append(reply_message(turn.result))
        for call in turn.tool_calls:
            if confirm is not None and not confirm(call):
                text, ok = "error: the user declined to run this tool", False
            else:
                text, ok = run_call(call, prep.functions, turn.record.get("request_hash"))
            fn = call["function"]
            made = {"name": fn["name"], "arguments": fn["arguments"], "ok": ok}
            made["result"] = clip(text, 200)
            server = getattr(prep.functions.get(fn["name"]), "server", None)
            if isinstance(server, str):  # an MCP tool (mcp.py): the record names its server
                made["mcp"] = server
            calls_made.append(made)
            exchange.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": text})
            if on_result is not None:
                on_result(call, text, ok)
        req = prep.request
        params = sent_params(req)
        if params.get("tool_choice") not in (None, "auto", "none"):
            params["tool_choice"] = "auto"  # forced once; afterwards the model may answer
        messages = [*req.body["messages"], *exchange[-1 - len(turn.tool_calls) :]]
        request = build_request(
            req.provider, req.body["model"], messages, params, req.stream, req.unsendable is None
        )
        prep = dataclasses.replace(prep, request=request, file=False)
        turn = yield prep
        steps += 1
    if calls_made:
        turn.record["tool_calls"] = calls_made
        turn.record["steps"] = steps
        if turn.complete:
            file_turn(first, turn, [*first.new, *exchange])
    return turn


def ask_before_call(call: dict[str, Any]) -> bool:
    """``confirm=True``: ask on stdin before running a tool call."""
    fn = call.get("function", {})
    answer = input(f"Run {fn.get('name')}({fn.get('arguments')})? [y/N] ")
    return answer.strip().lower() in ("y", "yes")

"""A structured answer: each attempt's answer is validated against the schema (run.finish); one
that does not match is sent back with what is wrong (``repair`` times), and only a valid answer
is filed in the thread. One plan, driven by the cells and ``chat`` (sync) and by ``achat``,
``map`` and the widgets (async)."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

from ..client.request import build_request
from ..errors import ChatError
from .prepare import Prepared, sent_params
from .run import arun, file_turn, reply_message
from .turn import Turn

Plan = Generator[Prepared, Turn, Turn]


class SchemaError(ChatError):
    """The answer did not match the schema, after every repair; ``raw`` is the last answer,
    ``problems`` what is wrong with it."""

    hint_default = "Simplify the schema, raise repair=, or use a model that follows it."

    def __init__(self, message: str, *, raw: str = "", problems: list[str] | None = None, **kw):
        super().__init__(message, **kw)
        self.raw = raw
        self.problems = problems or []


def plan(prep: Prepared) -> Plan:
    """Yields each request to send and receives its Turn; returns the final Turn."""
    first = prep
    prep = dataclasses.replace(prep, file=False)
    while True:
        turn = yield prep
        if prep.schema is None or not turn.schema_errors or not turn.complete:
            break
        if prep.repair <= 0:
            repairs = len(prep.earlier)
            raise SchemaError(
                f"the answer does not match the schema {prep.schema.name}"
                + (f" after {repairs} repair(s)" if repairs else "")
                + f": {'; '.join(turn.schema_errors[:3])}",
                provider=prep.request.provider,
                raw=turn.text,
                problems=turn.schema_errors,
                partial=turn.result,
            )
        prep = repair_request(prep, turn)
    if turn.complete and first.file:
        file_turn(first, turn, first.new)
    return turn


def repair_request(prep: Prepared, turn: Turn) -> Prepared:
    """The same request, the answer and what is wrong with it appended."""
    req = prep.request
    messages = [
        *req.body["messages"],
        reply_message(turn.result),
        {"role": "user", "content": prep.schema.repair_message(turn.schema_errors)},
    ]
    request = build_request(
        req.provider,
        req.body["model"],
        messages,
        sent_params(req),
        req.stream,
        req.unsendable is None,
    )
    earlier = {
        "request_hash": turn.record["request_hash"],
        "usage": turn.usage,
        "errors": turn.schema_errors[:5],
    }
    if "cost" in turn.record:
        earlier["cost"] = turn.record["cost"]
    return dataclasses.replace(
        prep, request=request, repair=prep.repair - 1, earlier=[*prep.earlier, earlier]
    )


def drive(prep: Prepared, step: Any) -> Turn:
    """Run the plan with ``step(prep) -> Turn`` (a cell's streamed turn, or ``run``)."""
    steps = plan(prep)
    todo = next(steps)
    try:
        while True:
            todo = steps.send(step(todo))
    except StopIteration as stop:
        return stop.value


async def aturn(prep: Prepared, on_delta: Any = None) -> Turn:
    """One answered prompt on the shared loop, validated and repaired when it has a schema."""
    steps = plan(prep)
    todo = next(steps)
    try:
        while True:
            todo = steps.send(await arun(todo, on_delta))
    except StopIteration as stop:
        return stop.value

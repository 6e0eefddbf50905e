"""The repair plan of a structured answer: each attempt's answer is validated against the schema
(run.finish); one that does not match is sent back with what is wrong (``repair`` times), and
only a valid answer is filed in the thread. The runner drives it, sync or async."""

from __future__ import annotations

import dataclasses
from collections.abc import Generator

from .._secrets import clip
from ..client.request import build_request
from ..structured.schema import SchemaError
from .prepare import Prepared, sent_params
from .run import file_turn, reply_message
from .turn import Turn

Plan = Generator[Prepared, Turn, Turn]  # yields each request, is sent its Turn


def repair_plan(prep: Prepared) -> Plan:
    """Yields each request to send and receives its Turn; returns the final Turn."""
    first = prep
    prep = dataclasses.replace(prep, file=False)
    while True:
        turn = yield prep
        if prep.schema is None or not turn.schema_errors or not turn.complete:
            break
        if turn.refusal:  # sending it back would pay again for the same refusal
            raise SchemaError(
                f"the model refused instead of answering with {prep.schema.name}: "
                + clip(turn.refusal, 200),
                provider=prep.request.provider,
                raw=turn.refusal,
                problems=turn.schema_errors,
                partial=turn.result,
            )
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

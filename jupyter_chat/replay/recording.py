"""A recording: the canonical request, the normalized response and the timed deltas, as one
JSON object (keys a provider echoed redacted, deltas included)."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from typing import Any

from ..stream import Choice, Result

VERSION = 1
_TEXT_KINDS = ("answer", "reasoning", "preamble", "refusal")  # deltas whose text is joined


_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(Result) if f.name != "choices")
_CHOICE_FIELDS = tuple(f.name for f in dataclasses.fields(Choice))


def result_to_dict(result: Result) -> dict[str, Any]:
    """The result as JSON-able data (field by field: ``dataclasses.asdict`` deep-copies
    every value, a cost paid on every recorded turn). Nothing here is mutated later."""
    out: dict[str, Any] = {name: getattr(result, name) for name in _RESULT_FIELDS}
    out["choices"] = [{name: getattr(c, name) for name in _CHOICE_FIELDS} for c in result.choices]
    return out


def result_from_dict(d: dict[str, Any]) -> Result:
    fields = {k: v for k, v in d.items() if k != "choices"}
    return Result(choices=[Choice(**c) for c in d.get("choices", [])], **fields)


def make_record(
    key: str,
    request: dict[str, Any],
    chain_id: int | None,
    result: Result,
    deltas: list,
    latency_ms: float,
    ttft_ms: float | None,
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "key": key,
        "request": request,
        "chain_id": chain_id,
        "response": result_to_dict(result),
        "deltas": redact_deltas(deltas),
        "latency_ms": round(latency_ms, 1),
        "ttft_ms": None if ttft_ms is None else round(ttft_ms, 1),
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def capture(deltas: list, start: float):
    """An ``on_delta`` that keeps each delta with its time since ``start`` (ms)."""

    def keep(out: list) -> None:
        ms = round((time.perf_counter() - start) * 1000, 1)
        deltas.extend([ms, kind, index, text] for kind, index, text in out)

    return keep


def redact_deltas(deltas: list) -> list:
    """Recorded deltas with known keys redacted: a key split across deltas is caught on the
    joined text of one answer, reasoning, ... or one tool call's arguments (the model may copy
    a key into them), and that text's deltas then become one (at the last one's time; a tool
    call keeps its id and name)."""
    from .._secrets import redact

    groups: dict[tuple, list] = {}
    for d in deltas:
        if d[1] in _TEXT_KINDS:
            groups.setdefault((d[1], d[2]), []).append(d)
        elif d[1] == "tool_call" and isinstance(d[3], dict):
            groups.setdefault((d[1], d[2], d[3].get("slot")), []).append(d)
    out = list(deltas)
    for mine in groups.values():
        call = mine[0][1] == "tool_call"
        joined = "".join(str((d[3].get("arguments") if call else d[3]) or "") for d in mine)
        clean = redact(joined)
        if clean != joined:
            out = [d for d in out if not any(d is m for m in mine)]
            text = {**mine[0][3], "arguments": clean} if call else clean
            out.append([mine[-1][0], mine[0][1], mine[0][2], text])
    return sorted(out, key=lambda d: d[0])

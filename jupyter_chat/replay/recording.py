"""A recording: the canonical request, the normalized response and the timed deltas, as one
JSON object (keys a provider echoed redacted, deltas included)."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from typing import Any

from ..stream import Choice, Result

VERSION = 1


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
    """Recorded deltas with known keys redacted: a key split across two deltas is caught on
    the joined text, and that kind's deltas then become one (at the last one's time)."""
    from .._secrets import redact

    out = list(deltas)
    for kind in ("answer", "reasoning", "preamble", "refusal"):
        for index in {d[2] for d in deltas if d[1] == kind}:
            mine = [d for d in out if d[1] == kind and d[2] == index]
            joined = "".join(str(d[3]) for d in mine)
            clean = redact(joined)
            if clean != joined:
                out = [d for d in out if not (d[1] == kind and d[2] == index)]
                out.append([mine[-1][0], kind, index, clean])
    return sorted(_redact_tool_calls(out), key=lambda d: d[0])


def _redact_tool_calls(deltas: list) -> list:
    """A tool call's argument fragments, joined per call: one that spells a known key (the
    model may copy one into a call's arguments) becomes one delta, redacted, at the last
    fragment's time, with the call's id and name."""
    from .._secrets import redact

    calls: dict[tuple, list] = {}
    for d in deltas:
        if d[1] == "tool_call" and isinstance(d[3], dict):
            calls.setdefault((d[2], d[3].get("slot")), []).append(d)
    out = deltas
    for (index, _slot), mine in calls.items():
        joined = "".join(str(d[3].get("arguments") or "") for d in mine)
        clean = redact(joined)
        if clean != joined:
            first = mine[0][3]
            whole = {**first, "arguments": clean}
            out = [d for d in out if not any(d is m for m in mine)]
            out.append([mine[-1][0], "tool_call", index, whole])
    return out

"""The one footer of a turn, as plain text: ``provider:model · seed 7 · 123 tokens · $0.0012 ·
2.1 s`` (the cost only when known, the model the one that answered), the thread, a finish
other than ``stop`` ("cut at the token limit" for ``length``, "refused" for a refusal), replay and signature state;
names that do not look like ids are quoted, so a model
name cannot pose as another part of it (the TypeScript footer follows the same rule)."""

from __future__ import annotations

import json
import re
from typing import Any

from .._text import one_line
from ..session.accounting import usd

_ID = re.compile(r"[\w.:/@+-]{1,128}", re.ASCII)
SIGNATURE_STATES = ("verified", "invalid", "not verifiable")


def safe_id(value: Any) -> str:
    """A provider, model or thread name as shown: as it is when it looks like an id, else
    quoted, so a name cannot pose as another part of the footer."""
    s = str(value)
    return s if _ID.fullmatch(s) else json.dumps(one_line(s)[:80], ensure_ascii=False)


def footer(record: dict[str, Any], status: str, elapsed: float | None = None) -> str:
    """``provider:model · seed 7 · 123 tokens · 2.1 s`` plus the state when not complete."""
    model = record.get("served_model") or record.get("model")  # the model that answered
    parts = [f"{safe_id(record.get('provider'))}:{safe_id(model)}"]
    seed = (record.get("params") or {}).get("seed")
    if isinstance(seed, int):
        parts.append(f"seed {seed}")
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    if isinstance(usage.get("total_tokens"), int):
        parts.append(f"{usage['total_tokens']} tokens")
    cost = record.get("cost") if isinstance(record.get("cost"), dict) else {}
    if isinstance(cost.get("usd"), (int, float)) and not isinstance(cost["usd"], bool):
        parts.append(usd(cost["usd"]))
    elif cost.get("note"):  # reported, but not believed (the note says why)
        parts.append("cost unknown")
    ms = record.get("latency_ms")
    if not isinstance(ms, (int, float)) and elapsed is not None:
        ms = elapsed * 1000
    if isinstance(ms, (int, float)):
        parts.append(f"{ms / 1000:.1f} s")
    if record.get("thread") and record.get("thread") != "default":
        parts.append(f"thread {safe_id(record['thread'])}")
    finish = record.get("finish_reason")
    if record.get("refusal"):
        parts.append("refused")  # the model declined; its words are shown above
    elif finish == "length":
        parts.append("cut at the token limit")
    elif isinstance(finish, str) and finish not in ("stop", "tool_calls"):
        parts.append(f"finish {safe_id(finish)}")
    sig = record.get("signature")
    if sig:
        parts.append(f"signature {sig if sig in SIGNATURE_STATES else safe_id(sig)}")
    if status != "complete":
        parts.append(status)
    return " · ".join(parts)

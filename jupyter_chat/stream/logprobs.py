"""Token log-probabilities: merged chunk by chunk as they stream, and a compact form for the
run record (columns instead of one object per token)."""

from __future__ import annotations

from typing import Any


def merge_logprobs(kept: dict | None, piece: dict) -> dict:
    """A chunk's ``logprobs`` added to a choice's: token lists (``content``, ``refusal``)
    grow, anything else is the latest value. A whole response's arrive as one piece."""
    if kept is None:
        kept = {}
    for key, value in piece.items():
        if isinstance(value, list):
            known = kept.get(key)
            if isinstance(known, list):
                known.extend(value)
            else:
                kept[key] = list(value)
        elif value is not None or key not in kept:
            kept[key] = value
    return kept


def copy_logprobs(kept: dict | None) -> dict | None:
    """A copy whose lists a later chunk does not extend."""
    if kept is None:
        return None
    return {k: list(v) if isinstance(v, list) else v for k, v in kept.items()}


def compact_logprobs(logprobs: Any) -> dict | None:
    """``{"content": {"tokens": [...], "logprobs": [...], "top": [[[token, logprob], ...],
    ...]}}``: the OpenAI shape (one object per token, each with its bytes) in columns, the
    bytes left out (``Turn.logprobs`` and the recording keep them). ``top`` is there only
    when alternatives were asked for. None when there is nothing to keep. Where every token
    has its bytes, its text is what they add to the answer (a character split over two
    tokens belongs to the second), so the tokens, joined, are the text exactly."""
    if not isinstance(logprobs, dict):
        return None
    out: dict[str, Any] = {}
    for part, items in logprobs.items():
        if not isinstance(items, list) or not items:
            continue
        entries = [e for e in items if isinstance(e, dict)]
        column: dict[str, Any] = {
            "tokens": _texts(entries),
            "logprobs": [e.get("logprob") for e in entries],
        }
        tops = [e.get("top_logprobs") or [] for e in entries]
        if any(tops):
            column["top"] = [
                [[t.get("token"), t.get("logprob")] for t in top if isinstance(t, dict)]
                for top in tops
            ]
        out[part] = column
    return out or None


def _texts(entries: list[dict]) -> list[Any]:
    raw = [e.get("bytes") for e in entries]
    if not raw or not all(
        isinstance(b, list) and all(isinstance(x, int) and 0 <= x < 256 for x in b) for b in raw
    ):
        return [e.get("token") for e in entries]
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    texts = [decoder.decode(bytes(b)) for b in raw]
    texts[-1] += decoder.decode(b"", final=True)
    return texts

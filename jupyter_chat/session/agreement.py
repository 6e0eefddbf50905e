"""How far repeated answers agree, one rule for every front end: the distinct answers (text with
its white space collapsed, or a structured answer's value as canonical JSON), the most common one
and its share, which sample a thread files, and per field of a structured answer the share that
agrees with the most common value (with the mean and spread of numbers). Pure: answers in,
figures out."""

from __future__ import annotations

import json
import math
import re
import statistics
from typing import Any

_SPACE = re.compile(r"\s+")
NO_VALUE = object()  # a structured answer that did not parse (or a failed sample)


def answer_key(answer: str | None, value: Any = NO_VALUE) -> str | None:
    """What makes two answers the same: the parsed value as canonical JSON when there is one,
    else the text with its white space collapsed; None for a sample without an answer."""
    if value is not NO_VALUE:
        return "json:" + canonical(value)
    if answer is None:
        return None
    return "text:" + _SPACE.sub(" ", answer).strip()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def groups(keys: list[str | None]) -> list[int | None]:
    """Each sample's answer group, numbered by first appearance (0 for the first sample's
    answer); None for a sample without an answer."""
    seen: dict[str, int] = {}
    out: list[int | None] = []
    for k in keys:
        if k is None:
            out.append(None)
            continue
        out.append(seen.setdefault(k, len(seen)))
    return out


def most_common(group_of: list[int | None]) -> int | None:
    """The largest group; of groups as large, the one that appeared first."""
    counts: dict[int, int] = {}
    for g in group_of:
        if g is not None:
            counts[g] = counts.get(g, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda g: (counts[g], -g))


def pick_index(group_of: list[int | None], pick: int | str | None) -> tuple[int | None, str]:
    """The sample a thread files, and why: ``pick`` (0-based) when given, else the first
    sample of the most common answer."""
    if isinstance(pick, int) and not isinstance(pick, bool):
        return (pick if group_of[pick] is not None else None), "picked"
    common = most_common(group_of)
    if common is None:
        return None, "no answer"
    return group_of.index(common), "the most common answer"


def summarize(answers: list[str | None], values: list[Any] | None = None) -> dict[str, Any]:
    """The figures of ``answers`` (None: the sample failed); ``values`` are the structured
    answers' values (``NO_VALUE`` where one did not parse), which decide sameness instead.

    ``{"k", "answered", "distinct", "groups", "common": {"group", "count", "share",
    "members"}, "fields": [...]}``; ``share`` is of the answered samples."""
    if values is None:
        keys = [answer_key(a) for a in answers]
    else:
        keys = [None if a is None else answer_key(a, v) for a, v in zip(answers, values)]
    group_of = groups(keys)
    answered = sum(g is not None for g in group_of)
    common = most_common(group_of)
    out: dict[str, Any] = {
        "k": len(answers),
        "answered": answered,
        "distinct": len({g for g in group_of if g is not None}),
        "groups": group_of,
        "common": None,
    }
    if common is not None:
        members = [i for i, g in enumerate(group_of) if g == common]
        out["common"] = {
            "group": common,
            "count": len(members),
            "share": round(len(members) / answered, 4),
            "members": members,
        }
    if values is not None:
        out["fields"] = field_agreement([v for v in values if v is not NO_VALUE])
    return out


def field_agreement(values: list[Any]) -> list[dict[str, Any]]:
    """Per top-level field of object values (``value`` for anything else): how many samples
    gave it, the most common value and the share that agrees with it; for numbers also the
    mean, the standard deviation (``sd``, population) and the range."""
    if not values:
        return []
    if all(isinstance(v, dict) for v in values):
        names: dict[str, None] = {}
        for v in values:
            names.update(dict.fromkeys(v))
        columns = {n: [v[n] for v in values if n in v] for n in names}
    else:
        columns = {"value": list(values)}
    return [_field(name, vals, len(values)) for name, vals in columns.items()]


def _field(name: str, vals: list[Any], total: int) -> dict[str, Any]:
    counts: dict[str, int] = {}
    first: dict[str, Any] = {}
    for v in vals:
        k = canonical(v)
        counts[k] = counts.get(k, 0) + 1
        first.setdefault(k, v)
    top = max(counts, key=lambda k: (counts[k], -list(first).index(k)))
    out: dict[str, Any] = {
        "field": name,
        "given": len(vals),
        "distinct": len(counts),
        "common": first[top],
        "agree": counts[top],
        "share": round(counts[top] / total, 4),
    }
    numbers = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(vals) and all(math.isfinite(x) for x in numbers):
        out.update(
            mean=_round(statistics.fmean(numbers)),
            sd=_round(statistics.pstdev(numbers)),
            min=_round(min(numbers)),
            max=_round(max(numbers)),
        )
    return out


def _round(x: float) -> float | int:
    r = round(x, 4)
    return int(r) if r == int(r) and abs(r) < 2**53 else r


def share_text(summary: dict[str, Any], noun: str = "sample") -> str:
    """``8 samples · 3 distinct answers · most common 5 of 8 (62%)`` (``noun``: ``choice`` for
    the choices of one request)."""
    k, answered = summary["k"], summary["answered"]
    parts = [f"{k} {noun}{'s' if k != 1 else ''}"]
    if answered < k:
        parts.append(f"{k - answered} failed")
    d = summary["distinct"]
    parts.append(f"{d} distinct answer{'s' if d != 1 else ''}")
    common = summary.get("common")
    if common and answered:
        parts.append(
            f"most common {common['count']} of {answered} ({round(100 * common['share'])}%)"
        )
    return " · ".join(parts)


def letter(group: int) -> str:
    """An answer group's name: A, B, ... Z, AA, AB, ..."""
    name = ""
    group += 1
    while group:
        group, rest = divmod(group - 1, 26)
        name = chr(65 + rest) + name
    return name


def distribution(summary: dict[str, Any]) -> list[tuple[str, int]]:
    """``[("A", 5), ("B", 2), ...]``: each answer group and how many gave it, largest first
    (ties in order of appearance)."""
    counts: dict[int, int] = {}
    for g in summary["groups"]:
        if g is not None:
            counts[g] = counts.get(g, 0) + 1
    return [(letter(g), counts[g]) for g in sorted(counts, key=lambda g: (-counts[g], g))]

"""An experiment's summary per (model, setting): each scorer's mean with its 95% interval over
items (an item's samples averaged first: samples of one item are not independent), how far
samples agree, tokens, cost, latency p50/p95 and failures; and the same as a text table."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from ..session.accounting import usd
from ..session.agreement import answer_key
from ..session.turn import Turn
from .stats import mean_interval, percentile


def turn_tokens(turn: Turn) -> int | None:
    usage = turn.usage if isinstance(turn.usage, dict) else {}
    n = usage.get("total_tokens")
    return n if isinstance(n, int) else None


def turn_cost(turn: Turn) -> float | None:
    cost = turn.record.get("cost")
    return cost.get("usd") if isinstance(cost, dict) else None


def summarize(rows: list[Any], scores: dict[str, list[float | None]], configs) -> list[dict]:
    """One dict per (model, setting), in ``configs`` order."""
    where: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, r in enumerate(rows):
        where[(r.model, r.setting)].append(n)
    out = []
    for model, setting in configs:
        idx = where.get((model, setting), [])
        turns = [rows[n].result for n in idx if isinstance(rows[n].result, Turn)]
        entry: dict[str, Any] = {
            "model": model,
            "setting": setting,
            "items": len({rows[n].position for n in idx}),
            "answers": len(idx),
            "failures": len(idx) - len(turns),
        }
        for name, values in scores.items():
            units: dict[int, list[float]] = defaultdict(list)
            for n in idx:
                if values[n] is not None:
                    units[rows[n].position].append(values[n])
            means = [sum(v) / len(v) for v in units.values()]
            mean, low, high, method = mean_interval(means)
            entry[name] = {"mean": mean, "low": low, "high": high, "interval": method}
        entry["agreement"] = agreement([rows[n] for n in idx])
        tokens = [turn_tokens(t) for t in turns]
        entry["tokens"] = sum(t for t in tokens if t is not None)
        costs = [turn_cost(t) for t in turns]
        entry["unpriced"] = sum(1 for c in costs if c is None)
        priced = [c for c in costs if c is not None]
        entry["cost_usd"] = sum(priced) if priced else (None if turns else 0.0)
        lat = [t.record.get("latency_ms") for t in turns]
        lat = [x for x in lat if isinstance(x, (int, float))]
        entry["latency_p50_ms"] = percentile(lat, 50)
        entry["latency_p95_ms"] = percentile(lat, 95)
        out.append(entry)
    return out


def agreement(rows: list[Any]) -> float | None:
    """The mean, over items asked more than once, of the share of its answers that are its
    most common answer (white space aside); None without samples."""
    by_item: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        if isinstance(r.result, Turn):
            by_item[r.position].append(answer_key(r.result.text) or "")
    shares = [Counter(a).most_common(1)[0][1] / len(a) for a in by_item.values() if len(a) > 1]
    return sum(shares) / len(shares) if shares else None


def fmt(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def score_text(s: dict[str, Any]) -> str:
    """``0.80 [0.49, 0.94]``."""
    if math.isnan(s["mean"]):
        return "-"
    if math.isnan(s["low"]):
        return fmt(s["mean"])
    return f"{fmt(s['mean'])} [{fmt(s['low'])}, {fmt(s['high'])}]"


def cost_text(entry: dict[str, Any]) -> str:
    if entry["cost_usd"] is None:
        return "cost unknown"
    text = usd(entry["cost_usd"])
    return text + (f" ({entry['unpriced']} unpriced)" if entry["unpriced"] else "")


def table(entries: list[dict], names: list[str]) -> list[list[str]]:
    """The summary as rows of text cells, the header first."""
    head = ["model", "setting", *[f"{n} (95% CI)" for n in names]]
    head += ["agreement", "tokens", "cost", "p50 ms", "p95 ms", "failed"]
    rows = [head]
    for e in entries:
        rows.append(
            [
                e["model"],
                e["setting"] or "-",
                *[score_text(e[n]) for n in names],
                fmt(e["agreement"]),
                f"{e['tokens']:,}",
                cost_text(e),
                fmt(e["latency_p50_ms"], 0),
                fmt(e["latency_p95_ms"], 0),
                str(e["failures"]),
            ]
        )
    return rows


def text_table(entries: list[dict], names: list[str]) -> str:
    rows = table(entries, names)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def interval_note(entries: list[dict], names: list[str]) -> str:
    methods = {e[n]["interval"] for e in entries for n in names} - {"none"}
    said = {
        "wilson": "Wilson score interval (0/1 scores)",
        "t": "Student's t interval over items",
    }
    return "95% intervals: " + "; ".join(said[m] for m in sorted(methods)) if methods else ""

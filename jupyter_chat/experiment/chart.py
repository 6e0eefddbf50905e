"""An experiment's chart, read at a glance: on the left each (model, setting)'s mean score with
its 95% interval, on the right cost per answer against score (tokens per answer when no
answer has a price). A plain SVG string (no matplotlib), on a white ground so that it reads
the same in light and dark themes, in JupyterLab, Notebook 7 and nbconvert's HTML."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from ..session.accounting import usd
from .summary import fmt, score_text

# Okabe and Ito's palette: told apart with every common colour blindness
COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
ROW = 30
LEFT = 170  # the labels' width
PANEL = 260
GAP = 140
TOP = 46
INK = "#222222"
FAINT = "#bbbbbb"


def _range(values: list[float]) -> tuple[float, float]:
    """[0, 1] when every figure fits in it, else the figures' own range, padded."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals or (min(vals) >= 0 and max(vals) <= 1):
        return (0.0, 1.0)
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.05 or 1.0
    return (lo - pad, hi + pad)


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 12, **kw: Any) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{INK}"{extra}>{escape(s)}</text>'
    )


def svg(entries: list[dict[str, Any]], names: list[str]) -> str:
    """The chart of the summary's entries for the first scorer in ``names``."""
    name = names[0] if names else None
    n = max(1, len(entries))
    height = TOP + n * ROW + 46
    width = LEFT + PANEL + GAP + PANEL + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" role="img">',
        f"<title>{escape(_title(entries, name))}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if name is None or not entries:
        out.append(_text(10, 24, "no scores"))
        out.append("</svg>")
        return "\n".join(out)
    scores = [e[name] for e in entries]
    lo, hi = _range([v for s in scores for v in (s["mean"], s["low"], s["high"])])
    x0 = LEFT

    def sx(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * PANEL

    out.append(_text(10, 18, f"{name}: mean and 95% interval", size=13, font_weight="bold"))
    bottom = TOP + n * ROW - 10
    for t in (lo, (lo + hi) / 2, hi):
        out.append(
            f'<line x1="{sx(t):.1f}" y1="{TOP - 12}" x2="{sx(t):.1f}" y2="{bottom}" '
            f'stroke="{FAINT}" stroke-dasharray="2,3"/>'
        )
        out.append(_text(sx(t), bottom + 16, fmt(t), "middle", 11))
    for i, (e, s) in enumerate(zip(entries, scores)):
        y = TOP + i * ROW
        color = COLORS[i % len(COLORS)]
        label = e["model"] + (f" · {e['setting']}" if e["setting"] else "")
        out.append(_text(x0 - 8, y + 4, _clip(label), "end"))
        if not math.isnan(s["low"]):
            out.append(
                f'<line x1="{sx(s["low"]):.1f}" y1="{y}" x2="{sx(s["high"]):.1f}" y2="{y}" '
                f'stroke="{color}" stroke-width="3"/>'
            )
        if not math.isnan(s["mean"]):
            out.append(f'<circle cx="{sx(s["mean"]):.1f}" cy="{y}" r="5" fill="{color}"/>')
        out.append(_text(x0 + PANEL + 8, y + 4, score_text(s), size=11))
    out += _cost_panel(entries, scores, x0 + PANEL + GAP, bottom)
    out.append("</svg>")
    return "\n".join(out)


def _cost_panel(entries: list[dict], scores: list[dict], x0: float, bottom: float) -> list[str]:
    per = []
    priced = any(e["cost_usd"] for e in entries)
    for e in entries:
        answered = max(1, e["answers"] - e["failures"])
        if priced:
            per.append(e["cost_usd"] / answered if e["cost_usd"] is not None else math.nan)
        else:
            per.append(e["tokens"] / answered)
    what = "cost per answer (USD)" if priced else "tokens per answer (no prices)"
    out = [_text(x0 - 40, 18, f"score against {what}", size=13, font_weight="bold")]
    out.append(_text(x0 + PANEL, bottom + 32, "colours as on the left", "end", 10))
    known = [v for v in per if not math.isnan(v)]
    xmax = max(known) * 1.15 if known and max(known) > 0 else 1.0
    ylo, yhi = _range([s["mean"] for s in scores])
    top = 30

    def px(v: float) -> float:
        return x0 + v / xmax * PANEL

    def py(v: float) -> float:
        return bottom - (v - ylo) / (yhi - ylo) * (bottom - top)

    out.append(
        f'<polyline points="{x0},{top} {x0},{bottom} {x0 + PANEL},{bottom}" fill="none" '
        f'stroke="{INK}"/>'
    )
    out.append(_text(x0 - 4, top + 4, fmt(yhi), "end", 10))
    out.append(_text(x0 - 4, bottom, fmt(ylo), "end", 10))
    out.append(_text(x0, bottom + 16, "0", "middle", 11))
    out.append(_text(x0 + PANEL, bottom + 16, _short(xmax, priced), "middle", 11))
    for i, (v, s) in enumerate(zip(per, scores)):
        if math.isnan(v) or math.isnan(s["mean"]):
            continue
        color = COLORS[i % len(COLORS)]
        out.append(f'<circle cx="{px(v):.1f}" cy="{py(s["mean"]):.1f}" r="6" fill="{color}"/>')
    return out


def _short(v: float, money: bool) -> str:
    if not money:
        return f"{v:,.0f}"
    return usd(v)


def _clip(s: str, n: int = 26) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _title(entries: list[dict], name: str | None) -> str:
    parts = [
        f"{e['model']} {e['setting']}".strip() + f": {score_text(e[name])}" for e in entries if name
    ]
    return f"{name}, mean and 95% interval: " + "; ".join(parts) if name else "experiment"

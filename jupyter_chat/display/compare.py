"""A finished comparison as one static output: the prompt, then each column's turn under its
label, in a grid that wraps at narrow widths (``text/markdown``, one sanitized HTML block that
JupyterLab, VS Code and GitHub render without a kernel), and the same as plain text. With the
columns' diffs (worddiff.py), each column after the first has its changed words marked and
its label says ``same as column 1`` or how many words differ."""

from __future__ import annotations

from typing import Any

from .._text import plain
from ..session.accounting import usd
from .bundle import markdown_bundle, turn_footer, turn_markdown, turn_plain
from .markup import Html, grid_block, html_text
from .sanitize import answer_html
from .worddiff import diff_note, marker


def label_html(text: str) -> str:
    """A column's label as widget HTML, escaped."""
    shown = Html('<div class="jupyter-chat-note" style="font-weight:bold">{}</div>')
    return str(shown.format(html_text(text, True)))


def _column(view: dict[str, Any], diff: dict[str, Any] | None = None) -> tuple[Any, str]:
    foot = turn_footer(view["record"], view["status"], view.get("error"))
    args = (view["answer"], view["reasoning"], view["tool_calls"], foot)
    mark = marker(view["answer"], diff)
    md = turn_markdown(*args, parsed=view.get("parsed"), mark=mark)
    return md, turn_plain(*args, parsed=view.get("parsed"))


def totals_line(streams: list[Any]) -> str:
    """``3 answers · 1 failed · 412 tokens · $0.0012 · slowest 2.1 s``."""
    turns = [s.turn for s in streams if s.turn is not None]
    parts = [f"{len(turns)} answer{'s' if len(turns) != 1 else ''}"]
    failed = len(streams) - len(turns)
    if failed:
        parts.append(f"{failed} failed or stopped")
    tokens = sum((t.usage or {}).get("total_tokens") or 0 for t in turns)
    if tokens:
        parts.append(f"{tokens:,} tokens")
    costs = [(t.record.get("cost") or {}).get("usd") for t in turns]
    if turns and all(isinstance(c, (int, float)) for c in costs):
        parts.append(usd(sum(costs)))
    times = [t.record.get("latency_ms") for t in turns]
    times = [ms for ms in times if isinstance(ms, (int, float))]
    if times:
        parts.append(f"slowest {max(times) / 1000:.1f} s")
    return " · ".join(parts)


def compare_bundle(
    prompt: str | None,
    labels: list[str],
    streams: list[Any],
    diffs: list[dict[str, Any] | None] | None = None,
    total: str | None = None,
) -> dict[str, Any]:
    """``text/markdown`` and ``text/plain`` of the comparison as it stands; ``diffs``: each
    column's against the first (worddiff.column_diffs); ``total``: the totals line, when it
    says more than ``totals_line``."""
    diffs = diffs or [None] * len(streams)
    columns = [_column(s.view(s.status), d) for s, d in zip(streams, diffs)]
    notes = [diff_note(d) for d in diffs]
    names = labels or [""] * len(streams)
    head = Html("")
    if prompt is not None:
        head = Html('<div class="jupyter-chat-prompt">{}</div>').format(answer_html(prompt))
    total = total or totals_line(streams)
    head += Html(
        '<p class="jupyter-chat-note" style="color:var(--jp-ui-font-color2);font-size:smaller">'
        "{}</p>"
    ).format(html_text(total, True))
    md = grid_block([(n, c[0]) for n, c in zip(names, columns)], head, notes)
    text = "\n\n".join(
        (f"== {n} ==" + (f" ({note})" if note else "") + f"\n{c[1]}") if n else c[1]
        for n, c, note in zip(names, columns, notes)
    )
    return markdown_bundle(md, plain(f"[{total}]\n\n{text}"))

"""Structured things shown in a cell: a parsed answer as a table (an object of plain values, or
a list of such objects) or an indented tree, and a batch's one-line summary with its failures.
Every value is escaped (markup.py)."""

from __future__ import annotations

import json
from typing import Any

from .._secrets import clip
from .._text import one_line
from .markup import Html, Md, bullets, code, html_pre, html_text, plain_table, text

MAX_ROWS = 50  # rows of a parsed list shown as a table; the rest is counted
MAX_FAILURES = 5


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _show(v: Any) -> str:
    if isinstance(v, str):
        return clip(one_line(v), 300)
    return json.dumps(v, ensure_ascii=False)


def parsed_rows(value: Any) -> tuple[list[str], list[list[str]]] | None:
    """A header and rows when ``value`` reads as a table, else None."""
    if isinstance(value, dict) and value and all(_scalar(v) for v in value.values()):
        return ["field", "value"], [[k, _show(v)] for k, v in value.items()]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(r, dict) and all(_scalar(v) for v in r.values()) for r in value)
    ):
        header: dict[str, None] = {}
        for r in value[:MAX_ROWS]:
            header.update(dict.fromkeys(r))
        cols = list(header)
        return cols, [[_show(r.get(c, "")) for c in cols] for r in value[:MAX_ROWS]]
    if isinstance(value, list) and value and all(_scalar(v) for v in value):
        return ["#", "value"], [[str(n), _show(v)] for n, v in enumerate(value[:MAX_ROWS])]
    return None


def parsed_html(value: Any, name: str) -> Html:
    """The parsed answer as an HTML table or a JSON tree (in a turn's HTML block)."""
    shape = parsed_rows(value)
    caption = Html("<p><strong>{}</strong></p>").format(html_text(name, True))
    if shape is None:
        return caption + html_pre(json.dumps(value, ensure_ascii=False, indent=2), "json")
    header, rows = shape
    head = Html("").join(Html("<th>{}</th>").format(html_text(h, True)) for h in header)
    body = Html("").join(
        Html("<tr>{}</tr>").format(
            Html("").join(Html("<td>{}</td>").format(html_text(c, True)) for c in row)
        )
        for row in rows
    )
    more = _more(value)
    note = Html("<p><sub>{}</sub></p>").format(html_text(more)) if more else Html("")
    return caption + Html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}").format(
        head, body, note
    )


def parsed_plain(value: Any, name: str) -> str:
    shape = parsed_rows(value)
    if shape is None:
        return f"{name}:\n{json.dumps(value, ensure_ascii=False, indent=2)}"
    more = _more(value)
    return f"{name}:\n{plain_table(*shape)}" + (f"\n{more}" if more else "")


def _more(value: Any) -> str:
    if isinstance(value, list) and len(value) > MAX_ROWS:
        return f"... and {len(value) - MAX_ROWS} more"
    return ""


def batch_summary(batch: Any) -> tuple[Md, str]:
    """The summary line (the same live and replayed) and the first failures."""
    line = batch.summary()
    failures = [(i, r) for i, r in enumerate(batch) if isinstance(r, BaseException)]
    labels = batch.index if batch.index is not None else range(len(batch))
    shown = [(labels[i], clip(one_line(str(r)), 300)) for i, r in failures[:MAX_FAILURES]]
    rest = len(failures) - len(shown)
    md = text(line)
    plain = line
    if shown:
        md += Md("\n\n") + bullets(Md("{}: {}").format(code(str(k)), e) for k, e in shown)
        plain += "".join(f"\n- {k}: {e}" for k, e in shown)
    if rest:
        md += Md("\n\n") + text(f"... and {rest} more failed")
        plain += f"\n... and {rest} more failed"
    return md, plain

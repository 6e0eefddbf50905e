"""The samples view as HTML (part of one sanitized block) and as plain text: how far the draws
agree (session/agreement.py's figures), the answer groups, per field of a structured answer,
and each draw, a sample or one request's choice, one click away in a ``<details>``. A samples
cell's output (samples.py) and a turn with several choices (bundle.py) show it alike."""

from __future__ import annotations

import json
from typing import Any

from .._secrets import clip
from .._text import one_line
from ..session.agreement import distribution, letter, share_text, summarize
from .markup import Html, html_pre, html_text, plain_table
from .sanitize import answer_html
from .structured import parsed_html, parsed_plain

PLAIN_LINE = 100  # characters of each draw's answer in text/plain


def head_text(agreement: dict[str, Any], noun: str) -> tuple[str, str]:
    """The agreement line and the answer groups: ``answers: A ×5 · B ×2 · C ×1``."""
    groups = " · ".join(f"{name} ×{n}" for name, n in distribution(agreement))
    return share_text(agreement, noun), f"answers: {groups}" if groups else ""


def head_html(agreement: dict[str, Any], noun: str) -> Html:
    line, groups = head_text(agreement, noun)
    return Html('<p class="jupyter-chat-samples-line"><strong>{}</strong><br>{}</p>').format(
        html_text(line, True), html_text(groups, True)
    )


def head_plain(agreement: dict[str, Any], noun: str) -> str:
    line, groups = head_text(agreement, noun)
    return f"[{line}]" + (f"\n{groups}" if groups else "")


FIELD_HEADER = ["field", "most common", "agree", "mean", "sd", "range"]


def field_rows(fields: list[dict[str, Any]], k: int) -> list[list[str]]:
    """Per field of a structured answer: its most common value, how many agree with it, and
    for numbers the mean, the standard deviation and the range."""
    rows = []
    for f in fields:
        number = "mean" in f
        rows.append(
            [
                str(f.get("field", "")),
                clip(one_line(_value(f.get("common"))), 80),
                f"{f.get('agree', 0)} of {k} ({round(100 * f.get('share', 0))}%)",
                _num(f["mean"]) if number else "",
                _num(f["sd"]) if number else "",
                f"{_num(f['min'])} to {_num(f['max'])}" if number else "",
            ]
        )
    return rows


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def fields_html(fields: list[dict[str, Any]], k: int) -> Html:
    if not fields:
        return Html("")
    head = Html("").join(Html("<th>{}</th>").format(html_text(h, True)) for h in FIELD_HEADER)
    body = Html("").join(
        Html("<tr>{}</tr>").format(
            Html("").join(Html("<td>{}</td>").format(html_text(c, True)) for c in row)
        )
        for row in field_rows(fields, k)
    )
    return Html(
        '<table class="jupyter-chat-agreement"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
    ).format(head, body)


def fields_plain(fields: list[dict[str, Any]], k: int) -> str:
    return plain_table(FIELD_HEADER, field_rows(fields, k)) if fields else ""


def draw_html(
    kind: str,
    index: int,
    label: str,
    answer: str,
    limit: int,
    reasoning: str = "",
    parsed: tuple[str, Any] | None = None,
    error: str | None = None,
) -> Html:
    """One draw, folded under its label (``kind``: ``sample`` or ``choice``): its reasoning
    folded, its parsed value or its answer rendered and sanitized, or its error."""
    parts = [Html("<summary>{}</summary>").format(html_text(label, True))]
    if reasoning:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(
                answer_html(reasoning, limit)
            )
        )
    if error is not None:
        parts.append(Html("<p><strong>Failed:</strong> {}</p>").format(html_text(error, True)))
    elif parsed is not None:
        parts.append(parsed_html(parsed[1], parsed[0]))
        parts.append(
            Html("<details><summary>Raw answer</summary>{}</details>").format(
                html_pre(answer, "json")
            )
        )
    else:
        parts.append(answer_html(answer, limit))
    tag = Html('<details class="jupyter-chat-sample" data-sample="{}">{}</details>')
    if kind == "choice":
        tag = Html('<details class="jupyter-chat-choice" data-choice="{}">{}</details>')
    return tag.format(str(index), Html("").join(parts))


def draw_plain(label: str, answer: str, error: str | None = None) -> str:
    """``[sample 3 · seed 123 · A] The answer's first 100 characters…``."""
    if error is not None:
        return f"[{label}] failed: {clip(one_line(error), 200)}"
    text = one_line(answer).strip()
    more = len(text) > PLAIN_LINE
    return f"[{label}] {text[:PLAIN_LINE]}{'…' if more else ''}"


def common_html(answer: str, limit: int, parsed: tuple[str, Any] | None) -> Html:
    """The most common answer, shown whole under the agreement line."""
    body = parsed_html(parsed[1], parsed[0]) if parsed is not None else answer_html(answer, limit)
    return Html('<div class="jupyter-chat-samples-common">{}</div>').format(body)


def common_plain(answer: str, parsed: tuple[str, Any] | None) -> str:
    return parsed_plain(parsed[1], parsed[0]) if parsed is not None else answer


def choices_agreement(answer: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    """How far one request's choices (``n`` > 1) agree: the first (``answer``) and the rest,
    by the samples' rule."""
    rest = [c["answer"] if isinstance(c.get("answer"), str) else "" for c in choices]
    return summarize([answer, *rest])


def group_name(agreement: dict[str, Any], index: int) -> str:
    """The answer group of draw ``index``: ``A``, ``B``, ... (empty when it has none)."""
    g = agreement["groups"][index] if index < len(agreement["groups"]) else None
    return letter(g) if g is not None else ""

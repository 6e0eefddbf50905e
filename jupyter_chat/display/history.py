"""``%chat history``: a thread's turns, each headed by the model that answered and the seed
sent, its messages rendered and sanitized like an answer (prompts may hold text from
anywhere), a long one folded to its first lines."""

from __future__ import annotations

import json
from typing import Any

from .markup import Html, Md, html_block, html_pre, html_text
from .sanitize import answer_html

FOLD_CHARS = 600  # a message longer than this, or than FOLD_LINES lines, is folded
FOLD_LINES = 12


def turn_heading(n: int, record: dict[str, Any]) -> str:
    """``turn 2 · local:gemma-3-270m-q4_k_m · seed 7`` (what answered, what was sent)."""
    model = record.get("served_model") or record.get("model")
    provider = record.get("provider")
    parts = [f"turn {n}"]
    if model or provider:
        parts.append(f"{provider}:{model}" if provider and model else str(model or provider))
    seed = (record.get("params") or {}).get("seed")
    parts.append(f"seed {seed}" if seed is not None else "no seed")
    return " · ".join(parts)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _body(message: dict[str, Any]) -> Html:
    text = _text(message)
    body = html_pre(text) if message.get("role") == "tool" else answer_html(text)
    lines = text.splitlines()
    if len(text) <= FOLD_CHARS and len(lines) <= FOLD_LINES:
        return body
    head = lines[0] if lines else ""
    head = head if len(head) <= 80 else head[:77] + "..."
    return Html("<details><summary>{} ({} characters)</summary>{}</details>").format(
        html_text(head, True), f"{len(text):,}", body
    )


def history_markdown(turns: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> Md:
    """``turns``: (record, messages) per turn, oldest first."""
    parts = []
    for n, (record, messages) in enumerate(turns, 1):
        parts.append(Html("<p><em>{}</em></p>").format(html_text(turn_heading(n, record), True)))
        for m in messages:
            role = Html("<p><strong>{}</strong></p>").format(html_text(m.get("role", "?"), True))
            parts.append(role + _body(m))
    return html_block(
        Html('<div class="jupyter-chat-history">{}</div>').format(Html("").join(parts))
    )


def history_plain(turns: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> str:
    out = []
    for n, (record, messages) in enumerate(turns, 1):
        out.append(f"-- {turn_heading(n, record)}")
        out += [f"{m.get('role')}: {_text(m)}" for m in messages]
    return "\n\n".join(out)

"""The panel's saved form: its transcript as a static output bundle, kept in the panel's own
output beside the widget view and updated as turns finish, so a notebook saved and opened
without the widget model (no kernel, Notebook 7, the HTML export, GitHub) shows the transcript.

Each turn is the bundle a cell's turn has (display/bundle.py), its prompt in ``messages``; the
whole transcript is ``text/markdown`` (one sanitized HTML block per prompt and turn),
``text/plain`` and ``application/vnd.jupyter-chat-panel+json`` (the turns, for the JupyterLab
extension, which shows the live panel while its widget model is there and the turns, rendered
as cells' turns, when it is not).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import ipywidgets as w

from .._text import plain
from ..display.bundle import MIME, bundle, markdown_bundle, turn_footer, turn_markdown
from ..display.markup import Html, Md, html_block, html_text
from ..display.sanitize import answer_html

PANEL_MIME = "application/vnd.jupyter-chat-panel+json"


def _view(out: w.Output) -> dict[str, Any] | None:
    """What ``bundle()`` took to show the answer in ``out`` (read back from its output)."""
    if not out.outputs:
        return None
    shown = out.outputs[-1]
    turn = (shown.get("data") or {}).get(MIME)
    if not isinstance(turn, dict):
        return None
    parsed = turn.get("parsed")
    return {
        "answer": turn.get("answer") or "",
        "reasoning": turn.get("reasoning") or "",
        "tool_calls": turn.get("tool_calls") or [],
        "status": turn.get("status") or "complete",
        "error": turn.get("error"),
        "record": (shown.get("metadata") or {}).get("jupyter_chat") or {},
        "signed": turn.get("signed"),
        "images": turn.get("images"),
        "parsed": (parsed["schema"], parsed["value"]) if isinstance(parsed, dict) else None,
        "logprobs": turn.get("logprobs"),
    }


def turns(children: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """The transcript's turns: (prompt, what ``bundle()`` takes to show the answer), oldest
    first. A failed turn that showed nothing is its error alone."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    prompt: str | None = None
    for c in children:
        said = getattr(c, "chat_text", None)
        if isinstance(said, str):
            prompt = said
            continue
        if isinstance(c, w.Output):
            view = _view(c)
        elif isinstance(getattr(c, "chat_error", None), str):
            if out and prompt is None:  # the error under what arrived: already in that turn
                continue
            view = {
                "answer": "",
                "reasoning": "",
                "tool_calls": [],
                "record": {},
                "status": "error",
                "error": c.chat_error,
            }
        else:
            continue
        if view is not None:
            out.append((prompt, view))
            prompt = None
    return out


def saved_bundle(children: Any, thread: str) -> dict[str, Any]:
    """The transcript in ``children`` as a static bundle every frontend renders."""
    shown = turns(children)
    count = f"{len(shown)} turn{'s' if len(shown) != 1 else ''}"
    head = f"chat panel · thread {thread} · {count}"
    parts = [
        html_block(
            Html(
                '<div class="jupyter-chat-note" style="color:var(--jp-ui-font-color2);'
                'font-size:smaller">{}</div>'
            ).format(html_text(head, True))
        )
    ]
    text = [f"[{head}]"]
    payload_turns = []
    for prompt, view in shown:
        messages = [{"role": "user", "content": prompt}] if prompt is not None else []
        data, meta = bundle(**view, messages=messages)
        payload_turns.append({"data": {MIME: data[MIME]}, "metadata": meta})
        if prompt is not None:
            parts.append(
                html_block(
                    Html(
                        '<div class="jupyter-chat-prompt" style="border-left:3px solid '
                        'var(--jp-brand-color2);padding-left:8px"><b>user</b>{}</div>'
                    ).format(answer_html(prompt))
                )
            )
            text.append("user: " + prompt)
        parts.append(_md(view))
        text.append("assistant: " + data["text/plain"])
    payload = {"version": 1, "thread": thread, "turns": payload_turns}
    return markdown_bundle(
        Md("\n\n").join(parts), plain("\n\n".join(text)), **{PANEL_MIME: payload}
    )


def _md(view: dict[str, Any]) -> Md:
    """A turn's Markdown as ``bundle()`` makes it (the footer, a refusal, other choices)."""
    rec = view["record"]
    refusal = rec.get("refusal") if isinstance(rec.get("refusal"), str) else None
    choices = rec.get("choices") if isinstance(rec.get("choices"), list) else []
    return turn_markdown(
        view["answer"],
        view["reasoning"],
        view["tool_calls"],
        turn_footer(rec, view["status"], view.get("error")),
        images=view.get("images"),
        parsed=view.get("parsed"),
        refusal=refusal,
        choices=[c for c in choices if isinstance(c, dict)],
    )


class Shown:
    """Where a panel is shown: each display keeps the parent message of the cell that showed
    it, so an update sent later (from the client's loop thread, while another cell runs or
    none) reaches that cell's output and no other."""

    def __init__(self) -> None:
        self.displays: list[tuple[str, dict[str, Any] | None]] = []

    def show(self, data: dict[str, Any]) -> None:
        from IPython.display import display

        handle = display(data, raw=True, display_id=True)
        pub = _publisher()
        parent = getattr(pub, "parent_header", None)
        self.displays.append((handle.display_id, dict(parent) if parent else None))

    def update(self, data: dict[str, Any]) -> None:
        from IPython.display import update_display

        for display_id, parent in self.displays:
            with _parent(parent):
                update_display(data, display_id=display_id, raw=True)


def _publisher() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "display_pub", None)


@contextlib.contextmanager
def _parent(parent: dict[str, Any] | None) -> Iterator[None]:
    """Send as a reply to ``parent`` from this thread only (ipykernel's thread parent)."""
    pub = _publisher()
    if not parent or not hasattr(pub, "set_thread_parent"):
        yield
        return
    token = pub.set_thread_parent(parent)
    try:
        yield
    finally:
        pub.reset_thread_parent(token)

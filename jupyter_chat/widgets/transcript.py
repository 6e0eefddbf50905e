"""The panel's transcript: the thread's turns in a box that scrolls (the composer keeps it at
the end while an answer streams, unless the user scrolled up), each prompt as a sanitized
bubble and each answer as a cell's output bundle (turn.py); an error shows in the answer's
place with Retry. Kept as a static transcript in the panel's output by saved.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..display.bundle import bundle, message_html, note_html
from .turn import show_bundle


class Transcript(w.VBox):
    """The turns shown, oldest first; new ones go at the end."""

    def __init__(self) -> None:
        scroll = w.Layout(
            width="100%", max_height="36em", overflow="auto", flex_flow="column", display="flex"
        )
        super().__init__([], layout=scroll)
        self.add_class("jp-ChatPanel-transcript")

    def clear(self) -> None:
        self.children = ()

    def prompt(self, text: str) -> w.HTML:
        bubble = w.HTML(message_html("user", text), layout=w.Layout(width="100%"))
        bubble.add_class("jp-ChatPanel-user")
        bubble.chat_text = text  # what the saved transcript (saved.py) shows as the prompt
        self.children = (*self.children, bubble)
        return bubble

    def answer(self) -> w.Output:
        out = w.Output(layout=w.Layout(width="100%"))
        out.add_class("jp-ChatPanel-answer")
        self.children = (*self.children, out)
        return out

    def past(self, messages: list[dict[str, Any]], record: dict[str, Any]) -> None:
        """A filed turn of the thread: its prompt and its answer with the recorded footer."""
        for m in messages:
            content = m.get("content")
            text = content if isinstance(content, str) else str(content or "")
            if m.get("role") == "user":
                self.prompt(text)
            elif m.get("role") == "assistant" and (text or m.get("tool_calls")):
                data, meta = bundle(
                    answer=text,
                    reasoning="",
                    tool_calls=m.get("tool_calls") or [],
                    record=record,
                    messages=[],
                    status="complete",
                )
                show_bundle(self.answer(), data, meta)

    def failed(self, place: w.Output, err: Any, retry: Callable[[], None]) -> w.HBox:
        """The error under what arrived of the answer (or in its place), with Retry (the
        prompt is back in the box)."""
        again = w.Button(description="Retry", icon="redo", tooltip="send the same prompt again")
        again.add_class("jp-ChatPanel-retry")
        again.on_click(lambda _: retry())
        box = w.HBox(
            [w.HTML(note_html(str(err), error=True)), again],
            layout=w.Layout(flex_flow="row wrap", align_items="center"),
        )
        box.add_class("jp-ChatPanel-error")
        box.chat_error = str(err)
        kids = list(self.children)
        at = kids.index(place) if place in kids else len(kids) - 1
        if place.outputs:
            kids.insert(at + 1, box)
        else:
            kids[at] = box
        self.children = tuple(kids)
        return box

    def html(self) -> str:
        """What the transcript shows, as HTML/Markdown text (for scripts and tests)."""
        parts = []
        for c in self.children:
            if isinstance(c, w.Output):
                parts += [o.get("data", {}).get("text/markdown", "") for o in c.outputs]
            elif isinstance(c, w.HBox):
                parts += [k.value for k in c.children if isinstance(k, w.HTML)]
            elif isinstance(c, w.HTML):
                parts.append(c.value)
        return "\n".join(parts)

    def drop(self, *views: Any) -> None:
        self.children = tuple(c for c in self.children if c not in views)

"""One turn streamed into an ``ipywidgets.Output``: the same output bundle as a cell's
(display/bundle.py), so JupyterLab's extension renders it (Markdown, code, math, the footer)
and other frontends show its sanitized HTML. The deltas are kept and shown on the display's
throttle, then the final turn (the loop thread writes)."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from ..client.runtime import RUNTIME
from ..display.bundle import bundle
from ..display.live import Texts, Throttle
from ..session.prepare import Prepared
from ..session.record import early_record
from ..session.runner import aanswer
from ..session.turn import Turn


def show_bundle(target: w.Output, data: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Make ``data`` the one output of ``target`` (replacing what it showed)."""
    target.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


class StreamedTurn:
    """Runs ``prep`` on the shared loop at once; ``done(self)`` when it ends."""

    def __init__(
        self, target: w.Output, prep: Prepared, done: Any, errors_inline: bool = False
    ) -> None:
        self.target, self.prep, self.done = target, prep, done
        self.errors_inline = errors_inline  # else the owner shows an error with nothing else
        self.early = early_record(prep)
        self.texts = Texts()
        self.throttle = Throttle()
        self.turn: Turn | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self.ended = threading.Event()  # set once the turn (or its error) is shown
        self._show("streaming")
        self.fut = RUNTIME.submit(aanswer(prep, self._delta))
        self.fut.add_done_callback(self._finished)

    @property
    def cut(self) -> bool:
        """The answer stopped at the token limit."""
        return self.turn is not None and self.turn.finish_reason == "length"

    def _delta(self, out: list) -> None:
        self.texts.add(out)
        if self.throttle.due(self.texts.size):
            self._show("streaming")
            self.throttle.mark(self.texts.size)

    def _finished(self, fut: Any) -> None:
        if fut.cancelled():
            self.stopped = True
        elif fut.exception() is not None:  # shown by the owner, never raised into the kernel
            self.error = fut.exception()
        else:
            self.turn = fut.result()
        try:
            if self.turn is not None:
                self._show("complete")
            elif self.stopped or self.texts.size or self.errors_inline:
                self._show("interrupted" if self.stopped else "error")
            else:  # nothing arrived: the owner shows the error in the turn's place
                self.target.outputs = ()
        finally:
            self.ended.set()
            self.done(self)

    def view(self, status: str) -> dict[str, Any]:
        """What ``bundle()`` takes to show this turn now (its state: ``status``)."""
        t, schema = self.turn, self.prep.schema
        if t is not None:
            parsed = None
            if schema is not None and not t.schema_errors and not t.tool_calls:
                parsed = (schema.name, schema.plain(t.parsed))
            return {
                "answer": t.text,
                "reasoning": t.reasoning,
                "tool_calls": t.tool_calls,
                "record": t.record,
                "status": status,
                "signed": t.signed,
                "parsed": parsed,
            }
        return {
            "answer": self.texts.text("answer"),
            "reasoning": self.texts.text("reasoning"),
            "tool_calls": self.texts.calls,
            "record": {**self.early, "complete": False},
            "status": status,
            "error": str(self.error) if self.error is not None else None,
        }

    def _show(self, status: str) -> None:
        self.status = status
        data, meta = bundle(**self.view(status), messages=[])
        show_bundle(self.target, data, meta)

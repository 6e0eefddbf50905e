"""One turn streamed into an HTML widget: the deltas it is handed are kept and shown on the
display's throttle, then the final turn with the one footer (the loop thread writes)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..client.runtime import RUNTIME
from ..display.bundle import message_html
from ..display.footer import footer
from ..display.live import Texts, Throttle
from ..session.prepare import Prepared
from ..session.structured import aturn
from ..session.turn import Turn


class StreamedTurn:
    """Runs ``prep`` on the shared loop at once; ``done(self)`` when it ends."""

    def __init__(self, target: w.HTML, label: str, prep: Prepared, done: Any) -> None:
        self.target, self.label, self.prep, self.done = target, label, prep, done
        self.texts = Texts()
        self.throttle = Throttle()
        self.turn: Turn | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self.fut = RUNTIME.submit(aturn(prep, self._delta))
        self.fut.add_done_callback(self._finished)

    def _delta(self, out: list) -> None:
        self.texts.add(out)
        if self.throttle.due(self.texts.size):
            self._show("streaming…")
            self.throttle.mark(self.texts.size)

    def _finished(self, fut: Any) -> None:
        if fut.cancelled():
            self.stopped = True
        elif fut.exception() is not None:  # shown in the widget, never raised into the kernel
            self.error = fut.exception()
        else:
            self.turn = fut.result()
        try:
            self._show("stopped: incomplete" if self.stopped else "")
        finally:
            self.done(self)

    def _show(self, state: str) -> None:
        if self.turn is not None:
            t, schema = self.turn, self.prep.schema
            parsed = (schema.name, schema.plain(t.parsed)) if schema is not None else None
            self.target.value = message_html(
                self.label, t.text, t.reasoning, footer(t.record, "complete"), parsed
            )
            return
        self.target.value = message_html(
            self.label, self.texts.text("answer"), self.texts.text("reasoning"), state
        )

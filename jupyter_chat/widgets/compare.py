"""The comparison: the same prompt to several models (or seeds, temperatures, a sweep of one
parameter) at once, in a grid of columns that wrap at narrow widths, each streaming as it
arrives. Shown in a cell, it runs until every column has finished (the cell busy all along),
then leaves a static output (display/compare.py) with each column's structured turn beside it,
so a saved notebook shows it as it was shown live: through the JupyterLab extension without a
kernel or widget state, and as sanitized HTML elsewhere. Once every column has finished, what
differs from the first column is marked word by word (display/worddiff.py), in the widget and
in the output alike."""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from typing import Any

import ipywidgets as w

from ..display.bundle import MIME, bundle, note_html
from ..display.compare import compare_bundle, label_html, totals_line
from ..display.markup import GRID_COLUMNS
from ..display.worddiff import column_diffs
from ..session.prepare import prepare
from ..session.resolve import Ask
from ..session.run import will_replay
from ..session.runner import check_up_front
from ..session.state import SESSION
from ..session.telemetry import Group
from ..structured.schema import as_schema
from .columns import check_column_samples, compare_asks, labels, sampled, samples_line
from .turn import StreamedTurn, show_bundle

COMPARE_MIME = "application/vnd.jupyter-chat.compare+json"
BUSY_EVERY = 0.5  # seconds between two reminders that the cell still runs (see _busy)


class Column(StreamedTurn):
    """One column's turn: while it streams, its footer names the model that will answer (the
    one the finished footer names: the managed local server's model, not ``default``)."""

    def view(self, status: str) -> dict[str, Any]:
        shown = super().view(status)
        if self.turn is None:
            req = self.prep.request
            asked = req.body.get("model")
            named = req.profile.quirks.served_model(req.url, asked, None) or asked
            shown["record"] = {**shown["record"], "served_model": named}
        return shown


class Compare(w.VBox):
    """The same prompt to several models (or seeds, temperatures) at once, in columns."""

    def __init__(
        self,
        prompt: str,
        asks: list[Ask],
        schema: Any = None,
        repair: int = 1,
        samples: int | None = None,
    ) -> None:
        self.prompt = prompt
        schema = as_schema(schema)
        preps = [  # all checked first
            prepare(prompt, ask, stream=True, schema=schema, repair=repair) for ask in asks
        ]
        self.labels = labels(asks)
        if samples is not None:  # each ask K times, each with its derived seed
            preps, self.labels = sampled(preps, self.labels, samples)
        check_up_front(preps)  # the notebook's budget: the whole grid, before any column starts
        self.samples = samples
        self.columns = [w.Output(layout=w.Layout(min_width="0")) for _ in preps]
        cells = [
            w.VBox([w.HTML(label_html(name)), col], layout=w.Layout(min_width="0"))
            for name, col in zip(self.labels, self.columns)
        ]
        self.grid = w.GridBox(
            cells, layout=w.Layout(grid_template_columns=GRID_COLUMNS, grid_gap="8px", width="100%")
        )
        self.grid.add_class("jp-ChatCompare-grid")
        self.totals = w.HTML()
        super().__init__([self.grid, self.totals], layout=w.Layout(width="100%"))
        self.add_class("jp-ChatCompare")
        self.streams: list[Column] = []
        self._static: tuple[dict[str, Any], dict[str, Any]] | None = None
        # all replayed: one display of the finished grid, as for a replayed turn (nbval and
        # other runners that ignore display updates see the same output)
        self.replayed = all(will_replay(p) for p in preps) and not SESSION.pace
        self.group = Group("compare", columns=len(preps))  # the parent span (telemetry.py)
        with self.group.current():
            for col, prep in zip(self.columns, preps):
                self.streams.append(Column(col, prep, self._column_done, errors_inline=True))

    @property
    def turns(self) -> list[Any]:
        """Each column's Turn (or its error), in order, once finished."""
        return [s.turn if s.turn is not None else s.error for s in self.streams]

    def wait(self, timeout: float = 300) -> list[Any]:
        """Each column's Turn (or error) once all have finished. An interrupt stops them all
        (each keeps its partial answer, marked interrupted) and is raised."""
        try:
            for s in self.streams:
                # errors are kept in the column and in .turns; an interrupt is not swallowed
                with contextlib.suppress(Exception, concurrent.futures.CancelledError):
                    _result(s.fut, timeout)
                s.ended.wait(5)  # its done callback has kept the turn
        except KeyboardInterrupt:
            self.stop()
            raise
        return self.turns

    def stop(self) -> None:
        for s in self.streams:
            s.fut.cancel()

    def static(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The finished comparison as an output every frontend renders: the sanitized HTML
        grid and its plain text, and for the JupyterLab extension each column's structured
        turn, so it renders as the live columns did. The columns' run records are in the
        metadata (``jupyter_chat_columns``), as a turn's record is: what varies between a run
        and its replay (times, the replay flag) stays out of the compared data. Each column
        after the first carries its diff against the first (``diff``), worked out here once,
        so the extension marks the words the HTML marks."""
        done = all(s.ended.is_set() for s in self.streams)
        if done and self._static is not None:
            return self._static
        answers = [s.turn.text if s.turn is not None else None for s in self.streams]
        diffs = column_diffs(answers) if done else [None] * len(self.streams)
        data = compare_bundle(self.prompt, self.labels, self.streams, diffs, self.totals_text())
        columns, records = [], []
        for label, s, diff in zip(self.labels, self.streams, diffs):
            turn, meta = bundle(**s.view(s.status), messages=[])
            columns.append({"label": label, "turn": turn[MIME]})
            if diff is not None:
                columns[-1]["diff"] = diff
            records.append(meta["jupyter_chat"])
        data[COMPARE_MIME] = {
            "version": 1,
            "prompt": self.prompt,
            "totals": self.totals_text(),
            "columns": columns,
        }
        shown = data, {"jupyter_chat_columns": records}
        if done:
            self._static = shown
        return shown

    def _ipython_display_(self) -> None:
        """Shown as a cell's output: the live grid, then, once every column has finished
        (or the cell is interrupted), the static comparison in the same output."""
        from IPython.display import display

        if self.replayed:
            self.wait()
            data, metadata = self.static()
            display(data, metadata=metadata, raw=True)
            return
        handle = display(self._repr_mimebundle_(), raw=True, display_id=True)
        try:
            self.wait()
        finally:
            for s in self.streams:  # the columns' last updates come from the loop thread
                s.ended.wait(5)
            data, metadata = self.static()
            handle.update(data, metadata=metadata, raw=True)

    def totals_text(self) -> str:
        """The totals line, and with samples how they agree."""
        line = totals_line(self.streams)
        if self.samples and all(s.ended.is_set() for s in self.streams):
            line += " · " + samples_line(self.streams, self.labels, self.samples)
        return line

    def _column_done(self, stream: StreamedTurn) -> None:
        """Once every column has ended: the widget shows the finished comparison (the diffs
        marked, the totals), as the cell's output will."""
        if len(self.streams) == len(self.columns) and all(s.ended.is_set() for s in self.streams):
            self.group.end()
            self.totals.value = note_html(self.totals_text())
            final = w.Output(layout=w.Layout(width="100%"))
            show_bundle(final, *self.static())
            self.children = [final]


def _result(fut: Any, timeout: float) -> Any:
    """``fut.result(timeout)``, telling the frontend now and then that the cell still runs.

    JupyterLab (4.6) shows the kernel's state from the last status message on IOPub, whatever
    it answered: the control messages it sends while a comparison streams (a subshell for the
    widgets' comms, the debugger's questions) each end in ``idle``, so the status bar said Idle
    while the cell ran. The kernel is busy: it says so again until the columns end."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return fut.result(max(0.0, min(BUSY_EVERY, left)))
        except concurrent.futures.TimeoutError:
            if fut.done() or left <= BUSY_EVERY:
                raise
            _busy()


def _busy() -> None:
    """Publish ``busy`` for the running cell (nothing outside a kernel)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    publish = getattr(kernel, "_publish_status", None)
    if publish is not None:
        with contextlib.suppress(Exception):
            publish("busy", "shell")


def compare(
    prompt: str,
    models: list[str] | None = None,
    seeds: list[int] | None = None,
    temperatures: list[float] | None = None,
    system: str | None = None,
    seed_from: str | None = None,
    schema: Any = None,
    repair: int = 1,
    *,
    sweep: Any = None,
    seed: int | None = None,
    samples: int | None = None,
    **params: Any,
) -> Compare:
    """Stream ``prompt`` to each model (or each seed / temperature / value of a sweep) in
    parallel columns.

    With one model and several seeds or temperatures, each column varies that. ``sweep``: one
    parameter across values, a column each, labelled by the value: ``{"temperature": [0, 0.7,
    1.2]}`` (or ``"temperature=0,0.7,1.2"``, as ``%%chat --sweep`` takes it), any parameter
    the provider takes, or ``{"seed": [1, 2, 3]}``; checked before anything is sent. Requests
    run concurrently: N columns take about as long as the slowest. Each column goes through
    the session's one resolution rule: without ``seed`` or ``seeds`` every column gets the
    seed derived from the prompt (``seed_from``: what it is derived from, the cell's text for
    ``%%chat --compare``), so the columns differ only in what is compared. ``schema``: each
    column's answer is validated (and repaired), as with ``chat``. ``samples=K``: each
    column asked K times, a column per sample (``sample 0`` ... ``sample K-1``), each with the
    seed derived from the column's seed and the sample's index (as ``chat(samples=K)``
    derives them), the totals saying how many distinct answers. Once all have finished,
    each column after the first has the words that differ from the first marked, or says it
    is the same. Shown as a cell's value, the cell runs until every column has finished and
    leaves a static comparison."""
    asks = compare_asks(prompt, models, seeds, temperatures, system, seed_from, sweep, seed, params)
    return Compare(prompt, asks, schema, repair, check_column_samples(samples, asks))

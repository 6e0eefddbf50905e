"""The chat panel: over the same session as the magics (threads, defaults, seeds, replay) and
the same shared client.

A panel's request runs on the client's loop thread, so the kernel stays free for other cells;
the answer streams into the transcript (transcript.py) as a cell's output would, on the
display's throttle; Stop cancels the request and keeps the partial answer, marked
interrupted. It sends only the parameters the user set; the rest are the notebook's defaults
or the provider's.
"""

from __future__ import annotations

import json
import time
from typing import Any

import ipywidgets as w

from ..display.bundle import note_html
from ..errors import AuthenticationError, ChatError, ConfigError
from ..session.export import export
from ..session.prepare import prepare
from ..session.resolve import Ask, answerable_models, opening_model, resolve_model
from ..session.state import SESSION
from ..structured.schema import as_schema
from .composer import Composer, KeyField
from .saved import Shown, saved_bundle
from .transcript import Transcript
from .turn import StreamedTurn

NUMBERS = (("temperature", float, 0, 2), ("top_p", float, 0, 1), ("max_tokens", int, 1, None))
LABEL = {"description_width": "initial"}  # labels as wide as their words, never cut
FIELD = {"description_width": "7em"}  # the parameters' labels: aligned, "temperature" whole


def row() -> w.Layout:
    return w.Layout(flex_flow="row wrap", width="100%", align_items="center")


def button(text: str, tooltip: str, primary: bool = False) -> w.Button:
    """A button sized to its label, looking like JupyterLab's (the extension's panel.css)."""
    b = w.Button(description=text, tooltip=tooltip, layout=w.Layout(width="auto"))
    b.add_class("jp-ChatPanel-button")
    if primary:
        b.add_class("jp-mod-accept")
    return b


class ChatPanel(w.VBox):
    """A chat panel bound to the notebook's session (see ``panel()``)."""

    def __init__(
        self,
        model: str | None = None,
        thread: str | None = None,
        schema: Any = None,
        repair: int = 1,
    ) -> None:
        self.schema, self.repair = as_schema(schema), repair
        start = model or opening_model()
        opts = answerable_models()
        self.model = w.Combobox(
            value=start,
            options=opts if start in opts else [start, *opts],
            description="Model",
            ensure_option=False,
            style=LABEL,
            layout=w.Layout(flex="1 1 15em", width="auto", min_width="12em"),
        )
        thread = thread or SESSION.current
        self.thread = w.Dropdown(
            options=sorted({*self._threads(), thread}),
            value=thread,
            description="Thread",
            style=LABEL,
            layout=w.Layout(flex="0 1 11em", width="auto", min_width="8em"),
        )
        self.new_btn = button("New", "start a new thread")
        self.clear_btn = button("Clear", "empty this thread")
        self.export_btn = button("Export", "write THREAD.md here")
        self.export_note = w.HTML()
        self.numbers = {name: self._number(name) for name, *_ in NUMBERS}
        notebook_seed = f" (notebook seed {SESSION.seed})" if SESSION.seed is not None else ""
        self.seed = w.Text(
            value="",
            placeholder="derived per prompt" + notebook_seed,
            description="seed",
            style=FIELD,
            layout=w.Layout(width="22em"),
        )
        self.seed_sent = w.HTML()  # the seed the last request sent, derived or typed
        self.seed_sent.add_class("jp-ChatPanel-seedSent")
        self.system = w.Textarea(
            value=SESSION.system or "",
            placeholder="none",
            description="system",
            style=FIELD,
            layout=w.Layout(width="100%"),
        )
        self.extra = w.Text(
            value="",
            description="extra",
            placeholder='{"top_k": 40}',
            style=FIELD,
            layout=w.Layout(width="100%"),
        )
        self.params = w.VBox(
            [
                *self.numbers.values(),
                w.HBox([self.seed, self.seed_sent], layout=row()),
                self.system,
                self.extra,
            ],
            layout=w.Layout(display="none", width="100%"),
        )
        self.params.add_class("jp-ChatPanel-params")
        self.params_btn = w.ToggleButton(
            description="Parameters",
            tooltip="temperature, top_p, max tokens, seed, system prompt, extra parameters",
            layout=w.Layout(width="auto"),
        )
        self.params_btn.add_class("jp-ChatPanel-button")
        self.params_btn.add_class("jp-ChatPanel-paramsToggle")
        self.transcript = Transcript()
        self.composer = Composer(layout=w.Layout(width="100%"))
        self.send_btn = button("Send", "send the message (Enter in the box)", primary=True)
        self.stop_btn = button("Stop", "stop the answer; the partial answer stays")
        self.stop_btn.disabled = True
        self.status = w.HTML()
        self.key_field = KeyField(self._set_key, layout=w.Layout(display="none"))
        super().__init__(
            [
                w.HBox(
                    [
                        self.model,
                        self.thread,
                        self.new_btn,
                        self.clear_btn,
                        self.export_btn,
                        self.export_note,
                    ],
                    layout=row(),
                ),
                self.transcript,
                self.composer,
                w.HBox(
                    [self.send_btn, self.stop_btn, self.params_btn, self.status, self.key_field],
                    layout=row(),
                ),
                self.params,
            ],
            layout=w.Layout(width="100%", max_width="60em"),
        )
        self.add_class("jp-ChatPanel")
        self.busy: StreamedTurn | None = None
        self.send_btn.on_click(lambda _: self.send())
        self.stop_btn.on_click(lambda _: self.stop())
        self.composer.observe(lambda _: self.send(), "submits")
        self.new_btn.on_click(lambda _: self._new_thread())
        self.clear_btn.on_click(lambda _: self._clear())
        self.export_btn.on_click(lambda _: self._export())
        self.thread.observe(lambda _: self.refresh(), "value")
        self.model.observe(lambda ch: setattr(SESSION, "model", ch["new"] or None), "value")
        self.params_btn.observe(
            lambda ch: setattr(self.params.layout, "display", "" if ch["new"] else "none"), "value"
        )
        self.shown = Shown()
        self.refresh()

    # -- actions --------------------------------------------------------------------------
    def send(self, text: str | None = None) -> None:
        """Send the message box (or ``text``) on the current thread; returns at once."""
        text = (self.composer.value if text is None else text).strip()
        if not text or self.busy is not None:
            return
        try:
            ask = Ask(
                model=self.model.value or None,
                thread=self.thread.value,
                system=self._system(),
                seed=self._seed(),
                params=self._params(),
                seed_from="panel:" + text,
            )
            prep = prepare(text, ask, stream=True, schema=self.schema, repair=self.repair)
        except ChatError as exc:  # nothing sent, the prompt stays in the box
            return self._error(exc)
        self._error(None)
        self.composer.value = ""
        bubble = self.transcript.prompt(text)
        place = self.transcript.answer()
        self._set_busy(True)
        self.busy = StreamedTurn(place, prep, lambda s: self._finished(s, text, bubble, place))
        self._show_seed(self.busy.early.get("params") or {})

    def stop(self) -> None:
        """Cancel the running request; the partial answer stays, marked interrupted."""
        if self.busy is not None:
            self.busy.fut.cancel()

    def wait(self, timeout: float = 60) -> None:
        """Block until the running request ends (for scripts and tests, not callbacks)."""
        end = time.monotonic() + timeout
        while self.busy is not None and time.monotonic() < end:
            time.sleep(0.01)

    def refresh(self) -> None:
        """Show the thread as filed."""
        self.transcript.clear()
        for entry in SESSION.threads.get(self.thread.value, []):
            self.transcript.past(entry.messages, entry.record)
        self._save()

    def saved(self) -> dict[str, Any]:
        """The transcript as a static bundle (what a saved notebook shows without the widget)."""
        return saved_bundle(self.transcript.children, self.thread.value)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view, and the transcript for whatever cannot show the widget (its
        ``text/plain`` too: never the widget's repr)."""
        super()._repr_mimebundle_(**kwargs)  # the widget's on-displayed callbacks
        return self._bundle()

    def _bundle(self) -> dict[str, Any]:
        view = {"version_major": 2, "version_minor": 0, "model_id": self.model_id}
        return {**self.saved(), "application/vnd.jupyter.widget-view+json": view}

    def _ipython_display_(self) -> None:
        """Shown in a cell: one output, the widget view and the static transcript, updated as
        turns finish (see saved.py)."""
        self.shown.show(self._repr_mimebundle_())

    # -- internals ------------------------------------------------------------------------
    def _number(self, name: str) -> w.Text:
        known = SESSION.params.get(name)
        return w.Text(
            value="",
            placeholder="default" if known is None else f"default: {known}",
            description=name.replace("_", " "),
            style=FIELD,
            layout=w.Layout(width="22em"),
        )

    def _seed(self) -> int | None:
        """The seed typed in (sent as is), or None: derived per prompt."""
        raw = self.seed.value.strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"seed: {raw!r} is not a whole number") from None

    def _show_seed(self, sent: dict[str, Any]) -> None:
        """Beside the seed field: the seed this request sent, and where it came from."""
        seed = sent.get("seed")
        if seed is None:
            self.seed_sent.value = note_html("no seed sent")
            return
        how = "typed" if self.seed.value.strip() else "derived from the prompt"
        self.seed_sent.value = note_html(f"sent: {seed} ({how})")

    def _system(self) -> str | None:
        """The system prompt shown (it opens on the notebook's); emptied: none."""
        typed = self.system.value.strip()
        return typed or ("" if SESSION.system else None)

    def _params(self) -> dict[str, Any]:
        """Only what the user set: the numbers typed in, and the extra JSON."""
        out: dict[str, Any] = {}
        for name, kind, low, high in NUMBERS:
            raw = self.numbers[name].value.strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}: {raw!r} is not a number") from None
            if value < low or (high is not None and value > high):
                raise ConfigError(f"{name}: {raw} is out of range")
            out[name] = value
        raw = self.extra.value.strip()
        if raw:
            try:
                extra = json.loads(raw)
            except ValueError as exc:
                raise ConfigError(f"extra: not JSON ({exc})") from None
            if not isinstance(extra, dict):
                raise ConfigError("extra parameters must be a JSON object")
            out.update(extra)
        return out

    def _finished(self, stream: StreamedTurn, text: str, bubble: Any, place: Any) -> None:
        try:
            self._ended(stream, text, bubble, place)
            self._save()
        finally:  # usable again once the outcome is shown (and saved)
            self.busy = None
            self._set_busy(False)

    def _save(self) -> None:
        """Bring the saved transcript in every output showing this panel up to date."""
        if getattr(self, "shown", None) is not None and self.shown.displays:
            self.shown.update(self._bundle())

    def _ended(self, stream: StreamedTurn, text: str, bubble: Any, place: Any) -> None:
        if stream.error is not None:
            if not self.composer.value:
                self.composer.value = text  # the prompt is never lost
            views: list[Any] = [bubble, place]
            views.append(
                self.transcript.failed(place, stream.error, lambda: self._retry(text, *views))
            )
            self._error(stream.error, in_status=False)
        elif stream.stopped:
            self.status.value = note_html("stopped: the partial answer is not kept in the thread")
        elif stream.cut:
            limit = (stream.turn.record.get("params") or {}).get("max_tokens")
            where = f" ({limit} tokens)" if limit else ""
            self.status.value = note_html(
                f"cut at the token limit{where}: raise max tokens under Parameters"
            )

    def _retry(self, text: str, *views: Any) -> None:
        """Send the failed prompt again in place of the failed pair."""
        if self.busy is not None:
            return
        self.transcript.drop(*views)
        if self.composer.value == text:
            self.composer.value = ""
        self.send(text)

    def _set_busy(self, busy: bool) -> None:  # the box keeps focus (read-only while busy)
        self.send_btn.disabled = self.composer.disabled = busy
        self.stop_btn.disabled = not busy

    def _error(self, err: Any, in_status: bool = True) -> None:
        """Red, short, key-free; a missing key offers a hidden key field right here."""
        missing_key = isinstance(err, AuthenticationError) and "no API key" in str(err)
        self.key_field.layout.display = "" if missing_key else "none"
        self.status.value = note_html(str(err), error=True) if err and in_status else ""

    def _set_key(self, value: Any) -> None:
        from ..providers.config import CONFIG

        try:
            if not isinstance(value, str):
                raise AuthenticationError("the key is not text")
            CONFIG.set_key(resolve_model(self.model.value or None)[0], value)
        except ChatError as exc:
            return self._error(exc)
        self._error(None)
        self.status.value = note_html("key set for this kernel")

    def _threads(self) -> list[str]:
        return sorted(set(SESSION.threads) | {SESSION.current})

    def _new_thread(self) -> None:
        n = 1
        while f"panel-{n}" in SESSION.threads or f"panel-{n}" in self.thread.options:
            n += 1
        self.thread.options = [*self._threads(), f"panel-{n}"]
        self.thread.value = f"panel-{n}"

    def _clear(self) -> None:
        SESSION.clear(self.thread.value)
        self.refresh()

    def _export(self) -> None:
        try:
            path = export(self.thread.value, f"{self.thread.value}.md")
        except ChatError as exc:
            self.export_note.value = note_html(str(exc), error=True)
            return
        self.export_note.value = note_html(f"written to {path}")


def panel(
    model: str | None = None, thread: str | None = None, schema: Any = None, repair: int = 1
) -> ChatPanel:
    """A chat panel: a scrolling transcript, message box, Send/Stop, thread and model
    pickers, parameters. Several may be open at once; they share the notebook's threads and
    defaults with the magics. With ``schema``, every answer is validated (and repaired) and
    shown as the parsed value."""
    return ChatPanel(model, thread, schema, repair)

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
from .transcript import Transcript
from .turn import StreamedTurn

NUMBERS = (("temperature", float, 0, 2), ("top_p", float, 0, 1), ("max_tokens", int, 1, None))


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
            layout=w.Layout(flex="1 1 14em"),
        )
        thread = thread or SESSION.current
        self.thread = w.Dropdown(
            options=sorted({*self._threads(), thread}),
            value=thread,
            description="Thread",
            layout=w.Layout(flex="1 1 12em"),
        )
        self.new_btn = w.Button(description="New", tooltip="start a new thread")
        self.clear_btn = w.Button(description="Clear", tooltip="empty this thread")
        self.export_btn = w.Button(description="Export", tooltip="write THREAD.md here")
        self.export_note = w.HTML()
        self.numbers = {name: self._number(name) for name, *_ in NUMBERS}
        self.seed = w.IntText(value=SESSION.seed or 0, description="seed")
        self.seed_fixed = w.ToggleButton(
            value=False,
            description="fixed",
            tooltip="fixed: send this seed; off: derived per prompt",
        )
        self.system = w.Textarea(
            value=SESSION.system or "",
            placeholder="none",
            description="system",
            layout=w.Layout(width="100%"),
        )
        self.extra = w.Text(
            value="",
            description="extra",
            placeholder='{"top_k": 40}',
            layout=w.Layout(width="100%"),
        )
        params = w.VBox(
            [
                *self.numbers.values(),
                w.HBox([self.seed, self.seed_fixed]),
                self.system,
                self.extra,
            ]
        )
        self.params = w.Accordion(children=[params], titles=("Parameters",))
        self.params.selected_index = None
        self.transcript = Transcript()
        self.composer = Composer(layout=w.Layout(width="100%"))
        self.send_btn = w.Button(description="Send", button_style="primary")
        self.stop_btn = w.Button(description="Stop", disabled=True)
        self.status = w.HTML()
        self.key_field = KeyField(self._set_key, layout=w.Layout(display="none"))
        wrap = w.Layout(flex_flow="row wrap", width="100%", align_items="center")
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
                    layout=wrap,
                ),
                self.params,
                self.transcript,
                self.composer,
                w.HBox([self.send_btn, self.stop_btn, self.status, self.key_field], layout=wrap),
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
                seed=self.seed.value if self.seed_fixed.value else None,
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

    # -- internals ------------------------------------------------------------------------
    def _number(self, name: str) -> w.Text:
        known = SESSION.params.get(name)
        return w.Text(
            value="",
            placeholder="default" if known is None else f"default: {known}",
            description=name.replace("_", " "),
            layout=w.Layout(width="18em"),
        )

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
        finally:  # usable again once the outcome is shown
            self.busy = None
            self._set_busy(False)

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

    def _set_busy(self, busy: bool) -> None:
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

"""The chat panel: over the same session as the magics (threads, defaults, seeds, replay) and
the same shared client.

A panel's request runs on the client's loop thread, so the kernel stays free for other cells;
the answer streams into the panel on the display's throttle; Stop cancels the request and
keeps the partial answer, marked incomplete. Model text is rendered and sanitized like cells'.
"""

from __future__ import annotations

import json
import time
from typing import Any

import ipywidgets as w

from .._secrets import clip
from ..display.bundle import message_html
from ..display.markup import Html, html_text
from ..errors import AuthenticationError, ChatError
from ..providers.config import CONFIG
from ..session.export import export
from ..session.prepare import prepare
from ..session.resolve import Ask, resolve_model
from ..session.schema import as_schema
from ..session.state import SESSION
from .composer import Composer, KeyField
from .turn import StreamedTurn


def model_options() -> list[str]:
    """PROVIDER:MODEL for every provider that can be used now (key present, or none needed)."""
    opts = []
    for name, p in CONFIG.profiles().items():
        if not CONFIG.usable(p):
            continue
        opts.append(f"{name}:{p.default_model}" if p.default_model else f"{name}:")
    return opts


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
        opts = model_options()
        start = model or SESSION.model or (opts[0] if opts else "local:default")
        self.model = w.Combobox(
            value=start,
            options=opts,
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
        p = SESSION.params
        self.temperature = w.FloatSlider(
            value=p.get("temperature", 0.7), min=0, max=2, step=0.05, description="temperature"
        )
        self.top_p = w.FloatSlider(
            value=p.get("top_p", 1.0), min=0, max=1, step=0.01, description="top_p"
        )
        self.max_tokens = w.BoundedIntText(
            value=p.get("max_tokens", 512), min=1, max=1_000_000, description="max tokens"
        )
        self.seed = w.IntText(value=SESSION.seed or 0, description="seed")
        self.seed_fixed = w.ToggleButton(
            value=False,
            description="fixed",
            tooltip="fixed: send this seed; off: derived per prompt",
        )
        self.system = w.Textarea(
            value=SESSION.system or "", description="system", layout=w.Layout(width="100%")
        )
        self.extra = w.Text(
            value="",
            description="extra",
            placeholder='{"top_k": 40}',
            layout=w.Layout(width="100%"),
        )
        params = w.VBox(
            [
                self.temperature,
                self.top_p,
                self.max_tokens,
                w.HBox([self.seed, self.seed_fixed]),
                self.system,
                self.extra,
            ]
        )
        self.params = w.Accordion(children=[params], titles=("Parameters",))
        self.params.selected_index = None
        self.history = w.HTML(layout=w.Layout(width="100%"))
        self.reply = w.HTML(layout=w.Layout(width="100%"))
        self.composer = Composer(layout=w.Layout(width="100%"))
        self.send_btn = w.Button(description="Send", button_style="primary")
        self.stop_btn = w.Button(description="Stop", disabled=True)
        self.status = w.HTML()
        self.key_field = KeyField(self._set_key, layout=w.Layout(display="none"))
        wrap = w.Layout(flex_flow="row wrap", width="100%")
        super().__init__(
            [
                w.HBox(
                    [self.model, self.thread, self.new_btn, self.clear_btn, self.export_btn],
                    layout=wrap,
                ),
                self.params,
                self.history,
                self.reply,
                self.composer,
                w.HBox(
                    [self.send_btn, self.stop_btn, self.status, self.key_field],
                    layout=wrap,
                ),
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
        for widget, key in (
            (self.temperature, "temperature"),
            (self.top_p, "top_p"),
            (self.max_tokens, "max_tokens"),
        ):
            widget.observe(lambda ch, key=key: SESSION.params.__setitem__(key, ch["new"]), "value")
        self.model.observe(lambda ch: setattr(SESSION, "model", ch["new"] or None), "value")
        self.system.observe(lambda ch: setattr(SESSION, "system", ch["new"] or None), "value")
        self.refresh()

    # -- actions --------------------------------------------------------------------------
    def send(self, text: str | None = None) -> None:
        """Send the message box (or ``text``) on the current thread; returns at once."""
        text = (self.composer.value if text is None else text).strip()
        if not text or self.busy is not None:
            return
        try:
            extra = json.loads(self.extra.value) if self.extra.value.strip() else {}
            if not isinstance(extra, dict):
                raise ValueError("extra parameters must be a JSON object")
        except ValueError as exc:
            return self._error(f"extra: {exc}")
        params = {
            "temperature": self.temperature.value,
            "top_p": self.top_p.value,
            "max_tokens": self.max_tokens.value,
            **extra,
        }
        ask = Ask(
            model=self.model.value or None,
            thread=self.thread.value,
            system=self.system.value,
            seed=self.seed.value if self.seed_fixed.value else None,
            params=params,
            seed_from="panel:" + text,
        )
        try:
            prep = prepare(text, ask, stream=True, schema=self.schema, repair=self.repair)
        except ChatError as exc:
            return self._error(exc)
        self._error(None)
        self.composer.value = ""
        self.history.value += message_html("user", text)
        self._set_busy(True)
        self.busy = StreamedTurn(self.reply, "assistant", prep, self._finished)

    def stop(self) -> None:
        """Cancel the running request; the partial answer stays, marked incomplete."""
        if self.busy is not None:
            self.busy.fut.cancel()

    def wait(self, timeout: float = 60) -> None:
        """Block until the running request ends (for scripts and tests, not callbacks)."""
        end = time.monotonic() + timeout
        while self.busy is not None and time.monotonic() < end:
            time.sleep(0.01)

    def refresh(self) -> None:
        msgs = SESSION.history(self.thread.value)
        self.history.value = "".join(
            message_html(m.get("role", "?"), str(m.get("content") or ""))
            for m in msgs
            if m.get("role") in ("user", "assistant")
        )
        self.reply.value = ""

    # -- internals ------------------------------------------------------------------------
    def _finished(self, stream: StreamedTurn) -> None:
        self.busy = None
        self._set_busy(False)
        if stream.error is not None:
            self._error(stream.error)
        elif stream.stopped:
            self.status.value = _note("stopped: the partial answer is not kept in the thread")
        if stream.turn is not None:
            self.history.value += self.reply.value
            self.reply.value = ""

    def _set_busy(self, busy: bool) -> None:
        self.send_btn.disabled = self.composer.disabled = busy
        self.stop_btn.disabled = not busy

    def _error(self, err: Any) -> None:
        """Red, short, key-free; a missing key offers a hidden key field right here."""
        missing_key = isinstance(err, AuthenticationError) and "no API key" in str(err)
        self.key_field.layout.display = "" if missing_key else "none"
        self.status.value = (
            ""
            if err is None
            else str(
                Html(
                    '<span class="jupyter-chat-note" style="color:var(--jp-error-color1)">{}</span>'
                ).format(html_text(clip(str(err), 500), True))
            )
        )

    def _set_key(self, value: Any) -> None:
        import jupyter_chat

        try:
            if not isinstance(value, str):
                raise AuthenticationError("the key is not text")
            jupyter_chat.set_key(resolve_model(self.model.value or None)[0], value)
        except ChatError as exc:
            return self._error(exc)
        self._error(None)
        self.status.value = _note("key set for this kernel")

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
            return self._error(exc)
        self.status.value = _note(f"written to {path}")


def _note(text: str) -> str:
    return str(
        Html(
            '<span class="jupyter-chat-note" style="color:var(--jp-ui-font-color2)">{}</span>'
        ).format(html_text(text, True))
    )


def panel(
    model: str | None = None, thread: str | None = None, schema: Any = None, repair: int = 1
) -> ChatPanel:
    """A chat panel: message box, Send/Stop, thread and model pickers, parameters. Several may
    be open at once; they share the notebook's threads and defaults with the magics. With
    ``schema``, every answer is validated (and repaired) and shown as the parsed value."""
    return ChatPanel(model, thread, schema, repair)

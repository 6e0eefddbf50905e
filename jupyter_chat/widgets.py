"""ipywidgets front ends: a chat panel and a side-by-side comparison, over the same session as
the magics (threads, defaults, seeds, replay) and the same shared client.

A panel's request runs on the client's loop thread, so the kernel stays free for other cells;
the answer streams into the panel on the usual 50 ms throttle; Stop cancels the request and
keeps the partial answer, marked incomplete. Model text is escaped before it is shown.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from . import api
from ._secrets import clip
from .errors import AuthenticationError, ChatError
from .markup import Html, html_text
from .render import footer
from .sanitize import answer_html
from .state import SESSION
from .stream import Accumulator

_THROTTLE = 0.05


class Composer(anywidget.AnyWidget):
    """A message box: Enter sends, Shift+Enter adds a line."""

    _esm = """
    function render({ model, el }) {
      const ta = document.createElement("textarea");
      ta.className = "jp-ChatPanel-composer";
      ta.rows = 3;
      ta.placeholder = "Message (Enter sends, Shift+Enter adds a line)";
      ta.value = model.get("value");
      ta.dataset.lmSuppressShortcuts = "true";  // keep JupyterLab's Shift+Enter out of it
      ta.addEventListener("input", () => { model.set("value", ta.value); model.save_changes(); });
      ta.addEventListener("keydown", (e) => {
        e.stopPropagation();
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          model.set("value", ta.value);
          model.set("submits", model.get("submits") + 1);
          model.save_changes();
        }
      });
      model.on("change:value", () => {
        if (ta.value !== model.get("value")) ta.value = model.get("value");
      });
      const setDisabled = () => { ta.disabled = model.get("disabled"); };
      model.on("change:disabled", setDisabled);
      setDisabled();
      el.appendChild(ta);
    }
    export default { render };
    """
    _css = """
    .jp-ChatPanel-composer { width: 100%; box-sizing: border-box; resize: vertical;
      font-family: var(--jp-content-font-family); font-size: var(--jp-content-font-size1);
      color: var(--jp-content-font-color1); background: var(--jp-layout-color0);
      border: 1px solid var(--jp-border-color1); border-radius: 4px; padding: 6px; }
    """
    value = traitlets.Unicode("").tag(sync=True)
    submits = traitlets.Int(0).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


_BOX = (
    "border:1px solid var(--jp-border-color2);border-radius:4px;padding:6px 8px;"
    "margin:4px 0;color:var(--jp-content-font-color1);overflow-wrap:anywhere;"
)


class KeyField(anywidget.AnyWidget):
    """A hidden key field whose value never enters the widget's state (which a saved notebook
    keeps): Set (or Enter) sends the key to the kernel in one message and clears the field."""

    _esm = """
    function render({ model, el }) {
      const input = document.createElement("input");
      input.type = "password";
      input.autocomplete = "off";
      input.placeholder = "API key";
      input.className = "jp-ChatPanel-key";
      input.dataset.lmSuppressShortcuts = "true";
      const button = document.createElement("button");
      button.textContent = "Set key";
      button.className = "jp-ChatPanel-setKey jupyter-button";
      const send = () => {
        if (input.value) { model.send({ type: "key", value: input.value }); }
        input.value = "";
      };
      button.addEventListener("click", send);
      input.addEventListener("keydown", (e) => {
        e.stopPropagation();
        if (e.key === "Enter") { e.preventDefault(); send(); }
      });
      el.append(input, button);
    }
    export default { render };
    """

    def __init__(self, on_key: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(
            lambda _w, content, _b: (
                on_key(content.get("value"))
                if isinstance(content, dict) and content.get("type") == "key"
                else None
            )
        )


def turn_html(role: str, text: str, reasoning: str = "", foot: str = "") -> str:
    """One message as HTML for an ``ipywidgets.HTML`` (which sets innerHTML: no sanitizer
    stands behind it): the text rendered and sanitized like an answer, the rest escaped."""
    bg = "var(--jp-layout-color2)" if role == "user" else "var(--jp-layout-color1)"
    parts = [
        Html('<div class="jupyter-chat-box" style="{}background:{}"><b>{}</b>').format(
            _BOX, bg, html_text(role)
        )
    ]
    if reasoning:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(answer_html(reasoning))
        )
    parts.append(answer_html(text))
    if foot:
        parts.append(
            Html(
                '<div class="jupyter-chat-note" style="color:var(--jp-ui-font-color2);'
                'font-size:smaller">{}</div>'
            ).format(html_text(foot, True))
        )
    return str(Html("").join(parts) + Html("</div>"))


def model_options() -> list[str]:
    """PROVIDER:MODEL for every provider that can be used now (key present, or none needed)."""
    from .config import CONFIG

    opts = []
    for name, p in CONFIG.profiles().items():
        if not CONFIG.usable(p):
            continue
        opts.append(f"{name}:{p.default_model}" if p.default_model else f"{name}:")
    return opts


class _Stream:
    """Runs one turn on the loop and streams it into an HTML widget (the loop thread writes)."""

    def __init__(self, target: w.HTML, label: str, prep: api.Prepared, done: Any) -> None:
        self.target, self.label, self.prep, self.done = target, label, prep, done
        self.acc = Accumulator(prep.request.provider)
        self.turn: api.Turn | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self._last = 0.0
        self.fut = api.RUNTIME.submit(self._run())

    async def _run(self) -> None:
        import asyncio

        try:
            self.turn = await api.run_async(self.prep, self._delta, self.acc)
            self._show(final=True)
        except asyncio.CancelledError:
            self.stopped = True
            self._show(final=True)
            raise
        except Exception as exc:  # shown in the panel, never raised into the kernel
            self.error = exc
            self._show(final=True)
        finally:
            self.done(self)

    def _delta(self, out: list) -> None:
        if time.perf_counter() - self._last >= _THROTTLE:
            self._show()

    def _show(self, final: bool = False) -> None:
        self._last = time.perf_counter()
        if self.turn is not None:
            r = self.turn.record
            foot = footer(r, "complete")
            self.target.value = turn_html(self.label, self.turn.text, self.turn.reasoning, foot)
            return
        state = "stopped: incomplete" if self.stopped else ("streaming…" if not final else "")
        self.target.value = turn_html(
            self.label, self.acc.text("answer"), self.acc.text("reasoning"), state
        )


class ChatPanel(w.VBox):
    """A chat panel bound to the notebook's session (see ``panel()``)."""

    def __init__(self, model: str | None = None, thread: str | None = None) -> None:
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
        self.busy: _Stream | None = None
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
            **SESSION.params,
            "temperature": self.temperature.value,
            "top_p": self.top_p.value,
            "max_tokens": self.max_tokens.value,
            **extra,
        }
        seed = self.seed.value if self.seed_fixed.value else SESSION.derive_seed("panel:" + text)
        try:
            prep = api.prepare(
                text,
                model=self.model.value or None,
                thread=self.thread.value,
                system=self.system.value or None,
                seed=seed,
                stream=True,
                **params,
            )
        except ChatError as exc:
            return self._error(exc)
        self._error(None)
        self.composer.value = ""
        self.history.value += turn_html("user", text)
        self._set_busy(True)
        self.busy = _Stream(self.reply, "assistant", prep, self._finished)

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
            turn_html(m.get("role", "?"), str(m.get("content") or ""))
            for m in msgs
            if m.get("role") in ("user", "assistant")
        )
        self.reply.value = ""

    # -- internals ------------------------------------------------------------------------
    def _finished(self, stream: _Stream) -> None:
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
            jupyter_chat.set_key(api.resolve_model(self.model.value or None)[0], value)
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
            path = SESSION.export(self.thread.value, f"{self.thread.value}.md")
        except ChatError as exc:
            return self._error(exc)
        self.status.value = _note(f"written to {path}")


def _note(text: str) -> str:
    return str(
        Html(
            '<span class="jupyter-chat-note" style="color:var(--jp-ui-font-color2)">{}</span>'
        ).format(html_text(text, True))
    )


def panel(model: str | None = None, thread: str | None = None) -> ChatPanel:
    """A chat panel: message box, Send/Stop, thread and model pickers, parameters. Several may
    be open at once; they share the notebook's threads and defaults with the magics."""
    return ChatPanel(model, thread)


class Compare(w.HBox):
    """The same prompt to several models (or seeds, temperatures) at once, in columns."""

    def __init__(self, prompt: str, runs: list[dict[str, Any]]) -> None:
        self.columns = [w.HTML(layout=w.Layout(flex="1 1 16em", min_width="12em")) for _ in runs]
        super().__init__(self.columns, layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.add_class("jp-ChatCompare")
        self.streams: list[_Stream] = []
        preps = [api.prepare(prompt, stream=True, **run) for run in runs]  # all checked first
        for col, run, prep in zip(self.columns, runs, preps):
            label = " ".join(f"{k}={v}" for k, v in run.items())
            self.streams.append(_Stream(col, label, prep, lambda s: None))

    @property
    def turns(self) -> list[Any]:
        """Each column's Turn (or its error), in order, once finished."""
        return [s.turn if s.turn is not None else s.error for s in self.streams]

    def wait(self, timeout: float = 300) -> list[Any]:
        """Each column's Turn (or error) once all have finished. An interrupt stops them all
        (each keeps its partial answer, marked stopped) and is raised."""
        import concurrent.futures

        try:
            for s in self.streams:
                # errors are kept in the column and in .turns; an interrupt is not swallowed
                with contextlib.suppress(Exception, concurrent.futures.CancelledError):
                    s.fut.result(timeout)
        except KeyboardInterrupt:
            self.stop()
            raise
        return self.turns

    def stop(self) -> None:
        for s in self.streams:
            s.fut.cancel()


def compare(
    prompt: str,
    models: list[str] | None = None,
    seeds: list[int] | None = None,
    temperatures: list[float] | None = None,
    **params: Any,
) -> Compare:
    """Stream ``prompt`` to each model (or each seed / temperature) in parallel columns.

    With one model and several seeds or temperatures, each column varies that. Requests run
    concurrently: N columns take about as long as the slowest."""
    models = models or [SESSION.model or api.CONFIG.default_model()]
    runs = [{"model": m, **params} for m in models]
    if seeds:
        runs = [{**r, "seed": s} for r in runs for s in seeds]
    if temperatures:
        runs = [{**r, "temperature": t} for r in runs for t in temperatures]
    return Compare(prompt, runs)

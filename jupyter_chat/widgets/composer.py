"""The panel's own input widgets (anywidget): the message box, and a key field whose value
never enters widget state."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets


class Composer(anywidget.AnyWidget):
    """A message box: Enter sends, Shift+Enter adds a line; it keeps the panel's transcript
    following a streaming answer."""

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
      follow(el, 0);
    }
    // The panel's transcript (above this box) stays at its end while an answer streams,
    // unless the user scrolled up; back at the end, it follows again. Found once this
    // view is on the page, in whatever frontend renders the widgets.
    function follow(el, tries) {
      const panel = el.closest(".jp-ChatPanel");
      const box = panel && panel.querySelector(".jp-ChatPanel-transcript");
      if (!box) {
        if (tries < 600) requestAnimationFrame(() => follow(el, tries + 1));
        return;
      }
      if (box.dataset.follow) return;
      box.dataset.follow = "on";
      let pinned = true;
      box.addEventListener("scroll", () => {
        pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 32;
      }, { passive: true });
      const stick = () => { if (pinned) box.scrollTop = box.scrollHeight; };
      new MutationObserver(stick).observe(box, { childList: true, subtree: true, characterData: true });
      new ResizeObserver(stick).observe(box);
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

"""The panel's own input widgets (anywidget): the message box, and a key field whose value
never enters widget state."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets


class Composer(anywidget.AnyWidget):
    """A message box: Enter sends, Shift+Enter adds a line, the focus stays in it while the
    answer streams. Its script also keeps the panel's transcript following a streaming answer
    and one Tab stop, and names the panel's labelled controls (ipywidgets' labels are not tied
    to their inputs)."""

    _esm = """
    function render({ model, el }) {
      const ta = document.createElement("textarea");
      ta.className = "jp-ChatPanel-composer";
      ta.rows = 3;
      ta.placeholder = "Message (Enter sends, Shift+Enter adds a line)";
      ta.setAttribute("aria-label", "Message");
      ta.value = model.get("value");
      ta.dataset.lmSuppressShortcuts = "true";  // keep JupyterLab's Shift+Enter out of it
      ta.addEventListener("input", () => { model.set("value", ta.value); model.save_changes(); });
      ta.addEventListener("keydown", (e) => {
        e.stopPropagation();
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          if (ta.readOnly) return;  // an answer is on its way
          model.set("value", ta.value);
          model.set("submits", model.get("submits") + 1);
          model.save_changes();
        }
      });
      model.on("change:value", () => {
        if (ta.value !== model.get("value")) ta.value = model.get("value");
      });
      // busy: read-only, not disabled, so the focus stays in the box after Enter
      const setBusy = () => {
        ta.readOnly = model.get("disabled");
        ta.setAttribute("aria-busy", String(model.get("disabled")));
      };
      model.on("change:disabled", setBusy);
      setBusy();
      el.appendChild(ta);
      wire(el, 0);
    }
    const FOCUSABLE = 'a[href], button, input, select, textarea, summary, iframe, ' +
      '[contenteditable="true"], [tabindex]:not([tabindex="-1"])';
    // Once this view is on the page (in whatever frontend renders the widgets): the
    // transcript follows a streaming answer, is one Tab stop, and every control is named.
    function wire(el, tries) {
      const panel = el.closest(".jp-ChatPanel");
      const box = panel && panel.querySelector(".jp-ChatPanel-transcript");
      if (!box) {
        if (tries < 600) requestAnimationFrame(() => wire(el, tries + 1));
        return;
      }
      if (box.dataset.follow) return;
      box.dataset.follow = "on";
      follow(box);
      oneStop(box);
      const name = () => nameControls(panel);
      new MutationObserver(name).observe(panel, {
        childList: true, subtree: true, attributes: true, attributeFilter: ["class"],
      });
      name();
    }
    // The transcript stays at its end while an answer streams, unless the user scrolled
    // up; back at the end, it follows again. Only a scroll decides, and by its direction as
    // well as its position: its event can arrive after more text did, so a scroll down to
    // where the end was is a return to the end, and our own scroll to the end (or a late
    // event for it) never unpins.
    function follow(box) {
      let pinned = true, top = box.scrollTop, height = box.scrollHeight;
      const atEnd = (h) => h - box.scrollTop - box.clientHeight < 32;
      const seen = () => { top = box.scrollTop; height = box.scrollHeight; };
      box.addEventListener("scroll", () => {
        const down = box.scrollTop > top;
        if (atEnd(box.scrollHeight) || (down && atEnd(height))) pinned = true;
        else if (box.scrollTop < top) pinned = false;
        seen();
      }, { passive: true });
      const hold = holding();
      const stick = (changes) => {
        if (changes) hold(changes);
        if (pinned) box.scrollTop = box.scrollHeight;
        seen();
      };
      new MutationObserver(stick).observe(box, { childList: true, subtree: true, characterData: true });
      new ResizeObserver(() => stick()).observe(box);
    }
    // Each update replaces an answer's output, and the new one renders a moment later (the
    // old one is gone before any script of ours runs): an answer is held at the tallest it
    // has been, so the transcript never collapses between the two (which would move the
    // reader, and flicker); once it has not changed for 300 ms it is held at its own height.
    function holding() {
      const timers = new WeakMap();
      const answerOf = (node) => {
        const e = node.nodeType === 1 ? node : node.parentElement;
        return e ? e.closest(".jp-ChatPanel-answer") : null;
      };
      const inner = (a) => (a.firstElementChild ? a.firstElementChild.offsetHeight : 0);
      const settle = (a) => {
        clearTimeout(timers.get(a));
        timers.set(a, setTimeout(() => {
          const h = inner(a);
          if (h) a.style.minHeight = h + "px";
        }, 300));
      };
      return (changes) => {
        const touched = new Set();
        for (const c of changes) {
          const a = answerOf(c.target);
          if (a) touched.add(a);
        }
        for (const a of touched) {
          const h = inner(a);
          if (h > (parseFloat(a.style.minHeight) || 0)) a.style.minHeight = h + "px";
          settle(a);
        }
      };
    }
    // The past answers are one Tab stop (the transcript, which scrolls with the arrow
    // keys); Enter goes into them (Tab then walks their Copy, Insert and links), Escape or
    // Tab out of the last one comes back.
    function oneStop(box) {
      box.tabIndex = 0;
      box.setAttribute("role", "log");
      box.setAttribute("aria-label", "Transcript");
      box.title = "Enter: into the answers (Copy, Insert, links); Escape: back";
      let inside = false;
      const park = () => {
        if (inside) return;
        for (const n of box.querySelectorAll(FOCUSABLE)) {
          if (n === box || n.dataset.chatTab !== undefined) continue;
          n.dataset.chatTab = n.getAttribute("tabindex") ?? "";
          n.setAttribute("tabindex", "-1");
        }
      };
      const enter = () => {
        inside = true;
        box.dataset.inside = "on";
        for (const n of box.querySelectorAll("[data-chat-tab]")) {
          if (n.dataset.chatTab) n.setAttribute("tabindex", n.dataset.chatTab);
          else n.removeAttribute("tabindex");
          delete n.dataset.chatTab;
        }
      };
      const leave = () => { inside = false; delete box.dataset.inside; park(); };
      box.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && e.target === box) {
          e.preventDefault();
          e.stopPropagation();
          enter();
          const first = box.querySelector(FOCUSABLE);
          if (first) first.focus();
        } else if (e.key === "Escape" && inside) {
          e.preventDefault();
          e.stopPropagation();
          leave();
          box.focus();
        }
      });
      box.addEventListener("focusout", (e) => {
        if (inside && !box.contains(e.relatedTarget)) leave();
      });
      new MutationObserver(park).observe(box, { childList: true, subtree: true });
      park();
    }
    // Each labelled control gets its label as its accessible name; the Parameters toggle
    // says whether it is open.
    function nameControls(panel) {
      for (const row of panel.querySelectorAll(".widget-inline-hbox")) {
        const label = row.querySelector(":scope > label.widget-label");
        const control = row.querySelector("input, select, textarea");
        const text = label && label.textContent.trim();
        if (text && control && !control.hasAttribute("aria-label")) {
          control.setAttribute("aria-label", text.charAt(0).toUpperCase() + text.slice(1));
        }
      }
      for (const b of panel.querySelectorAll(".jp-ChatPanel-paramsToggle")) {
        const open = String(b.classList.contains("mod-active"));
        if (b.getAttribute("aria-expanded") !== open) b.setAttribute("aria-expanded", open);
      }
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
      input.setAttribute("aria-label", "API key");
      input.dataset.lmSuppressShortcuts = "true";
      const button = document.createElement("button");
      button.textContent = "Set key";
      button.className = "jp-ChatPanel-setKey jp-ChatPanel-button jupyter-button";
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

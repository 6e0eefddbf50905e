"""A batch's progress: in a kernel, a progress bar (done, failed, replayed, rate, ETA) that ends
as the batch's static summary in the same output; in a terminal, a text bar on stderr, then
the summary. Nothing to send (everything replays) shows the summary alone, so a notebook's
saved output is the same however it ran."""

from __future__ import annotations

import sys
import time
from typing import Any

from ..display.bundle import markdown_bundle
from ..display.structured import batch_summary
from .run import Progress

EVERY = 0.25  # seconds between two updates of the bar


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()


class ProgressView:
    """Shows ``counts`` while a batch runs (``tick``), then its summary (``end``)."""

    def __init__(self, counts: Progress, enabled: bool, to_send: int) -> None:
        self.counts, self.enabled = counts, enabled
        self.start = time.monotonic()
        self._last = 0.0
        shell = _shell()
        self.kernel = shell is not None and hasattr(shell, "kernel")
        self.shell = shell
        self.bar: Any = None
        self.handle: Any = None
        self.text = enabled and to_send > 0 and not self.kernel
        if enabled and to_send > 0 and self.kernel:
            self._widget()

    def _widget(self) -> None:
        import ipywidgets as w
        from IPython.display import display

        total = self.counts.total or 0
        self.bar = w.IntProgress(value=0, min=0, max=max(total, 1), description="batch")
        self.label = w.Label(value=self.line())
        box = w.HBox([self.bar, self.label])
        self.box = box
        self.handle = display(box, display_id=True)

    def line(self) -> str:
        c = self.counts
        elapsed = max(time.monotonic() - self.start, 1e-9)
        total = f"/{c.total}" if c.total is not None else ""
        parts = [f"{c.done}{total} done", f"{c.failed} failed", f"{c.replayed} replayed"]
        sent = c.done - c.replayed - c.failed
        rate = sent / elapsed
        if sent:
            parts.append(f"{rate:.1f}/s")
        if c.total is not None and rate > 0 and c.done < c.total:
            parts.append(f"ETA {(c.total - c.done) / rate:.0f} s")
        if c.shards:
            parts.append("shards " + " + ".join(map(str, c.shards)))
        return " · ".join(parts)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last < EVERY:
            return
        self._last = now
        if self.bar is not None:
            self.bar.value = self.counts.done
            self.label.value = self.line()
        elif self.text:
            self._text_bar()

    def _text_bar(self, end: str = "") -> None:
        c = self.counts
        width = 24
        filled = int(width * c.done / c.total) if c.total else 0
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {self.line()}{end}")
        sys.stderr.flush()

    def end(self, batch: Any) -> None:
        """The bar becomes the summary (its metadata says what was replayed and spent)."""
        if not self.enabled:
            return
        md, plain = batch_summary(batch)
        data = markdown_bundle(md, plain)
        meta = {"jupyter_chat_batch": batch.facts()}
        if self.text:
            self._text_bar("\n")
        if self.handle is not None:
            self.handle.update(data, metadata=meta, raw=True)
            self.box.close()
            return
        if self.shell is None:  # a plain Python script: the summary on stderr
            sys.stderr.write(plain + "\n")
            return
        from IPython.display import display

        display(data, metadata=meta, raw=True)

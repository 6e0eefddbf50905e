"""The live display of a streaming turn: one display per turn, fed the deltas it is handed
(it never reads back into the stream), updated by the one throttle, then a final update.

The throttle (also the widgets'): an update at most every 50 ms, further apart as the text
grows (+25 ms per 1,000 characters), and only once the text grew by 5 %. The growth rule bounds
what is sent whatever the pace of the stream: about log(n)/log(1.05) updates carrying about 21
times the answer in all, instead of n updates and n²/2 characters. With the JupyterLab
extension present (comm.py), only new text goes out, over the comm, then one final update.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .._secrets import redact
from .._text import plain
from .bundle import MIME, bundle


class Throttle:
    """Whether a streaming view is due an update (see the module's docstring)."""

    def __init__(
        self, interval: float = 0.05, per_char: float = 0.025 / 1000, growth: float = 0.05
    ) -> None:
        self.interval, self.per_char, self.growth = interval, per_char, growth
        self._time, self._size = 0.0, -1

    def due(self, size: int, now: float | None = None) -> bool:
        now = time.perf_counter() if now is None else now
        if now - self._time < self.interval + size * self.per_char:
            return False
        return size - self._size >= max(1, size * self.growth)

    def mark(self, size: int, now: float | None = None) -> None:
        self._time = time.perf_counter() if now is None else now
        self._size = size


class Texts:
    """The text of one turn as its deltas tell it: answer, reasoning, tool calls (choice 0)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {
            "answer": [],
            "reasoning": [],
            "preamble": [],
            "refusal": [],
        }
        self.calls: list[dict[str, Any]] = []
        self.size = 0  # characters received (answer, reasoning, tool names and arguments)

    def add(self, out: list) -> None:
        for kind, index, piece in out:
            if index != 0:
                continue
            if kind == "tool_call":
                self._call(piece)
            elif kind in self.parts:
                self.parts[kind].append(piece)
                self.size += len(piece)

    def _call(self, piece: Any) -> None:
        if not isinstance(piece, dict) or not isinstance(piece.get("slot"), int):
            return  # a recording made before tool deltas carried their text
        while len(self.calls) <= piece["slot"]:
            self.calls.append(
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
        call = self.calls[piece["slot"]]
        call["id"] = piece.get("id") or call["id"]
        call["function"]["name"] += piece.get("name") or ""
        call["function"]["arguments"] += piece.get("arguments") or ""
        self.size += len(piece.get("name") or "") + len(piece.get("arguments") or "") + 1

    def text(self, kind: str) -> str:
        return redact("".join(self.parts[kind]))  # a key a provider echoes is never shown


class Live:
    """One display for one turn, updated on the throttle while it streams."""

    def __init__(
        self,
        record: dict[str, Any],
        messages: list[dict],
        fmt: str = "markdown",
        terminal: bool = False,
        frontend: Any = None,
    ) -> None:
        self.record = record  # partial until the end: provider, model, params, thread
        self.messages = messages
        self.fmt = fmt
        self.terminal = terminal
        self.texts = Texts()
        self.start = time.perf_counter()
        self.handle: Any = None
        self.throttle = Throttle()
        self._printed = 0  # terminal: characters of the answer already printed
        self.frontend = (
            frontend if frontend is not None and frontend.ready and not terminal else None
        )
        self.turn_id = uuid.uuid4().hex if self.frontend else None
        self._pending: dict[str, list[str]] = {"answer": [], "reasoning": []}
        self._calls_sent = -1
        self._sent_at = 0.0
        self._seq = 0  # each comm message's number: a window applies each one once

    def feed(self, out: list) -> None:
        """Deltas as they arrive: kept, and the display updated when due."""
        self.texts.add(out)
        if self.frontend:
            for kind, index, piece in out:
                if index == 0 and kind in self._pending:
                    self._pending[kind].append(piece)
            if time.perf_counter() - self._sent_at >= self.throttle.interval:
                self._send_deltas()
        elif self.terminal:  # only what is new: a whole answer each time would be O(n²)
            for kind, index, piece in out:
                if kind == "answer" and index == 0:
                    print(plain(redact(piece)), end="", flush=True)
                    self._printed += len(piece)
        elif self.throttle.due(self.texts.size):
            self.show()

    def show(self) -> None:
        """Show what has arrived so far (a placeholder before the first token)."""
        if self.terminal:
            return
        now = time.perf_counter()
        refusal = self.texts.text("refusal")
        data, meta = bundle(
            answer=self.texts.text("answer"),
            reasoning=self.texts.text("reasoning"),
            tool_calls=self.texts.calls,
            record={**self.record, "refusal": refusal} if refusal else self.record,
            messages=self.messages,
            status="streaming",
            fmt=self.fmt,
            elapsed=now - self.start,
            structured=self.frontend is not None,
        )
        if self.frontend:  # the extension's renderer takes this display and the deltas
            data[MIME]["turn_id"] = self.turn_id
        self._emit(data, meta)  # the early record (model, params) for the renderer's footer
        self.throttle.mark(self.texts.size, now)

    def _send_deltas(self) -> None:
        msg: dict[str, Any] = {"type": "delta", "turn": self.turn_id}
        for kind, parts in self._pending.items():
            if parts:
                msg[kind] = redact("".join(parts))
                parts.clear()
        if len(msg) > 2:
            self._send(msg)
        calls = self.texts.calls
        if calls and self.texts.size != self._calls_sent:
            self._send({"type": "tool_calls", "turn": self.turn_id, "tool_calls": calls})
            self._calls_sent = self.texts.size
        self._sent_at = time.perf_counter()

    def _send(self, msg: dict[str, Any]) -> None:
        self._seq += 1
        self.frontend.send({**msg, "seq": self._seq})

    def final(self, data: dict[str, Any], metadata: dict[str, Any], answer: str = "") -> None:
        if self.frontend:
            self._send_deltas()  # the delta stream is whole, even before the final update
        if self.terminal:
            self._print(answer)
            refusal = metadata.get("jupyter_chat", {}).get("refusal")
            if isinstance(refusal, str) and refusal:
                print(plain(redact("[refused] " + refusal)), end="")
            print("\n[" + data["text/plain"].rpartition("\n\n[")[2])  # the footer: one line
            return
        self._emit(data, metadata)

    def clear(self) -> None:
        """Empty the display (the placeholder of a request that failed before any text)."""
        if self.handle is not None:
            self.handle.update({}, raw=True, metadata={})

    def _emit(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        from IPython.display import display

        if self.handle is None:
            self.handle = display(data, raw=True, metadata=metadata, display_id=True)
        else:
            self.handle.update(data, raw=True, metadata=metadata)

    def _print(self, answer: str) -> None:
        if len(answer) > self._printed:
            print(plain(redact(answer[self._printed :])), end="", flush=True)
            self._printed = len(answer)

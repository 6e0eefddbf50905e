"""The harmony / ``<think>`` splitter: ``content`` text into answer, reasoning, preamble and
tool-call arguments (providers.md 4.5 and 4.6). Pure: no I/O, tested with strings alone.

Tool-call text is emitted as ``("tool_call", index, (call, name, arguments))``: the call dict
being written and the name and argument text this piece added.
"""

from __future__ import annotations

import uuid
from typing import Any

# providers.md 4.1: harmony special tokens, matched as text once the server detokenizes.
_START, _END, _MESSAGE, _CHANNEL = "<|start|>", "<|end|>", "<|message|>", "<|channel|>"
_CONSTRAIN, _RETURN, _CALL = "<|constrain|>", "<|return|>", "<|call|>"
_HARMONY = (_START, _END, _MESSAGE, _CHANNEL, _CONSTRAIN, _RETURN, _CALL)
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"

_CHANNEL_KIND = {"analysis": "reasoning", "final": "answer", "commentary": "preamble"}


def mint_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


class ContentSplitter:
    """Splits ``content`` text into answer / reasoning / preamble / tool-call arguments.

    An incremental state machine over harmony markers (providers.md 4.5) and Qwen/DeepSeek
    ``<think>`` tags (4.6). It holds back only a trailing strict prefix of a marker, so
    the output is the same however the text is split.
    """

    __slots__ = (
        "buf",
        "in_header",
        "header",
        "kind",
        "think",
        "answered",
        "tool",
        "on_tool",
        "_pending_name",
    )

    def __init__(self, on_tool: Any = None) -> None:
        self.buf = ""
        self.in_header = False
        self.header = ""
        self.kind = "answer"  # where body text goes now
        self.think = False
        self.answered = False  # non-blank answer text seen (then <think> is literal)
        self.tool: dict | None = None  # harmony tool call being written
        self.on_tool = on_tool  # callback(slot) when a harmony tool call opens
        self._pending_name = False  # the opened call's name is not in a delta yet

    def feed(self, text: str, out: list, index: int) -> None:
        if not self.buf and not self.in_header and "<" not in text:
            self._body(text, out, index)
            return
        buf = self.buf + text
        while buf:
            i = buf.find("<")
            if i < 0:
                self._body(buf, out, index)
                buf = ""
                break
            if i:
                self._body(buf[:i], out, index)
                buf = buf[i:]
            for marker in self._markers():
                if buf.startswith(marker):
                    buf = buf[len(marker) :]
                    self._marker(marker, out, index)
                    break
            else:
                if any(m.startswith(buf) for m in self._markers()):
                    break  # a strict prefix of a marker: wait for more text
                self._body("<", out, index)
                buf = buf[1:]
        self.buf = buf

    def finish(self, out: list, index: int) -> None:
        """End of content: release held-back text and close an open tool call."""
        buf, self.buf = self.buf, ""
        if buf:
            self._body(buf, out, index)
        self.tool = None

    def _markers(self) -> tuple[str, ...]:
        if self.think:
            return _HARMONY + (_THINK_CLOSE,)
        if not self.answered and not self.in_header and self.kind == "answer":
            return _HARMONY + (_THINK_OPEN,)
        return _HARMONY

    def _marker(self, m: str, out: list, index: int) -> None:
        if m == _START:
            self.in_header, self.header = True, ""
        elif m in (_CHANNEL, _CONSTRAIN):
            if not self.in_header:
                self.in_header, self.header = True, ""
            self.header += m
        elif m == _MESSAGE:
            self._open_message(self.header)
            self.in_header = False
        elif m in (_END, _RETURN, _CALL):
            self.tool = None
            self.in_header, self.kind = False, "answer"
        elif m == _THINK_OPEN:
            self.think, self.kind = True, "reasoning"
        elif m == _THINK_CLOSE:
            self.think, self.kind = False, "answer"

    def _open_message(self, header: str) -> None:
        channel = recipient = None
        words = header.replace(_CHANNEL, " <|channel|> ").replace(_CONSTRAIN, " <|constrain|> ")
        words = words.split()
        for n, w in enumerate(words):
            if w == _CHANNEL and n + 1 < len(words) and channel is None:
                channel = words[n + 1]
            elif w.startswith("to="):
                recipient = w[3:]
        self.tool = None
        if recipient and recipient.startswith("functions."):
            self.kind = "tool"
            self.tool = {
                "id": mint_call_id(),
                "type": "function",
                "function": {"name": recipient[len("functions.") :], "arguments": ""},
            }
            if self.on_tool is not None:
                self.on_tool(self.tool)
            self._pending_name = True
        elif recipient:
            self.kind = "reasoning"  # built-in tools (browser.*, python) run on analysis
        else:
            self.kind = _CHANNEL_KIND.get(channel, "answer") if channel else "answer"

    def _body(self, text: str, out: list, index: int) -> None:
        if self.in_header:
            self.header += text
        elif self.kind == "tool":
            if self.tool is not None:
                self.tool["function"]["arguments"] += text
                name = self.tool["function"]["name"] if self._pending_name else ""
                self._pending_name = False
                out.append(("tool_call", index, (self.tool, name, text)))
        else:
            if self.kind == "answer" and not self.answered and not text.isspace():
                self.answered = True
            out.append((self.kind, index, text))


def split(raw: str) -> tuple[str, str]:
    """The answer and reasoning a whole content string shows."""
    out: list = []
    splitter = ContentSplitter(lambda call: None)
    splitter.feed(raw, out, 0)
    splitter.finish(out, 0)
    answer = "".join(t for kind, _i, t in out if kind == "answer")
    reasoning = "".join(t for kind, _i, t in out if kind == "reasoning")
    return answer, reasoning

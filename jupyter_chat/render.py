"""How a turn is shown in a cell: one display per turn, throttled while it streams.

While the answer streams, the display is updated at most every 50 ms, further apart as the text
grows (+25 ms per 1,000 characters), and only once the text grew by 5 %; a final update always
follows. The growth rule bounds what is sent whatever the pace of the stream: at most about
log(n)/log(1.05) updates carrying about 21 times the answer in all, instead of n updates and
n²/2 characters. The final bundle has ``text/markdown``, ``text/plain`` and the structured
turn as ``application/vnd.jupyter-chat+json``, with the run record in the metadata.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from typing import Any

MIME = "application/vnd.jupyter-chat+json"
_MIN_INTERVAL = 0.05  # seconds
_PER_CHAR = 0.025 / 1000  # seconds of spacing added per character shown
_MIN_GROWTH = 0.05  # fraction of the text that must be new before an update


def footer(record: dict[str, Any], status: str, elapsed: float | None = None) -> str:
    """``provider:model · seed 7 · 123 tokens · 2.1 s`` plus the state when not complete."""
    parts = [f"{record.get('provider')}:{record.get('model')}"]
    seed = (record.get("params") or {}).get("seed")
    if seed is not None:
        parts.append(f"seed {seed}")
    usage = record.get("usage") or {}
    if usage.get("total_tokens") is not None:
        parts.append(f"{usage['total_tokens']} tokens")
    ms = record.get("latency_ms")
    if ms is None and elapsed is not None:
        ms = elapsed * 1000
    if ms is not None:
        parts.append(f"{ms / 1000:.1f} s")
    if record.get("thread") and record.get("thread") != "default":
        parts.append(f"thread {record['thread']}")
    if record.get("replayed"):
        parts.append("replayed")
    if record.get("signature"):
        parts.append(f"signature {record['signature']}")
    if status != "complete":
        parts.append(status)
    return " · ".join(parts)


def fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_BAD_LINK = re.compile(r"\]\(\s*(?:javascript|vbscript|data|file):", re.IGNORECASE)


def safe_markdown(text: str) -> str:
    """Model text made safe to render as Markdown in a trusted output: outside code, no HTML
    (``<`` is escaped), no images (``![`` is escaped: no remote loads), no script links.
    JupyterLab renders a kernel's own outputs as trusted, so this is the only barrier where its
    extension is absent or has not yet taken over."""
    out, fence_mark = [], ""
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence_mark:
            out.append(line)
            if m and m.group(1)[0] == fence_mark[0] and len(m.group(1)) >= len(fence_mark):
                fence_mark = ""
        elif m:
            fence_mark = m.group(1)
            out.append(line)
        else:
            pieces, pos = [], 0
            for span in _CODE_SPAN.finditer(line):
                pieces += [_safe_prose(line[pos : span.start()]), span.group(0)]
                pos = span.end()
            out.append("".join([*pieces, _safe_prose(line[pos:])]))
    return "\n".join(out)


def _safe_prose(text: str) -> str:
    text = text.replace("<", "&lt;").replace("![", "!\\[")
    return _BAD_LINK.sub("](#blocked:", text)


def markdown(
    answer: str, reasoning: str, tool_calls: list[dict], foot: str, fmt: str = "markdown"
) -> str:
    parts = []
    if reasoning:
        # a blank line after <summary> lets the reasoning render as Markdown inside
        parts.append(
            f"<details><summary>Reasoning</summary>\n\n{safe_markdown(reasoning)}\n\n</details>\n"
        )
    if answer:
        if fmt in ("text", "html"):  # html: the source, shown, never rendered from a model
            parts.append(fence(answer, fmt))
        else:
            parts.append(safe_markdown(answer))
    for call in tool_calls:
        fn = call.get("function", {})
        name = str(fn.get("name", "?")).replace("`", "'")
        parts.append(f"**Tool call** `{name}`\n\n" + fence(fn.get("arguments", ""), "json"))
    parts.append(f"<sub>{html.escape(foot)}</sub>")
    return "\n\n".join(parts)


def plain(answer: str, reasoning: str, tool_calls: list[dict], foot: str) -> str:
    parts = []
    if reasoning:
        parts.append(f"[reasoning: {len(reasoning)} characters, hidden]")
    if answer:
        parts.append(answer)
    for call in tool_calls:
        fn = call.get("function", {})
        parts.append(f"[tool call] {fn.get('name', '?')}({fn.get('arguments', '')})")
    parts.append(f"[{foot}]")
    return "\n\n".join(parts)


def bundle(
    *,
    answer: str,
    reasoning: str,
    tool_calls: list[dict],
    record: dict[str, Any],
    messages: list[dict],
    status: str,
    fmt: str = "markdown",
    error: str | None = None,
    elapsed: float | None = None,
    structured: bool = True,
    signed: dict[str, Any] | None = None,
    images: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The MIME bundle and metadata of a turn. ``status``: streaming, complete, incomplete,
    interrupted or error."""
    foot = footer(record, status, elapsed)
    if error:
        foot += f" · {error}"
    data: dict[str, Any] = {
        "text/markdown": markdown(answer, reasoning, tool_calls, foot, fmt),
        "text/plain": plain(answer, reasoning, tool_calls, foot),
    }
    if images:
        thumbs = " ".join(
            f'<img src="{i["thumbnail"]}" alt="image" height="64">'
            for i in images
            if i.get("thumbnail")
        )
        notes = ", ".join(f"[image {i['label']}]" for i in images)
        if thumbs:
            data["text/markdown"] = thumbs + "\n\n" + data["text/markdown"]
        data["text/plain"] = notes + "\n\n" + data["text/plain"]
    if structured:
        data[MIME] = {
            "version": 1,
            "status": status,
            "messages": messages,
            "answer": answer,
            "reasoning": reasoning,
            "tool_calls": tool_calls,
            "usage": record.get("usage"),
            "record": record,
            "error": error,
        }
        if images:
            data[MIME]["images"] = images
        if signed:  # EigenCloud: exactly what was signed, so a saved notebook can be verified
            data[MIME]["signed"] = signed
    return data, {"jupyter_chat": record} if structured else {}


class Live:
    """One display for one turn, updated on a time throttle while it streams."""

    def __init__(
        self,
        record: dict[str, Any],
        messages: list[dict],
        fmt: str = "markdown",
        terminal: bool = False,
        acc: Any = None,
        frontend: Any = None,
    ) -> None:
        self.record = record  # partial until the end: provider, model, params, thread
        self.messages = messages
        self.fmt = fmt
        self.terminal = terminal
        self.acc = acc  # the stream accumulator, read only when an update is due
        self.size = 0  # characters received so far (answer, reasoning, tool arguments)
        self.tools = False
        self.start = time.perf_counter()
        self.handle: Any = None
        self.updates = 0
        self._last_time = 0.0
        self._last_size = -1
        self._printed = 0  # terminal: characters of the answer already printed
        # With the JupyterLab extension present, only new text goes out (frontend.py).
        self.frontend = (
            frontend if frontend is not None and frontend.ready and not terminal else None
        )
        self.turn_id = uuid.uuid4().hex if self.frontend else None
        self._pending: dict[str, list[str]] = {"answer": [], "reasoning": []}
        self._tools_sent = -1

    def feed(self, out: list) -> None:
        """Deltas from the accumulator: count them, and update the display when due."""
        for kind, index, text in out:
            if index == 0:
                if kind == "tool_call":
                    self.tools = True
                    self.size += 1
                else:
                    self.size += len(text)
                    if self.frontend and kind in self._pending:
                        self._pending[kind].append(text)
        if self.frontend:
            if time.perf_counter() - self._last_time >= _MIN_INTERVAL:
                self._send_deltas()
            return
        if self.terminal:
            self._print(self.acc.text("answer"))
            return
        now = time.perf_counter()
        if now - self._last_time < _MIN_INTERVAL + self.size * _PER_CHAR:
            return
        if self.size - self._last_size < max(1, self.size * _MIN_GROWTH):
            return
        self.show()

    def show(self) -> None:
        """Show what has arrived so far (a placeholder before the first token)."""
        if self.terminal:
            return
        acc = self.acc
        answer = acc.text("answer") if acc else ""
        reasoning = acc.text("reasoning") if acc else ""
        tools = acc.result().tool_calls if acc and self.tools else []
        now = time.perf_counter()
        data, _ = bundle(
            answer=answer,
            reasoning=reasoning,
            tool_calls=tools,
            record=self.record,
            messages=self.messages,
            status="streaming",
            fmt=self.fmt,
            elapsed=now - self.start,
            structured=self.frontend is not None,
        )
        if self.frontend:  # the extension's renderer takes this display and the deltas
            data[MIME]["turn_id"] = self.turn_id
        self._emit(data, {})
        self._last_time, self._last_size = now, self.size

    def _send_deltas(self) -> None:
        msg: dict[str, Any] = {"type": "delta", "turn": self.turn_id}
        for kind, parts in self._pending.items():
            if parts:
                msg[kind] = "".join(parts)
                parts.clear()
        if len(msg) > 2:
            self.frontend.send(msg)
        if self.tools and self.acc is not None:
            calls = self.acc.result().tool_calls
            size = sum(len(c["function"]["arguments"]) for c in calls) + len(calls)
            if size != self._tools_sent:
                self.frontend.send(
                    {"type": "tool_calls", "turn": self.turn_id, "tool_calls": calls}
                )
                self._tools_sent = size
        self._last_time = time.perf_counter()

    def final(self, data: dict[str, Any], metadata: dict[str, Any], answer: str = "") -> None:
        if self.frontend:
            self._send_deltas()  # the delta stream is whole, even before the final update
        if self.terminal:
            self._print(answer)
            print(f"\n[{data['text/plain'].rsplit('[', 1)[-1]}")
            return
        self._emit(data, metadata)

    def _emit(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        from IPython.display import display

        if self.handle is None:
            self.handle = display(data, raw=True, metadata=metadata, display_id=True)
        else:
            self.handle.update(data, raw=True, metadata=metadata)
        self.updates += 1

    def _print(self, answer: str) -> None:
        if len(answer) > self._printed:
            print(answer[self._printed :], end="", flush=True)
            self._printed = len(answer)


def pretty_json(answer: str) -> str:
    """Parse an answer as JSON (a surrounding code fence is allowed) and pretty-print it."""
    text = answer.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def code_of(answer: str) -> str:
    """The code in an answer: its fenced blocks joined, else the whole answer."""
    blocks, inside, current = [], False, []
    for line in answer.splitlines():
        if line.lstrip().startswith("```"):
            if inside:
                blocks.append("\n".join(current))
                current = []
            inside = not inside
        elif inside:
            current.append(line)
    if inside and current:
        blocks.append("\n".join(current))
    return "\n\n".join(blocks) if blocks else answer.strip()


_THUMB_MAX = 64 * 1024  # larger images are named, not embedded, in the output


def thumbnails(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The images a turn sent: small ones embedded as they are, every one named by its hash;
    messages shown in outputs carry the hash instead of the data."""
    import base64
    import hashlib

    found = []
    for m in messages:
        for part in m.get("content") if isinstance(m.get("content"), list) else ():
            url = (part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else ""
            if not url:
                continue
            if url.startswith("data:"):
                head, _, b64 = url.partition(",")
                size = len(b64) * 3 // 4
                digest = hashlib.sha256(base64.b64decode(b64)).hexdigest()
                label = f"{head[5:].split(';')[0]} {size // 1024} KB sha256:{digest[:12]}"
                found.append(
                    {
                        "thumbnail": url if len(url) <= _THUMB_MAX else None,
                        "sha256": digest,
                        "label": label,
                    }
                )
            else:
                found.append({"thumbnail": None, "url": url, "label": url})
    return found

"""How a turn is shown in a cell: one display per turn, throttled while it streams.

While the answer streams, the display is updated at most every 50 ms, further apart as the text
grows (+25 ms per 1,000 characters), and only once the text grew by 5 %; a final update always
follows. The growth rule bounds what is sent whatever the pace of the stream: at most about
log(n)/log(1.05) updates carrying about 21 times the answer in all, instead of n updates and
n²/2 characters. The final bundle has ``text/markdown``, ``text/plain`` and the structured
turn as ``application/vnd.jupyter-chat+json``, with the run record in the metadata.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from ._secrets import clip, redact
from .markup import Html, Md, data_image, html_block, html_pre, html_text, one_line, plain
from .sanitize import MARKDOWN_LIMIT, answer_html

MIME = "application/vnd.jupyter-chat+json"
_MIN_INTERVAL = 0.05  # seconds
_PER_CHAR = 0.025 / 1000  # seconds of spacing added per character shown
_MIN_GROWTH = 0.05  # fraction of the text that must be new before an update
STREAM_MARKDOWN_LIMIT = 64 * 1024  # a longer answer streams as escaped text, then renders


_ID = re.compile(r"[\w.:/@+-]{1,128}", re.ASCII)
SIGNATURE_STATES = ("verified", "invalid", "not verifiable")


def safe_id(value: Any) -> str:
    """A provider, model or thread name as shown: as it is when it looks like an id, else
    quoted, so a name cannot pose as another part of the footer."""
    s = str(value)
    return s if _ID.fullmatch(s) else json.dumps(one_line(s)[:80], ensure_ascii=False)


def footer(record: dict[str, Any], status: str, elapsed: float | None = None) -> str:
    """``provider:model · seed 7 · 123 tokens · 2.1 s`` plus the state when not complete."""
    parts = [f"{safe_id(record.get('provider'))}:{safe_id(record.get('model'))}"]
    seed = (record.get("params") or {}).get("seed")
    if isinstance(seed, int):
        parts.append(f"seed {seed}")
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    if isinstance(usage.get("total_tokens"), int):
        parts.append(f"{usage['total_tokens']} tokens")
    ms = record.get("latency_ms")
    if not isinstance(ms, (int, float)) and elapsed is not None:
        ms = elapsed * 1000
    if isinstance(ms, (int, float)):
        parts.append(f"{ms / 1000:.1f} s")
    if record.get("thread") and record.get("thread") != "default":
        parts.append(f"thread {safe_id(record['thread'])}")
    if record.get("replayed") is True:
        parts.append("replayed")
    sig = record.get("signature")
    if sig:
        parts.append(f"signature {sig if sig in SIGNATURE_STATES else safe_id(sig)}")
    if status != "complete":
        parts.append(status)
    return " · ".join(parts)


def show(markdown: Md, plain_text: str, **more: Any) -> None:
    """Display one Markdown output (built with markup.py) and its plain-text form."""
    from IPython.display import display

    display(markdown_bundle(markdown, plain_text, **more), raw=True)


def markdown_bundle(markdown: Md, plain_text: str, **more: Any) -> dict[str, Any]:
    """The one place an output's ``text/markdown`` is set: it must be ``Md``."""
    if not isinstance(markdown, Md):
        raise TypeError("text/markdown takes Md (markup.py), not " + type(markdown).__name__)
    return {"text/markdown": str(markdown), "text/plain": plain(plain_text), **more}


def turn_markdown(
    answer: str,
    reasoning: str,
    tool_calls: list[dict],
    foot: str,
    fmt: str = "markdown",
    images: list[dict[str, Any]] | None = None,
    streaming: bool = False,
) -> Md:
    """A turn as one HTML block: the model's Markdown rendered and sanitized (sanitize.py),
    everything else escaped. The answer sits in its own ``jupyter-chat-answer`` div, so a
    verifier can compare it with what was signed."""
    limit = STREAM_MARKDOWN_LIMIT if streaming else MARKDOWN_LIMIT
    parts: list[Html] = []
    thumbs = [
        data_image(i["thumbnail"], "image")
        for i in images or ()
        if isinstance(i.get("thumbnail"), str) and i["thumbnail"].startswith("data:image/")
    ]
    if thumbs:
        parts.append(Html("<p>{}</p>").format(Html(" ").join(thumbs)))
    if reasoning:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(
                answer_html(reasoning, limit)
            )
        )
    if fmt in ("text", "html", "json"):  # html: the source, shown, never rendered from a model
        body = html_pre(answer, "" if fmt == "text" else fmt) if answer else Html("")
    else:
        body = answer_html(answer, limit)
    parts.append(ANSWER_OPEN + body + ANSWER_CLOSE)
    for call in tool_calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        parts.append(
            Html("<p><strong>Tool call</strong> <code>{}</code></p>{}").format(
                html_text(fn.get("name", "?"), True), html_pre(fn.get("arguments", ""), "json")
            )
        )
    parts.append(Html("<p><sub>{}</sub></p>").format(html_text(foot, True)))
    return html_block(Html('<div class="jupyter-chat-turn">{}</div>').format(Html("").join(parts)))


def history_markdown(messages: list[dict[str, Any]]) -> Md:
    """A thread's messages: each role, then its text rendered and sanitized like an answer
    (prompts may hold text from anywhere: a document, a web page)."""
    parts = []
    for m in messages:
        content = m.get("content")
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        role = Html("<p><strong>{}</strong></p>").format(html_text(m.get("role", "?"), True))
        body = html_pre(content) if m.get("role") == "tool" else answer_html(content)
        parts.append(role + body)
    return html_block(
        Html('<div class="jupyter-chat-history">{}</div>').format(Html("").join(parts))
    )


ANSWER_OPEN = Html('<div class="jupyter-chat-answer">')
ANSWER_CLOSE = Html("</div>")


def turn_plain(answer: str, reasoning: str, tool_calls: list[dict], foot: str) -> str:
    parts = []
    if reasoning:
        parts.append(f"[reasoning: {len(reasoning)} characters, hidden]")
    if answer:
        parts.append(answer)
    for call in tool_calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        parts.append(f"[tool call] {one_line(fn.get('name', '?'))}({fn.get('arguments', '')})")
    parts.append(f"[{one_line(foot)}]")
    return plain("\n\n".join(parts))


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
        foot += " · " + clip(one_line(error), 500)
    md = turn_markdown(
        answer, reasoning, tool_calls, foot, fmt, images, streaming=status == "streaming"
    )
    text = turn_plain(answer, reasoning, tool_calls, foot)
    if images:
        text = ", ".join(f"[image {one_line(i.get('label', ''))}]" for i in images) + "\n\n" + text
    data = markdown_bundle(md, text)
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
        answer = redact(acc.text("answer")) if acc else ""  # a key a provider echoes
        reasoning = redact(acc.text("reasoning")) if acc else ""
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
                msg[kind] = redact("".join(parts))
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
            print("\n[" + data["text/plain"].rpartition("\n\n[")[2])  # the footer: one line
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
            print(plain(redact(answer[self._printed :])), end="", flush=True)
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

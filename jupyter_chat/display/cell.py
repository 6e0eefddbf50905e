"""A cell's callbacks for the session's runner: each request streamed into a ``Live`` display
fed the deltas, then the final bundle, or, when it fails or is interrupted, the partial answer
with its state."""

from __future__ import annotations

from typing import Any

from .._secrets import clip
from .._text import one_line
from ..client.runtime import Meta
from ..session.prepare import Prepared, hash_images
from ..session.record import early_record, make_record
from ..session.runner import View
from ..session.state import SESSION
from ..session.turn import Turn
from ..stream import Result
from .bundle import bundle, show, thumbnails
from .comm import FRONTEND
from .formats import pretty_json
from .live import Live
from .markup import Md, code, fence


class CellView(View):
    """A cell's view of the runner: each request streams into its own ``Live`` display and
    ends as the final bundle, or, when it fails or is interrupted, as the partial answer with
    its state; each tool result is shown below."""

    def __init__(self, fmt: str = "markdown", terminal: bool = False) -> None:
        self.fmt, self.terminal = fmt, terminal
        self.live: Live | None = None
        self.streaming = False

    def begin(self, prep: Prepared, replayed: bool) -> None:
        req = prep.request
        shown = [m for m in req.body["messages"] if m.get("role") == "system"][:1] + prep.new
        shown = [hash_images(m) for m in shown]  # outputs keep an image's hash, not its bytes
        # A replayed (or unstreamed) turn is one display: every runner (nbval, which ignores
        # display updates, included) records the same output. --pace replays it as a stream.
        self.streaming = req.stream and (not replayed or SESSION.pace)
        self.live = Live(
            early_record(prep), shown, self.fmt, self.terminal, FRONTEND if self.streaming else None
        )
        if self.streaming:
            self.live.show()

    def delta(self, out: list) -> None:
        if self.streaming and self.live is not None:
            self.live.feed(out)

    def end(self, prep: Prepared, turn: Turn) -> None:
        assert self.live is not None
        fmt = self.fmt
        asked_tools = bool(turn.tool_calls and prep.functions)
        answer = pretty_json(turn.text) if fmt == "json" and not asked_tools else turn.text
        parsed, error = None, None
        if prep.schema is not None and not turn.schema_errors and not turn.tool_calls:
            parsed = (prep.schema.name, prep.schema.plain(turn.parsed))
        elif turn.schema_errors:
            again = "; sent back to repair" if prep.repair > 0 and turn.complete else ""
            problems = "; ".join(turn.schema_errors[:3])
            error = f"does not match {prep.schema.name}: {problems}{again}"
        data, meta = bundle(
            answer=answer,
            reasoning=turn.reasoning,
            tool_calls=turn.tool_calls,
            record=turn.record,
            messages=self.live.messages,
            status="complete",
            fmt="markdown" if asked_tools else fmt,
            signed=turn.signed,
            images=thumbnails(prep.new) or None,
            parsed=parsed,
            error=error,
        )
        self.live.final(data, meta, turn.text)

    def fail(
        self, prep: Prepared, partial: Result, meta: Meta, status: str, error: str | None
    ) -> None:
        """Show what arrived with its state; an error with nothing arrived (an HTTP error)
        clears the display: the error line alone says it, once."""
        live = self.live
        if live is None:
            return
        if status == "error" and not (partial.answer or partial.reasoning or partial.tool_calls):
            live.clear()
            return
        record = make_record(prep, partial, meta)
        record["complete"] = False
        if status == "interrupted":
            record["interrupted"] = True
        data, shown = bundle(
            answer=partial.answer,
            reasoning=partial.reasoning,
            tool_calls=partial.tool_calls,
            record=record,
            messages=live.messages,
            status=status,
            fmt=live.fmt,
            error=error,
        )
        live.final(data, shown, partial.answer)

    def tool_result(self, call: dict[str, Any], text: str, ok: bool) -> None:
        show_tool_result(call, text, ok)


def show_tool_result(call: dict[str, Any], text: str, ok: bool) -> None:
    """``↳ NAME returned`` (or ``failed``) and what the function gave back."""
    name = call.get("function", {}).get("name", "?")
    shown = clip(text, 500)
    verb = "returned" if ok else "failed"
    show(
        Md("↳ {} {}\n\n{}").format(code(name), verb, fence(shown)),
        f"↳ {one_line(name)} {verb}: {shown}",
    )

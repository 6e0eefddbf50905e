"""One request streamed into a cell: a ``Live`` display fed the session's deltas, then the
final bundle, or, when it fails or is interrupted, the partial answer with its state."""

from __future__ import annotations

from typing import Any

from .._secrets import clip
from .._text import one_line
from ..errors import ChatError, calm_interrupt
from ..session.api import internal_error
from ..session.prepare import Prepared, hash_images, sent_params
from ..session.record import make_record
from ..session.run import Running
from ..session.state import SESSION
from ..session.turn import Turn
from .bundle import bundle, show, thumbnails
from .comm import FRONTEND
from .formats import pretty_json
from .live import Live
from .markup import Md, code, fence


def stream_turn(prep: Prepared, fmt: str = "markdown", terminal: bool = False) -> Turn:
    """Run ``prep`` into its own display; returns its Turn (raises as the session does, the
    display ended with what arrived)."""
    req = prep.request
    shown = [m for m in req.body["messages"] if m.get("role") == "system"][:1] + prep.new
    shown = [hash_images(m) for m in shown]  # outputs keep an image's hash, not its bytes
    early = {
        "provider": req.provider,
        "model": req.body.get("model"),
        "params": sent_params(req),
        "thread": prep.thread,
    }
    running = Running(prep)
    # A replayed (or unstreamed) turn is one display: every runner (nbval, which ignores
    # display updates, included) records the same output. --pace replays it as a stream.
    streaming = req.stream and (not running.replayed or SESSION.pace)
    live = Live(early, shown, fmt, terminal, FRONTEND if streaming else None)
    if streaming:
        live.show()
    try:
        for out in running:
            if streaming:
                live.feed(out)
        turn = running.finish()
    except KeyboardInterrupt:
        kept = _show_partial(live, prep, running, "interrupted", None)
        raise calm_interrupt(f"interrupted: kept {kept} characters, nothing filed") from None
    except Exception as exc:
        err = exc if isinstance(exc, ChatError) else internal_error(exc)
        partial = err.partial if err.partial is not None else running.partial()
        if partial.answer or partial.reasoning or partial.tool_calls:
            _show_partial(live, prep, running, "error", str(err), partial)
        else:  # nothing arrived (an HTTP error): the error line alone says it, once
            live.clear()
        if err is exc:
            raise
        raise err from None
    asked_tools = bool(turn.tool_calls and prep.functions)
    answer = pretty_json(turn.text) if fmt == "json" and not asked_tools else turn.text
    parsed, error = None, None
    if prep.schema is not None and not turn.schema_errors and not turn.tool_calls:
        parsed = (prep.schema.name, prep.schema.plain(turn.parsed))
    elif turn.schema_errors:
        again = "; sent back to repair" if prep.repair > 0 and turn.complete else ""
        error = f"does not match {prep.schema.name}: {'; '.join(turn.schema_errors[:3])}{again}"
    data, meta = bundle(
        answer=answer,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=live.messages,
        status="complete",
        fmt="markdown" if asked_tools else fmt,
        signed=turn.signed,
        images=thumbnails(prep.new) or None,
        parsed=parsed,
        error=error,
    )
    live.final(data, meta, turn.text)
    return turn


def _show_partial(
    live: Live,
    prep: Prepared,
    running: Running,
    status: str,
    error: str | None,
    partial: Any = None,
) -> int:
    """Show what arrived with its state; returns the characters of the answer kept."""
    partial = partial if partial is not None else running.partial()
    record = make_record(prep, partial, running.meta)
    record["complete"] = False
    if status == "interrupted":
        record["interrupted"] = True
    data, meta = bundle(
        answer=partial.answer,
        reasoning=partial.reasoning,
        tool_calls=partial.tool_calls,
        record=record,
        messages=live.messages,
        status=status,
        fmt=live.fmt,
        error=error,
    )
    live.final(data, meta, partial.answer)
    return len(partial.answer)


def show_tool_result(call: dict[str, Any], text: str, ok: bool) -> None:
    """``↳ NAME returned`` (or ``failed``) and what the function gave back."""
    name = call.get("function", {}).get("name", "?")
    shown = clip(text, 500)
    verb = "returned" if ok else "failed"
    show(
        Md("↳ {} {}\n\n{}").format(code(name), verb, fence(shown)),
        f"↳ {one_line(name)} {verb}: {shown}",
    )

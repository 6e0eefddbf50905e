"""Running a prepared request, live or replayed, by the one path: deltas go to the front end's
callback as they arrive; at the end the turn is recorded (record/auto mode) or compared (check
mode), checked, and only then filed in its thread."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

from ..client.call import Call
from ..client.runtime import RUNTIME, Meta
from ..errors import ChatError, NotFoundError
from ..replay.call import ReplayCall
from ..replay.recording import capture, result_from_dict
from ..replay.recording import make_record as make_recording
from ..replay.store import ReplayMissError
from ..stream import Result
from . import budget, telemetry
from .prepare import Prepared, canonical_request, in_store, request_hash
from .record import make_record, signed_block
from .state import SESSION, Entry
from .turn import Turn

OnDelta = Any  # Callable[[list], None]


class RecordingError(ChatError):
    """The answer arrived but could not be recorded; ``partial`` holds it, nothing was filed."""

    hint_default = "Check that the replay store's folder is writable and has space."


class Running:
    """One request on its way, or its recording: iterate for the deltas, then ``finish()``.

    Live and replayed calls give the same deltas; a KeyboardInterrupt while iterating cancels
    the request and closes its stream, and ``partial()`` says what arrived."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.started = time.time_ns()  # the span's start (telemetry.py)
        rec = recording_for(prep)
        self.replayed = rec is not None
        # the worst case held in every budget before anything is sent (budget.py)
        self.tickets = budget.hold(prep) if rec is None else []
        self.call: Call | ReplayCall = (
            ReplayCall(prep.request, rec, SESSION.pace) if rec is not None else Call(prep.request)
        )
        recording = not self.replayed and SESSION.replay_state()[0] in ("record", "auto")
        self.deltas: list | None = [] if recording else None
        self._keep = capture(self.deltas, time.perf_counter()) if recording else None

    def __iter__(self) -> Iterator[list]:
        try:
            for out in self.call:
                if self._keep is not None:
                    self._keep(out)
                yield out
        except NotFoundError as exc:
            budget.settle(self.tickets, None, sent=False)
            hinted = with_model_hint(exc, self.prep)
            telemetry.failed_span(self.prep, hinted, self.started, self.replayed)
            raise hinted from None
        except GeneratorExit:
            budget.settle(self.tickets, None)
            raise
        except BaseException as exc:
            budget.settle(self.tickets, None, sent=budget.billed(exc))
            telemetry.failed_span(self.prep, exc, self.started, self.replayed)
            raise

    @property
    def meta(self) -> Meta:
        return self.call.meta

    def partial(self) -> Result:
        return self.call.partial()

    def finish(self) -> Turn:
        assert self.call.result is not None, "iterate the deltas first"
        return finish(
            self.prep,
            self.call.result,
            self.meta,
            replayed=self.replayed,
            deltas=self.deltas,
            started_ns=self.started,
            tickets=self.tickets,
        )


def with_model_hint(exc: NotFoundError, prep: Prepared) -> NotFoundError:
    """A 404 for a model near one the configuration names says which (no network call)."""
    from ..errors import did_you_mean
    from ..providers.config import CONFIG

    asked = prep.request.body.get("model")
    known = CONFIG.known_models(prep.request.provider)
    hint = did_you_mean(asked, known) if asked and asked not in known else ""
    if hint:
        exc.hint = f"{hint[0].upper()}{hint[1:]} {exc.hint}".strip()
        Exception.__init__(exc, str(exc))
    return exc


async def arun(prep: Prepared, on_delta: OnDelta = None) -> Turn:
    """One turn on the shared loop (``achat``, ``map``, the widgets), replay included: a
    replayed turn hands its recorded deltas to ``on_delta`` as a live one would."""
    started = time.time_ns()
    rec = recording_for(prep)
    if rec is not None:
        replayed = ReplayCall(prep.request, rec, pace=False)
        for out in replayed:
            if on_delta is not None:
                on_delta(out)
            if SESSION.pace:
                await asyncio.sleep(0)
        assert replayed.result is not None
        return finish(prep, replayed.result, replayed.meta, replayed=True, started_ns=started)
    tickets = await budget.ahold(prep)  # before anything is sent (budget.py)
    meta = Meta()
    deltas: list | None = [] if SESSION.replay_state()[0] in ("record", "auto") else None
    keep = capture(deltas, time.perf_counter()) if deltas is not None else None

    def forward(out: list) -> None:
        if keep is not None:
            keep(out)
        if on_delta is not None:
            on_delta(out)

    try:
        result = await RUNTIME.send(prep.request, forward, meta=meta)
    except BaseException as exc:
        budget.settle(tickets, None, sent=budget.billed(exc))
        telemetry.failed_span(prep, exc, started)
        raise
    return finish(prep, result, meta, deltas=deltas, started_ns=started, tickets=tickets)


def recording_for(prep: Prepared) -> dict[str, Any] | None:
    """The recording to serve instead of calling the provider, per the replay mode."""
    mode, store = SESSION.replay_state()
    if mode in ("record", "auto"):
        store.check_writable()  # before the answer is paid for
    if mode not in ("replay", "auto"):
        return None
    key = request_hash(prep.request)
    rec = store.get(key)
    counts = SESSION.replay_counts
    counts["hits" if rec is not None else "misses"] += 1
    if rec is not None:
        note_used(key)
    if rec is None and mode == "replay":
        text = next((m.get("content") for m in prep.new if isinstance(m.get("content"), str)), "")
        prompt = text if len(text) <= 50 else text[:47] + "..."
        raise ReplayMissError(
            f"no recording of this request in {store.path.name} (prompt {prompt!r}, "
            f"{request_hash(prep.request)[:19]}...); replay mode makes no network call",
            hint="Record it with %chat replay auto (or record), or check that the prompt, "
            "model and parameters (the seed too) are the ones recorded.",
        )
    return rec


def will_replay(prep: Prepared) -> bool:
    """Whether ``prep`` would be answered from the store (nothing counted, nothing read)."""
    return in_store(prep.request)


def note_used(key: str) -> None:
    """``JUPYTER_CHAT_USED_KEYS=FILE``: every recording this kernel used or made is listed
    there (``jupyter-chat store prune`` keeps only those)."""
    path = os.environ.get("JUPYTER_CHAT_USED_KEYS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(key + "\n")


def make_turn(prep: Prepared, result: Result, record: dict[str, Any]) -> Turn:
    """Wrap a result as a ``Turn`` (nothing is filed here)."""
    return Turn(
        result.answer,
        result.reasoning,
        result.tool_calls,
        result.usage,
        result.finish_reason,
        record,
        result,
        prep.request.body["messages"],
        signed_block(prep, result),
    )


def finish(
    prep: Prepared,
    result: Result,
    meta: Meta,
    *,
    replayed: bool = False,
    deltas: list | None = None,
    started_ns: int | None = None,
    tickets: list | None = None,
) -> Turn:
    """Record the turn (record/auto mode) or compare it (check mode), check it, then file it:
    the thread changes only when everything before succeeded."""
    try:
        turn = make_turn(prep, result, make_record(prep, result, meta, replayed))
    except BaseException:
        budget.settle(tickets or [], None)  # paid for: the worst case stays spent
        raise
    budget.settle(tickets or [], turn.record)  # the answer's cost (worst case if unknown)
    SESSION.ledger.add(turn.record)
    telemetry.turn_span(prep, turn, meta, started_ns)  # nothing unless this process traces
    if prep.schema is not None and not result.tool_calls:
        turn.parsed, turn.schema_errors = prep.schema.parse(result.answer, prep.wrapped)
    mode, store = SESSION.replay_state()
    if not replayed and result.complete and store is not None:
        key = turn.record["request_hash"]
        if mode in ("record", "auto"):
            recording = make_recording(
                key,
                canonical_request(prep.request),
                prep.request.chain_id,
                result,
                deltas or [],
                meta.latency_ms,
                meta.ttft_ms,
            )
            try:
                store.put(recording)
                SESSION.replay_counts["recorded"] += 1
                note_used(key)
            except (OSError, ChatError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise RecordingError(
                    f"the answer arrived but was not recorded in {store.path.name}: {why}",
                    provider=prep.request.provider,
                    partial=result,
                ) from None
        elif mode == "check":
            rec = store.get(key)
            turn.record["matches_recording"] = (
                None if rec is None else result_from_dict(rec["response"]).choices == result.choices
            )
    final = not (prep.functions and result.tool_calls)
    if prep.check is not None and final and result.complete:
        prep.check(turn)
    if result.complete and prep.file:
        file_turn(prep, turn, prep.new)
    return turn


def file_turn(prep: Prepared, turn: Turn, messages: list[dict[str, Any]]) -> None:
    """File a complete turn in its thread (``--new`` empties the thread first)."""
    tokens = (turn.usage or {}).get("total_tokens") or 0
    if prep.fresh and prep.thread is not None:
        SESSION.clear(prep.thread)
    entry = Entry(prep.key, [*messages, reply_message(turn.result)], tokens, turn.record)
    SESSION.commit(prep.thread, entry)


def reply_message(result: Result) -> dict[str, Any]:
    """The assistant message that goes back into the conversation."""
    reply: dict[str, Any] = {"role": "assistant", "content": result.answer}
    if result.tool_calls:
        reply["tool_calls"] = result.tool_calls
    return reply

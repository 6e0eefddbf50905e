"""The run record of a turn (how the answer was produced; never a key or a header), and the
signature state: ``verified`` only when the signature holds *and* the answer shown derives
from the signed content, so an edited recording is ``invalid``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._secrets import clip
from ..errors import ConfigError
from ..providers.config import CONFIG
from ..providers.hooks import Verdict
from ..stream import Choice, Result, compact_logprobs, split
from .accounting import cost_of
from .agreement import summarize
from .prepare import Prepared, request_hash, sent_params
from .state import SESSION

# how this run went, not what was asked and answered: kept in the output's metadata, out of
# its data, so a notebook's outputs are the same live, replayed, and on another machine
RUN_FIELDS = ("host", "replayed", "version")


def make_record(prep: Prepared, result: Result, meta: Any, replayed: bool = False) -> dict:
    """Everything about how the answer was produced: the model asked for and the model that
    answered, every parameter, the ids, usage, time; never a key or a header."""
    from .._version import __version__

    req = prep.request
    record = {
        "provider": req.provider,
        "host": urlsplit(req.url).hostname,
        "model": req.body.get("model"),
        "served_model": result.model,
        "params": sent_params(req),
        "thread": prep.thread,
        "request_hash": request_hash(req),
        "response_id": result.id if isinstance(result.id, (str, int)) else None,
        "provider_ids": provider_ids(result),
        "finish_reason": result.finish_reason,
        "usage": result.usage,
        "cost": cost_of(req, result),
        "latency_ms": round(meta.latency_ms, 1),
        "system_fingerprint": result.system_fingerprint,
        "replayed": replayed,
        "complete": result.complete,
        "version": __version__,
    }
    if record["cost"] is None:
        del record["cost"]  # no price, no cost: never a made-up number
    first = result.choices[0] if result.choices else Choice()
    if first.refusal:
        record["refusal"] = first.refusal  # the model declined: its words, shown plainly
    if first.logprobs:
        record["logprobs"] = compact_logprobs(first.logprobs)
    if len(result.choices) > 1:  # n > 1: every choice paid for is shown and kept
        record["choices"] = [choice_record(c) for c in result.choices[1:]]
        record["agreement"] = summarize([c.answer for c in result.choices])
    if prep.images:
        record["images"] = prep.images
    if prep.schema is not None:
        record["schema"] = {"name": prep.schema.name, "hash": prep.schema.hash}
    if prep.earlier:  # the answers sent back for repair before this one
        record["repaired"] = {"attempts": len(prep.earlier) + 1, "earlier": prep.earlier}
    notes = list(prep.notes)
    if isinstance(record.get("cost"), dict) and record["cost"].get("note"):
        notes.append(record["cost"]["note"])  # an implausible cost, said where notes are shown
    verdict = signature_state(prep, result)
    if verdict is not None:
        record["signature"] = verdict.state
        if verdict.state != "verified":
            notes.append(f"signature {verdict.state}: {verdict.reason}")
    expected = not (req.stream and req.profile.silent_stream_usage)
    if (
        result.usage is None
        and result.complete
        and expected
        and SESSION.first_time("no usage", req.url)
    ):
        notes.append("the server reported no token usage")  # once per server in a kernel
    asked = req.body.get("n") or 1
    if isinstance(asked, int) and asked > 1 and len(result.choices) < asked:
        notes.append(f"n={asked} asked, the server returned {len(result.choices)} choice(s)")
    if req.body.get("logprobs") and not first.logprobs and result.complete and first.answer:
        notes.append("token log-probabilities were asked for; the server sent none")
    if first.refusal:
        notes.append("the model refused: " + clip(first.refusal, 200))
    if notes:
        record["notes"] = notes
    return record


def choice_record(c: Choice) -> dict[str, Any]:
    """A choice after the first, as the record keeps it (only the fields it has)."""
    out: dict[str, Any] = {"index": c.index, "answer": c.answer, "finish_reason": c.finish_reason}
    for name in ("reasoning", "preamble", "tool_calls", "refusal"):
        if getattr(c, name):
            out[name] = getattr(c, name)
    if c.logprobs:
        out["logprobs"] = compact_logprobs(c.logprobs)
    return out


def provider_ids(result: Result) -> dict[str, Any]:
    """The provider's own ids (``session_id``, ``completion_id``, ...): every ``*_id`` field of
    the response and of its first choice."""
    found = {}
    extras = [result.extras, result.choices[0].extras if result.choices else {}]
    for fields in extras:
        for name, value in fields.items():
            if name.endswith("_id") and isinstance(value, (str, int)):
                found[name] = value
    return found


def shown_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record as an output's data holds it: without what differs from run to run."""
    return {k: v for k, v in record.items() if k not in RUN_FIELDS}


def signature_state(prep: Prepared, result: Result) -> Verdict | None:
    """The profile's signature check (None where nothing is signed), bound to what is shown."""
    req = prep.request
    contents = [c.raw_content for c in result.choices]
    try:
        v = req.profile.quirks.check_signature(
            req.profile,
            req.body["messages"],
            result.model,
            contents,
            result.signature,
            CONFIG.signers(),
        )
    except ConfigError as exc:  # the verify extra is not installed
        return Verdict("not verifiable", f"not checked: {exc}")
    if v is None:
        return None
    return bind(v, contents, [(c.answer, c.reasoning, c.tool_calls) for c in result.choices])


def signed_block(prep: Prepared, result: Result) -> dict[str, Any] | None:
    """What a later verification needs, exactly as sent and received (for saved notebooks)."""
    req = prep.request
    return req.profile.quirks.signed_block(
        req.profile,
        req.body["messages"],
        result.model,
        [c.raw_content for c in result.choices],
        result.signature,
    )


def shown_differs(response_contents: list, shown: list[tuple]) -> str | None:
    """Why the shown answers (and reasoning, and tool calls) are not what the signed contents
    show, or None when each shown choice derives from its signed content exactly. ``shown``
    holds ``(answer, reasoning)`` or ``(answer, reasoning, tool_calls)`` per choice: tool calls
    are never signed (providers.md 3.4), so a turn showing any is not verified."""
    if len(shown) > len(response_contents):
        return "more answers are shown than were signed"
    for n, (item, raw) in enumerate(zip(shown, response_contents)):
        answer, reasoning = item[0], item[1]
        if not isinstance(raw, str):
            return "a signed content is not a string"
        signed_answer, signed_reasoning = split(raw)
        which = f" (choice {n})" if n else ""
        if answer != signed_answer:
            return "the answer shown differs from the signed content" + which
        if reasoning != signed_reasoning:
            return "the reasoning shown differs from the signed content" + which
        if len(item) > 2 and item[2]:
            return "tool calls are shown, which the signature does not cover" + which
    return None


def bind(verdict: Verdict, response_contents: list, shown: list[tuple]) -> Verdict:
    """``verified`` only when what is shown derives from the signed bytes."""
    if verdict.state != "verified":
        return verdict
    why = shown_differs(response_contents, shown)
    return verdict if why is None else Verdict("invalid", why)


def early_record(prep: Prepared) -> dict[str, Any]:
    """What a front end shows of a request before its answer: provider, model, parameters
    sent, thread."""
    req = prep.request
    return {
        "provider": req.provider,
        "model": req.body.get("model"),
        "params": sent_params(req),
        "thread": prep.thread,
    }

"""The one rule for a signed turn's output: it is ``verified`` only when everything it shows,
in every MIME type, derives from the signed bytes or sits plainly outside the signature (the
footer's run record); labextension/src/shown.ts applies the same rule, step for step.

Here: the signature under the signer table, the MIME types, every field of the structured
turn (answer, reasoning, prompt, model, parsed value, token probabilities, tool calls, images,
error, status); the text renderings (``text/markdown``, ``text/plain``) are held to the same
text in renderings.py.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from ..providers.eigencloud import verify
from ..providers.hooks import Verdict
from ..session.record import shown_differs
from .logprobs import SCALE, unpack
from .renderings import WS, markdown_differs, no_constant, plain_differs, same_json

MIME = "application/vnd.jupyter-chat+json"
TEXT_TYPES = ("text/markdown", "text/plain")
TURN_KEYS = frozenset(
    {
        "version",
        "status",
        "turn_id",
        "messages",
        "answer",
        "reasoning",
        "tool_calls",
        "usage",
        "error",
        "images",
        "parsed",
        "signed",
        "record",
        "logprobs",
    }
)
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
WRAP_KEY = "value"  # structured/schema.py: non-object schemas ride in {"value": ...}
_TRIM = re.compile(rf"\A[{WS}]+|[{WS}]+\Z")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)


def check_output(data: dict, metadata: dict, signers: dict[int, str]) -> Verdict | None:
    """The verdict on one saved output (None when it holds no signed turn and claims none)."""
    turn = data.get(MIME) if isinstance(data.get(MIME), dict) else {}
    signed = turn.get("signed")
    if signed is None:
        return None
    kw = signed_kwargs(signed)
    if isinstance(kw, Verdict):
        return kw
    v = verify(**kw, signers=signers)
    if v.state != "verified":
        return v
    why = shown_problem(data, metadata, turn, kw)
    return v if why is None else Verdict("invalid", why)


def signed_kwargs(signed: Any) -> dict[str, Any] | Verdict:
    """The keywords of ``verify`` from an output's signed block, or why it is malformed."""
    if not isinstance(signed, dict):
        return Verdict("invalid", "the signed block is malformed")
    chain, model, sig = signed.get("chain_id"), signed.get("model"), signed.get("signature")
    prompts, outputs = signed.get("request_contents"), signed.get("response_contents")
    if not (
        isinstance(chain, int)
        and not isinstance(chain, bool)
        and isinstance(model, str)
        and isinstance(sig, str)
        and isinstance(prompts, list)
        and all(isinstance(p, str) for p in prompts)
        and isinstance(outputs, list)
        and all(isinstance(o, str) for o in outputs)
    ):
        return Verdict("invalid", "the signed block is malformed")
    return {
        "chain_id": chain,
        "model": model,
        "request_messages": [{"content": c} for c in prompts],
        "response_contents": outputs,
        "signature": sig,
    }


def _absent(value: Any) -> bool:
    return value is None or value == [] and isinstance(value, list)


def shown_problem(data: dict, metadata: Any, turn: dict, kw: dict) -> str | None:
    """Why what the output shows is not all derived from the signed bytes, or None."""
    extra = sorted(k for k in data if k not in (MIME, *TEXT_TYPES))
    if extra:
        return f"the output also shows {extra[0]}, which the signature does not cover"
    keys = sorted(k for k in turn if k not in TURN_KEYS)
    if keys:
        return f"the turn holds {keys[0]!r}, which the signature does not cover"
    answer, reasoning = turn.get("answer", ""), turn.get("reasoning", "")
    answer = "" if answer is None else answer
    reasoning = "" if reasoning is None else reasoning
    if not isinstance(answer, str) or not isinstance(reasoning, str):
        return "the output's answer is not text"
    contents = kw["response_contents"]
    if not contents:
        return "nothing was signed"
    why = shown_differs(contents[:1], [(answer, reasoning)])
    if why:
        return why
    if not _absent(turn.get("tool_calls")):
        return "tool calls are shown, which the signature does not cover"
    if (turn.get("status") or "complete") not in ("complete", "incomplete"):
        return "the turn is shown as not complete"
    if turn.get("error") not in (None, ""):
        return "an error is shown, which the signature does not cover"
    if not _absent(turn.get("images")):
        return "images are shown, which the signature does not cover"
    prompts = [m["content"] for m in kw["request_messages"]]
    why = _messages_differ(turn.get("messages"), prompts) or _model_differs(
        metadata, turn, kw["model"]
    )
    if why:
        return why
    parsed = turn.get("parsed")
    if parsed is not None:
        why = _parsed_differs(parsed, answer)
        if why:
            return why
    logprobs = turn.get("logprobs")
    if logprobs is not None:
        why = _logprobs_differ(logprobs, answer, contents[0])
        if why:
            return why
    return markdown_differs(data.get("text/markdown"), answer, reasoning, parsed, logprobs) or (
        plain_differs(data.get("text/plain"), answer, reasoning, parsed)
    )


def _messages_differ(messages: Any, prompts: list[str]) -> str | None:
    """The prompt shown: the last messages of the signed request, exactly, with their roles."""
    if messages is None:
        return None
    if not isinstance(messages, list):
        return "the prompt shown is malformed"
    for m in messages:
        if not isinstance(m, dict) or set(m) - {"role", "content"}:
            return "the prompt shown holds more than roles and text"
        role, content = m.get("role"), m.get("content")
        if not isinstance(role, str) or role not in ROLES or not isinstance(content, str):
            return "the prompt shown is malformed"
    shown = [m["content"] for m in messages]
    if len(shown) > len(prompts) or (shown and prompts[len(prompts) - len(shown) :] != shown):
        return "the prompt shown differs from the signed request"
    return None


def _model_differs(metadata: Any, turn: dict, model: str) -> str | None:
    meta = metadata if isinstance(metadata, dict) else {}
    # the record is in the metadata; older saved outputs have it in the data as well
    for record in (meta.get("jupyter_chat"), turn.get("record")):
        if isinstance(record, dict):
            shown = record.get("served_model") or record.get("model")
            if shown not in (None, model):
                return "the model shown differs from the signed model"
    return None


# -- the token probabilities ---------------------------------------------------------------------
def _logprobs_differ(packed: Any, answer: str, signed: str) -> str | None:
    """Their tokens are the signed bytes (the signed content, or the answer split from it);
    their figures and alternatives are outside the signature, and the view says so."""
    lp = unpack(packed)
    if (
        not isinstance(lp, dict)
        or set(lp) - {"scale", "tokens", "logprobs", "top"}
        or lp.get("scale") != SCALE
        or not isinstance(lp.get("tokens"), list)
        or not all(isinstance(t, str) for t in lp["tokens"])
        or not isinstance(lp.get("logprobs"), list)
        or len(lp["logprobs"]) != len(lp["tokens"])
        or not all(v is None or _integer(v) for v in lp["logprobs"])
        or ("top" in lp and not _alternatives_ok(lp["top"], len(lp["tokens"])))
    ):
        return "the token probabilities shown are malformed"
    if "".join(lp["tokens"]) not in (signed, answer):
        return "the token probabilities shown are not of the signed answer"
    return None


def _integer(v: Any) -> bool:
    """A whole number, as JavaScript sees one (its JSON reads 1.0 as 1)."""
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


def _alternatives_ok(top: Any, n: int) -> bool:
    return (
        isinstance(top, list)
        and len(top) == n
        and all(
            isinstance(flat, list)
            and len(flat) % 2 == 0
            and all(
                isinstance(flat[i], str) and _integer(flat[i + 1]) for i in range(0, len(flat), 2)
            )
            for flat in top
        )
    )


# -- the parsed value --------------------------------------------------------------------------
def _parsed_differs(parsed: Any, answer: str) -> str | None:
    if not isinstance(parsed, dict) or set(parsed) != {"schema", "value"}:
        return "the parsed value shown is malformed"
    if not isinstance(parsed["schema"], str) or not SCHEMA_NAME.fullmatch(parsed["schema"]):
        return "the parsed value's schema name is not a name"
    if not any(same_json(parsed["value"], c) for c in json_candidates(answer)):
        return "the parsed value shown is not the signed answer's JSON"
    return None


def json_candidates(answer: str) -> list[Any]:
    """The JSON values a signed answer holds: all of it, else its first fenced block that
    parses; and either's ``value`` field (a wrapped schema)."""
    found: list[Any] = []
    for text in [_TRIM.sub("", answer)] + [
        _TRIM.sub("", m.group(2)) for m in _FENCE.finditer(answer)
    ]:
        with contextlib.suppress(ValueError, RecursionError):
            found.append(json.loads(text, parse_constant=no_constant))
            break
    if found and isinstance(found[0], dict) and WRAP_KEY in found[0]:
        found.append(found[0][WRAP_KEY])
    return found


__all__ = ["check_output", "json_candidates", "signed_kwargs"]

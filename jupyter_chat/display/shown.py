"""The one rule for a signed turn's output: it is ``verified`` only when everything it shows,
in every MIME type, derives from the signed bytes or sits plainly outside the signature (the
footer's run record); labextension/src/shown.ts applies the same rule, step for step.

Text is compared as tokens (numbers by value, every other visible character as itself, white
space ignored), so both checkers compare the same way whatever made the HTML; the kernel also
accepts the answer as its own Markdown renderer shows it, which the browser cannot reproduce.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from typing import Any

from .._text import plain
from ..providers.eigencloud import verify
from ..providers.hooks import Verdict
from ..session.record import shown_differs

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
    }
)
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
WRAP_KEY = "value"  # structured/schema.py: non-object schemas ride in {"value": ...}
TURN_OPEN = '<div class="jupyter-chat-turn">'
SECTION = '<div class="jupyter-chat-answer">'
REASONING_OPEN = "<details><summary>Reasoning</summary>"
RAW_OPEN = '<details><summary>Raw answer</summary><pre><code class="language-json">'
RAW_CLOSE = "</code></pre></details>"
PLAIN_HEAD = 200  # bundle.PLAIN_HEAD
MAX_ROWS = 50  # structured.MAX_ROWS
_FOOT_MD = re.compile(r"</div><p><sub>([^<]*)</sub></p></div>\Z")
_FOOT_PLAIN = re.compile(r"(?:\A|\n\n)\[([^\n]*)\]\Z")
# white space exactly as JavaScript's \s, so both checkers split text alike
_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_TOKEN = re.compile(rf"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[^{_WS}]")
_TRIM = re.compile(rf"\A[{_WS}]+|[{_WS}]+\Z")
_TAG = re.compile(r"<[^>]*>")
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
    return _markdown_differs(data.get("text/markdown"), answer, reasoning, parsed) or (
        _plain_differs(data.get("text/plain"), answer, reasoning, parsed)
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
            found.append(json.loads(text, parse_constant=_no_constant))
            break
    if found and isinstance(found[0], dict) and WRAP_KEY in found[0]:
        found.append(found[0][WRAP_KEY])
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: JavaScript's JSON has neither


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: types kept apart (true is not 1), numbers by value."""
    if a is None or b is None or isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _number(a) == _number(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return False


def _number(x: float) -> float:
    try:
        return float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def parsed_shown(shown: str, value: Any) -> bool:
    """``shown`` (visible text) is the parsed value as the kernel draws it: a JSON tree that
    reads back as the value (key order aside), or a table with the kernel's cells in order."""
    from .structured import parsed_rows

    shape = parsed_rows(value)
    if shape is None:
        with contextlib.suppress(ValueError, RecursionError):
            return same_json(json.loads(shown, parse_constant=_no_constant), value)
        return False
    header, rows = shape
    more = len(value) - MAX_ROWS if isinstance(value, list) and len(value) > MAX_ROWS else 0
    cells = [*header, *(c for row in rows for c in row)]
    return same_text(shown, " ".join(cells) + (f" ... and {more} more" if more else ""))


# -- the text renderings -----------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def same_text(shown: str, expected: str) -> bool:
    """The same visible text: the same tokens, numbers equal by value, white space ignored."""
    a, b = tokens(shown), tokens(expected)
    return len(a) == len(b) and all(
        float(x) == float(y) if _is_number(x) and _is_number(y) else x == y for x, y in zip(a, b)
    )


def _is_number(token: str) -> bool:
    return token[0] in "0123456789" or (len(token) > 1 and token[0] == "-")


def visible(fragment: str) -> str:
    """The text an HTML fragment shows: tags dropped, character references decoded."""
    return html.unescape(_TAG.sub(" ", fragment))


def _rendered(markdown: str, shown: str, json_too: bool) -> bool:
    """``shown`` (visible text) is the Markdown source as it is, pretty JSON, or as this
    kernel renders it (the one step the browser cannot repeat)."""
    from .formats import pretty_json
    from .sanitize import answer_html

    if same_text(shown, markdown):
        return True
    if json_too:
        with contextlib.suppress(ValueError, RecursionError):
            if same_text(shown, pretty_json(markdown)):
                return True
    return same_text(shown, visible(answer_html(markdown)))


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # nbformat may store text as a list of lines
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


def _markdown_differs(markdown: Any, answer: str, reasoning: str, parsed: Any) -> str | None:
    """``text/markdown``: the turn's block, holding the reasoning, the parsed value and the
    answer as signed, and the footer; nothing else."""
    text = _text(markdown)
    if text is None:
        return None
    foot = _FOOT_MD.search(text)
    if not text.startswith(TURN_OPEN) or foot is None:
        return "the Markdown output shows more than the signed turn"
    if text.count(SECTION) != 1:
        return "the Markdown output does not show exactly one answer"
    at = text.index(SECTION)
    head, section = text[len(TURN_OPEN) : at], text[at + len(SECTION) : foot.start()]
    if at + len(SECTION) > foot.start():
        return "the Markdown output shows more than the signed turn"
    if parsed is not None:
        cap = f"<p><strong>{parsed['schema']}</strong></p>"
        i = head.rfind(cap)
        if i < 0 or not parsed_shown(visible(head[i + len(cap) :]), parsed["value"]):
            return "the Markdown output shows another parsed value"
        head = head[:i]
        if not (section.startswith(RAW_OPEN) and section.endswith(RAW_CLOSE)):
            return "the Markdown output shows another answer"
        if not same_text(visible(section[len(RAW_OPEN) : -len(RAW_CLOSE)]), answer):
            return "the Markdown output shows another answer"
    elif not _rendered(answer, visible(section), True):
        return "the Markdown output shows another answer"
    if not reasoning:
        return None if head == "" else "the Markdown output shows more than the signed turn"
    if not (head.startswith(REASONING_OPEN) and head.endswith("</details>")):
        return "the Markdown output shows more than the signed turn"
    if not _rendered(reasoning, visible(head[len(REASONING_OPEN) : -len("</details>")]), False):
        return "the Markdown output shows other reasoning"
    return None


def plain_expected(answer: str, reasoning: str) -> str:
    """``text/plain`` of a turn without a parsed value, up to its footer (bundle.turn_plain)."""
    parts = []
    if reasoning:
        parts.append(f"[reasoning: {len(reasoning)} characters, hidden]")
    if answer:
        head = answer[:PLAIN_HEAD]
        more = len(answer) - len(head)
        parts.append(f"{head}… [{more:,} more characters]" if more else answer)
    return plain("\n\n".join(parts))


def _plain_differs(plain_text: Any, answer: str, reasoning: str, parsed: Any) -> str | None:
    """``text/plain``: the reasoning's size, the answer (its start) or the parsed value, the
    footer; no more."""
    text = _text(plain_text)
    if text is None:
        return None
    foot = _FOOT_PLAIN.search(text)
    body = text[: foot.start()] if foot else None
    if body is not None and parsed is None and same_text(body, plain_expected(answer, reasoning)):
        return None
    if body is not None and parsed is not None:
        head = plain_expected("", reasoning)
        head += ("\n\n" if head else "") + f"{parsed['schema']}:\n"
        if body.startswith(head) and parsed_shown(body[len(head) :], parsed["value"]):
            return None
    return "the plain-text output shows another answer"


__all__ = ["check_output", "same_json", "same_text", "signed_kwargs"]

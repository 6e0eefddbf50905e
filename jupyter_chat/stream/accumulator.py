"""The one stream accumulator: OpenAI-style chunks (or a whole response) in, one result out.

Implements providers.md sections 4 and 5. The hot path is ``json.loads`` plus dict access;
nothing here builds a pydantic object. Each ``feed_*`` call returns the deltas it produced as
``(kind, choice_index, text)`` tuples so a front end can show the answer and the reasoning
apart as they arrive; the accumulated state is read with ``result()``.

Kinds: ``answer``, ``reasoning``, ``preamble`` (harmony commentary meant for the user),
``refusal`` (the model declined: ``delta.refusal``) and ``tool_call``, whose payload is what
the call gained: ``{"slot", "id", "name", "arguments"}`` (the name and argument text this
chunk added), so a front end can build the calls from the deltas alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .._secrets import clip
from ..errors import ProviderError, error_message
from .logprobs import copy_logprobs, merge_logprobs
from .splitter import ContentSplitter
from .toolcalls import merge_tool_calls

# Top-level chunk keys that carry nothing beyond what the result already holds; every other
# key is a provider extra and is kept (signature, system_fingerprint, session_id, ...).
_PLAIN_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage", "obfuscation"})
_CHOICE_KEYS = frozenset(
    {"index", "delta", "message", "finish_reason", "logprobs", "text", "stop_reason"}
)


@dataclass
class Choice:
    """One choice of a result."""

    index: int = 0
    answer: str = ""
    reasoning: str = ""
    preamble: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str | None = None
    raw_content: str | None = None  # the content exactly as received (signatures need it)
    extras: dict = field(default_factory=dict)  # per-choice provider fields
    refusal: str | None = None  # the model declined: its words (``message.refusal``)
    logprobs: dict | None = None  # ``{"content": [token, ...], "refusal": [...]}`` as sent


@dataclass
class Result:
    """The normalized result of one request, streamed or not."""

    choices: list[Choice]
    usage: dict | None = None
    model: str | None = None
    id: str | None = None
    created: int | None = None
    extras: dict = field(default_factory=dict)  # provider extras: unknown top-level keys
    complete: bool = False  # False when the stream stopped without [DONE] or finish reason

    def _first(self) -> Choice:
        return self.choices[0] if self.choices else Choice()

    @property
    def answer(self) -> str:
        return self._first().answer

    @property
    def reasoning(self) -> str:
        return self._first().reasoning

    @property
    def tool_calls(self) -> list[dict]:
        return self._first().tool_calls

    @property
    def finish_reason(self) -> str | None:
        return self._first().finish_reason

    @property
    def raw_content(self) -> str | None:
        return self._first().raw_content

    @property
    def refusal(self) -> str | None:
        return self._first().refusal

    @property
    def logprobs(self) -> dict | None:
        return self._first().logprobs

    @property
    def system_fingerprint(self) -> str | None:
        return self.extras.get("system_fingerprint")

    @property
    def signature(self) -> str | None:
        return self.extras.get("signature")


class _ChoiceState:
    __slots__ = (
        "texts",
        "raw",
        "tools",
        "by_index",
        "finish",
        "extras",
        "splitter",
        "has_content",
        "refusal",
        "logprobs",
    )

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = {"answer": [], "reasoning": [], "preamble": []}
        self.raw: list[str] = []
        self.tools: list[dict] = []
        self.by_index: dict[Any, dict] = {}
        self.finish: str | None = None
        self.extras: dict = {}
        self.has_content = False
        self.splitter = ContentSplitter(self.tools.append)
        self.refusal: list[str] | None = None
        self.logprobs: dict | None = None


class Accumulator:
    """Accumulates SSE data (``feed_data``), parsed chunks (``feed_chunk``) or a whole
    non-streaming response (``feed_response``) into a ``Result``."""

    def __init__(self, provider: str | None = None, choices: int = 1) -> None:
        self.provider = provider
        self.expected = choices  # the ``n`` asked for: complete only when as many finished
        self.done = False
        self.usage: dict | None = None
        self.model: str | None = None
        self.id: str | None = None
        self.created: int | None = None
        self.extras: dict = {}
        self._choices: dict[int, _ChoiceState] = {}
        self._finished = False

    # -- input ---------------------------------------------------------------------------
    def feed_data(self, data: str, event: str = "") -> list:
        """One SSE event's data. Raises ``ProviderError`` for error events and bad JSON."""
        if data.startswith("[DONE]"):
            self.done = True
            return []
        if not data or data.isspace():
            return []  # an event with empty data (a bare ``data:`` line) carries no chunk
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError):
            raise ProviderError(
                f"malformed chunk in the stream: {clip(data, 80)!r}",
                provider=self.provider,
                partial=self.result(),
            ) from None
        if "\\ud" in data or "\\uD" in data:  # JSON may spell a lone surrogate; text may not
            obj = no_surrogates(obj)
        if not isinstance(obj, dict):
            raise ProviderError(
                f"unexpected chunk in the stream: {clip(data, 80)!r}",
                provider=self.provider,
                partial=self.result(),
            )
        if "error" in obj or event == "error":
            self._keep_extras(obj)  # Eden's error frame carries corrected metadata
            raise ProviderError(
                "error in the stream: " + (error_message(obj) or "unknown error"),
                provider=self.provider,
                partial=self.result(),
            )
        return self.feed_chunk(obj)

    def feed_response(self, obj: dict) -> list:
        """A whole non-streaming ``chat.completion`` body."""
        out = self.feed_chunk(obj)
        self.done = True
        return out

    def feed_chunk(self, obj: dict) -> list:
        """One parsed chunk (or whole response). Values are type-checked where they are used:
        a wrong shape is a one-line ``ProviderError``, never a crash deeper in."""
        out: list = []
        if not _PLAIN_KEYS.issuperset(obj):
            self._keep_extras(obj)
        usage = obj.get("usage")
        if usage:
            if not isinstance(usage, dict):
                raise self._malformed("usage is not an object")
            self.usage = usage  # providers.md 5.5: the last non-null usage wins
        if self.id is None:
            self.id, self.model, self.created = obj.get("id"), obj.get("model"), obj.get("created")
            if not isinstance(self.model, (str, type(None))) or not isinstance(
                self.id, (str, int, type(None))
            ):
                raise self._malformed("the model or id is not a string")
        choices = obj.get("choices")
        if not choices:
            return out  # usage-only chunk, Adaptive metric event
        if not isinstance(choices, list):
            raise self._malformed("choices is not a list")
        for ch in choices:
            if not isinstance(ch, dict):
                raise self._malformed("a choice is not an object")
            index = ch.get("index") or 0
            if type(index) is not int:
                raise self._malformed("a choice index is not an integer")
            st = self._choices.get(index)
            if st is None:
                st = self._choices[index] = _ChoiceState()
            delta = ch.get("delta") or ch.get("message")
            if delta:
                if not isinstance(delta, dict):
                    raise self._malformed("a delta is not an object")
                r = delta.get("reasoning_content") or delta.get("reasoning")
                if r and isinstance(r, str):
                    out.append(("reasoning", index, r))
                c = delta.get("content")
                if c:
                    if not isinstance(c, str):
                        if not isinstance(c, list):
                            raise self._malformed("content is neither text nor a list of parts")
                        c = _parts_text(c)
                    st.raw.append(c)
                    st.has_content = True
                    st.splitter.feed(c, out, index)
                refusal = delta.get("refusal")
                if refusal:
                    if not isinstance(refusal, str):
                        raise self._malformed("refusal is not text")
                    if st.refusal is None:
                        st.refusal = []
                    st.refusal.append(refusal)
                    out.append(("refusal", index, refusal))
                tcs = delta.get("tool_calls")
                if tcs:
                    if not isinstance(tcs, list) or not all(isinstance(t, dict) for t in tcs):
                        raise self._malformed("tool_calls is not a list of objects")
                    merge_tool_calls(st, tcs, out, index, self._malformed)
            logprobs = ch.get("logprobs")
            if logprobs:
                if not isinstance(logprobs, dict):
                    raise self._malformed("logprobs is not an object")
                st.logprobs = merge_logprobs(st.logprobs, logprobs)
            finish = ch.get("finish_reason")
            if finish:
                if not isinstance(finish, str):
                    raise self._malformed("finish_reason is not a string")
                st.finish = finish
            if not _CHOICE_KEYS.issuperset(ch):
                for k in ch.keys() - _CHOICE_KEYS:
                    st.extras[k] = ch[k]
        if out:
            _route(out, self._choices)
        return out

    def _malformed(self, why: str) -> ProviderError:
        return ProviderError(
            f"malformed response: {why}", provider=self.provider, partial=self.result()
        )

    def finish(self) -> list:
        """End of input: flush the splitters. Safe to call more than once."""
        out: list = []
        if not self._finished:
            self._finished = True
            for index, st in self._choices.items():
                st.splitter.finish(out, index)
            _route(out, self._choices)
        return out

    # -- output --------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        if self.done:
            return True
        return len(self._choices) >= self.expected and all(
            st.finish for st in self._choices.values()
        )

    def text(self, kind: str = "answer", index: int = 0) -> str:
        """The text of one kind so far (cheap enough for a throttled display)."""
        st = self._choices.get(index)
        if st is None:
            return ""
        return "".join(st.texts[kind])

    def result(self) -> Result:
        choices = []
        for index in sorted(self._choices):
            st = self._choices[index]
            raw = "".join(st.raw) if st.has_content else None
            # plain content: the answer is the raw text, so keep one string, not two
            answer = (
                raw
                if raw is not None and st.texts["answer"] == st.raw
                else "".join(st.texts["answer"])
            )
            choices.append(
                Choice(
                    index=index,
                    answer=answer,
                    reasoning="".join(st.texts["reasoning"]),
                    preamble="".join(st.texts["preamble"]),
                    tool_calls=[_copy_call(t) for t in st.tools],
                    finish_reason=st.finish,
                    raw_content=raw,
                    extras=dict(st.extras),
                    refusal="".join(st.refusal) if st.refusal is not None else None,
                    logprobs=copy_logprobs(st.logprobs),
                )
            )
        return Result(
            choices=choices,
            usage=self.usage,
            model=self.model,
            id=self.id,
            created=self.created,
            extras=dict(self.extras),
            complete=self.complete,
        )

    def _keep_extras(self, obj: dict) -> None:
        for k in obj.keys() - _PLAIN_KEYS:
            if k != "error" and obj[k] is not None:
                self.extras[k] = obj[k]


def _route(out: list, choices: dict) -> None:
    """Store the deltas of one chunk in their choice's text lists; a tool call's delta becomes
    what it gained, named by its slot."""
    for i, (kind, index, text) in enumerate(out):
        st = choices[index]
        if kind == "tool_call":
            call, name, args = text
            slot = next(n for n, t in enumerate(st.tools) if t is call)
            out[i] = (
                kind,
                index,
                {"slot": slot, "id": call["id"], "name": name, "arguments": args},
            )
        elif kind != "refusal":  # kept as it arrives (fed before the splitter's deltas)
            st.texts[kind].append(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def no_surrogates(obj: Any) -> Any:
    """``obj`` with lone surrogates (which JSON can spell, but UTF-8 cannot hold) replaced by
    U+FFFD, so an answer can be shown, stored and sent back in the thread."""
    if isinstance(obj, str):
        return _SURROGATE.sub("\ufffd", obj)
    if isinstance(obj, dict):
        return {no_surrogates(k): no_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [no_surrogates(v) for v in obj]
    return obj


def _copy_call(t: dict) -> dict:
    return {"id": t["id"], "type": t["type"], "function": dict(t["function"])}


def _parts_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)

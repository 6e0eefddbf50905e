"""A ``Turn``: one answered prompt, how it was produced, and the raw result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..stream import Choice, Result


@dataclass
class Turn:
    """One answered prompt: the answer, how it was produced, and the raw result."""

    text: str
    reasoning: str
    tool_calls: list[dict]
    usage: dict | None
    finish_reason: str | None
    record: dict[str, Any]
    result: Result = field(repr=False)
    messages: list[dict[str, Any]] = field(repr=False, default_factory=list)
    signed: dict[str, Any] | None = field(repr=False, default=None)  # to verify later
    parsed: Any = field(repr=False, default=None)  # with schema=: the validated answer
    schema_errors: list[str] = field(repr=False, default_factory=list)  # why it did not match
    # samples=K: every sample's Turn in index order (this one is the sample the thread filed)
    samples: list[Turn] = field(repr=False, default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.record.get("complete"))

    @property
    def choices(self) -> list[Choice]:
        """Every choice the provider returned (``n`` > 1 asks for several), in index order:
        each has ``.answer``, ``.reasoning``, ``.tool_calls``, ``.refusal``, ``.logprobs``,
        ``.finish_reason``. ``text`` and the other fields are the first choice's."""
        return self.result.choices

    @property
    def refusal(self) -> str | None:
        """The model's refusal (``message.refusal``), when it declined; ``text`` is then
        empty."""
        return self.result.refusal

    @property
    def logprobs(self) -> dict | None:
        """The first choice's token log-probabilities as the provider sent them (asked for
        with ``logprobs=True``, ``top_logprobs=N``): ``{"content": [{"token", "logprob",
        "bytes", "top_logprobs"}, ...]}``, the pieces of a stream joined; None when none
        came back."""
        return self.result.logprobs

    @property
    def agreement(self) -> dict | None:
        """How far the samples (``samples=K``) or the choices (``n`` > 1) agree, by
        session/agreement.py: ``k``, ``answered``, ``distinct``, ``common`` (``count``,
        ``share``, ``members``), ``groups`` (each one's answer group); for samples also
        ``picked`` (the one filed), ``why`` and ``seeds``, and for a structured answer
        ``fields`` (per field ``common``, ``share``, and ``mean``, ``sd``, ``min``, ``max``
        for numbers). None for a single answer."""
        found = self.record.get("agreement")
        return found if isinstance(found, dict) else None

    def __repr__(self) -> str:
        text = self.text or (f"refused: {self.refusal}" if self.refusal else "")
        text = text if len(text) < 60 else text[:57] + "..."
        model = self.record.get("served_model") or self.record.get("model")
        return f"Turn({self.record.get('provider')}:{model}, {text!r})"

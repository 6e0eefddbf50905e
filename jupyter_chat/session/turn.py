"""A ``Turn``: one answered prompt, how it was produced, and the raw result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..stream import Result


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

    @property
    def complete(self) -> bool:
        return bool(self.record.get("complete"))

    def __repr__(self) -> str:
        text = self.text if len(self.text) < 60 else self.text[:57] + "..."
        model = self.record.get("served_model") or self.record.get("model")
        return f"Turn({self.record.get('provider')}:{model}, {text!r})"

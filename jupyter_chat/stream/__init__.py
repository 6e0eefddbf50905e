"""One accumulator: chunks -> content, reasoning, tool-call fragments, usage, extras."""

from .accumulator import Accumulator, Choice, Result, no_surrogates
from .logprobs import compact_logprobs
from .splitter import ContentSplitter, split
from .sse import Event, EventReader

__all__ = [
    "Accumulator",
    "Choice",
    "ContentSplitter",
    "Event",
    "EventReader",
    "Result",
    "compact_logprobs",
    "no_surrogates",
    "split",
]

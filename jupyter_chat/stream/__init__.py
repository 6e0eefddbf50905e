"""One accumulator: chunks -> content, reasoning, tool-call fragments, usage, extras."""

from .accumulator import Accumulator, Choice, Result, no_surrogates
from .splitter import ContentSplitter, split

__all__ = ["Accumulator", "Choice", "ContentSplitter", "Result", "no_surrogates", "split"]

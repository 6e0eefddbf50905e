"""Keys: held as ``Secret`` objects that never print, and scrubbed from every message.

Every key that jupyter-chat reads or is given is registered here, so that ``redact``
can remove it from error texts, logs and records even when a provider echoes it back.
"""

from __future__ import annotations

import threading

_known: set[str] = set()
_lock = threading.Lock()
_MIN_LEN = 6  # shorter values would scrub ordinary words


class Secret:
    """A key bound to the host it may be sent to. ``str``/``repr`` never show it."""

    __slots__ = ("_value", "host", "source")

    def __init__(self, value: str, host: str | None, source: str) -> None:
        value = value.strip()
        self._value = value
        self.host = host
        self.source = source
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(***, host={self.host!r}, source={self.source!r})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("keys are not picklable")


def register(value: str) -> None:
    if value and len(value) >= _MIN_LEN:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Replace every known key in ``text`` by ``***``."""
    if not text or not _known:
        return text
    for value in tuple(_known):
        if value in text:
            text = text.replace(value, "***")
    return text

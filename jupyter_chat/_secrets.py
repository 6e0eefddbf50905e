"""Keys: held as ``Secret`` objects that never print, and scrubbed from every message.

Every key that jupyter-chat reads or is given is registered here, so that ``redact``
can remove it from error texts, logs and records even when a provider echoes it back.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

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


def clip(text: str, limit: int) -> str:
    """``text`` with known keys redacted, then cut to ``limit`` characters: redacting after
    cutting would leave the start of a key that the cut split."""
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_KEYISH = frozenset(
    {"key", "api_key", "apikey", "api-key", "token", "access_token", "auth", "sig",
     "signature", "secret", "password", "code", "x-api-key"}
)  # fmt: skip


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries: a userinfo password (or user) and key-like query values."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    found = [v for v in (parts.password, parts.username if not parts.password else None) if v]
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _KEYISH and v]
    return found


def public_url(url: str) -> str:
    """``url`` as it may be shown: userinfo and key-like query values masked."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _KEYISH else v) for k, v in pairs], safe="*")
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def redact_deep(obj: Any) -> Any:
    """``obj`` with every known key redacted in its strings: dicts, lists, tuples and
    dataclasses are rebuilt only where something changed."""
    if not _known:
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        new = {redact_deep(k): redact_deep(v) for k, v in obj.items()}
        return obj if new == obj else new
    if isinstance(obj, (list, tuple)):
        new = [redact_deep(v) for v in obj]
        return obj if new == list(obj) else type(obj)(new)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = redact_deep(value)
            if new is not value and new != value:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    return obj

"""Per-kernel state: named threads (conversations). One store, shared by every front end."""

from __future__ import annotations

import threading
from typing import Any


class Session:
    """Threads of messages, appended to only when a turn completes (never half a turn)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.threads: dict[str, list[dict[str, Any]]] = {}

    def history(self, thread: str | None) -> list[dict[str, Any]]:
        if thread is None:
            return []
        with self._lock:
            return list(self.threads.get(thread, ()))

    def append(self, thread: str | None, *messages: dict[str, Any]) -> None:
        if thread is None:
            return
        with self._lock:
            self.threads.setdefault(thread, []).extend(messages)


SESSION = Session()

"""Background fsync of replay stores: a batch of appends costs one fsync, off the event loop."""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from pathlib import Path


class _Flusher:
    """fsyncs stores in the background, coalescing: a batch of appends costs one fsync, and
    the event loop that appended never waits for the disk. A recording is in the file (the
    page cache) as soon as ``put`` returns, so a killed kernel loses nothing it finished; the
    fsync makes it survive a power cut too, within one fsync's time."""

    def __init__(self) -> None:
        self._pending: set[Path] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)

    def sync(self, path: Path) -> None:
        with self._cond:
            self._pending.add(path)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="store-fsync", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            time.sleep(0.02)  # let a batch of appends gather: one fsync covers them all
            with self._cond:
                paths, self._pending = self._pending, set()
            for path in paths:
                _fsync(path)

    def flush(self) -> None:
        """fsync what is pending now (at exit, and for callers that must know)."""
        with self._cond:
            paths, self._pending = self._pending, set()
        for path in paths:
            _fsync(path)


def _fsync(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


FLUSHER = _Flusher()

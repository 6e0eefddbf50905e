"""Record and replay: answers kept beside the notebook, so it re-runs offline with identical
outputs.

The store is a JSON Lines file, one record per line, keyed by a hash of the canonical request
(provider, model, messages, every parameter, the seed included; never a key or a header). A
record holds the normalized response and the streamed deltas with their times, so a replayed
turn streams again, at once or at the recorded pace.

Modes: ``off``; ``record`` (call the provider, store what came back); ``replay`` (serve only
from the store: a missing record is an error, never a network call); ``auto`` (replay what is
recorded, record the rest); ``check`` (call the provider and say whether the answer matches
the recording; used by ``jupyter-chat rerun --check``). ``JUPYTER_CHAT_REPLAY`` forces a mode
for the whole kernel, whatever the notebook says.

Every write rewrites the file through a temporary file under an exclusive lock: an interrupted
or failed turn never leaves a broken store, and kernels sharing a store do not corrupt it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..stream import Choice, Result

MODES = ("off", "record", "replay", "auto", "check")
MAX_LINE = 64 * 1024 * 1024  # a longer line is refused before it is read whole
_CHOICE_FIELDS = frozenset(f.name for f in dataclasses.fields(Choice))
_RESULT_FIELDS = frozenset(f.name for f in dataclasses.fields(Result))


class ReplayMissError(ConfigError):
    """Replay mode and no recording for this request."""


class Store:
    """One JSON Lines file of recordings."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser().resolve()
        self._stamp: tuple | None = None
        self._records: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def check_writable(self) -> None:
        """Refuse, before anything is sent, a store that could not be written: a device or
        folder in its place, a read-only file, folder or file system."""
        path = self.path
        if path.exists() and not path.is_file():
            raise ConfigError(f"the replay store {path} is not a regular file")
        if path.exists() and not os.access(path, os.W_OK):
            raise ConfigError(f"the replay store {path} is read-only")
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write the replay store: {folder} is not writable")

    def records(self) -> dict[str, dict[str, Any]]:
        """All records by key, re-read when the file changed."""
        try:
            st = self.path.stat()
            stamp: tuple | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._records = self._read() if stamp else {}
            self._stamp = stamp
        return self._records

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records().get(key)

    def put(self, record: dict[str, Any]) -> None:
        """Add or replace one record, atomically and under a lock shared by all kernels."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            try:
                records = self._read() if self.path.exists() else {}
                records[record["key"]] = record
                text = "".join(
                    json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                    for r in records.values()
                )
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as f:
                        f.write(text)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
            finally:
                fcntl.flock(lf, fcntl.LOCK_UN)
        self._stamp = None

    def _read(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            raise ConfigError(f"the replay store {self.path} is not a regular file")
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the replay store {self.path}: {exc.strerror}") from None
        with f:
            n = 0
            while True:
                line = f.readline(MAX_LINE + 1)
                if not line:
                    break
                n += 1
                if len(line) > MAX_LINE:
                    raise self._corrupt(n, f"a line over {MAX_LINE:,} bytes")
                if not line.strip():
                    continue
                try:
                    rec = check_recording(json.loads(line))
                except RecursionError:
                    raise self._corrupt(n, "nested too deeply") from None
                except (ValueError, KeyError, TypeError) as exc:
                    raise self._corrupt(n, str(exc)[:120]) from None
                records[rec["key"]] = rec
        return records

    def _corrupt(self, n: int, why: str) -> ConfigError:
        return ConfigError(
            f"the replay store {self.path.name} is corrupted at line {n} ({why})",
            hint="Fix or delete that line, then record again with %chat replay record.",
        )


def check_recording(rec: Any) -> dict[str, Any]:
    """A recording read from disk, checked where it will be used (``ValueError`` if not)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
        raise ValueError("not a recording")
    resp = rec.get("response")
    if not isinstance(resp, dict) or not isinstance(resp.get("choices"), list):
        raise ValueError("no response choices")
    if not set(resp) <= _RESULT_FIELDS:
        raise ValueError("unknown response fields")
    for c in resp["choices"]:
        if not isinstance(c, dict) or not set(c) <= _CHOICE_FIELDS:
            raise ValueError("a choice is malformed")
        for name in ("answer", "reasoning", "preamble"):
            if not isinstance(c.get(name, ""), str):
                raise ValueError(f"a choice's {name} is not text")
        if not isinstance(c.get("tool_calls", []), list):
            raise ValueError("a choice's tool calls are not a list")
    deltas = rec.get("deltas")
    if not isinstance(deltas, list):
        raise ValueError("no deltas")
    for d in deltas:
        if not (
            isinstance(d, list)
            and len(d) == 4
            and isinstance(d[0], (int, float))
            and isinstance(d[1], str)
            and isinstance(d[2], int)
        ):
            raise ValueError("a delta is malformed")
    for name in ("latency_ms", "ttft_ms"):
        if not isinstance(rec.get(name), (int, float, type(None))):
            raise ValueError(f"{name} is not a number")
    return rec


def default_path() -> Path:
    """Beside the notebook when the frontend says which it is, else in the working folder."""
    name = os.environ.get("JPY_SESSION_NAME") or ""
    with contextlib.suppress(Exception):
        from IPython import get_ipython

        ip = get_ipython()
        name = (ip.user_ns.get("__vsc_ipynb_file__") if ip else None) or name
    if name.endswith(".ipynb"):
        p = Path(name)
        return p.with_name(p.stem + ".chat.jsonl")
    return Path("chat-replay.jsonl")

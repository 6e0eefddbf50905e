"""The store of recordings: answers kept beside the notebook, so it re-runs offline with
identical outputs.

A JSON Lines file, one recording per line, keyed by a hash of the canonical request (provider,
model, messages, every parameter, the seed included; never a key or a header). It is
append-only: recording a turn appends one line (under a lock shared by every kernel; fsync'd
in the background, a batch of appends at a time); a later recording of the same key wins; earlier lines are never rewritten, except by
an explicit compaction (``jupyter-chat store compact``). Readers keep an index by key (the key
leads each line, so indexing reads no JSON) and read only what was appended since they last
looked; a recording is parsed when it is used. A torn last line (a kernel killed mid-write, a
full disk) is skipped with a warning and cut away before the next recording is appended.

Modes: ``off``; ``record`` (call the provider, store what came back); ``replay`` (serve only
from the store: a missing recording is an error, never a network call); ``auto`` (replay what is
recorded, record the rest); ``check`` (call the provider and say whether the answer matches
the recording; used by ``jupyter-chat rerun --check``). ``JUPYTER_CHAT_REPLAY`` forces a mode
for the whole kernel, whatever the notebook says.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..stream import Choice, Result
from .flush import FLUSHER
from .place import check_path, check_writable

MODES = ("off", "record", "replay", "auto", "check")
MAX_LINE = 64 * 1024 * 1024  # a longer line is refused before it is read whole
_CHOICE_FIELDS = frozenset(f.name for f in dataclasses.fields(Choice))
_RESULT_FIELDS = frozenset(f.name for f in dataclasses.fields(Result))


class ReplayMissError(ConfigError):
    """Replay mode and no recording for this request."""


class Store:
    """One JSON Lines file of recordings, indexed by key, appended to, never rewritten."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser().resolve()
        self._index: dict[str, tuple[int, int, int]] = {}  # key -> (offset, length, line)
        self._offset = 0  # bytes indexed so far (complete lines only)
        self._lines = 0
        self._inode: int | None = None
        self._torn_warned = False
        self._fd: int | None = None  # kept open for appending
        self._lock_fd: int | None = None
        self._end = -1  # where this writer's last append ended (-1: not known)
        self._writer_lock = threading.Lock()
        self._probed = False  # check_writable has tried creating and appending for real

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- reading -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Index what was appended since the last look (all of it after a compaction)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._reset(None)
            return
        except OSError as exc:
            raise ConfigError(f"cannot read the replay store {self.path}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"the replay store {self.path} is not a regular file")
        if st.st_ino != self._inode or st.st_size < self._offset:
            self._reset(st.st_ino)  # replaced (compacted) or cut: index it afresh
        if st.st_size == self._offset:
            return
        with self.path.open("rb") as f:
            f.seek(self._offset)
            while True:
                line = f.readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE:
                    raise self._corrupt(self._lines + 1, f"a line over {MAX_LINE:,} bytes")
                if not line.endswith(b"\n"):
                    self._torn_tail()  # or a write under way: indexed once it is whole
                    break
                self._lines += 1
                key = _key_of(line, self)
                if key is not None:
                    self._index[key] = (self._offset, len(line), self._lines)
                self._offset += len(line)

    def _reset(self, inode: int | None) -> None:
        self._index, self._offset, self._lines, self._inode = {}, 0, 0, inode

    def _torn_tail(self) -> None:
        """A last line without its newline: torn, unless another kernel is writing it now."""
        if self._torn_warned:
            return
        with self._lock(shared=True, wait=False) as got:
            if got and not _ends_with_newline(self.path):
                self._torn_warned = True
                warnings.warn(
                    f"the last line of the replay store {self.path.name} is incomplete (a write "
                    "was cut off); it is skipped, and cut away at the next recording",
                    stacklevel=3,
                )

    def keys(self) -> set[str]:
        self.refresh()
        return set(self._index)

    def __bool__(self) -> bool:  # a store is a store, empty or not (len() reads it)
        return True

    def __len__(self) -> int:
        self.refresh()
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        self.refresh()
        return key in self._index

    def get(self, key: str) -> dict[str, Any] | None:
        """The latest recording of ``key``, read from its line, or None."""
        self.refresh()
        where = self._index.get(key)
        if where is None:
            return None
        offset, length, n = where
        with self.path.open("rb") as f:
            f.seek(offset)
            return self._parse(f.read(length), n)

    def records(self) -> dict[str, dict[str, Any]]:
        """Every recording, the latest per key (reads the whole file: for tools and checks)."""
        self.refresh()
        return {key: self.get(key) for key in sorted(self._index, key=lambda k: self._index[k])}

    def _parse(self, line: bytes, n: int) -> dict[str, Any]:
        try:
            return check_recording(json.loads(line))
        except RecursionError:
            raise self._corrupt(n, "nested too deeply") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise self._corrupt(n, str(exc)[:120]) from None

    def _corrupt(self, n: int, why: str) -> ConfigError:
        return ConfigError(
            f"the replay store {self.path.name} is corrupted at line {n} ({why})",
            hint="Fix or delete that line (or drop it: jupyter-chat store compact --drop-bad "
            f"{self.path}), then record again with %chat replay record.",
        )

    # -- writing -------------------------------------------------------------------------
    def check_path(self) -> None:
        """Refuse a path that can never hold a store (place.py)."""
        check_path(self.path)

    def check_writable(self) -> None:
        """Refuse, before anything is sent, a store that could not be written (place.py): tried
        for real the first time, then the permissions only (before every recording)."""
        check_writable(self.path, probe=not self._probed)
        self._probed = True

    def put(self, record: dict[str, Any]) -> None:
        """Append one recording (a later one of the same key wins), under the shared lock."""
        line = encode(record)
        with self._writer_lock:
            self._open_writer()
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                fd = self._fd
                st = os.fstat(fd)
                if st.st_nlink == 0:  # a compaction replaced the file: append to the new one
                    self._close_writer()
                    self._open_writer()
                    fd, st = self._fd, os.fstat(self._fd)
                if st.st_size != self._end:  # another writer was here: is its last line whole?
                    _cut_torn_tail(fd)
                os.write(fd, line)
                self._end = (
                    os.fstat(fd).st_size if st.st_size != self._end else st.st_size + len(line)
                )
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        FLUSHER.sync(self.path)

    def _open_writer(self) -> None:
        """The append and lock descriptors, kept open between recordings."""
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            self._end = -1  # unknown: check the tail before the first append
        if self._lock_fd is None:
            lock = self.path.with_name(self.path.name + ".lock")
            self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)

    def _close_writer(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with self._writer_lock:
            self._close_writer()
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._lock_fd)
                self._lock_fd = None

    def __del__(self) -> None:
        # no module globals here (contextlib): at interpreter exit they may be gone
        try:  # noqa: SIM105
            self.close()
        except Exception:
            pass

    @contextlib.contextmanager
    def _lock(self, shared: bool, wait: bool) -> Iterator[bool]:
        """The lock every kernel takes to write this store (a file beside it)."""
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield False  # a read-only folder: nobody writes here
            return
        try:
            flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
            try:
                fcntl.flock(fd, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


_PREFIX = b'{"key": "'


def encode(record: dict[str, Any]) -> bytes:
    """One line, the key first, so an index needs no JSON parsing."""
    ordered = {"key": record["key"], **{k: v for k, v in record.items() if k != "key"}}
    return (json.dumps(ordered, ensure_ascii=False) + "\n").encode("utf-8")


def _key_of(line: bytes, store: Store) -> str | None:
    if not line.strip():
        return None
    if line.startswith(_PREFIX) and line.rstrip().endswith(b"}"):
        end = line.find(b'"', len(_PREFIX))
        key = line[len(_PREFIX) : end]
        if end > 0 and b"\\" not in key:
            return key.decode("utf-8", "replace")
    try:  # a line written another way (an older store, a hand edit): parse it
        rec = json.loads(line)
    except RecursionError:
        raise store._corrupt(store._lines, "nested too deeply") from None
    except ValueError:
        raise store._corrupt(store._lines, "not a JSON recording") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
        raise store._corrupt(store._lines, "not a recording")
    return rec["key"]


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _cut_torn_tail(fd: int) -> None:
    """Under the lock: cut a last line left without its newline (a writer that died)."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        chunk = os.pread(fd, pos - start, start)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            os.ftruncate(fd, start + nl + 1)
            return
        pos = start
    os.ftruncate(fd, 0)


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

"""Per-notebook state: threads, defaults, the seed, and the ledger of tokens and cost. One
store, shared by every front end.

A kernel serves one notebook, so this state lives for the kernel. A thread is a list of turns;
each turn remembers the cell that produced it (its stable id, or a hash of its source), so
re-running a cell replaces that cell's own turn, and the cell sees only the turns before it,
exactly as when the notebook runs top to bottom. Turns are stored only once complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

_THREAD = re.compile(r"^[\w.-]{1,64}$")
DEFAULT_THREAD = "default"
NO_THREAD = "(no thread)"


@dataclass
class Entry:
    """One turn in a thread: the messages it added and what it cost."""

    key: str | None  # the cell that produced it; None for the Python API (always appended)
    messages: list[dict[str, Any]]
    tokens: int = 0
    record: dict[str, Any] = field(default_factory=dict)


def check_thread(name: str) -> str:
    if not isinstance(name, str) or not _THREAD.match(name):
        raise ConfigError(
            f"invalid thread name {name!r}",
            hint="Use letters, digits, '_', '-' or '.', at most 64 characters.",
        )
    return name


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """About four characters a token: enough to keep a history window under a budget."""
    return sum(len(str(m.get("content") or "")) for m in messages) // 4 + 4 * len(messages)


class Session:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.threads: dict[str, list[Entry]] = {}
        self.current = DEFAULT_THREAD
        self.model: str | None = None  # notebook default PROVIDER:MODEL
        self.system: str | None = None  # notebook system prompt
        self.params: dict[str, Any] = {}  # notebook default parameters
        self.seed: int | None = 0  # the notebook seed; None turns derived seeds off
        self.window_turns: int | None = None
        self.window_tokens: int | None = None
        self.replay_mode = "off"  # off, record, replay, auto, check (see replay.py)
        self.store: Any = None  # the replay store (replay.Store)
        self.pace = False  # replay at the recorded pace
        self.replay_counts = {"hits": 0, "misses": 0, "recorded": 0}  # in this kernel
        self.ledger = Ledger()  # every answered request: tokens and cost (%chat usage)
        self.budget: Any = None  # the notebook's budget.Budget (%chat budget), across cells
        self._said: set[tuple[str, ...]] = set()  # notes said once in this kernel

    def first_time(self, *what: str) -> bool:
        """True the first time ``what`` is asked about in this kernel, False after."""
        with self._lock:
            if what in self._said:
                return False
            self._said.add(what)
            return True

    def set_replay(
        self, mode: str, path: str | os.PathLike | None = None, pace: bool = False
    ) -> Any:
        """Switch the replay mode (and store); checked fully before anything changes."""
        from ..replay.store import MODES, Store, default_path

        if mode not in MODES:
            raise ConfigError(f"unknown replay mode {mode!r}", hint="Use " + ", ".join(MODES) + ".")
        store = Store(path) if path is not None else (self.store or Store(default_path()))
        if mode != "off":  # a store that cannot be read or written is refused now, before
            # a cell pays for an answer it cannot keep (replay/place.py); nothing changes
            if mode in ("record", "auto"):
                store.check_writable()
            else:
                store.check_path()
            if store.path.exists():
                store.refresh()  # a corrupted store is an error now, not at the first turn
        self.replay_mode, self.store, self.pace = mode, store, pace
        return store

    def replay_state(self) -> tuple[str, Any]:
        """The mode in force (``JUPYTER_CHAT_REPLAY`` wins) and the store."""
        forced = os.environ.get("JUPYTER_CHAT_REPLAY")
        if forced:
            from ..replay.store import MODES, Store, default_path

            if forced not in MODES:
                raise ConfigError(
                    f"JUPYTER_CHAT_REPLAY={forced!r} is not a replay mode",
                    hint="Use " + ", ".join(MODES) + ".",
                )
            if self.store is None:
                self.store = Store(default_path())
            return forced, self.store
        if self.replay_mode == "off":
            return "off", None
        return self.replay_mode, self.store

    # -- threads --------------------------------------------------------------------------
    def entries(self, thread: str) -> list[Entry]:
        """The turns filed in ``thread``, oldest first."""
        with self._lock:
            return list(self.threads.get(thread, ()))

    def history(self, thread: str | None, key: str | None = None) -> list[dict[str, Any]]:
        """The messages a new turn of ``thread`` sees: the turns before this cell's own turn
        (all turns when the cell has none), cut to the history window."""
        if thread is None:
            return []
        with self._lock:
            entries = list(self.threads.get(thread, ()))
        for i, e in enumerate(entries):
            if key is not None and e.key == key:
                entries = entries[:i]
                break
        if self.window_turns is not None:
            entries = entries[-self.window_turns :] if self.window_turns else []
        if self.window_tokens is not None:
            kept, total = [], 0
            for e in reversed(entries):
                total += e.tokens or estimate_tokens(e.messages)
                if total > self.window_tokens:
                    break
                kept.append(e)
            entries = kept[::-1]
        return [m for e in entries for m in e.messages]

    def commit(self, thread: str | None, entry: Entry) -> None:
        """Store a complete turn: it replaces the same cell's earlier turn, else is appended."""
        if thread is None:
            return
        with self._lock:
            entries = self.threads.setdefault(thread, [])
            for i, e in enumerate(entries):
                if entry.key is not None and e.key == entry.key:
                    entries[i] = entry
                    return
            entries.append(entry)

    def clear(self, thread: str) -> None:
        with self._lock:
            self.threads.pop(thread, None)

    # -- seeds ----------------------------------------------------------------------------
    def derive_seed(self, key: str) -> int | None:
        """The seed of the cell ``key``: the same for the same cell, whatever the order."""
        if self.seed is None:
            return None
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def count(v: Any) -> int:
    """A token count as reported, or 0."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


@dataclass
class Tally:
    requests: int = 0
    tokens: int = 0
    usd: float = 0.0
    unpriced: int = 0  # requests whose cost is unknown

    def add(self, record: dict[str, Any]) -> None:
        self.requests += 1
        usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
        self.tokens += count(usage.get("total_tokens"))
        cost = record.get("cost")
        if isinstance(cost, dict) and isinstance(cost.get("usd"), (int, float)):
            self.usd += cost["usd"]
        else:
            self.unpriced += 1

    def __iadd__(self, other: Tally) -> Tally:
        self.requests += other.requests
        self.tokens += other.tokens
        self.usd += other.usd
        self.unpriced += other.unpriced
        return self


class Ledger:
    """Every answered request in this kernel: per thread, live (paid) and replayed (saved)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.threads: dict[str, dict[str, Tally]] = {}

    def add(self, record: dict[str, Any]) -> None:
        kind = "replayed" if record.get("replayed") else "live"
        with self._lock:
            row = self.threads.setdefault(record.get("thread") or NO_THREAD, {})
            row.setdefault(kind, Tally()).add(record)

    def rows(self, thread: str | None = None) -> list[tuple[str, Tally, Tally]]:
        """(thread, live, replayed) for one thread or all, then the notebook's total."""
        with self._lock:
            names = [thread] if thread else sorted(self.threads)
            out = []
            for name in names:
                kinds = self.threads.get(name, {})
                out.append((name, kinds.get("live", Tally()), kinds.get("replayed", Tally())))
        if not thread:
            live, replayed = Tally(), Tally()
            for _, lv, rp in out:
                live += lv
                replayed += rp
            out.append(("notebook", live, replayed))
        return out


SESSION = Session()

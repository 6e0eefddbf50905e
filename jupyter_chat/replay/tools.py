"""Store maintenance (``jupyter-chat store ...``): counts and sizes, compaction to one line
per recording, merging stores written on several machines, pruning what a notebook no longer
uses. Each rewrite goes through a temporary file, under the store's lock, and is refused on a
bad line (named by its number) unless asked to drop it; good lines are never lost, nothing is
written through a symbolic link, and a refusal changes nothing."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .store import MAX_LINE, Store, check_recording, encode

SHOWN_BAD = 3  # bad lines named in a refusal (all are counted)


@dataclass
class Scan:
    """A store read line by line: the latest recording per key, and what was wrong."""

    path: Path
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0  # complete lines
    good: int = 0  # lines holding a recording
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    torn: bool = False  # a last line without its newline (a write cut off)

    def dropped(self) -> list[str]:
        return [f"{self.path}: dropped bad line {n} ({why})" for n, why in self.bad]

    def refuse_bad(self, what_to_do: str) -> None:
        if not self.bad:
            return
        named = ", ".join(f"line {n} ({why})" for n, why in self.bad[:SHOWN_BAD])
        more = f" and {len(self.bad) - SHOWN_BAD} more" if len(self.bad) > SHOWN_BAD else ""
        raise ConfigError(
            f"{self.path} has {len(self.bad)} bad line{'s' if len(self.bad) > 1 else ''}: "
            f"{named}{more}; nothing was changed",
            hint=what_to_do,
        )


def scan(path: str | os.PathLike) -> Scan:
    """Read every line of the store at ``path``; a bad line is noted, never fatal."""
    store = _existing(path)
    found = Scan(store.path)
    try:
        with store.path.open("rb") as f:
            while line := f.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE:
                    found.lines += 1
                    found.bad.append((found.lines, f"a line over {MAX_LINE:,} bytes"))
                    while line and not line.endswith(b"\n"):  # skip the rest of it
                        line = f.readline(MAX_LINE)
                    continue
                if not line.endswith(b"\n"):
                    found.torn = True
                    break
                found.lines += 1
                if not line.strip():
                    continue
                rec, why = _parse(line)
                if rec is None:
                    found.bad.append((found.lines, why))
                    continue
                found.good += 1
                found.records.pop(rec["key"], None)  # the latest wins, in the order written
                found.records[rec["key"]] = rec
    except OSError as exc:
        raise ConfigError(f"cannot read the replay store {store.path}: {_why(exc)}") from None
    return found


def stats(path: str | os.PathLike) -> dict[str, Any]:
    """Lines, recordings, superseded lines, bad lines, bytes, a torn last line, providers."""
    s = scan(path)
    records = s.records
    providers = collections.Counter(
        str((r.get("request") or {}).get("provider", "?")) for r in records.values()
    )
    dates = sorted(str(r["recorded_at"]) for r in records.values() if r.get("recorded_at"))
    return {
        "path": str(s.path),
        "bytes": s.path.stat().st_size,
        "lines": s.lines,
        "recordings": len(records),
        "duplicates": s.good - len(records),
        "bad": s.bad,
        "torn": s.torn,
        "providers": dict(providers.most_common()),
        "first": dates[0] if dates else None,
        "last": dates[-1] if dates else None,
    }


def compact(path: str | os.PathLike, drop_bad: bool = False) -> tuple[int, int, list[str]]:
    """Rewrite the store with one line per recording (the latest); (lines before, after, the
    bad lines dropped). A bad line refuses it unless ``drop_bad``."""
    store = _rewritable(path)
    with store._lock(shared=False, wait=True):
        s = scan(store.path)
        if not drop_bad:
            s.refuse_bad(_FIX.format(cmd=f"jupyter-chat store compact --drop-bad {path}"))
        _write(store.path, s.records.values())
    return s.lines, len(s.records), s.dropped()


def merge(
    out: str | os.PathLike, sources: list[str | os.PathLike], drop_bad: bool = False
) -> tuple[int, list[str]]:
    """Merge ``sources`` (and ``out`` if it exists) into ``out``; where two hold the same
    request, the most recently recorded wins. Returns (recordings, the bad lines dropped)."""
    target = _rewritable(out, may_be_new=True)
    scans = [scan(s) for s in sources]  # every source read (and checked) before any writing
    with target._lock(shared=False, wait=True):
        if target.path.exists():
            scans.insert(0, scan(target.path))
        merged: dict[str, dict[str, Any]] = {}
        for s in scans:
            if not drop_bad:
                s.refuse_bad(_FIX.format(cmd="jupyter-chat store merge --drop-bad ..."))
            for key, rec in s.records.items():
                old = merged.get(key)
                when = str(rec.get("recorded_at", ""))
                if old is None or when >= str(old.get("recorded_at", "")):
                    merged[key] = rec
        _write(target.path, merged.values())
    return len(merged), [line for s in scans for line in s.dropped()]


def prune(path: str | os.PathLike, keep: set[str]) -> tuple[int, int]:
    """Keep only the recordings whose keys are in ``keep``; (recordings before, after)."""
    store = _rewritable(path)
    with store._lock(shared=False, wait=True):
        s = check_prunable(store.path)
        kept = [r for k, r in s.records.items() if k in keep]
        _write(store.path, kept)
    return len(s.records), len(kept)


def check_prunable(path: str | os.PathLike, writing: bool = True) -> Scan:
    """A store with a bad line cannot be pruned: the notebook could not replay from it."""
    s = scan(_rewritable(path).path if writing else path)
    s.refuse_bad(_FIX.format(cmd=f"jupyter-chat store compact --drop-bad {path}") + " Then prune.")
    return s


def used_keys(notebook: str | os.PathLike, timeout: int = 600) -> set[str]:
    """The recordings a notebook uses: it runs offline in replay mode (nbclient), and every
    recording it replays is listed. A cell that fails is an error: nothing is pruned then."""
    import nbclient
    import nbformat

    notebook = Path(notebook)
    if not notebook.is_file():
        raise ConfigError(f"no notebook at {notebook}", hint="Give the .ipynb the store is for.")
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, unreadable: nbformat says which
        why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read the notebook {notebook}: {why}") from None
    fd, listing = tempfile.mkstemp(prefix="jupyter-chat-used-", suffix=".txt")
    os.close(fd)
    env = {**os.environ, "JUPYTER_CHAT_REPLAY": "replay", "JUPYTER_CHAT_USED_KEYS": listing}
    try:
        client = nbclient.NotebookClient(
            nb, timeout=timeout, resources={"metadata": {"path": str(notebook.parent)}}
        )
        try:
            client.execute(env=env)
        except nbclient.exceptions.CellExecutionError as exc:
            last = str(exc).strip().splitlines()[-1][:300]
            raise ConfigError(f"{notebook.name} did not run in replay mode: {last}") from None
        return set(Path(listing).read_text(encoding="utf-8").split())
    finally:
        os.unlink(listing)


_FIX = "Fix or delete those lines, or drop them: {cmd} (every good line is kept)."


def _parse(line: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        rec = json.loads(line)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not a JSON recording"
    try:
        return check_recording(rec), ""
    except RecursionError:
        return None, "nested too deeply"
    except (ValueError, KeyError, TypeError) as exc:
        return None, str(exc)[:120]


def _existing(path: str | os.PathLike) -> Store:
    store = Store(path)
    if not store.path.exists():
        raise ConfigError(f"no replay store at {store.path}", hint="Check the path.")
    if not store.path.is_file():
        raise ConfigError(f"{store.path} is not a replay store (not a regular file)")
    return store


def _rewritable(path: str | os.PathLike, may_be_new: bool = False) -> Store:
    """A store a tool may rewrite: never through a symbolic link (the file it points to, which
    may be anything, would be replaced), in a folder that exists."""
    given = Path(path).expanduser()
    if given.is_symlink():
        raise ConfigError(
            f"{given} is a symbolic link (to {os.path.realpath(given)}); nothing was changed",
            hint="Give the file itself: a store tool never writes through a link.",
        )
    if not may_be_new or given.exists():
        return _existing(given)
    store = Store(given)
    if not store.path.parent.is_dir():
        what = "is not a folder" if store.path.parent.exists() else "does not exist"
        raise ConfigError(
            f"cannot write {store.path}: {store.path.parent} {what}",
            hint="Create the folder first, or give another path.",
        )
    return store


def _write(path: Path, records: Any) -> None:
    """Write ``records`` to a new file beside ``path``, then move it into place (atomic); the
    new file keeps the old one's permissions (mkstemp makes it private). A failure leaves the
    store as it was."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {_why(exc)}; nothing was changed") from None
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o777)
        with os.fdopen(fd, "wb") as f:
            for rec in records:
                f.write(encode(rec))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write {path}: {_why(exc)}; nothing was changed") from None
        raise


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()

"""Store maintenance (``jupyter-chat store ...``): counts and sizes, compaction to one line
per recording, merging stores written on several machines, pruning what a notebook no longer
uses. Each rewrite goes through a temporary file, under the store's lock."""

from __future__ import annotations

import collections
import contextlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .store import Store, encode


def stats(path: str | os.PathLike) -> dict[str, Any]:
    """Lines, recordings, duplicates, bytes, a torn last line, recordings by provider."""
    store = _existing(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = store.records()
    providers = collections.Counter(
        str((r.get("request") or {}).get("provider", "?")) for r in records.values()
    )
    dates = sorted(str(r["recorded_at"]) for r in records.values() if r.get("recorded_at"))
    return {
        "path": str(store.path),
        "bytes": store.path.stat().st_size,
        "lines": store._lines,
        "recordings": len(records),
        "duplicates": store._lines - len(records),
        "torn": any("incomplete" in str(w.message) for w in caught),
        "providers": dict(providers.most_common()),
        "first": dates[0] if dates else None,
        "last": dates[-1] if dates else None,
    }


def compact(path: str | os.PathLike) -> tuple[int, int]:
    """Rewrite the store with one line per recording (the latest); (lines before, after)."""
    store = _existing(path)
    with store._lock(shared=False, wait=True):
        records = _quiet_records(store)
        before = store._lines
        _write(store.path, records.values())
    return before, len(records)


def merge(out: str | os.PathLike, sources: list[str | os.PathLike]) -> int:
    """Merge ``sources`` (and ``out`` if it exists) into ``out``; where two hold the same
    request, the most recently recorded wins. Returns the number of recordings."""
    target = Store(out)
    merged: dict[str, dict[str, Any]] = {}
    for source in ([target.path] if target.path.exists() else []) + [Path(s) for s in sources]:
        for key, rec in _quiet_records(_existing(source)).items():
            old = merged.get(key)
            if old is None or str(rec.get("recorded_at", "")) >= str(old.get("recorded_at", "")):
                merged[key] = rec
    with target._lock(shared=False, wait=True):
        _write(target.path, merged.values())
    return len(merged)


def prune(path: str | os.PathLike, keep: set[str]) -> tuple[int, int]:
    """Keep only the recordings whose keys are in ``keep``; (recordings before, after)."""
    store = _existing(path)
    with store._lock(shared=False, wait=True):
        records = _quiet_records(store)
        kept = [r for k, r in records.items() if k in keep]
        _write(store.path, kept)
    return len(records), len(kept)


def used_keys(notebook: str | os.PathLike, timeout: int = 600) -> set[str]:
    """The recordings a notebook uses: it runs offline in replay mode (nbclient), and every
    recording it replays is listed. A cell that fails is an error: nothing is pruned then."""
    import nbclient
    import nbformat

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
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


def _existing(path: str | os.PathLike) -> Store:
    store = Store(path)
    if not store.path.is_file():
        raise ConfigError(f"no replay store at {store.path}")
    return store


def _quiet_records(store: Store) -> dict[str, dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last line is dropped by the rewrite
        return store.records()


def _write(path: Path, records: Any) -> None:
    """Write ``records`` to a new file beside ``path``, then move it into place (atomic); the
    new file keeps the old one's permissions (mkstemp makes it private)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o777)
        with os.fdopen(fd, "wb") as f:
            for rec in records:
                f.write(encode(rec))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

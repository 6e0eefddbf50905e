"""A thread written out: Markdown (``.md``) or JSON (``.json``), atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError
from .state import SESSION


def export(thread: str, path: str | os.PathLike) -> Path:
    """Write a thread as Markdown (``.md``) or JSON (``.json``), atomically."""
    with SESSION._lock:
        if thread not in SESSION.threads:
            raise ConfigError(f"no thread {thread!r}", hint="See %chat threads.")
        entries = list(SESSION.threads[thread])
    path = Path(path).expanduser()
    if path.suffix.lower() == ".json":
        data = {
            "thread": thread,
            "turns": [{"messages": e.messages, "record": e.record} for e in entries],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif path.suffix.lower() in (".md", ".markdown"):
        parts = [f"# Thread `{thread}`\n"]
        for e in entries:
            for m in e.messages:
                parts.append(f"## {m.get('role', '?')}\n\n{m.get('content') or ''}\n")
        text = "\n".join(parts)
    else:
        raise ConfigError(f"cannot export to {path.name!r}", hint="Use a .md or .json path.")
    write_atomic(path, text)
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename: a failure never leaves half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None

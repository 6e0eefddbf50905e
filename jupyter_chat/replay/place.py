"""Whether a path can hold a replay store: checked when a mode is set, before anything is
sent, so a store that cannot be written never costs a paid answer that is then lost."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ..errors import ConfigError


def check_path(path: Path) -> None:
    """Refuse a store path that can never hold a store: under a file, a device or a folder in
    its place, a path the system will not let us look at."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise unusable(path, f"{_blocker(path)} is a file, not a folder") from None
    except OSError as exc:  # a loop of links, no permission to look
        raise unusable(path, _why(exc)) from None
    if st is None:
        folder = _existing_folder(path)
        if not folder.is_dir():
            raise unusable(path, f"{folder} is a file, not a folder")
    elif not stat.S_ISREG(st.st_mode):
        raise unusable(path, "not a regular file")


def check_writable(path: Path, probe: bool = True) -> None:
    """Refuse a store that could not be created and appended to: the permissions, then (with
    ``probe``) each step tried for real (root passes every permission check, and /proc or /sys
    refuse only when asked), then undone: nothing changes."""
    check_path(path)
    folder = _existing_folder(path)
    exists = path.exists()
    if exists and not os.access(path, os.W_OK):
        raise unusable(path, "the file is read-only")
    if not os.access(folder, os.W_OK | os.X_OK):  # the lock file is made there
        raise unusable(path, f"{folder} is not writable")
    if not probe:
        return
    lock = path.with_name(path.name + ".lock")
    try:
        if exists:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))  # opened, nothing written
    except OSError as exc:
        raise unusable(path, f"cannot append to it: {_why(exc)}") from None
    try:
        if lock.exists():
            os.close(os.open(lock, os.O_RDWR))
        else:  # the lock (and the store, and any missing folders) are made in this folder
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".jupyter-chat-probe-")
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise unusable(path, f"cannot create files in {folder}: {_why(exc)}") from None


def unusable(path: Path, why: str) -> ConfigError:
    """One line: the store, what is in the way, and what to do."""
    return ConfigError(
        f"cannot use {path} as the replay store ({why})",
        hint="Nothing was changed or sent. Give a path in a folder you can write, e.g. "
        "%chat replay record notebook.chat.jsonl.",
    )


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _existing_folder(path: Path) -> Path:
    """The nearest ancestor of ``path`` that exists (a file there blocks the store)."""
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _blocker(path: Path) -> Path | None:
    """The ancestor of ``path`` that is a file, not a folder, if one is."""
    for folder in reversed(path.parents):
        if os.path.lexists(folder) and not folder.is_dir():
            return folder
    return None

"""The link to the JupyterLab extension: a comm over which a streaming turn sends only new text.

Protocol v1. At ``%load_ext`` the kernel opens a comm with target ``jupyter_chat``; the
extension answers ``{"type": "hello"}`` (read once the cell has finished). The extension may
also open the comm itself when it connects to a running kernel (after a page reload). While a
frontend is present, a streamed turn shows one display whose structured part says
``status: "streaming"`` and a ``turn_id``, then sends ``{"type": "delta", "turn", "answer",
"reasoning"}`` messages carrying only the new text (and ``{"type": "tool_calls", ...}``), then
one final full update for the saved notebook. Without a frontend (classic notebook, VS Code,
nbclient) the renderer falls back to throttled display updates.
"""

from __future__ import annotations

import contextlib
from typing import Any

TARGET = "jupyter_chat"
VERSION = 1


class Frontend:
    def __init__(self) -> None:
        self.comm: Any = None
        self.present = False

    def attach(self, shell: Any) -> None:
        """Open the comm and accept the extension's own (no-op outside a kernel)."""
        kernel = getattr(shell, "kernel", None)
        if kernel is None:
            return
        with contextlib.suppress(Exception):
            from comm import create_comm, get_comm_manager

            get_comm_manager().register_target(TARGET, self._opened_by_frontend)
            self._use(create_comm(target_name=TARGET, data={"version": VERSION}))

    def _opened_by_frontend(self, comm: Any, msg: dict) -> None:
        self._use(comm)
        self.present = True

    def _use(self, comm: Any) -> None:
        self.comm = comm
        comm.on_msg(self._on_msg)
        comm.on_close(self._on_close)

    def _on_msg(self, msg: dict) -> None:
        data = msg.get("content", {}).get("data") or {}
        if data.get("type") == "hello":
            self.present = True

    def _on_close(self, msg: dict) -> None:
        self.present = False
        self.comm = None

    @property
    def ready(self) -> bool:
        return self.present and self.comm is not None

    def send(self, data: dict) -> None:
        if self.comm is not None:
            self.comm.send(data)


FRONTEND = Frontend()

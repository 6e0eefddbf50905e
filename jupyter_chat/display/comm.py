"""The comm to the JupyterLab extension, over which a streaming turn sends only new text.

Protocol v1, the usual way round: ``%load_ext`` registers the comm target ``jupyter_chat``
(no comm is opened, so executors without the extension see nothing); the extension opens a
comm when it connects to a kernel that has loaded jupyter_chat (again after a page reload, one
per window), saying ``{"type": "hello", "version": 1}``. While one is open, a streamed turn
shows one display whose structured part says ``status: "streaming"`` and a ``turn_id``, sends
``{"type": "delta", "turn", "answer", "reasoning"}`` messages carrying only the new text (and
``{"type": "tool_calls", ...}``), then one final full update for the saved notebook. In reply
to hello it sends ``{"type": "signers", "signers": {chain id: address}}``, the signer table its
config trusts, so the extension's badge never says more than this kernel would. Without
one (classic notebook, VS Code, nbclient) the display falls back to throttled updates.
"""

from __future__ import annotations

import contextlib
from typing import Any

TARGET = "jupyter_chat"
VERSION = 1


class Frontend:
    def __init__(self) -> None:
        self.comms: list[Any] = []  # one per window that has the extension

    def attach(self, shell: Any) -> None:
        """Register the comm target (no-op outside a kernel)."""
        if getattr(shell, "kernel", None) is None:
            return
        with contextlib.suppress(Exception):
            from comm import get_comm_manager

            get_comm_manager().register_target(TARGET, self._opened)

    def _opened(self, comm: Any, msg: dict) -> None:
        data = (msg.get("content") or {}).get("data") or {}
        if data.get("type") != "hello":
            comm.close()
            return
        self.comms.append(comm)
        comm.on_close(lambda _msg: self._closed(comm))
        signers = _signers()
        if signers is not None:
            with contextlib.suppress(Exception):
                comm.send({"type": "signers", "signers": signers})

    def _closed(self, comm: Any) -> None:
        with contextlib.suppress(ValueError):
            self.comms.remove(comm)

    @property
    def ready(self) -> bool:
        return bool(self.comms)

    def send(self, data: dict) -> None:
        for comm in list(self.comms):
            try:
                comm.send(data)
            except Exception:  # a window that went away
                self._closed(comm)


def _signers() -> dict[str, str] | None:
    """The signer table this kernel trusts (the package's, with the config's [signers]), for the
    extension's own checks; None when the config's table does not read."""
    from ..errors import ConfigError
    from ..providers.config import CONFIG

    try:
        return {str(k): v for k, v in CONFIG.signers().items()}
    except ConfigError:
        return None


FRONTEND = Frontend()

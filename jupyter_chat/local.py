"""``jupyter_chat.local``: the managed local server from Python (``start``, ``stop``,
``status``), as ``%chat local`` does in a cell. Importing it starts nothing."""

from __future__ import annotations

from .providers.local import start, status, stop

__all__ = ["start", "status", "stop"]

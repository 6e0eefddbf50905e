"""The hooks a profile may name, loaded on first use (hooks.py has the defaults)."""

from __future__ import annotations

from .hooks import Hooks

NAMES = ("plain", "signed", "server-tools", "managed")
_LOADED: dict[str, Hooks] = {}


def hooks(name: str) -> Hooks:
    """The hooks called ``name`` (their modules load on first use)."""
    if name not in _LOADED:
        if name == "signed":
            from .eigencloud import SignedHooks as cls
        elif name == "server-tools":
            from .adaptive import ServerToolsHooks as cls
        elif name == "managed":
            from .local import ManagedHooks as cls
        else:
            cls = Hooks
        _LOADED[name] = cls()
    return _LOADED[name]

"""The notebook's defaults as traitlets of ``ChatMagics``, so ``%config ChatMagics.seed = 7``
and ``c.ChatMagics.default_model = "..."`` in ``ipython_config.py`` work as for any IPython
extension. Setting one calls the function its ``%chat`` command calls (session/defaults.py),
and a ``%chat`` command updates the trait in turn, so ``%config ChatMagics`` shows what is in
force. ``ipython_config.py`` is read when the extension loads: a value it sets is the notebook's
until a cell changes it; a bad one is said in one line and left out (the extension loads)."""

from __future__ import annotations

import warnings
from typing import Any

from traitlets import Dict, Int, TraitError, Unicode, Union, validate
from traitlets.config import Configurable

from ..errors import ChatError
from ..session import defaults


class NotebookDefaults(Configurable):
    """The notebook's defaults; each is what its ``%chat`` command sets."""

    default_model = Unicode(
        None,
        allow_none=True,
        help="PROVIDER:MODEL (or PROVIDER) for cells that give no -m, as %chat use. None: "
        "JUPYTER_CHAT_MODEL, else default_model in the config file, else local.",
    ).tag(config=True)
    system = Unicode(
        None, allow_none=True, help="The notebook's system prompt, as %chat system. None: none."
    ).tag(config=True)
    seed = Int(
        0,
        allow_none=True,
        help="The notebook seed each cell's seed derives from, as %chat seed N. None: no "
        "derived seeds (as %chat seed off).",
    ).tag(config=True)
    default_params = Dict(
        help="Provider parameters every cell sends unless it gives its own, as %chat defaults "
        "KEY=VALUE (e.g. {'temperature': 0})."
    ).tag(config=True)
    window = Union(
        [Int(), Unicode()],
        default_value=None,
        allow_none=True,
        help="History a turn sends, as %chat window: N turns, 'Nt' tokens; None: all of it.",
    ).tag(config=True)
    replay_mode = Unicode(
        "off",
        help="Record and replay, as %chat replay MODE: off, record, replay, auto or check "
        "(JUPYTER_CHAT_REPLAY overrides it).",
    ).tag(config=True)
    replay_path = Unicode(
        None,
        allow_none=True,
        help="The replay store, as %chat replay MODE PATH. None: NOTEBOOK.chat.jsonl beside the "
        "notebook.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        self._loading = True  # ipython_config.py is applied now: check nothing slow, never fail
        self._mirroring = False
        try:
            super().__init__(**kwargs)
        finally:
            self._loading = False
        defaults.watch(self._mirror)
        for name, value in defaults.current().items():
            self._mirror(name, value)

    def _mirror(self, name: str, value: Any) -> None:
        """The session changed a default (a ``%chat`` command): show it, apply nothing."""
        if self._mirroring:
            return
        self._mirroring = True
        try:
            setattr(self, name, value)
        finally:
            self._mirroring = False

    def _apply(self, name: str, value: Any) -> Any:
        if self._mirroring:
            return value
        self._mirroring = True
        try:
            _SETTERS[name](self, value)
            return defaults.current()[name]  # as the session keeps it ("off" -> None, ...)
        except ChatError as exc:
            if self._loading:
                warnings.warn(f"ChatMagics.{name} left out: {exc}", stacklevel=2)
                return defaults.current()[name]
            raise TraitError(f"ChatMagics.{name}: {exc}") from None
        finally:
            self._mirroring = False

    @validate(*defaults.NAMES)
    def _set(self, proposal: Any) -> Any:
        return self._apply(proposal.trait.name, proposal.value)


def _replay_path(owner: NotebookDefaults, path: str | None) -> None:
    if path is not None or owner.replay_mode != "off":
        defaults.set_replay(owner.replay_mode, path, check=not owner._loading)


# each default and the function its %chat command calls
_SETTERS = {
    "default_model": lambda owner, v: defaults.set_model(v, check=not owner._loading),
    "system": lambda owner, v: defaults.set_system(v),
    "seed": lambda owner, v: defaults.set_seed(v),
    "default_params": lambda owner, v: defaults.set_params(v),
    "window": lambda owner, v: defaults.set_window(v),
    "replay_mode": lambda owner, v: defaults.set_replay(
        v, owner.replay_path, check=not owner._loading
    ),
    "replay_path": _replay_path,
}

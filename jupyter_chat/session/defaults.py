"""The notebook's defaults, set by one rule: ``%chat use``, ``system``, ``seed``, ``defaults``,
``window`` and ``replay``, ``%config ChatMagics.*`` (and ``ipython_config.py``) and
``jupyter_chat.set_replay`` all set them here, and whoever shows them (the magics' traitlets)
is told of each change.

The notebook's defaults are one layer of the resolution rule (resolve.py): whatever set one
last wins; a cell's own options win over them, and ``JUPYTER_CHAT_MODEL``, the config file and
the built-in values stand behind them. ``JUPYTER_CHAT_REPLAY`` still forces the replay mode.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .state import SESSION

# the names a front end shows the defaults under (the magics' traitlets)
NAMES = (
    "default_model",
    "system",
    "seed",
    "default_params",
    "window",
    "replay_mode",
    "replay_path",
)
_WATCHERS: list[Any] = []  # weak references to callbacks (name, value) -> None


def watch(callback: Callable[[str, Any], None]) -> None:
    """Call ``callback(name, value)`` after each change (held weakly: a bound method's object
    may go away)."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else weakref.ref(callback)
    _WATCHERS.append(ref)


def _changed(*names: str) -> None:
    now = current()
    for ref in list(_WATCHERS):
        callback = ref()
        if callback is None:
            _WATCHERS.remove(ref)
            continue
        for name in names:
            callback(name, now[name])


def current() -> dict[str, Any]:
    """Each default as set now (``window``: turns as a number, tokens as ``"Nt"``)."""
    store = SESSION.store
    window: int | str | None = SESSION.window_turns
    if SESSION.window_tokens is not None:
        window = f"{SESSION.window_tokens}t"
    return {
        "default_model": SESSION.model,
        "system": SESSION.system,
        "seed": SESSION.seed,
        "default_params": dict(SESSION.params),
        "window": window,
        "replay_mode": SESSION.replay_mode,
        "replay_path": str(store.path) if store is not None else None,
    }


def set_model(spec: str | None, check: bool = True) -> str | None:
    """The notebook's ``PROVIDER:MODEL`` (``%chat use``); None goes back to
    ``JUPYTER_CHAT_MODEL``, the config file, ``local``. ``check=False`` keeps it as given, to
    be checked when first used (the extension loading reads no provider profile)."""
    if spec is not None and not str(spec).strip():
        raise ConfigError("give PROVIDER:MODEL (or PROVIDER)")
    if spec is not None and check:
        from .resolve import resolve_model

        provider, model = resolve_model(spec)  # an unknown provider is refused here
        spec = f"{provider}:{model}" if model else provider
    SESSION.model = spec
    _changed("default_model")
    return spec


def set_system(text: str | None) -> None:
    """The notebook's system prompt (``%chat system``); None or ``""`` for none."""
    SESSION.system = text or None
    _changed("system")


def set_seed(seed: int | None) -> None:
    """The notebook seed cells derive theirs from (``%chat seed``); None: no derived seeds."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"the notebook seed is a whole number or None, not {seed!r}")
    SESSION.seed = seed
    _changed("seed")


def set_params(params: dict[str, Any], merge: bool = False) -> None:
    """The notebook's default parameters (``%chat defaults``): these, or added to those set."""
    from .resolve import check_param_names

    if not isinstance(params, dict):
        raise ConfigError(f"default parameters are a dict, not {type(params).__name__}")
    check_param_names(params)
    SESSION.params = {**SESSION.params, **params} if merge else dict(params)
    _changed("default_params")


def set_window(size: int | str | None) -> None:
    """How much history a turn sends (``%chat window``): N turns, ``"Nt"`` tokens, or None
    (``"off"``) for all of it."""
    v = str(size).strip().lower() if size is not None else "off"
    if isinstance(size, bool):
        v = ""
    if v == "off":
        turns = tokens = None
    elif v.endswith("t") and v[:-1].isdigit():
        turns, tokens = None, int(v[:-1])
    elif v.isdigit():
        turns, tokens = int(v), None
    else:
        raise ConfigError(f"expected N (turns), Nt (tokens) or off, not {v or size!r}")
    SESSION.window_turns, SESSION.window_tokens = turns, tokens
    _changed("window")


def set_replay(
    mode: str, path: str | os.PathLike | None = None, pace: bool = False, check: bool = True
) -> Any:
    """Record and replay (``%chat replay``, ``jupyter_chat.set_replay``): the store is checked
    before anything changes, unless ``check=False`` (the extension loading touches no file:
    the first turn checks it). Returns the store."""
    if check:
        store = SESSION.set_replay(mode, path, pace)
    else:
        from ..replay.store import MODES, Store, default_path

        if mode not in MODES:
            raise ConfigError(f"unknown replay mode {mode!r}", hint="Use " + ", ".join(MODES) + ".")
        store = Store(path) if path is not None else (SESSION.store or Store(default_path()))
        SESSION.replay_mode, SESSION.store, SESSION.pace = mode, store, pace
    _changed("replay_mode", "replay_path")
    return store

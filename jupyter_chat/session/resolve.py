"""The one resolution rule: what a front end was given, plus the notebook's defaults, gives the
thread, model, system prompt, parameters and seed of a request.

Every front end goes through ``resolve``: ``%%chat``, the panel, ``compare()``, ``%%chat
--compare``, ``chat()``, ``achat()`` and ``map()``. The rule, in full:

- model: the one given, else the notebook's (``%chat use``, the panel's picker), else
  ``JUPYTER_CHAT_MODEL``, else ``default_model`` in the config file, else ``local``;
- thread: the one given; cells and the panel continue the notebook's current thread when none
  is given, the Python API sends the prompt alone;
- system prompt: the one given (``""`` means none), else the notebook's (``%chat system``);
- parameters: the provider's defaults (``default_params``: ``local`` sends ``max_tokens``
  256), then the notebook's (``%chat defaults``), then those given, which win
  (``None`` sends none);
- seed: the one given, else one derived from the notebook seed and what was asked (a cell's
  text, a prompt), the same on every run and in every frontend; none when ``%chat seed off``.
  A provider without a seed parameter gets none, and the record says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, did_you_mean
from ..providers.config import CONFIG
from .state import SESSION, check_thread

# names the session sets itself, each with where a user sets it instead
RESERVED = {
    "model": "-m PROVIDER:MODEL, %chat use or model=",
    "messages": "the cell body or the prompt",
    "stream": "--no-stream or stream=",
    "thread": "-t NAME, %chat thread or thread=",
    "system": "-s TEXT, %chat system or system=",
    "seed": "--seed N, %chat seed N or seed=",
    "tools": "--tools F1,F2 or tools=",
    "images": "--image or images=",
    "key": "%chat key PROVIDER or jupyter_chat.set_key",
    "fresh": "--new",
    "dry_run": "--dry-run",
    "max_steps": "--max-steps or max_steps=",
    "confirm": "--confirm or confirm=",
    "schema": "--schema NAME or schema=",
    "repair": "--repair N or repair=",
    "samples": "--samples K or samples=",
    "pick": "--pick N or pick=",
}


def check_param_names(params: dict[str, Any]) -> None:
    """Refuse provider parameters that the session sets itself (checked where they are
    given: ``-p``, ``%chat defaults``, the panel, ``**params``)."""
    for name in params:
        if name in RESERVED:
            raise ConfigError(
                f"{name!r} is not a provider parameter here", hint=f"Set it with {RESERVED[name]}."
            )


@dataclass
class Ask:
    """What a front end was given for one request; ``None`` means not given."""

    model: str | None = None
    thread: str | None = None
    system: str | None = None  # "" means: no system prompt, whatever the notebook's
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed_from: str = ""  # what a derived seed comes from: a cell's text, the prompt
    current_thread: bool = False  # continue the notebook's current thread if none is given


@dataclass
class Resolved:
    provider: str
    model: str | None  # None: the provider's default model
    thread: str | None
    system: str | None
    params: dict[str, Any]
    notes: list[str]  # said in the record (a seed that was not sent)


def resolve(ask: Ask) -> Resolved:
    """Apply the rule (see the module's docstring); raises before anything is sent."""
    provider, model = resolve_model(ask.model or SESSION.model)
    thread = ask.thread or (SESSION.current if ask.current_thread else None)
    if thread is not None:
        check_thread(thread)
    system = SESSION.system if ask.system is None else (ask.system or None)
    check_param_names(ask.params)
    defaults = CONFIG.profile(provider)
    params = {**defaults.quirks.default_params(defaults), **SESSION.params, **ask.params}
    seed = ask.seed
    if seed is None and ask.seed_from:
        seed = SESSION.derive_seed(ask.seed_from)
    notes = []
    if seed is not None:
        if CONFIG.profile(provider).accepts("seed"):
            params["seed"] = seed
        else:
            notes.append(f"seed {seed} not sent: {provider} does not take a seed")
    return Resolved(provider, model, thread, system, params, notes)


def resolve_model(spec: str | None) -> tuple[str, str | None]:
    """``PROVIDER:MODEL``, ``PROVIDER`` or a bare ``MODEL`` on the default provider."""
    profiles = CONFIG.profiles()
    default = CONFIG.default_model()
    spec = spec or default
    head, sep, tail = spec.partition(":")
    if head in profiles:
        return head, (tail or None)
    if sep and "/" not in head and "@" not in head:
        raise ConfigError(
            f"unknown provider {head!r} in {spec!r}"
            + (f"; {hint}" if (hint := did_you_mean(head, profiles)) else ""),
            hint="Use PROVIDER:MODEL with one of: " + ", ".join(profiles) + ".",
        )
    provider = default.partition(":")[0]
    if provider not in profiles:
        raise ConfigError(f"unknown provider {provider!r} in the default model {default!r}")
    return provider, spec


def seed_source(prompt: Any) -> str:
    """What a prompt's derived seed comes from: its text (message lists as JSON)."""
    if isinstance(prompt, str):
        return "prompt:" + prompt
    import json

    return "prompt:" + json.dumps(prompt, sort_keys=True, ensure_ascii=False, default=str)


def answerable_models() -> list[str]:
    """``PROVIDER:MODEL`` for every provider that can answer now: a key present (or none
    needed) and a model to ask (its default); what a model picker offers."""
    return [
        f"{name}:{p.default_model}"
        for name, p in CONFIG.profiles().items()
        if p.default_model and CONFIG.usable(p)
    ]


def opening_model() -> str:
    """The model a chat UI opens on: the notebook's (``%chat use``, ``JUPYTER_CHAT_MODEL``,
    ``default_model`` in the config), else the first provider with a key and a default
    model, else the built-in default; never a provider without a model."""
    chosen = SESSION.model or os.environ.get("JUPYTER_CHAT_MODEL")
    chosen = chosen or CONFIG.default_model_setting()
    if chosen:
        provider, model = resolve_model(chosen)
        model = model or CONFIG.profile(provider).default_model
        if model:
            return f"{provider}:{model}"
    profiles = CONFIG.profiles()
    keyed = [m for m in answerable_models() if profiles[m.partition(":")[0]].key_required]
    return keyed[0] if keyed else CONFIG.default_model()

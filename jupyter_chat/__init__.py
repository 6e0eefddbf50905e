"""jupyter-chat: large language models as a reproducible, first-class part of a notebook.

Importing this package is cheap: httpx, pydantic and the provider profiles load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import (  # noqa: E402  (no third-party imports behind these)
    AuthenticationError,
    ChatConnectionError,
    ChatError,
    ChatTimeoutError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    StreamCutError,
)

if TYPE_CHECKING:
    from .api import Turn, achat, chat, map
    from .profiles import Profile
    from .widgets import compare, panel

_LAZY = {
    "chat": "api",
    "achat": "api",
    "map": "api",
    "Turn": "api",
    "Profile": "profiles",
    "panel": "widgets",
    "compare": "widgets",
}

__all__ = [
    "AuthenticationError",
    "ChatConnectionError",
    "ChatError",
    "ChatTimeoutError",
    "ConfigError",
    "InvalidRequestError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "StreamCutError",
    "Turn",
    "achat",
    "add_provider",
    "chat",
    "compare",
    "configure",
    "map",
    "models",
    "panel",
    "providers",
    "set_key",
    "set_replay",
]


def __getattr__(name: str) -> Any:
    if name in ("local",):  # submodules users call: jupyter_chat.local.start()
        import importlib

        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_chat' has no attribute {name!r}")


def configure(**settings: Any) -> Any:
    """Change client settings for this kernel: ``connect_timeout``, ``read_timeout``,
    ``write_timeout``, ``total_timeout`` (seconds, None for no limit), ``max_retries``,
    ``backoff_base``, ``backoff_cap``. Returns the settings in force."""
    from .config import CONFIG

    return CONFIG.configure(**settings)


def add_provider(
    name: str,
    base_url: str,
    *,
    path: str | None = None,
    auth_header: str | None = None,
    auth_scheme: str | None = None,
    key_env: str | None = None,
    headers: dict[str, str] | None = None,
    extends: str | None = None,
    default_model: str | None = None,
    **fields: Any,
) -> Profile:
    """Add an OpenAI-compatible endpoint under ``name`` (no Python beyond this call needed).

    ``extends`` names a built-in profile whose parameter rules to reuse (default ``openai``,
    which accepts any parameter). The key is read from ``key_env`` (default ``NAME_API_KEY``).
    """
    from .config import CONFIG

    return CONFIG.add_provider(
        name,
        base_url=base_url,
        path=path,
        auth_header=auth_header,
        auth_scheme=auth_scheme,
        key_env=key_env,
        headers=headers,
        extends=extends,
        default_model=default_model,
        **fields,
    )


def set_key(provider: str, key: str) -> None:
    """Set a provider's key for this kernel only; it is bound to the provider's host."""
    from .config import CONFIG

    CONFIG.set_key(provider, key)


def providers() -> dict[str, Profile]:
    """The known providers (built in, from the config file, and added at run time)."""
    from .config import CONFIG

    return dict(CONFIG.profiles())


def set_replay(mode: str, path: str | None = None, pace: bool = False) -> Any:
    """Record and replay for this kernel: ``off``, ``record``, ``replay``, ``auto`` or
    ``check``; ``path`` is the store (default: NOTEBOOK.chat.jsonl beside the notebook).
    Returns the store."""
    from .state import SESSION

    return SESSION.set_replay(mode, path, pace)


def models(provider: str) -> list[dict[str, Any]]:
    """What the provider's ``/models`` endpoint lists."""
    from .client import RUNTIME, list_models

    return RUNTIME.run(list_models(provider))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_chat``: registers ``%%chat`` and ``%chat``; nothing slow."""
    from .magics import register

    register(ipython)

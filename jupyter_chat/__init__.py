"""jupyter-chat: large language models as a reproducible, first-class part of a notebook.

Importing this package is cheap: httpx, pydantic and the provider profiles load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__
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
    from .batch.api import BatchInterrupted, imap, map
    from .batch.result import Batch
    from .experiment.result import Experiment
    from .experiment.run import ExperimentInterrupted, evaluate
    from .providers.config import Price
    from .providers.eigencloud import verify
    from .providers.profiles import Profile
    from .session.api import achat, chat
    from .session.budget import BudgetError
    from .session.samples import SamplesError
    from .session.tools import tool
    from .session.turn import Turn
    from .structured.schema import Schema, SchemaError
    from .widgets.compare import compare
    from .widgets.panel import panel

# public name -> the module it lives in, imported on first use (nothing heavy at import)
_LAZY = {
    "chat": "session.api",
    "achat": "session.api",
    "map": "batch.api",
    "imap": "batch.api",
    "Batch": "batch.result",
    "BatchInterrupted": "batch.api",
    "evaluate": "experiment.run",
    "Experiment": "experiment.result",
    "ExperimentInterrupted": "experiment.run",
    "Schema": "structured.schema",
    "SchemaError": "structured.schema",
    "SamplesError": "session.samples",
    "BudgetError": "session.budget",
    "Turn": "session.turn",
    "tool": "session.tools",
    "Profile": "providers.profiles",
    "verify": "providers.eigencloud",
    "panel": "widgets.panel",
    "compare": "widgets.compare",
}

__all__ = [
    "AuthenticationError",
    "Batch",
    "BatchInterrupted",
    "BudgetError",
    "ChatConnectionError",
    "ChatError",
    "ChatTimeoutError",
    "ConfigError",
    "Experiment",
    "ExperimentInterrupted",
    "InvalidRequestError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "SamplesError",
    "Schema",
    "SchemaError",
    "StreamCutError",
    "Turn",
    "achat",
    "add_provider",
    "chat",
    "compare",
    "configure",
    "evaluate",
    "imap",
    "load_ipython_extension",
    "local",
    "map",
    "models",
    "panel",
    "providers",
    "set_key",
    "set_price",
    "set_replay",
    "tool",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in ("local", "experiment"):  # jupyter_chat.local.start(); experiment's scorers
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
    from .providers.config import CONFIG

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
    from .providers.config import CONFIG

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
    from .providers.config import CONFIG

    CONFIG.set_key(provider, key)


def set_price(model: str, input: float, output: float, cached_input: float | None = None) -> Price:
    """Price ``PROVIDER:MODEL`` (or ``PROVIDER:*``) for this kernel, in USD per 1M input and
    output tokens (and cached input tokens where the provider reports them); like a
    ``[prices]`` entry in the config file, it gives every answer of that model a cost."""
    from .providers.config import CONFIG

    return CONFIG.set_price(model, {"input": input, "output": output, "cached_input": cached_input})


def providers() -> dict[str, Profile]:
    """The known providers (built in, from the config file, and added at run time)."""
    from .providers.config import CONFIG

    return dict(CONFIG.profiles())


def set_replay(mode: str, path: str | None = None, pace: bool = False) -> Any:
    """Record and replay for this kernel: ``off``, ``record``, ``replay``, ``auto`` or
    ``check``; ``path`` is the store (default: NOTEBOOK.chat.jsonl beside the notebook).
    Returns the store."""
    from .session.defaults import set_replay

    return set_replay(mode, path, pace)


def models(provider: str) -> list[dict[str, Any]]:
    """What the provider's ``/models`` endpoint lists."""
    from .client.models import list_models
    from .client.runtime import RUNTIME

    return RUNTIME.run(list_models(provider))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_chat``: registers ``%%chat`` and ``%chat``; nothing slow."""
    from .magics import register

    register(ipython)

"""A provider's ``/models`` listing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from .._version import __version__
from ..errors import ChatConnectionError, ConfigError
from ..providers.config import CONFIG
from .request import join_url, key_auth
from .runtime import RUNTIME
from .status import status_error


async def list_models(provider: str) -> list[dict[str, Any]]:
    """The provider's ``/models`` listing (OpenAI shape ``{"data": [...]}``)."""
    profile = CONFIG.profile(provider)
    if not profile.models_path:
        raise ConfigError(f"{provider} has no model listing endpoint")
    base = await profile.quirks.base_url(profile, profile.resolved_base_url())
    headers = {"User-Agent": f"jupyter-chat/{__version__}"}
    auth = key_auth(profile, base)
    s = CONFIG.settings
    try:
        resp = await RUNTIME.http().get(
            join_url(base, profile.models_path),
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
        )
    except httpx.TransportError as exc:
        raise ChatConnectionError(
            f"cannot reach {urlsplit(base).hostname}: {type(exc).__name__}", provider=provider
        ) from None
    if resp.status_code >= 300:
        raise status_error(provider, resp.status_code, resp.content, resp.headers)
    data = resp.json()
    items = data.get("data", data) if isinstance(data, dict) else data
    return [m if isinstance(m, dict) else {"id": str(m)} for m in items or []]

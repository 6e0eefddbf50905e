"""An HTTP error response as the matching ``ChatError`` (providers.md 5.7): the provider's own
message from every body shape, ``retryable``, and how long the provider asks to wait."""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._secrets import clip
from ..errors import (
    AuthenticationError,
    ChatError,
    ChatTimeoutError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    error_code,
    error_message,
)
from ..providers.config import CONFIG


def _retry_after(headers: httpx.Headers) -> float | None:
    """``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date), if 0..60 s."""
    value: float | None = None
    if "retry-after-ms" in headers:
        with contextlib.suppress(ValueError):
            value = float(headers["retry-after-ms"]) / 1000
    if value is None and "retry-after" in headers:
        raw = headers["retry-after"]
        try:
            value = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                value = when.timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                value = None
    if value is not None and 0 <= value <= 60:
        return value
    return None


def status_error(provider: str, status: int, content: bytes, headers: httpx.Headers) -> ChatError:
    """Turn an HTTP error response into the matching ``ChatError`` (``retryable`` set)."""
    text = content.decode("utf-8", "replace")
    try:
        obj: Any = json.loads(text)
    except ValueError:
        obj = None
    if obj is not None:
        message = error_message(obj)
    else:  # non-JSON: an HTML error page or plain text
        message = re.sub(r"<[^>]+>", " ", text)
        message = clip(" ".join(message.split()), 200)
    message = message or httpx.codes.get_reason_phrase(status) or "error"
    code = error_code(obj)
    retry_after = _retry_after(headers)
    profile = CONFIG.profiles().get(provider)
    key_var = profile.key_var if profile else "the key variable"
    kw: dict[str, Any] = dict(provider=provider, status=status, code=code, retry_after=retry_after)
    err: ChatError
    if status in (401, 403):
        err = AuthenticationError(
            message,
            hint=f"Check the key in {key_var} (or %chat key {provider}) and its permissions.",
            **kw,
        )
    elif status == 404:
        err = NotFoundError(message, **kw)
    elif status == 429 or status == 402:
        quota = status == 402 or (code or "") in (
            "insufficient_quota",
            "billing_hard_limit_reached",
        )
        err = RateLimitError(
            message,
            hint="Quota or credits exhausted: check the account's billing."
            if quota
            else "Rate limited: wait and retry, or lower the concurrency.",
            **kw,
        )
        err.retryable = not quota
    elif status == 408:
        err = ChatTimeoutError(message, hint="The server timed out; retry.", **kw)
    elif status >= 500:
        err = ProviderError(message, hint="The provider failed; retry later.", **kw)
    elif 300 <= status < 400:
        where = urlsplit(headers.get("location", "")).hostname or "another address"
        err = ConfigError(
            f"the server redirected to {where}; redirects are not followed so that the key "
            "stays with its host",
            hint="Point the base URL at the final address.",
            **kw,
        )
    else:
        err = InvalidRequestError(message, **kw)
    if status != 429:
        err.retryable = status in (408, 409) or status >= 500
    should = headers.get("x-should-retry")
    if should in ("true", "false"):
        err.retryable = should == "true"
    return err

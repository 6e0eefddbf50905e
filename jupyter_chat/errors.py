"""The one error hierarchy: short, key-free messages that say what to do.

Kept free of third-party imports so that ``import jupyter_chat`` stays cheap.
"""

from __future__ import annotations

import json
from typing import Any

MAX_MESSAGE = 1000  # characters of an error's message (and of its hint)


class ChatError(Exception):
    """Base of every error jupyter-chat raises on purpose.

    Attributes: ``provider``, ``status`` (HTTP status or None), ``code`` (the
    provider's error code, if any), ``hint`` (what to do), ``partial`` (the
    normalized result received before the failure, if any) and ``retry_after``
    (seconds, when the provider said); ``retryable`` tells the transport it may try again.
    """

    hint_default = ""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        partial: Any = None,
        retryable: bool = False,
    ) -> None:
        from ._secrets import clip
        from ._text import plain

        # redacted, then cut (a provider's 1 MB message stays short); no terminal escapes
        self.message = plain(clip(str(message), MAX_MESSAGE))
        self.provider = provider
        self.status = status
        self.code = code
        self.hint = plain(clip(hint if hint is not None else self.hint_default, MAX_MESSAGE))
        self.retry_after = retry_after
        self.partial = partial
        self.retryable = retryable  # may the transport try again (nothing was shown yet)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = f"{self.provider}: " if self.provider else ""
        status = f" (HTTP {self.status})" if self.status else ""
        text = f"{head}{self.message.rstrip()}{status}"
        if not text.endswith((".", "!", "?")):
            text += "."
        return f"{text} {self.hint}" if self.hint else text

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback through our internals: the cell fails
        with one short line."""
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]

    def __reduce__(self):  # keep errors picklable (multiprocessing, nbclient)
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls, state):
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err.__str__())
    return err


class ConfigError(ChatError, ValueError):
    """Bad configuration or user input found before anything was sent."""


class InvalidRequestError(ChatError, ValueError):
    """A request parameter is invalid (checked locally, or refused with 400/409/422)."""

    hint_default = "Check the parameters against the provider's documentation."


class AuthenticationError(ChatError):
    """Missing, wrong or unauthorised key (401/403)."""


class NotFoundError(ChatError):
    """Unknown model, project or path (404)."""

    hint_default = "Check the model id and the base URL."


class RateLimitError(ChatError):
    """429 after the retries ran out, or quota exhausted."""

    hint_default = "Wait and retry, or lower the concurrency."


class ProviderError(ChatError):
    """The provider failed: 5xx, an error event mid-stream, or a malformed response."""


class ChatConnectionError(ChatError):
    """The host could not be reached, or the connection broke."""

    hint_default = "Check the base URL and that the server is running."


class ChatTimeoutError(ChatError):
    """Connect, read or total timeout."""

    hint_default = "Retry, or raise the limit with jupyter_chat.configure(read_timeout=..., total_timeout=...)."


class StreamCutError(ChatError):
    """The stream ended before ``[DONE]`` or a finish reason; ``partial`` holds what arrived."""

    hint_default = "The answer is incomplete; re-run the cell."


# -- error bodies (providers.md 5.7) -----------------------------------------------------------
def error_message(obj: Any) -> str:
    """The provider's own message from any of the error body shapes we know."""
    if isinstance(obj, str):
        return obj.strip()
    if not isinstance(obj, dict):
        return ""
    err = obj.get("error")
    if isinstance(err, dict):
        msg = err.get("message")
        if isinstance(msg, (dict, list)):
            msg = json.dumps(msg)[:2000]
        return str(msg or err.get("type") or err.get("code") or "").strip()
    if isinstance(err, str):
        return err.strip()
    detail = obj.get("detail")
    if isinstance(detail, list):  # FastAPI validation errors
        parts = []
        for d in detail[:3]:
            if isinstance(d, dict):
                loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
            else:
                parts.append(str(d))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("error") or json.dumps(detail)[:2000])
    for key in ("detail", "details", "message"):
        if isinstance(obj.get(key), str):
            return obj[key].strip()
    return ""


def error_code(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
        code = obj["error"].get("code") or obj["error"].get("type")
        return str(code) if code is not None else None
    return None


def calm_interrupt(message: str) -> KeyboardInterrupt:
    """A ``KeyboardInterrupt`` that IPython shows as one line, not a traceback through our
    internals; the cell still fails as interrupted (``ename`` KeyboardInterrupt, Run All stops)."""
    exc = KeyboardInterrupt(message)
    exc._render_traceback_ = lambda: [f"\x1b[31m{message}\x1b[0m"]  # type: ignore[attr-defined]
    return exc


def did_you_mean(word: str, choices: Any) -> str:
    """``"did you mean --temperature?"`` for the nearest of ``choices`` (difflib), or ``""``."""
    import difflib

    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {near[0]}?" if near else ""

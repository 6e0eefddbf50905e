"""Request building: a checked, shaped request (the profile shapes it), its body encoded before
anything is sent, the key added by an ``httpx.Auth`` hook as it goes out."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .._secrets import Secret, clip, public_url
from .._version import __version__
from ..errors import AuthenticationError, ChatError, ConfigError, InvalidRequestError
from ..providers.config import CONFIG
from ..providers.profiles import Profile


class KeyAuth(httpx.Auth):
    """Adds the key's header as the request goes out, so no dict of ours holds the key: a
    frame that shows a request's headers shows no key."""

    def __init__(self, header: str, scheme: str, secret: Secret) -> None:
        self.header, self.scheme, self.secret = header, scheme, secret

    def auth_flow(self, request: httpx.Request) -> Any:
        value = self.secret.reveal()
        request.headers[self.header] = f"{self.scheme} {value}" if self.scheme else value
        yield request

    def __repr__(self) -> str:
        return f"KeyAuth({self.header!r}, ***)"


@dataclass(repr=False)
class Request:
    """A request ready to send. The key is in ``auth`` (a ``KeyAuth``), never in ``headers``;
    ``content`` is the body as sent (checked to be JSON at build time)."""

    provider: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    stream: bool
    auth: KeyAuth | None = None
    chain_id: int | None = None
    profile: Profile | None = None
    content: bytes = b""
    unsendable: ChatError | None = None  # why it cannot be sent (no key, no base URL)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def public(self) -> dict[str, Any]:
        """What may be shown or recorded: the key masked, credentials in the URL masked."""
        headers = dict(self.headers)
        if self.auth is not None:
            headers[self.auth.header] = "***"
        url = self.profile.quirks.shown_url(self.url) if self.profile else self.url
        return {
            "provider": self.provider,
            "url": public_url(url),
            "headers": headers,
            "body": self.body,
        }

    def __repr__(self) -> str:
        return f"Request({self.provider!r}, {public_url(self.url)!r}, stream={self.stream})"


def encode_body(provider: str, body: dict[str, Any]) -> bytes:
    """The body as JSON bytes, or an ``InvalidRequestError`` before anything is sent: NaN and
    infinities, values JSON has no form for, and text that is not valid Unicode."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as exc:  # NaN, Infinity (and circular references)
        why = "NaN and infinities are not JSON" if "Out of range" in str(exc) else str(exc)
    except TypeError as exc:
        why = clip(str(exc), 200)
    except UnicodeEncodeError:
        why = "a message holds text that is not valid Unicode (a lone surrogate)"
    raise InvalidRequestError(f"the request cannot be sent as JSON: {why}", provider=provider)


def join_url(base: str, path: str) -> str:
    """``base`` + ``path``, keeping a query string of the base URL at the end."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


def build_request(
    provider: str,
    model: str | None,
    messages: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    stream: bool = False,
    need_key: bool = True,
) -> Request:
    """Check everything and shape the request; raises before anything is sent. Without
    ``need_key`` (a dry run, a replay) a missing key or base URL is kept on the request as
    ``unsendable``: shown by a dry run, raised if the request is ever sent."""
    profile = CONFIG.profile(provider)
    params = dict(params or {})
    if params.get("n") is not None and not profile.accepts("n"):
        raise InvalidRequestError(
            f"does not document n={params['n']!r} (several answers to one request)",
            provider=provider,
            hint="Ask several times with different seeds instead: [jupyter_chat.chat(prompt, "
            "seed=s) for s in range(3)], or %%chat --seed N in each cell.",
        )
    params = profile.check_params(params)
    if model is None:
        model = profile.default_model
    if model is None:
        raise ConfigError(
            f"no model given for {provider}",
            hint=f"Use -m {provider}:MODEL or set default_model for it.",
        )
    profile.check_model(model)
    if not messages:
        raise InvalidRequestError("no messages to send", provider=provider)
    unsendable: ChatError | None = None
    try:
        base = profile.resolved_base_url()
    except ConfigError as exc:
        if need_key:
            raise
        unsendable = exc
        base = "${" + profile.url_var + "}"  # a dry run shows where the URL would come from
    if profile.null_content_as_empty:
        messages = [m if m.get("content") is not None else {**m, "content": ""} for m in messages]
    body: dict[str, Any] = {"model": model, "messages": messages, **params}
    if stream:
        body["stream"] = True
        if profile.stream_usage and profile.accepts("stream_options"):
            body["stream_options"] = {"include_usage": True, **params.get("stream_options", {})}
    headers = {"Content-Type": "application/json", "User-Agent": f"jupyter-chat/{__version__}"}
    if stream:
        headers["Accept"] = "text/event-stream"
    headers.update(profile.headers)
    for name, var in profile.header_env.items():
        if os.environ.get(var):
            headers[name] = os.environ[var]
    auth = None
    try:
        auth = key_auth(profile, base)
    except AuthenticationError as exc:
        if need_key:
            raise
        unsendable = unsendable or exc
        headers[profile.auth_header] = f"(no key set: {profile.key_var})"  # never sent

    return Request(
        provider,
        join_url(base, profile.path),
        headers,
        body,
        stream,
        auth,
        profile.chain_id,
        profile=profile,
        content=encode_body(provider, body),
        unsendable=unsendable,
    )


def key_auth(profile: Profile, base: str) -> KeyAuth | None:
    """The key's auth (bound to ``base``'s origin), or None where none is needed."""
    secret = CONFIG.key_for(profile, base)
    if secret is None:
        return None
    return KeyAuth(profile.auth_header, profile.auth_scheme, secret)

"""Provider profiles: data, not code (providers.md sections 2 and 6).

A profile says where a provider lives, how it authenticates, which parameters it accepts and
how they are checked, so that a bad request fails here, before anything is sent. Users add
their own profiles in the config file or with ``jupyter_chat.add_provider`` without Python.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._secrets import public_url, register, url_secrets
from ..errors import ConfigError, InvalidRequestError
from .hooks import MANAGED_BASE

# Types and ranges checked for every provider that accepts the parameter.
_INT, _NUM = (int,), (int, float)
_CHECKS: dict[str, tuple[tuple[type, ...], float | None, float | None]] = {
    "temperature": (_NUM, 0, 2),
    "top_p": (_NUM, 0, 1),
    "max_tokens": (_INT, 1, None),
    "max_completion_tokens": (_INT, 1, None),
    "n": (_INT, 1, 128),
    "seed": (_INT, None, None),
    "presence_penalty": (_NUM, -2, 2),
    "frequency_penalty": (_NUM, -2, 2),
    "top_logprobs": (_INT, 0, 20),
    "top_k": (_INT, 0, None),
    "min_p": (_NUM, 0, 1),
    "repetition_penalty": (_NUM, 0, None),
    "max_ttft_ms": (_INT, 0, None),
}

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class Profile(BaseModel):
    """How to talk to one provider. Every field can be set from the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    title: str = ""
    base_url: str | None = None  # ends before /chat/completions (the openai SDK's convention)
    path: str = "/chat/completions"
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"  # "" sends the bare key
    key_env: str | None = None  # default: NAME_API_KEY
    base_url_env: str | None = None  # default: NAME_BASE_URL
    key_required: bool = True
    headers: dict[str, str] = {}  # static extra headers (never secrets: they show in --dry-run)
    header_env: dict[str, str] = {}  # header name -> environment variable holding its value
    params: frozenset[str] | None = None  # accepted parameters; None accepts any
    extra_params: frozenset[str] = frozenset()  # added to ``params`` (config convenience)
    clamp_min: dict[str, float] = {}  # raised silently to this minimum (D: temperature)
    list_params: frozenset[str] = frozenset()  # a bare string is sent as [string]
    max_items: dict[str, int] = {}
    uuid_params: frozenset[str] = frozenset()
    model_pattern: str | None = None
    model_hint: str = ""
    default_model: str | None = None
    # parameters sent unless given (local: max_tokens 256, so no cell runs unbounded)
    default_params: dict[str, Any] = {}
    stream_usage: bool = True  # ask for usage in streams (stream_options.include_usage)
    # the server is known to send no usage in streams (llama-cpp-python): no note says so
    silent_stream_usage: bool = False
    chain_id: int | None = None  # EigenCloud: part of the signed message
    models_path: str | None = "/models"
    hooks: str = "plain"  # behaviour beyond data (hooks.py): plain, signed, server-tools, managed
    vision: bool = True  # accepts image parts
    # gives token log-probabilities when asked; None: when it accepts the logprobs parameter
    logprobs: bool | None = None
    data_url_images: bool = False  # images only as data: URLs (Adaptive)
    null_content_as_empty: bool = False  # llama-cpp-python answers 500 to content: null
    # structured answers: response_format json_schema (OpenAI), json_object with a schema
    # (llama.cpp servers: a grammar), or the schema asked for in words (no response_format)
    structured: Literal["json_schema", "json_object", "instruction"] = "json_schema"
    cost_field: str | None = None  # a top-level response field with the cost in USD (Eden AI)
    # USD per 1M tokens when [prices] names none for the model: {"input", "output"} (local: 0)
    price: dict[str, float] | None = None
    # limits for every request to this provider from the kernel (batches, comparisons, cells)
    rpm: int | None = Field(default=None, ge=1)  # requests started per minute
    tpm: int | None = Field(default=None, ge=1)  # tokens per minute (estimated, then counted)
    concurrency: int | None = Field(default=None, ge=1)  # requests at once

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {public_url(v)!r}")
        return urlunsplit(parts._replace(path=parts.path.rstrip("/")))

    @field_validator("hooks")
    @classmethod
    def _hooks(cls, v: str) -> str:
        from .registry import NAMES

        if v not in NAMES:
            raise ValueError(f"hooks must be one of {', '.join(NAMES)}, not {v!r}")
        return v

    @property
    def quirks(self) -> Any:
        """This provider's hooks (providers/hooks.py)."""
        from .registry import hooks

        return hooks(self.hooks)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        return v if v.startswith("/") else "/" + v

    @property
    def env_prefix(self) -> str:
        return re.sub(r"[^A-Z0-9]", "_", self.name.upper())

    @property
    def key_var(self) -> str:
        return self.key_env or f"{self.env_prefix}_API_KEY"

    @property
    def url_var(self) -> str:
        return self.base_url_env or f"{self.env_prefix}_BASE_URL"

    def resolved_base_url(self) -> str:
        url = os.environ.get(self.url_var) or self.base_url
        if not url and self.hooks == "managed":
            return MANAGED_BASE  # the kernel's own server, started when a request is sent
        if not url:
            raise ConfigError(
                f"no base URL for provider {self.name!r}",
                hint=f"Set {self.url_var} (for example http://127.0.0.1:8000/v1) "
                f"or add base_url to [providers.{self.name}] in the config file.",
            )
        try:
            url = Profile._url(url)  # type: ignore[assignment]
        except ValueError as exc:
            raise ConfigError(f"{self.url_var}: {public_url(str(url))}: {exc}") from None
        for secret in url_secrets(url):  # credentials in the URL are redacted like keys
            register(secret)
        return url

    def accepts(self, param: str) -> bool:
        if param == "logprobs" and self.logprobs is not None:
            return self.logprobs
        return self.params is None or param in self.params or param in self.extra_params

    @property
    def gives_logprobs(self) -> bool:
        """Whether answers come with token log-probabilities when asked (``logprobs``)."""
        return self.accepts("logprobs")

    # -- request checks (before anything is sent) ---------------------------------------
    def check_model(self, model: str) -> str:
        if self.model_pattern and not re.fullmatch(self.model_pattern, model):
            raise InvalidRequestError(
                f"model {model!r} is not a valid model id",
                provider=self.name,
                hint=self.model_hint,
            )
        return model

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate, clamp and normalise parameters; raise ``InvalidRequestError`` on the first
        bad one, naming it."""
        out: dict[str, Any] = {}
        for key, value in params.items():
            if value is None:
                continue
            if not self.accepts(key):
                raise InvalidRequestError(
                    f"does not accept the parameter {key!r}",
                    provider=self.name,
                    hint="It accepts: " + ", ".join(sorted(self.params | self.extra_params)) + "."
                    if self.params is not None
                    else "",
                )
            out[key] = self._check_value(key, value)
        return out

    def _check_value(self, key: str, value: Any) -> Any:
        def bad(why: str) -> InvalidRequestError:
            return InvalidRequestError(f"{key}={value!r}: {why}", provider=self.name, hint="")

        check = _CHECKS.get(key)
        if check:
            types, lo, hi = check
            if isinstance(value, bool) or not isinstance(value, types):
                raise bad("expected " + ("an integer" if types == _INT else "a number"))
            if isinstance(value, float) and not math.isfinite(value):
                raise bad("expected a finite number")
            if types == _NUM:  # 0 and 0.0 are one request (one hash): --temperature 0 = 0
                value = float(value)
            if key in self.clamp_min and value < self.clamp_min[key]:
                value = self.clamp_min[key]
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
                raise bad(f"must be in {rng}")
        if key in self.list_params and isinstance(value, str):
            value = [value]
        if key in self.max_items:
            if not isinstance(value, list):
                raise bad("expected a list")
            if len(value) > self.max_items[key]:
                raise bad(f"at most {self.max_items[key]} items")
        if key in self.uuid_params:
            try:
                uuid.UUID(str(value))
            except ValueError:
                raise bad("must be a UUID") from None
            value = str(value)
        return value

    def host(self) -> str:
        return urlsplit(self.resolved_base_url()).hostname or ""


def make_profile(name: str, **fields: Any) -> Profile:
    """Build a profile, turning pydantic's report into one short ``ConfigError``."""
    try:
        return Profile(name=name, **fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "profile"
        raise ConfigError(f"provider {name!r}: {where}: {first['msg']}") from None

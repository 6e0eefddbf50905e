"""Configuration: the config file, user-added providers, keys and client settings.

The config file is TOML, at ``$JUPYTER_CHAT_CONFIG`` or ``~/.config/jupyter-chat/config.toml``::

    default_model = "eigencloud:gpt-oss-120b-f16"

    [client]
    connect_timeout = 10
    read_timeout = 120
    total_timeout = 600
    max_retries = 2

    [providers.myvllm]            # a new endpoint: no Python needed
    base_url = "http://127.0.0.1:8000/v1"
    key_env = "MYVLLM_API_KEY"

    [providers.patgateway]        # or override fields of a built-in provider
    base_url = "https://gateway.example.com/api/v1"
    auth_header = "X-PAT"

    [prices]                      # USD per 1M tokens: a cost in every record
    "edenai:openai/gpt-4o" = { input = 2.5, output = 10, cached_input = 1.25 }
    "local:*" = { input = 0, output = 0 }

    [keys]                        # only honoured when the file is outside the notebook's folder
    edenai = "..."
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._secrets import Secret
from ..errors import AuthenticationError, ConfigError
from .profiles import BUILTIN, Profile, make_profile


@dataclass
class ClientSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # between two chunks: reasoning models can pause long
    write_timeout: float = 30.0
    total_timeout: float | None = 600.0
    max_retries: int = 2
    backoff_base: float = 0.5  # providers.md 5.7: 0.5 s * 2**n, capped, ~25% jitter
    backoff_cap: float = 8.0


_FIELDS = set(ClientSettings.__dataclass_fields__)


def config_path() -> Path:
    if os.environ.get("JUPYTER_CHAT_CONFIG"):
        return Path(os.environ["JUPYTER_CHAT_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "jupyter-chat" / "config.toml"


class Config:
    """Everything configurable, read lazily from the file and the environment."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._file_stamp: tuple | None = None
        self._where: tuple | None = None  # what config_path() was worked out from
        self._path = ""
        self._file: dict[str, Any] = {}
        self.settings = ClientSettings()
        self._runtime_settings: dict[str, Any] = {}
        self._added: dict[str, dict[str, Any]] = {}  # add_provider() at run time
        self._keys: dict[str, Secret] = {}  # set_key() at run time
        self._profiles: dict[str, Profile] | None = None
        self._prices: dict[str, Price] = {}  # set_price() at run time

    # -- the file ------------------------------------------------------------------------
    def _load_file(self) -> dict[str, Any]:
        """The file's contents, read again only when it changed (one stat per call: every
        request asks several times, so the path is worked out only when the environment
        that names it changes)."""
        where = (os.environ.get("JUPYTER_CHAT_CONFIG"), os.environ.get("XDG_CONFIG_HOME"))
        if where != self._where:
            self._where, self._path = where, str(config_path())
        try:
            st = os.stat(self._path)
            stamp = (self._path, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (self._path, None, None)
        if stamp == self._file_stamp:
            return self._file
        path = Path(self._path)
        data: dict[str, Any] = {}
        if stamp[1] is not None:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read the config file {path}: {exc}") from None
            known = {"default_model", "client", "providers", "keys", "signers", "prices"}
            unknown = set(data) - known
            if unknown:
                raise ConfigError(f"{path}: unknown section or key {sorted(unknown)[0]!r}")
            if "keys" in data and _inside(path, Path.cwd()):
                raise ConfigError(
                    f"{path} holds keys but lies inside the notebook's folder, where it may be "
                    "shared or committed",
                    hint="Move it to ~/.config/jupyter-chat/config.toml or use environment "
                    "variables.",
                )
        self._file, self._file_stamp, self._profiles = data, stamp, None
        self._apply_settings()
        return data

    def _apply_settings(self) -> None:
        merged = {**self._file.get("client", {}), **self._runtime_settings}
        unknown = set(merged) - _FIELDS
        if unknown:
            raise ConfigError(
                f"unknown client setting {sorted(unknown)[0]!r}",
                hint="Known: " + ", ".join(sorted(_FIELDS)) + ".",
            )
        s = ClientSettings()
        for k, v in merged.items():
            default = getattr(s, k)
            ok = (
                v is None
                if k == "total_timeout" and v is None
                else (isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0)
            )
            if not ok:
                raise ConfigError(f"client setting {k}={v!r}: expected a number >= 0")
            setattr(s, k, type(default)(v) if default is not None and v is not None else v)
        self.settings = s

    def refresh(self) -> None:
        with self._lock:
            self._load_file()

    # -- settings at run time -------------------------------------------------------------
    def configure(self, **settings: Any) -> ClientSettings:
        with self._lock:
            old = dict(self._runtime_settings)
            self._runtime_settings.update(settings)
            try:
                self._load_file()
                self._apply_settings()
            except ConfigError:
                self._runtime_settings = old  # nothing changed on bad input
                raise
            return self.settings

    # -- providers ------------------------------------------------------------------------
    def profiles(self) -> dict[str, Profile]:
        with self._lock:
            data = self._load_file()
            if self._profiles is None:
                sections = data.get("providers", {})
                if not isinstance(sections, dict):
                    raise ConfigError("[providers] must be a table")
                profiles: dict[str, Profile] = {}
                for name in BUILTIN:
                    profiles[name] = _derive(name, _section(sections, name))
                for name, fields in {**sections, **self._added}.items():
                    profiles[name] = _derive(name, _section({name: fields}, name))
                self._profiles = profiles
            return self._profiles

    def profile(self, name: str) -> Profile:
        profiles = self.profiles()
        if name not in profiles:
            raise ConfigError(
                f"unknown provider {name!r}",
                hint="Known: " + ", ".join(profiles) + ". Add one with "
                "jupyter_chat.add_provider(...) or [providers.NAME] in the config file.",
            )
        return profiles[name]

    def add_provider(self, name: str, **fields: Any) -> Profile:
        """Add (or replace) a provider at run time; validated before anything changes."""
        with self._lock:
            fields = {k: v for k, v in fields.items() if v is not None}
            profile = _derive(name, fields)
            self._added[name] = fields
            self._profiles = None
            return profile

    # -- prices ---------------------------------------------------------------------------
    def set_price(self, model: str, price: dict[str, Any]) -> Price:
        """Set the price of ``PROVIDER:MODEL`` (or ``PROVIDER:*``) for this kernel."""
        p = make_price(model, price)
        self._prices[model] = p
        return p

    def price(self, provider: str, *models: str | None) -> Price | None:
        """The price of the first of ``models`` that has one, else the provider's ``*``."""
        table = self._load_file().get("prices", {})
        if not isinstance(table, dict):
            raise ConfigError("[prices] must be a table of PROVIDER:MODEL = { input, output }")
        names = [f"{provider}:{m}" for m in models if m] + [f"{provider}:*"]
        for name in names:
            if name in self._prices:
                return self._prices[name]
            if name in table:
                return make_price(name, table[name])
        return None

    def known_models(self, provider: str) -> list[str]:
        """The models of ``provider`` this configuration names (its default model, the
        default ``PROVIDER:MODEL``, [prices]), read without a network call."""
        table = self._load_file().get("prices", {})
        names = [*self._prices, *(table if isinstance(table, dict) else ())]
        names.append(self.default_model_setting() or "")
        found = [self.profile(provider).default_model or ""]
        found += [n.partition(":")[2] for n in names if n.startswith(provider + ":")]
        return [m for m in dict.fromkeys(found) if m and m != "*"]

    # -- keys -----------------------------------------------------------------------------
    def set_key(self, provider: str, key: str) -> None:
        """Set a key for this kernel only, bound to the provider's current host."""
        if not isinstance(key, str) or not key.strip():
            raise ConfigError("the key is empty")
        p = self.profile(provider)
        self._keys[provider] = Secret(key, origin(p.resolved_base_url()), "set at run time")

    def key_for(self, profile: Profile, base_url: str) -> Secret | None:
        host = origin(base_url)
        secret = self._keys.get(profile.name)
        if secret is None and os.environ.get(profile.key_var, "").strip():
            secret = Secret(os.environ[profile.key_var], host, profile.key_var)
        if secret is None:
            value = self._load_file().get("keys", {}).get(profile.name)
            if value:
                secret = Secret(str(value), host, "the config file")
        if secret is None:
            if profile.key_required:
                raise AuthenticationError(
                    "no API key set",
                    provider=profile.name,
                    hint=f"Set the environment variable {profile.key_var} before starting "
                    f"Jupyter, or run %chat key {profile.name} (a hidden prompt).",
                )
            return None
        if secret.host and secret.host != host:
            raise AuthenticationError(
                f"the key for {profile.name} was set for {secret.host}, not {host}; "
                "it is not sent to another host (or port)",
                provider=profile.name,
                hint=f"Set the key again with %chat key {profile.name}.",
            )
        return secret

    def usable(self, profile: Profile) -> bool:
        """Whether requests to ``profile`` can be sent now: its base URL is known and a key is
        there for that host (from any source), or none is needed."""
        try:
            self.key_for(profile, profile.resolved_base_url())
        except (AuthenticationError, ConfigError):
            return False
        return True

    def signers(self) -> dict[int, str]:
        """EigenCloud signer addresses by chain id; ``[signers]`` in the config file updates
        them (``"1" = "0x..."``) when the operator key changes."""
        from .eigencloud import DEFAULT_SIGNERS

        table = self._load_file().get("signers", {})
        try:
            updated = {int(k): str(v) for k, v in table.items()}
        except (AttributeError, ValueError):
            raise ConfigError('[signers] maps chain ids to addresses: "1" = "0x..."') from None
        return {**DEFAULT_SIGNERS, **updated}

    def default_model(self) -> str:
        return os.environ.get("JUPYTER_CHAT_MODEL") or self.default_model_setting() or "local"

    def default_model_setting(self) -> str | None:
        """``default_model`` in the config file, if it sets one."""
        return self._load_file().get("default_model") or None


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None


def make_price(name: str, fields: Any) -> Price:
    where = f"the price of {name!r}"
    if not isinstance(name, str) or ":" not in name:
        raise ConfigError(f"{where}: name it PROVIDER:MODEL (or PROVIDER:*)")
    if not isinstance(fields, dict) or not {"input", "output"} <= set(fields):
        raise ConfigError(f"{where}: give input and output, USD per 1M tokens")
    unknown = set(fields) - {"input", "output", "cached_input"}
    if unknown:
        raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    for k, v in fields.items():
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf")
        ):
            raise ConfigError(f"{where}: {k}={v!r}: expected a number >= 0 (USD per 1M tokens)")
    return Price(
        float(fields["input"]),
        float(fields["output"]),
        None if fields.get("cached_input") is None else float(fields["cached_input"]),
    )


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (the default port spelled out): what a key is bound to."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _section(sections: dict, name: str) -> dict:
    s = sections.get(name, {})
    if not isinstance(s, dict):
        raise ConfigError(f"[providers.{name}] must be a table")
    return s


def _derive(name: str, fields: dict[str, Any]) -> Profile:
    """A user profile. A built-in's name overrides fields of that built-in; a new name starts
    from the parameter rules of ``extends`` (default: openai, which accepts any parameter)."""
    fields = dict(fields)
    base = fields.pop("extends", None) or (name if name in BUILTIN else "openai")
    if base not in BUILTIN:
        raise ConfigError(
            f"provider {name!r}: extends={base!r} is not a built-in provider",
            hint="Built in: " + ", ".join(BUILTIN) + ".",
        )
    start = dict(BUILTIN[base])
    if base != name:  # a new endpoint: keep the rules, not the identity
        for k in ("title", "base_url"):
            start.pop(k, None)
    return make_profile(name, **{**start, **fields})


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


CONFIG = Config()

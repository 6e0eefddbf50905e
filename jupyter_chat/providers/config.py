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
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._secrets import Secret
from ..errors import AuthenticationError, ConfigError
from .builtin import BUILTIN
from .mcpserver import EXAMPLE as MCP_EXAMPLE
from .mcpserver import McpServer, make_server
from .profiles import Profile, make_profile
from .values import (
    SECTIONS,
    ClientSettings,
    Price,
    brief,
    client_settings,
    make_price,
    naming,
    parse_signers,
)


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
            known = {"default_model", "client", "providers", "keys", "signers", "prices", "mcp"}
            unknown = set(data) - known
            if unknown:
                raise ConfigError(
                    f"{path}: unknown section or key {sorted(unknown)[0]!r}",
                    hint="Known: " + ", ".join(sorted(known)) + ". Fix or remove it there.",
                )
            headers = any(isinstance(t, dict) and t.get("headers") for t in _tables(data, "mcp"))
            if ("keys" in data or headers) and _inside(path, Path.cwd()):
                raise ConfigError(
                    f"{path} holds keys (or MCP headers) but lies inside the notebook's folder, where it may be "
                    "shared or committed",
                    hint="Move it to ~/.config/jupyter-chat/config.toml or use environment "
                    "variables.",
                )
            with naming(path):  # every value checked now: a bad file changes nothing
                check_values(data)
        # the new file is taken only when its settings are good too (else the old one stays)
        settings = client_settings(data.get("client", {}), self._runtime_settings, path)
        self._file, self._file_stamp, self._profiles = data, stamp, None
        self.settings = settings
        return data

    def _apply_settings(self) -> None:
        self.settings = client_settings(
            self._file.get("client", {}), self._runtime_settings, Path(self._path)
        )

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
        """The price of the first of ``models`` that has one, else the provider's ``*``, else
        the profile's own ``price``."""
        table = self._load_file().get("prices", {})
        if not isinstance(table, dict):
            raise ConfigError("[prices] must be a table of PROVIDER:MODEL = { input, output }")
        names = [f"{provider}:{m}" for m in models if m] + [f"{provider}:*"]
        for name in names:
            if name in self._prices:
                return self._prices[name]
            if name in table:
                return make_price(name, table[name])
        own = self.profile(provider).price  # the profile's own (local: $0)
        return make_price(f"{provider}:*", own) if own is not None else None

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
        with naming(Path(self._path)):
            return {**DEFAULT_SIGNERS, **parse_signers(table)}

    def mcp_servers(self) -> dict[str, McpServer]:
        """The ``[mcp.NAME]`` servers of the config file (mcpserver.py)."""
        with self._lock:
            tables = self._load_file().get("mcp", {})
        return {name: make_server(name, fields) for name, fields in tables.items()}

    def default_model(self) -> str:
        return os.environ.get("JUPYTER_CHAT_MODEL") or self.default_model_setting() or "local"

    def default_model_setting(self) -> str | None:
        """``default_model`` in the config file, if it sets one."""
        return self._load_file().get("default_model") or None


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
    pattern = fields.get("model_pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ConfigError(
                f"provider {name!r}: model_pattern {brief(pattern)} is not a regular expression "
                f"({getattr(exc, 'msg', type(exc).__name__)})",
                hint="Write a Python regular expression the model ids must match, e.g. "
                r"model_pattern = '[\w./:-]+', or remove it.",
            ) from None
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


def check_values(data: dict[str, Any]) -> None:
    """Every value of a config file, checked as it is read (a ``ConfigError`` on the first bad
    one; never echoing a key)."""
    if "default_model" in data:
        model = data["default_model"]
        if not isinstance(model, str) or not model.strip():
            raise ConfigError(
                f"default_model = {brief(model)}: expected a model name",
                hint='Write it as default_model = "PROVIDER:MODEL".',
            )
    for name, example in {**SECTIONS, "mcp": MCP_EXAMPLE}.items():
        if name in data and not isinstance(data[name], dict):
            shown = "..." if name == "keys" else brief(data[name])
            raise ConfigError(f"{name} = {shown}: expected a table", hint=f"Write it as {example}.")
    for name, fields in data.get("providers", {}).items():
        if not isinstance(fields, dict):
            raise ConfigError(
                f"providers.{name} = {brief(fields)}: expected a table",
                hint=f"Write it as {SECTIONS['providers'].replace('NAME', name)}.",
            )
        _derive(name, fields)
    for name, fields in data.get("prices", {}).items():
        make_price(name, fields)
    for name, key in data.get("keys", {}).items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(  # the value may be a key: never shown
                f"[keys] {brief(name)}: expected the key as a non-empty string",
                hint=f'Write it as {name} = "..." (or use the environment variable).',
            )
    parse_signers(data.get("signers", {}))
    for name, fields in data.get("mcp", {}).items():
        if not isinstance(fields, dict):
            raise ConfigError(f"mcp.{name} = {brief(fields)}: expected a table")
        make_server(name, fields)


def _tables(data: dict[str, Any], section: str) -> list[Any]:
    table = data.get(section)
    return list(table.values()) if isinstance(table, dict) else []


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


CONFIG = Config()

"""The values a config file holds, each checked as it is read (client settings, prices,
signers), and errors that name the file a bad value came from and say what to do."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError


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


SECTIONS = {
    "client": "[client] with one setting a line, e.g. connect_timeout = 10",
    "providers": '[providers.NAME] with base_url = "http://..." and the like',
    "prices": '[prices] with "PROVIDER:MODEL" = { input = 1, output = 2 }',
    "keys": '[keys] with PROVIDER = "..." (or use the environment variables)',
    "signers": '[signers] with "1" = "0x..." (a chain id and an address)',
}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def parse_signers(table: dict[str, Any]) -> dict[int, str]:
    """``[signers]``: chain ids (as strings) to signer addresses."""
    out = {}
    for chain, address in table.items():
        try:
            number = int(chain)
        except (TypeError, ValueError):
            number = None
        if number is None or not isinstance(address, str) or not _ADDRESS.fullmatch(address):
            raise ConfigError(
                f"[signers] {brief(chain)} = {brief(address)}: expected a chain id and an address",
                hint=f"Write it as {SECTIONS['signers']} and 40 hex digits.",
            )
        out[number] = address
    return out


def client_settings(file: dict[str, Any], runtime: dict[str, Any], path: Path) -> ClientSettings:
    """Client settings from the file's ``[client]``, then those set at run time; a bad value
    from the file is an error naming the file."""
    s = ClientSettings()
    for source, values in ((path, file), (None, runtime)):  # each checked, runtime wins
        for k, v in values.items():
            with naming(source):
                setattr(s, k, _setting(s, k, v))
    return s


def _setting(s: ClientSettings, k: str, v: Any) -> Any:
    if k not in _FIELDS:
        raise ConfigError(
            f"unknown client setting {k!r}", hint="Known: " + ", ".join(sorted(_FIELDS)) + "."
        )
    default = getattr(s, k)
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    ok = (v is None and k == "total_timeout") or (
        number and 0 <= v < float("inf") and (k != "max_retries" or v == int(v))
    )
    if not ok:
        raise ConfigError(
            f"client setting {k} = {brief(v)}: expected "
            + ("a whole number >= 0" if k == "max_retries" else "a number >= 0"),
            hint="Seconds for timeouts, a count for max_retries.",
        )
    return type(default)(v) if default is not None and v is not None else v


@contextlib.contextmanager
def naming(path: Path | None) -> Iterator[None]:
    """A ``ConfigError`` raised inside names the config file it came from, and what to do."""
    try:
        yield
    except ConfigError as exc:
        if path is None or str(path) in exc.message:
            raise
        raise ConfigError(
            f"{path}: {exc.message}", hint=(exc.hint or "Fix or remove it there.")
        ) from None


def brief(value: Any) -> str:
    """A value as the config file spells it, kept short."""
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value) if isinstance(value, str) else str(value)
    if isinstance(value, dict):
        text = "{...}"
    return text if len(text) <= 40 else text[:37] + "..."

"""A sweep: the same prompt across the values of one provider parameter, or of the seed, one
request (one column) per value. One rule for ``%%chat --sweep NAME=V1,V2`` and ``compare(...,
sweep={NAME: [V1, V2]})``: the values parsed (JSON where they parse: ``0.7`` a number, ``true``
a boolean, else a string), checked against each model's provider before anything is sent, and
turned into the columns' asks. A parameter sweep keeps the seed every column would have (the
cell's, derived), so only the parameter differs; a seed sweep sends the seeds given."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from ..errors import ChatError, ConfigError
from ..providers.config import CONFIG
from .resolve import RESERVED, Ask, resolve_model
from .state import SESSION

MAX_VALUES = 16
EXAMPLE = "temperature=0,0.7,1.2 or seed=1,2,3"


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str  # a provider parameter, or "seed"
    values: tuple[Any, ...]


def parse_sweep(spec: Any) -> Sweep:
    """``"NAME=V1,V2,..."`` (or ``NAME=[V1, V2]``, JSON; in a list, as the magic's repeatable
    option gives it), ``{NAME: [V1, V2]}`` or a ``Sweep``; a ``ConfigError`` in one line for
    anything else."""
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(x, str) for x in spec):
        if len(spec) != 1:  # --sweep given more than once
            raise ConfigError(
                f"sweep: one parameter at a time, not {len(spec)}",
                hint="Give --sweep once, e.g. --sweep temperature=0,0.7,1.2.",
            )
        spec = spec[0]
    if isinstance(spec, Sweep):
        name, values = spec.name, list(spec.values)
    elif isinstance(spec, str):
        name, values = _from_text(spec)
    elif isinstance(spec, dict):
        if len(spec) != 1:
            raise ConfigError(
                f"sweep: one parameter at a time, not {len(spec)}",
                hint="Write sweep={'temperature': [0, 0.7, 1.2]}.",
            )
        ((name, values),) = spec.items()
        if not isinstance(name, str) or not isinstance(values, (list, tuple)):
            raise ConfigError(
                f"sweep: {name!r}: give the values as a list", hint=f"For example {EXAMPLE}."
            )
        values = list(values)
    else:
        raise ConfigError(
            f"sweep: expected NAME=V1,V2 or {{NAME: [V1, V2]}}, not {type(spec).__name__}",
            hint=f"For example {EXAMPLE}.",
        )
    name = name.strip().replace("-", "_")
    if not name.isidentifier():
        raise ConfigError(f"sweep: {name!r} is not a parameter name", hint=f"E.g. {EXAMPLE}.")
    if name in RESERVED and name != "seed":
        raise ConfigError(f"sweep: {name!r} cannot be swept", hint=f"Set it with {RESERVED[name]}.")
    return Sweep(name, tuple(_check_values(name, values)))


def _from_text(text: str) -> tuple[str, list[Any]]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"sweep {text!r}: expected NAME=V1,V2,...", hint=f"E.g. {EXAMPLE}.")
    raw = raw.strip()
    if raw.startswith("["):  # a JSON list: values that hold commas
        values = _json(raw, name)
        if not isinstance(values, list):
            raise ConfigError(f"sweep {name}: expected a JSON list of values")
        return name, values
    if not raw:
        return name, []
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"sweep {name}: an empty value in {raw!r}")
    return name, [_value(item, name) for item in items]


def _value(item: str, name: str) -> Any:
    try:
        return _json(item, name)
    except ConfigError as exc:
        if item[:1] in '[{"' or "finite" in exc.message:
            raise
        return item  # a bare word: a string


def _json(raw: str, name: str) -> Any:
    def no_constant(token: str) -> Any:
        raise ConfigError(f"sweep {name}: {token} is not a finite number")

    try:
        return json.loads(raw, parse_constant=no_constant)
    except ConfigError:
        raise
    except (ValueError, RecursionError):
        raise ConfigError(f"sweep {name}: not valid JSON: {raw[:80]!r}") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), "a value")


def _check_values(name: str, values: list[Any]) -> list[Any]:
    if len(values) < 2:
        raise ConfigError(
            f"sweep {name}: {'no values' if not values else 'one value'}; give two or more",
            hint=f"For example {EXAMPLE}.",
        )
    if len(values) > MAX_VALUES:
        raise ConfigError(f"sweep {name}: {len(values)} values; at most {MAX_VALUES}")
    for v in values:
        if v is None:
            raise ConfigError(f"sweep {name}: null is not a value to send")
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"sweep {name}: {v} is not a finite number")
        if name == "seed" and (isinstance(v, bool) or not isinstance(v, int)):
            raise ConfigError(f"sweep seed: {v!r} is not a whole number", hint="E.g. seed=1,2,3.")
    kinds = {_kind(v) for v in values}
    if len(kinds) > 1:
        raise ConfigError(
            f"sweep {name}: the values mix {' and '.join(sorted(kinds))}; give one kind",
        )
    seen: list[Any] = []
    for v in values:
        if any(v == s and _kind(v) == _kind(s) for s in seen):
            raise ConfigError(f"sweep {name}: {label_value(v)} is given twice")
        seen.append(v)
    return values


def check_sweep(sweep: Sweep, asks: list[Ask]) -> None:
    """Every value against the provider of every ask (its parameters and their ranges)."""
    providers = dict.fromkeys(resolve_model(a.model or SESSION.model)[0] for a in asks)
    for provider in providers:
        profile = CONFIG.profile(provider)
        if not profile.accepts(sweep.name):
            what = "a seed" if sweep.name == "seed" else f"the parameter {sweep.name!r}"
            raise ConfigError(
                f"sweep {sweep.name}: {provider} does not take {what}",
                hint="It takes: " + ", ".join(sorted(profile.params | profile.extra_params)) + "."
                if profile.params is not None
                else "",
            )
        if sweep.name == "seed":
            continue
        for v in sweep.values:
            try:
                profile.check_params({sweep.name: v})
            except ChatError as exc:
                raise ConfigError(f"sweep {sweep.name}: {provider}: {exc.message}") from None


def sweep_asks(asks: list[Ask], spec: Any) -> list[Ask]:
    """The asks of the columns: each of ``asks`` (a model each) across the sweep's values, in
    that order; a value the ask already sets is refused (give one or the other)."""
    sweep = parse_sweep(spec)
    for a in asks:
        if sweep.name == "seed" and a.seed is not None:
            raise ConfigError("sweep seed: a seed is given too; give seed= or the sweep, not both")
        if sweep.name in a.params:
            raise ConfigError(
                f"sweep {sweep.name}: {sweep.name} is given too; give it or the sweep, not both"
            )
    check_sweep(sweep, asks)
    if sweep.name == "seed":
        return [dataclasses.replace(a, seed=v) for a in asks for v in sweep.values]
    return [
        dataclasses.replace(a, params={**a.params, sweep.name: v})
        for a in asks
        for v in sweep.values
    ]


def label_value(value: Any) -> str:
    """A value as a column's label shows it: ``0.7``, ``true``, ``low``, ``["a"]``."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

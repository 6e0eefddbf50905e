"""What a comparison's columns ask and how they are labelled: each model across the seeds,
the temperatures and a sweep's values (session/sweep.py), and with ``samples=K`` each of those
asked K times with derived seeds (session/samples.py); the labels say what differs between the
columns and only that."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..errors import ConfigError
from ..session.agreement import share_text, summarize
from ..session.prepare import Prepared
from ..session.resolve import Ask, resolve_model, seed_source
from ..session.samples import check_samples, prepare_samples
from ..session.state import SESSION
from ..session.sweep import label_value, sweep_asks

MAX_COLUMNS = 32  # a comparison with samples: columns in all


def compare_asks(
    prompt: Any,
    models: list[str] | None = None,
    seeds: list[int] | None = None,
    temperatures: list[float] | None = None,
    system: str | None = None,
    seed_from: str | None = None,
    sweep: Any = None,
    seed: int | None = None,
    params: dict[str, Any] | None = None,
) -> list[Ask]:
    """The columns' asks, in order: each model, across the seeds, the temperatures, then the
    sweep's values (checked against each model's provider: session/sweep.py)."""
    source = seed_from or seed_source(prompt)
    asks = [
        Ask(model=m, system=system, seed=seed, params=dict(params or {}), seed_from=source)
        for m in models or [None]
    ]
    if seeds:
        asks = [dataclasses.replace(a, seed=s) for a in asks for s in seeds]
    if temperatures:
        asks = [
            dataclasses.replace(a, params={**a.params, "temperature": t})
            for a in asks
            for t in temperatures
        ]
    if sweep is not None:
        asks = sweep_asks(asks, sweep)
    return asks


def labels(asks: list[Ask]) -> list[str]:
    """What tells the columns apart, and only that: ``local``, ``seed 2``, ``T=0.7``,
    ``top_p=0.9``."""
    models = [a.model or resolve_default() for a in asks]
    seeds = [a.seed for a in asks]
    systems = [a.system for a in asks]
    names = list(dict.fromkeys(k for a in asks for k in a.params))
    varying = [k for k in names if len({_same(a.params.get(k)) for a in asks}) > 1]
    out = []
    for i, a in enumerate(asks):
        parts = []
        if len(set(models)) > 1:
            parts.append(models[i])
        if len(set(seeds)) > 1 and seeds[i] is not None:
            parts.append(f"seed {seeds[i]}")
        for k in varying:
            if a.params.get(k) is not None:
                shown = label_value(a.params[k])
                parts.append(f"T={shown}" if k == "temperature" else f"{k}={shown}")
        if len(set(systems)) > 1:
            parts.append(f"system {i + 1}")
        out.append(" · ".join(parts) or models[i])
    return out


def _same(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def resolve_default() -> str:
    provider, model = resolve_model(SESSION.model)
    return f"{provider}:{model}" if model else provider


def check_column_samples(samples: Any, asks: list[Ask]) -> int | None:
    """``samples`` as a count for a comparison (None: none), or one ``ConfigError`` line."""
    k = check_samples(samples)
    if k is None:
        return None
    if any(a.seed is not None for a in asks) and len({a.seed for a in asks}) > 1:
        raise ConfigError(
            "samples= with seeds= or a seed sweep: each sample's seed is derived; give one",
            hint="Sample one seed (seed=N), or compare the seeds without samples.",
        )
    if k * len(asks) > MAX_COLUMNS:
        raise ConfigError(
            f"samples={k} across {len(asks)} columns is {k * len(asks)} columns; at most "
            f"{MAX_COLUMNS} in one comparison"
        )
    return k


def sampled(preps: list[Prepared], names: list[str], k: int) -> tuple[list[Prepared], list[str]]:
    """Each prepared column asked ``k`` times (sample ``i`` with its derived seed), labelled
    ``sample i`` (after the column's own label when there are several)."""
    out, shown = [], []
    for prep, name in zip(preps, names):
        for i, p in enumerate(prepare_samples(prep, k)):
            out.append(p)
            shown.append(f"{name} · sample {i}" if len(preps) > 1 else f"sample {i}")
    return out, shown


def samples_line(streams: list[Any], labels: list[str], k: int) -> str:
    """How the samples of each sampled column agree: ``3 samples · 2 distinct answers · most
    common 2 of 3 (67%)`` (each after its column's label when there are several)."""
    parts = []
    for at in range(0, len(streams), k):
        group = streams[at : at + k]
        line = share_text(summarize([s.turn.text if s.turn is not None else None for s in group]))
        name = labels[at].rpartition(" · sample ")[0]
        parts.append(f"{name}: {line}" if name else line)
    return "; ".join(parts)

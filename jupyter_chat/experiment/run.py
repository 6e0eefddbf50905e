"""``evaluate``: the grid of items x models x settings (a sweep's values) x samples, each
(model, setting) one ``map`` over the items (its concurrency, rate limits, derived seeds,
records and resume under ``auto`` replay), then every answer scored into an ``Experiment``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ..batch.api import BatchInterrupted
from ..batch.api import map as run_map
from ..batch.items import is_frame, prompts_of
from ..errors import ChatError, ConfigError
from ..session.ask import Options, prepare_call
from ..session.budget import BudgetError
from ..session.samples import SamplesError
from ..session.sweep import label_value, parse_sweep
from ..session.turn import Turn
from .budget import check_grid, grid_budget, stop_error, stopped
from .result import Experiment, Row
from .scorers import scorers_of


class ExperimentInterrupted(ChatError):
    """The experiment was interrupted; ``experiment`` holds what finished, scored. Under
    ``%chat replay auto`` running it again sends only the rest."""

    def __init__(self, message: str, *, experiment: Experiment, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.experiment = experiment


@dataclasses.dataclass(frozen=True)
class Setting:
    """One column of the grid besides the model: a prompt's name and a sweep's value."""

    label: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    seed: int | None = None
    template: str = ""  # the name of its prompt, when prompt= names several


def settings_of(sweep: Any) -> list[Setting]:
    if sweep is None:
        return [Setting()]
    s = parse_sweep(sweep)
    if s.name == "seed":
        return [Setting(f"seed={v}", seed=v) for v in s.values]
    return [Setting(f"{s.name}={label_value(v)}", params={s.name: v}) for v in s.values]


def targets_of(data: Any, items: list[Any], target: Any) -> list[Any]:
    """Each item's target: a column or key named ``target``, a list as long as the items,
    or a function of the item; None where an item has none."""
    if target is None:
        return [None] * len(items)
    if callable(target):
        return [target(item) for item in items]
    if isinstance(target, (list, tuple)):
        if len(target) != len(items):
            raise ConfigError(f"target=: {len(target)} targets for {len(items)} items")
        return list(target)
    if is_frame(data):
        if target not in data.columns:
            if target == "target":
                return [None] * len(items)
            raise ConfigError(f"target={target!r} is not a column", hint="Give target=None.")
        return list(data[target])
    return [item.get(target) if isinstance(item, dict) else None for item in items]


def evaluate(
    data: Iterable[Any],
    prompt: str | None = None,
    *,
    models: list[str] | str | None = None,
    samples: int | None = None,
    scorers: Any = None,
    target: Any = "target",
    sweep: Any = None,
    seed: int | None = None,
    system: str | None = None,
    schema: Any = None,
    concurrency: int = 8,
    progress: bool = True,
    budget: Any = None,
    budget_unknown: Any = "refuse",
    executor: Any = None,
    **params: Any,
) -> Experiment:
    """Ask every item of ``data`` of every model in ``models``, at every value of ``sweep``,
    ``samples`` times, and score each answer: an ``Experiment`` (``summary()``,
    ``to_pandas()``, ``rescore()``, ``to_inspect()``, a chart).

    ``data``: a list (of prompts, or of dicts with ``prompt``), or a DataFrame; ``prompt``: a
    template filled from each item (``{column}``, by ``map``'s rules), or a dict of named
    templates to compare (each a setting, ``prompt=NAME``). ``target``: the
    column or key holding each item's reference answer (default ``"target"``), a list, or a
    function of the item. ``scorers``: built-in names (``"exact"``, ``"match"``,
    ``"contains"``, ``"numeric"``, ``"json_valid"``), scorers (``regex(...)``,
    ``json_field(...)``, ``model_graded(...)``) or Python functions of ``answer``,
    ``target``, ``item``, ``turn``, ``parsed``; default ``["match"]``. ``sweep``: one
    parameter's values, as for ``compare`` (``{"temperature": [0, 0.7]}``). ``samples``:
    each item asked K times, with seeds derived as for ``chat(samples=K)``. ``seed``,
    ``system``, ``schema`` and ``**params`` go to every request.

    Each (model, setting) runs as one ``map`` (``concurrency`` at once, the providers' rate
    limits). Run it with ``%chat replay auto``: every answer is recorded as it finishes, so
    an interrupted experiment re-runs only what is missing (``ExperimentInterrupted`` keeps
    what finished); ``rescore`` scores the stored answers again without a request.

    ``budget=USD`` (and ``budget_unknown``, as for ``map``): the whole experiment's estimate
    is refused before anything is sent when over; while running, every (model, setting)
    draws on the one budget, and the experiment stops before crossing it (a ``BudgetError``
    whose ``experiment`` holds what finished). ``executor=``: a Dask ``Client`` each
    (model, setting)'s ``map`` shards its rows to (see ``map``)."""
    model_list = [models] if isinstance(models, str) or models is None else list(models)
    if not model_list:
        raise ConfigError("evaluate: models= names no model")
    if len(set(model_list)) != len(model_list):
        raise ConfigError("evaluate: a model is named twice in models=")
    chosen = scorers_of(scorers)
    items = list(data.to_dict("records")) if is_frame(data) else list(data)
    labels = list(data.index) if is_frame(data) else list(range(len(items)))
    targets = targets_of(data, items, target)
    if prompt is None and items and all(isinstance(i, dict) and "prompt" in i for i in items):
        prompt = "{prompt}"
    templates = prompt if isinstance(prompt, dict) else {"": prompt}
    if not templates:
        raise ConfigError("evaluate: prompt= is an empty dict; name one template or more")
    filled = {
        name: list(prompts_of(data if is_frame(data) else items, t))
        for name, t in templates.items()
    }
    settings = [
        dataclasses.replace(
            s,
            label=" · ".join(x for x in (f"prompt={name}" if name else "", s.label) if x),
            template=name,
        )
        for name in templates
        for s in settings_of(sweep)
    ]
    configs = [(m, s) for m in model_list for s in settings]
    for m, s in configs:  # every model and setting checked before anything is sent
        options = _options(m, s, samples, seed, system, schema, params)
        first = next((t for t in filled[s.template] if isinstance(t, str)), None)
        if first is not None:
            prepare_call(first, options)
    own = grid_budget(budget, budget_unknown)
    grid = [
        (filled[s.template], _options(m, s, samples, seed, system, schema, params))
        for m, s in configs
    ]
    check_grid(grid, own)  # the whole experiment refused before anything is sent
    extra: dict[str, Any] = {"budget": own} if own is not None else {}
    if executor is not None:
        extra["executor"] = executor
    rows: list[Row] = []
    total = len(configs) * len(items) * (samples or 1)
    for m, s in configs:
        options = _options(m, s, samples, seed, system, schema, params)
        texts = filled[s.template]
        try:
            batch = run_map(
                texts,
                model=options.model,
                seed=options.seed,
                system=options.system,
                schema=options.schema,
                samples=options.samples,
                concurrency=concurrency,
                return_exceptions=True,
                progress=progress,
                **extra,
                **options.params,
            )
        except BudgetError as exc:  # what is left cannot hold this setting's estimate
            exp = _exp(rows, chosen, model_list, settings, samples)
            raise stop_error(exp, total, own) from exc
        except BatchInterrupted as exc:
            rows += _rows(exc.batch, m, s, labels, items, targets, texts, samples)
            exp = _exp(rows, chosen, model_list, settings, samples)
            raise ExperimentInterrupted(
                f"experiment interrupted at {m} {s.label}".rstrip() + f": {exc}",
                experiment=exp,
            ) from None
        rows += _rows(batch, m, s, labels, items, targets, texts, samples)
        if stopped(rows):  # the budget stopped this setting: the rest are not started
            exp = _exp(rows, chosen, model_list, settings, samples)
            raise stop_error(exp, total, own)
    return _exp(rows, chosen, model_list, settings, samples)


def _exp(rows, chosen, models, settings, samples) -> Experiment:
    return Experiment(rows, chosen, models, [x.label for x in settings], samples)


def _options(m: str | None, s: Setting, samples, seed, system, schema, params) -> Options:
    given = set(params) & set(s.params)
    if given or (s.seed is not None and seed is not None):
        name = next(iter(given), "seed")
        raise ConfigError(f"sweep {name}: {name} is given too; give it or the sweep, not both")
    return Options(
        model=m,
        seed=s.seed if s.seed is not None else seed,
        system=system,
        schema=schema,
        samples=samples,
        params={**params, **s.params},
    )


def _rows(batch, model, setting, labels, items, targets, texts, k) -> list[Row]:
    """One row per answer (each sample its own) of one (model, setting)'s batch."""
    out = []
    for j, result in enumerate(batch):
        for i, draw in enumerate(_draws(result, k or 1)):
            out.append(
                Row(
                    item=labels[j],
                    position=j,
                    model=model or "default",
                    setting=setting.label,
                    sample=i,
                    result=draw,
                    prompt=texts[j] if isinstance(texts[j], str) else None,
                    target=targets[j],
                    data=items[j],
                )
            )
    return out


def _draws(result: Any, k: int) -> list[Any]:
    if isinstance(result, Turn):
        return list(result.samples) if result.samples else [result]
    if isinstance(result, SamplesError):
        return list(result.samples.results)
    return [result] * k

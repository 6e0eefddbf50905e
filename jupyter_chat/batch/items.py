"""A batch's inputs: prompts from a list, any iterable or a DataFrame (a ``{column}`` template
filled per row by the cells' interpolation), each prepared as it is drawn."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import ChatError, ConfigError
from ..interpolate import InterpolationError, interpolate
from ..session.prepare import Prepared


def is_frame(items: Any) -> bool:
    return hasattr(items, "columns") and hasattr(items, "index") and hasattr(items, "to_dict")


def prompts_of(items: Any, prompt: str | None) -> Iterator[Any]:
    """The prompts of a batch, lazily: each item, or ``prompt`` filled from it (a frame's row
    by column name, ``{row["a b"]}`` and ``{index}`` too; a dict by key; anything else as
    ``{item}``)."""
    if prompt is not None and not isinstance(prompt, str):
        raise ConfigError(f"prompt= is a template string, not {type(prompt).__name__}")
    if is_frame(items):
        if prompt is None:
            raise ConfigError(
                "a DataFrame needs prompt=, a template naming its columns",
                hint='For example prompt="Classify this review: {text}".',
            )
        records = items.to_dict("records")
        values = [
            {**{str(k): v for k, v in r.items()}, "row": r, "index": i}
            for i, r in zip(items.index, records)
        ]
        if values:  # the template is tried on the first row: a wrong name fails now
            _check_template(prompt, values[0])
        return (_fill(prompt, v, v["index"]) for v in values)
    if isinstance(items, (str, bytes, dict)):
        raise ConfigError(
            f"map() takes a list of prompts, an iterable or a DataFrame, not {type(items).__name__}"
        )
    if prompt is None:
        return iter(items)
    values = (dict(item) if isinstance(item, dict) else {"item": item} for item in items)
    first = next(values, None)
    if first is None:
        return iter(())
    _check_template(prompt, first)
    return (_fill(prompt, v, n) for n, v in enumerate(itertools.chain([first], values)))


def _check_template(prompt: str, sample: dict[str, Any]) -> None:
    seen: list[str] = []
    names = set(sample)

    def look(name: str) -> Any:
        seen.append(name)
        return sample[name]

    try:
        interpolate(prompt, look)
    except InterpolationError as exc:
        unknown = [n for n in seen if n not in names]
        if unknown:
            raise ConfigError(
                f"prompt= names {unknown[0]!r}, which is not a column (or key)",
                hint="Columns: " + ", ".join(sorted(names - {"row", "index"})) + ".",
            ) from None
        raise ConfigError(str(exc)) from None
    if not seen:
        raise ConfigError(
            f"prompt={prompt[:40]!r} names no column: every item would send the same text",
            hint="Write {column} (or {item}) where an item's value goes; to choose the model, "
            "use model=.",
        )


def _fill(prompt: str, values: dict[str, Any], where: Any) -> str | ChatError:
    """The filled template, or the error in the item's place (the batch goes on drawing)."""

    def look(name: str) -> Any:
        return values[name]

    try:
        return interpolate(prompt, look)
    except InterpolationError as exc:
        return ConfigError(f"item {where}: {exc.message}", hint=exc.hint)


def prepared(
    prompts: Iterable[Any], make: Callable[[Any], Prepared], return_exceptions: bool
) -> Iterator[Prepared | ChatError]:
    """Each prompt prepared as it is drawn; a bad one raises, or stands in its place as its
    error with ``return_exceptions``."""
    for p in prompts:
        try:
            if isinstance(p, ChatError):
                raise p
            yield make(p)
        except ChatError as exc:
            if not return_exceptions:
                raise exc from None
            yield exc

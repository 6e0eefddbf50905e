"""An ``Experiment``: every answer of the grid (a ``Row`` each) with its scores, the summary per
(model, setting), ``rescore`` from the stored answers, ``to_pandas()``, JSON, an Inspect AI
log, and its display: the chart (SVG) and a table in HTML, a text table in terminals."""

from __future__ import annotations

import dataclasses
import html
import json
import math
from typing import Any

from ..errors import ConfigError
from ..session.turn import Turn
from .scorers import Case, Scorer, scorers_of
from .summary import interval_note, summarize, table, text_table, turn_cost, turn_tokens


@dataclasses.dataclass
class Row:
    """One answer: its item (``item`` the label, ``position`` the place in the data), model,
    setting, sample index, the ``Turn`` (or the error in its place), prompt and target."""

    item: Any
    position: int
    model: str
    setting: str
    sample: int
    result: Any
    prompt: str | None
    target: Any
    data: Any = None

    @property
    def turn(self) -> Turn | None:
        return self.result if isinstance(self.result, Turn) else None

    def case(self) -> Case:
        t = self.turn
        return Case(
            answer=t.text if t else None,
            target=self.target,
            item=self.data,
            turn=t,
            parsed=t.parsed if t and not t.schema_errors else None,
            prompt=self.prompt,
        )


class Experiment:
    """The answers of ``evaluate`` and their scores (``scores[name][i]`` for ``rows[i]``)."""

    def __init__(
        self,
        rows: list[Row],
        scorers: list[Scorer],
        models: list[str | None],
        settings: list[str],
        samples: int | None,
    ) -> None:
        self.rows = rows
        self.models = [m or "default" for m in models]  # None: the notebook's model
        self.settings = settings
        self.samples = samples
        self.scorers = scorers
        cases = [r.case() for r in rows]
        self.scores: dict[str, list[float | None]] = {s.name: s.score_all(cases) for s in scorers}

    @property
    def configs(self) -> list[tuple[str, str]]:
        return [(m, s) for m in self.models for s in self.settings]

    def rescore(self, scorers: Any) -> Experiment:
        """The same answers scored by ``scorers``: nothing is asked again (a model-graded
        scorer asks its grader, which replays what is recorded)."""
        return Experiment(self.rows, scorers_of(scorers), self.models, self.settings, self.samples)

    @property
    def answered(self) -> int:
        return sum(1 for r in self.rows if r.turn is not None)

    @property
    def failed(self) -> int:
        return len(self.rows) - self.answered

    @property
    def replayed(self) -> int:
        return sum(1 for r in self.rows if r.turn is not None and r.turn.record.get("replayed"))

    def summary_rows(self) -> list[dict[str, Any]]:
        """Per (model, setting): ``items``, ``answers``, ``failures``, per scorer ``{mean,
        low, high, interval}`` (95%: ``wilson`` or ``t``), ``agreement``, ``tokens``,
        ``cost_usd``, ``unpriced``, ``latency_p50_ms``, ``latency_p95_ms``."""
        return summarize(self.rows, self.scores, self.configs)

    def summary(self) -> Any:
        """The summary as a pandas DataFrame, a row per (model, setting): each scorer's
        ``mean``, ``low`` and ``high`` (its 95% interval) and ``interval`` (the method)."""
        pd = _pandas()
        flat = []
        for e in self.summary_rows():
            row = {k: v for k, v in e.items() if k not in self.scores}
            for name in self.scores:
                for k, v in e[name].items():
                    row[f"{name}_{k}" if k != "mean" else name] = v
            flat.append(row)
        return pd.DataFrame(flat)

    def records(self) -> list[dict[str, Any]]:
        """One dict per answer: what ``to_pandas()`` holds."""
        out = []
        for n, r in enumerate(self.rows):
            t = r.turn
            rec = t.record if t else {}
            row: dict[str, Any] = {
                "item": r.item,
                "model": r.model,
                "setting": r.setting,
                "sample": r.sample,
                "answer": t.text if t else None,
                "target": r.target,
                **{name: values[n] for name, values in self.scores.items()},
                "error": None if t else str(r.result),
                "seed": (rec.get("params") or {}).get("seed"),
                "total_tokens": turn_tokens(t) if t else None,
                "cost_usd": turn_cost(t) if t else None,
                "latency_ms": rec.get("latency_ms"),
                "replayed": bool(rec.get("replayed")) if t else None,
                "request_hash": rec.get("request_hash"),
            }
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        """One tidy row per (item, model, setting, sample): ``answer``, ``target``, a column
        per scorer, ``error``, ``seed``, ``total_tokens``, ``cost_usd``, ``latency_ms``,
        ``replayed``, ``request_hash``."""
        return _pandas().DataFrame(self.records())

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "settings": self.settings,
            "samples": self.samples,
            "scorers": list(self.scores),
            "summary": [_clean(e) for e in self.summary_rows()],
            "rows": [_clean(r) for r in self.records()],
        }

    def to_json(self, path: Any = None) -> str:
        """The experiment as JSON (the summary and every row); written to ``path`` if given."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=str)
        if path is not None:
            from pathlib import Path

            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_inspect(self, path: Any, task: str = "jupyter-chat") -> Any:
        """Write an Inspect AI eval log (JSON) that ``inspect_ai.log.read_eval_log`` reads and
        ``inspect view`` opens (experiment/inspect.py). Returns the path."""
        from .inspect import write_log

        return write_log(self, path, task)

    def chart(self) -> str:
        """The summary as an SVG: scores with their intervals, and cost against score."""
        from .chart import svg

        return svg(self.summary_rows(), list(self.scores))

    def text(self) -> str:
        names = list(self.scores)
        head = f"experiment: {len(self.rows)} answers · {self.answered} answered"
        head += f" · {self.failed} failed"
        note = interval_note(self.summary_rows(), names)
        return "\n".join(x for x in [head, text_table(self.summary_rows(), names), note] if x)

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The chart (``image/svg+xml``), the chart and the table in HTML (the chart an
        ``<img>``, which every renderer keeps, trusted or not) and the text table."""
        import base64

        chart = self.chart()
        src = "data:image/svg+xml;base64," + base64.b64encode(chart.encode()).decode()
        rows = table(self.summary_rows(), list(self.scores))
        cells = "".join(
            "<tr>" + "".join(f"<{t}>{html.escape(c)}</{t}>" for c in r) + "</tr>"
            for t, r in [("th", rows[0])] + [("td", r) for r in rows[1:]]
        )
        note = html.escape(interval_note(self.summary_rows(), list(self.scores)))
        page = (
            f'<div class="jupyter-chat-experiment"><img alt="experiment summary chart" '
            f'src="{src}"/><table>{cells}</table><p>{note}</p></div>'
        )
        return {"text/plain": self.text(), "text/html": page, "image/svg+xml": chart}


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError(
            "Experiment.to_pandas() needs pandas", hint="pip install 'jupyter-chat[pandas]'"
        ) from None
    return pd


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """NaN as None (JSON has no NaN)."""

    def fix(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    return {k: fix(v) for k, v in d.items()}

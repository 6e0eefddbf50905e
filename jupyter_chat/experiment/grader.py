"""The model-graded scorer: a grading model reads the question, the reference and the answer
and says ``GRADE: C`` (correct), ``P`` (partly) or ``I`` (incorrect). Its requests go through
``map`` like any batch: seeded, recorded and replayed, so a notebook's grades re-run offline."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .scorers import Case, Scorer

TEMPLATE = """You are grading an answer against a reference.

Question: {question}
Reference answer: {target}
Submitted answer: {answer}

Is the submitted answer correct? Reply with one line: GRADE: C if it is correct, GRADE: P if it
is partly correct, GRADE: I if it is incorrect."""

GRADE = re.compile(r"GRADE\s*:\s*\**\s*([CPI])\b", re.IGNORECASE)
VALUES = {"C": 1.0, "P": 0.5, "I": 0.0}


class ModelGraded(Scorer):
    """Grades with ``model``; ``explanations`` holds each grader's answer after scoring."""

    def __init__(
        self,
        model: str | None,
        template: str,
        name: str,
        concurrency: int,
        params: dict[str, Any],
    ) -> None:
        self.model, self.template, self.name = model, template, name
        self.concurrency, self.params = concurrency, params
        self.explanations: list[str | None] = []

    def score_all(self, cases: Sequence[Case]) -> list[float | None]:
        from ..batch.api import map as run_map
        from ..session.turn import Turn

        todo = [i for i, c in enumerate(cases) if c.turn is not None and c.target is not None]
        values: list[float | None] = [None] * len(cases)
        self.explanations = [None] * len(cases)
        if not todo:
            return values
        items = [
            {
                "question": cases[i].prompt or "",
                "target": _text(cases[i].target),
                "answer": cases[i].answer or "",
            }
            for i in todo
        ]
        graded = run_map(
            items,
            self.template,
            model=self.model,
            system="",
            concurrency=self.concurrency,
            return_exceptions=True,
            progress=False,
            **self.params,
        )
        for i, turn in zip(todo, graded):
            if isinstance(turn, Turn):
                self.explanations[i] = turn.text
                values[i] = grade_of(turn.text)
        return values


def grade_of(text: str) -> float | None:
    """The grade a grader's answer gives (its last ``GRADE: X``), None when it gives none."""
    found = GRADE.findall(text or "")
    return VALUES[found[-1].upper()] if found else None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def model_graded(
    model: str | None = None,
    template: str = TEMPLATE,
    *,
    name: str = "graded",
    concurrency: int = 8,
    **params: Any,
) -> Scorer:
    """A scorer that asks ``model`` (default: the notebook's) to grade each answer:
    ``template`` names ``{question}`` (the prompt sent), ``{target}`` and ``{answer}``, and
    the grader's last ``GRADE: C/P/I`` scores 1, 0.5 or 0 (none: no score). ``**params``
    go to the grader's requests (``temperature=0``, ``max_tokens=...``, ``seed=...``). Its
    requests are turns like any other: recorded under ``%chat replay auto`` and replayed."""
    return ModelGraded(model, template, name, concurrency, params)

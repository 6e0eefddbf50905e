"""Experiments: the grid of items x models x settings x samples run through the batch
machinery (run.py), scored (scorers.py, grader.py), summarised with 95% intervals
(summary.py, stats.py), charted (chart.py) and handed on (result.py, inspect.py).

``from jupyter_chat.experiment import exact, match, contains, regex, numeric, json_field,
json_valid, model_graded``."""

from .grader import model_graded
from .result import Experiment
from .run import ExperimentInterrupted, evaluate
from .scorers import (
    Case,
    Scorer,
    contains,
    exact,
    json_field,
    json_valid,
    match,
    numeric,
    regex,
)

__all__ = [
    "Case",
    "Experiment",
    "ExperimentInterrupted",
    "Scorer",
    "contains",
    "evaluate",
    "exact",
    "json_field",
    "json_valid",
    "match",
    "model_graded",
    "numeric",
    "regex",
]

"""Scorers: what an answer is worth against its item's target. Built-ins for exact and
normalised match, contains, regex, numeric tolerance, a JSON field and JSON (schema)
validity; any Python function; and a model-graded scorer whose calls are turns like any
other (recorded, replayed). A score is a number (True/False count 1/0) or None (no score)."""

from __future__ import annotations

import inspect
import json
import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

ARGS = ("answer", "target", "item", "turn", "parsed")


@dataclass(frozen=True)
class Case:
    """One answer to score: the text, the item's target, the item, its Turn (None when the
    request failed) and the parsed value (``schema=``)."""

    answer: str | None
    target: Any
    item: Any
    turn: Any = None
    parsed: Any = None
    prompt: str | None = None


class Scorer:
    """``score(case)`` gives a number or None; ``score_all(cases)`` scores many at once (a
    model-graded scorer sends its requests together). ``name`` is its column."""

    name = "score"

    def score(self, case: Case) -> Any:
        raise NotImplementedError

    def score_all(self, cases: Sequence[Case]) -> list[float | None]:
        return [as_number(self.score(c), self.name) if c.turn is not None else None for c in cases]

    def __repr__(self) -> str:
        return f"<scorer {self.name}>"


def as_number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    raise ConfigError(f"scorer {name} returned {value!r}: give a number, True/False or None")


class Function(Scorer):
    """A Python function as a scorer: its parameters, by name, from ``answer``, ``target``,
    ``item``, ``turn``, ``parsed`` (any other names: called as ``fn(answer, target)``)."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "score")
        try:
            names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            names = []
        self.by_name = bool(names) and all(n in ARGS for n in names)
        self.names = names

    def score(self, case: Case) -> Any:
        if self.by_name:
            return self.fn(**{n: getattr(case, n) for n in self.names})
        return self.fn(case.answer, case.target)


class _Text(Scorer):
    def __init__(self, name: str, test: Callable[[str, str], bool]) -> None:
        self.name, self.test = name, test

    def score(self, case: Case) -> Any:
        if case.target is None:
            return None
        return self.test(case.answer or "", str(case.target))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles (a, an, the), white space collapsed."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def exact() -> Scorer:
    """1 when the answer is the target (white space around either ignored)."""
    return _Text("exact", lambda a, t: a.strip() == t.strip())


def match() -> Scorer:
    """1 when the answer and the target are the same once normalised: lower case, no
    punctuation, no articles, white space collapsed (SQuAD's rule)."""
    return _Text("match", lambda a, t: normalize(a) == normalize(t))


def contains(case_sensitive: bool = False) -> Scorer:
    """1 when the target appears in the answer (case ignored unless ``case_sensitive``)."""
    if case_sensitive:
        return _Text("contains", lambda a, t: t in a)
    return _Text("contains", lambda a, t: t.casefold() in a.casefold())


class Regex(Scorer):
    def __init__(self, pattern: str, group: int | str | None, flags: int) -> None:
        self.rx, self.group, self.name = re.compile(pattern, flags), group, "regex"

    def score(self, case: Case) -> Any:
        m = self.rx.search(case.answer or "")
        if self.group is None:
            return m is not None
        if m is None or case.target is None:
            return False if case.target is not None else None
        return normalize(m.group(self.group) or "") == normalize(str(case.target))


def regex(pattern: str, group: int | str | None = None, flags: int = re.IGNORECASE) -> Scorer:
    """1 when ``pattern`` is found in the answer; with ``group``, when that group's text
    matches the target once normalised (``regex(r"ANSWER: (\\w+)", group=1)``)."""
    return Regex(pattern, group, flags)


_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def numbers(text: str) -> list[float]:
    """The numbers written in a text, in order (``1,234.5`` is one)."""
    out = []
    for m in _NUMBER.finditer(text):
        try:
            out.append(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


class Numeric(Scorer):
    def __init__(self, tol: float, rel: float, which: str) -> None:
        if which not in ("first", "last", "any"):
            raise ConfigError(f"numeric(which=...): 'first', 'last' or 'any', not {which!r}")
        self.tol, self.rel, self.which, self.name = tol, rel, which, "numeric"

    def score(self, case: Case) -> Any:
        try:
            want = float(case.target)
        except (TypeError, ValueError):  # no number to compare with: no score
            return None
        found = numbers(case.answer or "")
        if not found:
            return False
        pool = found if self.which == "any" else [found[0] if self.which == "first" else found[-1]]
        return any(math.isclose(x, want, rel_tol=self.rel, abs_tol=self.tol) for x in pool)


def numeric(tol: float = 1e-6, rel: float = 0.0, which: str = "last") -> Scorer:
    """1 when the answer's number (``which``: the ``last`` written, the ``first``, or
    ``any``) is within ``tol`` of the target (or ``rel`` of it, relatively)."""
    return Numeric(tol, rel, which)


def json_value(case: Case) -> Any:
    """The answer as JSON data: the parsed value (``schema=``), else the JSON in the text
    (bare, fenced or inside prose); a ``ValueError`` when there is none."""
    if case.turn is not None and case.parsed is not None:
        dump = getattr(case.parsed, "model_dump", None)
        return dump(mode="json") if callable(dump) else case.parsed
    from ..structured.schema import extract_json

    found = extract_json(case.answer or "")
    if found is None:
        raise ValueError("no JSON")
    return json.loads(found)


def field_of(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(path)
    return value


class JsonField(Scorer):
    def __init__(self, path: str, normalized: bool) -> None:
        self.path, self.normalized, self.name = path, normalized, f"field_{path}"

    def score(self, case: Case) -> Any:
        want = case.target
        if isinstance(want, dict):
            try:
                want = field_of(want, self.path)
            except KeyError:
                return None
        if want is None:
            return None
        try:
            got = field_of(json_value(case), self.path)
        except (ValueError, KeyError):
            return False
        if isinstance(got, str) and isinstance(want, str) and self.normalized:
            return normalize(got) == normalize(want)
        if isinstance(got, (int, float)) and isinstance(want, (int, float)):
            return not isinstance(got, bool) and math.isclose(got, want, abs_tol=1e-9)
        return got == want


def json_field(path: str, normalized: bool = True) -> Scorer:
    """1 when the answer's JSON field ``path`` (dotted: ``a.b``, ``items.0``) equals the
    target (or the target's own field ``path`` when the target is a dict); strings compared
    normalised unless ``normalized=False``, numbers by value. The schema's parsed value is
    used when there is one."""
    return JsonField(path, normalized)


class JsonValid(Scorer):
    def __init__(self, schema: Any) -> None:
        from ..structured.schema import as_schema

        self.schema = as_schema(schema) if schema is not None else None
        self.name = "json_valid"

    def score(self, case: Case) -> Any:
        if self.schema is None:
            try:
                json_value(case)
            except ValueError:
                return False
            return True
        _, problems = self.schema.parse(case.answer or "")
        return not problems


def json_valid(schema: Any = None) -> Scorer:
    """1 when the answer holds JSON, and with ``schema`` (a pydantic model, a JSON-schema
    dict, a type) when it validates against it."""
    return JsonValid(schema)


def as_scorer(spec: Any) -> Scorer:
    """A scorer as given: a ``Scorer``, a built-in's name (``"exact"``, ``"match"``,
    ``"contains"``, ``"numeric"``, ``"json_valid"``) or a Python function."""
    if isinstance(spec, Scorer):
        return spec
    if isinstance(spec, str):
        made = {
            "exact": exact,
            "match": match,
            "contains": contains,
            "numeric": numeric,
            "json_valid": json_valid,
        }.get(spec)
        if made is None:
            raise ConfigError(
                f"scorer {spec!r} is not a built-in",
                hint="Built in: exact, match, contains, numeric, json_valid; or give "
                "regex(...), json_field(...), model_graded(...) or a Python function.",
            )
        return made()
    if callable(spec):
        return Function(spec)
    raise ConfigError(f"a scorer is a name, a Scorer or a function, not {type(spec).__name__}")


def scorers_of(specs: Any) -> list[Scorer]:
    """The scorers, their names made distinct (``contains``, ``contains_2``)."""
    if specs is None:
        specs = ["match"]
    if isinstance(specs, (str, Scorer)) or callable(specs):
        specs = [specs]
    out, seen = [], set()
    for spec in specs:
        s = as_scorer(spec)
        name, n = s.name, 2
        while name in seen:
            name, n = f"{s.name}_{n}", n + 1
        if name != s.name:
            s = _Renamed(s, name)
        seen.add(name)
        out.append(s)
    return out


class _Renamed(Scorer):
    def __init__(self, inner: Scorer, name: str) -> None:
        self.inner, self.name = inner, name

    def score_all(self, cases: Sequence[Case]) -> list[float | None]:
        return self.inner.score_all(cases)

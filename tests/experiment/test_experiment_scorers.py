"""Each built-in scorer on answers written by hand, a Python function as a scorer, the names
and the errors; and the intervals on known cases (Wilson, Student's t), percentiles."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel

import jupyter_chat as jc
from jupyter_chat.experiment import (
    Case,
    contains,
    exact,
    json_field,
    json_valid,
    match,
    numeric,
    regex,
)
from jupyter_chat.experiment.grader import grade_of
from jupyter_chat.experiment.scorers import Function, normalize, numbers, scorers_of
from jupyter_chat.experiment.stats import mean_interval, percentile, t975, t_interval, wilson


class _Turn:  # what a scorer reads of a Turn: it is there (the request answered)
    parsed = None


def score(scorer, answer, target, parsed=None, item=None):
    case = Case(answer=answer, target=target, item=item, turn=_Turn(), parsed=parsed)
    return scorer.score_all([case])[0]


def test_exact_and_normalised_match():
    assert score(exact(), " Paris\n", "Paris") == 1.0
    assert score(exact(), "paris", "Paris") == 0.0
    assert normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert score(match(), "the Paris.", "paris") == 1.0
    assert score(match(), "Paris, France", "Paris") == 0.0
    assert score(match(), "anything", None) is None  # no target: no score


def test_contains_with_and_without_case():
    assert score(contains(), "It is PARIS, I think", "paris") == 1.0
    assert score(contains(case_sensitive=True), "It is PARIS", "paris") == 0.0
    assert score(contains(), "London", "Paris") == 0.0


def test_regex_found_and_its_group_against_the_target():
    assert score(regex(r"\bGRADE: [A-C]\b"), "so GRADE: B", None) == 1.0
    assert score(regex(r"\d{4}"), "no year", None) == 0.0
    grouped = regex(r"ANSWER:\s*(\w+)", group=1)
    assert score(grouped, "Thinking... ANSWER: Paris", "paris") == 1.0
    assert score(grouped, "ANSWER: Lyon", "paris") == 0.0
    assert score(grouped, "no answer line", "paris") == 0.0


def test_numeric_tolerance_and_which_number():
    assert numbers("about 1,234.5 or -2e3 and .5") == [1234.5, -2000.0, 0.5]
    assert score(numeric(), "3 + 4 = 7", "7") == 1.0
    assert score(numeric(), "7, or maybe 8", 7) == 0.0  # the last number written
    assert score(numeric(which="first"), "7, or maybe 8", 7) == 1.0
    assert score(numeric(which="any"), "8 or 7", 7) == 1.0
    assert score(numeric(tol=0.01), "3.14159", 3.14) == 1.0
    assert score(numeric(), "3.14159", 3.14) == 0.0
    assert score(numeric(rel=0.05), "103", 100) == 1.0
    assert score(numeric(), "no number", 7) == 0.0
    assert score(numeric(), "7", "Paris") is None  # a target that is no number: no score
    with pytest.raises(jc.ConfigError, match="'first', 'last' or 'any'"):
        numeric(which="middle")


class City(BaseModel):
    name: str
    population: int


def test_json_field_from_text_fenced_parsed_and_nested():
    answer = 'Here: ```json\n{"city": {"name": "Paris"}, "n": [3, 4]}\n```'
    assert score(json_field("city.name"), answer, "paris") == 1.0
    assert score(json_field("city.name", normalized=False), answer, "paris") == 0.0
    assert score(json_field("n.1"), answer, 4) == 1.0
    assert score(json_field("n.1"), answer, 4.0) == 1.0  # numbers by value
    assert score(json_field("missing"), answer, "x") == 0.0
    assert score(json_field("name"), "no JSON here", "Paris") == 0.0
    # the target's own field when the target is a dict
    assert score(json_field("name"), '{"name": "Lyon"}', {"name": "Lyon", "x": 1}) == 1.0
    # a schema's parsed value is used first
    parsed = City(name="Paris", population=2)
    assert score(json_field("population"), "ignored", 2, parsed=parsed) == 1.0


def test_json_validity_with_and_without_a_schema():
    assert score(json_valid(), '{"a": 1}', None) == 1.0
    assert score(json_valid(), "prose [1, 2] prose", None) == 1.0
    assert score(json_valid(), "no json", None) == 0.0
    assert score(json_valid(City), '{"name": "Paris", "population": 2}', None) == 1.0
    assert score(json_valid(City), '{"name": "Paris"}', None) == 0.0
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert score(json_valid(schema), '{"n": 3}', None) == 1.0
    assert score(json_valid(schema), '{"n": "three"}', None) == 0.0


def test_a_python_function_by_its_parameter_names():
    def length_ok(answer, item):
        return len(answer) <= item["limit"]

    def half(a, b):  # other names: called as fn(answer, target)
        return 0.5 if a == b else 0

    assert score(Function(length_ok), "short", None, item={"limit": 10}) == 1.0
    assert score(Function(length_ok), "far too long", None, item={"limit": 3}) == 0.0
    assert score(Function(half), "x", "x") == 0.5
    assert score(Function(lambda answer: None), "x", "x") is None
    with pytest.raises(jc.ConfigError, match="returned 'yes'"):
        score(Function(lambda answer: "yes"), "x", "x")


def test_scorers_by_name_distinct_names_and_failed_answers():
    chosen = scorers_of(["exact", "contains", contains(), len])
    assert [s.name for s in chosen] == ["exact", "contains", "contains_2", "len"]
    assert [s.name for s in scorers_of(None)] == ["match"]
    with pytest.raises(jc.ConfigError, match="'fuzzy' is not a built-in"):
        scorers_of(["fuzzy"])
    failed = Case(answer=None, target="x", item=None, turn=None)
    assert exact().score_all([failed]) == [None]  # a failed request has no score


def test_grades_read_from_a_graders_answer():
    assert grade_of("The answer matches.\nGRADE: C") == 1.0
    assert grade_of("grade: p") == 0.5
    assert grade_of("GRADE: C ... on reflection GRADE: I") == 0.0  # the last one counts
    assert grade_of("**GRADE:** I") == 0.0
    assert grade_of("I cannot tell") is None


def test_intervals_on_known_cases():
    # Wilson, 8 of 10: (0.4902, 0.9433) (Wilson 1927; Newcombe 1998, table I)
    low, high = wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10)[1] == 1.0 and wilson(0, 3)[0] == 0.0
    # Student's t: 1..5, mean 3, sd 1.5811, t(4) = 2.7764: 3 -+ 1.9632
    low, high = t_interval([1, 2, 3, 4, 5])
    assert (round(low, 4), round(high, 4)) == (1.0368, 4.9632)
    assert t975(60) == pytest.approx(2.0003, abs=2e-4)
    assert t975(120) == pytest.approx(1.9799, abs=2e-4)
    assert all(math.isnan(x) for x in t_interval([1.0]))
    # 0/1 values take Wilson, others t; nan and None left out
    assert mean_interval([1, 1, 0, 1, 1, 1, 1, 0, 1, 1])[3] == "wilson"
    mean, low, high, how = mean_interval([1, 2, 3, 4, 5, None, math.nan])
    assert (mean, how, round(low, 4)) == (3.0, "t", 1.0368)
    assert mean_interval([])[3] == "none"
    # items' shares of 0/1 scores (samples averaged): t, kept within [0, 1]
    assert mean_interval([0, 1 / 3, 2 / 3])[1:] == (0.0, 1.0, "t")  # t alone: [-0.49, 1.16]
    _, low, high, _ = mean_interval([0.5, 0.6, 0.7])  # inside: as t says, 0.6 -+ 0.2484
    assert (round(low, 4), round(high, 4)) == (0.3516, 0.8484)


def test_percentiles_as_numpy_computes_them():
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert percentile(values, 50) == 55.0
    assert percentile(values, 95) == pytest.approx(95.5)
    assert percentile([7], 95) == 7 and math.isnan(percentile([], 50))

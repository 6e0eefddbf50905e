"""The agreement figures of repeated answers (session/agreement.py): pure, tested with values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jupyter_chat.session.agreement import (
    NO_VALUE,
    distribution,
    letter,
    pick_index,
    share_text,
    summarize,
)


def test_answers_that_differ_only_in_white_space_are_the_same_answer():
    s = summarize(["Paris", " Paris\n", "Pa  ris", "Lyon", None])
    assert s["groups"] == [0, 0, 1, 2, None]
    assert (s["k"], s["answered"], s["distinct"]) == (5, 4, 3)
    assert s["common"] == {"group": 0, "count": 2, "share": 0.5, "members": [0, 1]}
    assert share_text(s) == "5 samples · 1 failed · 3 distinct answers · most common 2 of 4 (50%)"


def test_structured_answers_are_the_same_when_their_values_are():
    s = summarize(
        ['{"a": 1, "b": 2}', '{"b":2,"a":1}', "{}"], [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {}]
    )
    assert s["groups"] == [0, 0, 1]
    assert [f["field"] for f in s["fields"]] == ["a", "b"]
    assert s["fields"][0]["given"] == 2 and s["fields"][0]["share"] == round(2 / 3, 4)


def test_an_answer_that_did_not_parse_is_grouped_by_its_text_and_left_out_of_the_fields():
    s = summarize(["x", "x", "7"], [NO_VALUE, NO_VALUE, 7])
    assert s["groups"] == [0, 0, 1]
    assert s["fields"] == [
        {
            "field": "value",
            "given": 1,
            "distinct": 1,
            "common": 7,
            "agree": 1,
            "share": 1.0,
            "mean": 7,
            "sd": 0,
            "min": 7,
            "max": 7,
        }
    ]


def test_ties_go_to_the_answer_seen_first_and_pick_overrides():
    groups = summarize(["b", "a", "a", "b", "c"])["groups"]
    assert pick_index(groups, None) == (0, "the most common answer")
    assert pick_index(groups, 4) == (4, "picked")
    assert pick_index([None, None], None) == (None, "no answer")


def test_letters_and_the_distribution():
    assert [letter(g) for g in (0, 1, 25, 26, 27, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "ZZ", "AAA"
    ]  # fmt: skip
    assert distribution(summarize(["x", "y", "y", "z", "y"])) == [("B", 3), ("A", 1), ("C", 1)]


def test_booleans_are_not_numbers_and_mixed_fields_get_no_mean():
    s = summarize(["1", "2"], [{"ok": True, "n": 1}, {"ok": False, "n": "two"}])
    fields = {f["field"]: f for f in s["fields"]}
    assert "mean" not in fields["ok"] and "mean" not in fields["n"]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", " a", "c\n"])), max_size=40))
def test_the_figures_always_add_up(answers):
    s = summarize(answers)
    assert s["k"] == len(answers)
    assert s["answered"] == sum(a is not None for a in answers)
    assert sum(n for _, n in distribution(s)) == s["answered"]
    if s["answered"]:
        assert s["common"]["count"] == max(n for _, n in distribution(s))
        picked, _ = pick_index(s["groups"], None)
        assert picked == s["common"]["members"][0]
    else:
        assert s["common"] is None and s["distinct"] == 0

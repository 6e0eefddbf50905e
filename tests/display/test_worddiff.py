"""The comparison's word diff, with strings: tokens, what differs from the first column, the
"same as column 1" mark, and the marks laid on the sanitized HTML (math and markup untouched)."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.display.sanitize import answer_html
from jupyter_chat.display.worddiff import (
    MARK_OPEN,
    column_diff,
    column_diffs,
    diff_note,
    marker,
    tokens,
)


def marked(reference: str, answer: str) -> list[str]:
    """The marked runs of ``answer``'s sanitized HTML, as text."""
    shown = str(answer_html(answer, mark=marker(answer, column_diff(reference, answer))))
    return re.findall(r'<mark class="jupyter-chat-diff">(.*?)</mark>', shown)


def test_tokens_are_words_punctuation_and_cjk_characters():
    assert tokens("Hello, world_1 (x2)!") == ["Hello", ",", "world_1", "(", "x2", ")", "!"]
    assert tokens("**Paris** is 3.14") == ["*", "*", "Paris", "*", "*", "is", "3", ".", "14"]
    assert tokens("café naïve 東京です") == ["café", "naïve", "東", "京", "で", "す"]
    assert tokens(" \u00a0\n\t") == []


def test_identical_columns_are_the_same_as_column_1():
    d = column_diff("The answer is 42.", "The   answer\nis 42.")  # white space aside
    assert d == {"same": True, "tokens": 5}
    assert diff_note(d) == "same as column 1"
    assert marker("The answer is 42.", d) is None  # nothing to mark


def test_a_changed_word_is_marked_and_counted():
    d = column_diff("The sky is blue today.", "The sky is grey today.")
    assert d["same"] is False and d["changed"] == [[3, 4]] and d["words"] == 1
    assert diff_note(d) == "1 word differs from column 1"
    assert marked("The sky is blue today.", "The sky is grey today.") == ["grey"]


def test_an_added_phrase_is_one_mark_and_a_deletion_counts():
    a = "The capital of France is **Paris**."
    b = "The capital of France is Paris, a city of light."
    assert marked(a, b) == [", a city of light"]
    assert diff_note(column_diff(a, b)) == "4 words differ from column 1"
    cut = column_diff("one two three four", "one two")
    assert cut["changed"] == [] and cut["words"] == 2 and not cut["same"]
    assert diff_note(column_diff("Yes.", "Yes!")) == "punctuation differs from column 1"


def test_column_diffs_are_against_the_first_answer():
    diffs = column_diffs(["a b", "a b", "a c", None])
    assert diffs[0] is None and diffs[3] is None
    assert diffs[1]["same"] and diffs[2]["changed"] == [[1, 2]]
    assert column_diffs([None, "a", "b"]) == [None, None, None]  # no first answer


def test_marks_skip_markup_link_targets_code_fences_and_math():
    a = "Use `print(x)` and see [the docs](https://a.example/x). Area $\\pi r^2$ here.\n"
    b = "Use `print(y)` and see [the docs](https://a.example/y). Area $\\pi r^3$ there.\n"
    shown = str(answer_html(b, mark=marker(b, column_diff(a, b))))
    assert re.findall(r'<mark class="jupyter-chat-diff">(.*?)</mark>', shown) == ["y", "there"]
    assert "<code>print(" in shown and 'href="https://a.example/y"' in shown  # tags kept
    assert "&#36;\\pi r^3&#36;" in shown  # the math whole, for MathJax
    code = "```python\nx = 1\nprint(x)\n```\n"
    assert marked(code, code.replace("1", "2")) == ["2"]  # inside the highlighted code


def test_marked_text_is_escaped_again():
    a = "a <b> & c"
    b = "a <b> & 'd' $5"
    shown = str(answer_html(b, mark=marker(b, column_diff(a, b))))
    assert MARK_OPEN + "&#x27;d&#x27; &#36;5</mark>" in shown
    assert "&lt;b&gt; &amp;" in shown and "<b>" not in shown


def test_a_diff_of_another_answer_marks_nothing():
    d = column_diff("a b c", "a b d")
    assert marker("a completely different answer here", d) is None


WORDS = ["the", "cat", "sat", "on", "mat", ",", ".", "**", "`x`", "\n\n", "- ", "42", "é"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25), st.lists(st.sampled_from(WORDS), max_size=25))
def test_marks_never_change_the_text_shown(a, b):
    """Whatever the two answers, the marked HTML shows the same text as the unmarked one, and
    an answer is the same as column 1 exactly when its tokens are."""
    first, other = " ".join(a), " ".join(b)
    d = column_diff(first, other)
    plain = str(answer_html(other))
    shown = str(answer_html(other, mark=marker(other, d)))
    strip = re.compile(r"<mark[^>]*>|</mark>")
    assert strip.sub("", shown).replace("&#x27;", "'") == plain.replace("&#x27;", "'")
    assert d["same"] == (tokens(first) == tokens(other))
    assert all(0 <= s < e <= d["tokens"] for s, e in d.get("changed", []))


def test_hostile_answers_marked_keep_every_tag_and_text_as_sanitized():
    """The hostile corpus against a benign first column, and against itself with a word
    changed: the marks add only <mark> elements; every tag the sanitizer left, and the text
    shown, stay exactly as they were."""
    from hostile import corpus

    hostile = corpus("http://127.0.0.1:9", "diff")
    tag = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
    for first in ("A harmless answer.", hostile.replace("fine link", "good link")):
        d = column_diff(first, hostile)
        mark = marker(hostile, d)
        assert mark is not None
        plain, shown = str(answer_html(hostile)), str(answer_html(hostile, mark=mark))
        assert MARK_OPEN in shown
        bare = re.sub(r'<mark class="jupyter-chat-diff">|</mark>', "", shown)
        assert tag.findall(bare) == tag.findall(plain)
        visible = [html.unescape(t) for t in tag.split(bare)]
        assert visible == [html.unescape(t) for t in tag.split(plain)]


def test_long_answers_are_diffed_sentence_first():
    """Answers of thousands of words: the sentences are matched first, then the words of the
    changed ones, so one changed word per sentence is one mark each."""
    sentences = [f"Sentence {i} says the same thing as before." for i in range(600)]
    changed = [s.replace("same", "other") if i % 3 == 0 else s for i, s in enumerate(sentences)]
    d = column_diff(" ".join(sentences), " ".join(changed))
    assert d["words"] == 200 and len(d["changed"]) == 200
    assert all(e - s == 1 for s, e in d["changed"])

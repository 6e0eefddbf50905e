"""Interpolation of %%chat cell bodies: placeholders, escapes, pass-through, code, errors."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.errors import ChatError, ConfigError
from jupyter_chat.interpolate import InterpolationError, interpolate

NS: dict[str, Any] = {
    "x": 5,
    "name": "Ada",
    "items": [1, 2, 3],
    "d": {"k": "v", "_x": "private key ok", 1: "one"},
    "df": SimpleNamespace(shape=(10, 3)),
    "cfg": {"model": SimpleNamespace(name="gpt")},
    "_": "last output",
    "In": ["", "a = 1", "print(a)", "1 / 0"],
    "Out": {1: 42, 2: "two"},
    "Err": {3: "ZeroDivisionError: division by zero"},
}


def lookup(name: str) -> Any:
    return NS[name]


def nothing(name: str) -> Any:
    raise KeyError(name)


def fill(text: str) -> str:
    return interpolate(text, lookup)


def same(text: str) -> None:
    """``text`` passes through untouched even when no name at all is defined."""
    assert interpolate(text, nothing) == text


def error(text: str) -> InterpolationError:
    with pytest.raises(InterpolationError) as info:
        fill(text)
    return info.value


# --- placeholders ---------------------------------------------------------------------------


def test_name():
    assert fill("Hello {name}, x={x}!") == "Hello Ada, x=5!"


def test_values_are_converted_with_str():
    class Shown:
        def __str__(self) -> str:
            return "as str"

        def __repr__(self) -> str:
            return "as repr"

    assert interpolate("{v}", {"v": Shown()}.__getitem__) == "as str"
    assert fill("{items} {name}") == "[1, 2, 3] Ada"  # str, not repr: no quotes


def test_attribute_key_and_index_chains():
    assert fill("{df.shape}") == "(10, 3)"
    assert fill("{df.shape[0]} rows") == "10 rows"
    assert fill('{cfg["model"].name}') == "gpt"
    assert fill("{cfg['model'].name}") == "gpt"
    assert fill("{d[1]} {items[-1]}") == "one 3"


def test_blanks_just_inside_braces_and_brackets():
    assert fill("{ name }|{\tx\t}|{ items[ -1 ] }") == "Ada|5|3"


def test_newline_inside_braces_is_not_a_placeholder():
    same("{\nname}")
    same("{name\n}")


def test_in_out_err():
    assert fill("{In[2]}") == "print(a)"
    assert fill("{In[-2]}") == "print(a)"
    assert fill("{Out[1]} {Out[2]}") == "42 two"
    assert fill("Fix this: {Err[3]}") == "Fix this: ZeroDivisionError: division by zero"


def test_negative_index_is_python_indexing():
    assert fill("{In[-1]}") == "1 / 0"  # list: from the end
    assert str(error("{Out[-1]}")).startswith("{Out[-1]}: KeyError -1 (line 1)")  # dict: a key


def test_private_top_level_names_and_private_string_keys_are_allowed():
    assert fill("{_}") == "last output"
    assert fill('{d["_x"]}') == "private key ok"


@pytest.mark.parametrize(
    "text",
    ["{1}", "{a-b}", "{x.1}", "{x.}", "{x[name]}", "{x[1.5]}", "{x[]}", '{x["a\nb"]}', "{x[1}"],
)
def test_near_placeholders_pass_through(text):
    same(text)


# --- escapes --------------------------------------------------------------------------------


def test_doubled_braces_are_literal_braces():
    assert fill("{{x}}") == "{x}"
    assert fill("{{ and }} alone") == "{ and } alone"
    assert fill("{{{x}}}") == "{5}"
    assert fill("{{{{") == "{{"


def test_escaped_json_template():
    assert fill('{{"name": "{name}"}}') == '{"name": "Ada"}'


# --- pass-through ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '{ "a": [1, {"b": 2}] }',
        '{"a": {"b": {"c": 1}}}',
        'Reply as JSON:\n{\n  "answer": "...",\n  "sources": [{"url": "..."}]\n}\n',
    ],
)
def test_json_passes_through(text):
    same(text)


@pytest.mark.parametrize("text", ["{'a': 1}", "{1, 2}", "{'a': {'b': (1, 2)}}"])
def test_dict_and_set_literals_pass_through(text):
    same(text)


def test_empty_braces_pass_through():
    same("{} and { } and {\n}")


@pytest.mark.parametrize("text", ["{x:.2f}", "{x!r}", "{x=}", "{name:>10}", "{x:{width}}"])
def test_format_specs_are_left_untouched(text):
    assert fill(text) == text


def test_js_objects_and_code_pass_through():
    same("{a: 1}")
    same("const o = {a: 1, b: {c: [2]}}; function f() { return o; }")
    same("squares = {k: k * k for k in range(3)}")
    same("lambda: {}")


def test_lone_braces_pass_through():
    same("{ open")
    same("close }")
    same("} {")
    assert fill("a } b { c {x}") == "a } b { c 5"
    assert fill("{x} }") == "5 }"


def test_nested_braces_pass_through_including_placeholder_shapes():
    same("{outer {inner} outer}")
    same("{a {b} {c}}")
    assert fill('{"user": {name}} {name}') == '{"user": {name}} Ada'


# --- code -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fence, close",
    [("```", "```"), ("```python", "```"), ("``` py", "```"), ("~~~", "~~~"), ("~~~js", "~~~~")],
)
def test_fenced_code_is_untouched(fence, close):
    code = 'print(f"{x} {y}")\nd = {{1: 2}}\n{In[99]}'
    text = "Explain {name}:\n" + fence + "\n" + code + "\n" + close + "\nThanks {x}"
    assert fill(text) == "Explain Ada:\n" + fence + "\n" + code + "\n" + close + "\nThanks 5"


def test_unclosed_fence_runs_to_the_end():
    same("```\n{y} {{ }}\nmore {y}")
    assert fill("{x}\n~~~\n{y} {{\n") == "5\n~~~\n{y} {{\n"


def test_fence_closes_only_with_the_same_character_and_length():
    text = "````\n```\n{y}\n~~~~\n{y}\n````\n{x}"
    assert fill(text) == text[:-3] + "5"


def test_indented_fence_and_closing_fence_with_trailing_blanks():
    text = "- step:\n    ```python\n    f'{y}'\n    ```  \n- {x}"
    assert fill(text) == text.replace("{x}", "5")


def test_backtick_fence_info_string_cannot_hold_a_backtick():
    # "```a`b```" is an inline span, not a fence: the next line is prose
    assert fill("```a`b```\n{x}") == "```a`b```\n5"


@pytest.mark.parametrize(
    "text",
    ["`{x}`", 'Why does `f"{x}"` fail?', "``like `{this}` ``", "`{{x}}`", "`a\n{x}`"],
)
def test_inline_code_is_untouched(text):
    assert fill(text) == text


def test_inline_code_then_placeholder():
    assert fill("`{x}` is {x}") == "`{x}` is 5"
    assert fill("``a ` {x}`` {x}") == "``a ` {x}`` 5"


def test_unmatched_backticks_are_literal():
    assert fill("a ` b {x}") == "a ` b 5"
    assert fill("`` b {x} `") == "`` b 5 `"


def test_inline_code_ends_at_a_blank_line():
    assert fill("a ` b\n\n{x} `") == "a ` b\n\n5 `"


# --- errors ---------------------------------------------------------------------------------


def test_unknown_name_names_the_placeholder_and_line():
    err = error("Hello\n{nope} there")
    assert err.message == "unknown name 'nope' in {nope} (line 2)"
    assert err.hint == "Define it, write {{nope}} for literal braces, or use --no-interpolate."
    assert str(err) == f"{err.message}. {err.hint}"
    assert isinstance(err, ConfigError) and isinstance(err, ChatError)


def test_line_numbers_count_code_lines():
    assert error("```\na\nb\n```\n\n  {nope.attr}").message.endswith("(line 6)")


@pytest.mark.parametrize(
    "text, message",
    [
        ('{d["missing"]}', "{d[\"missing\"]}: KeyError 'missing' (line 1)"),
        ("{items[7]}", "{items[7]}: IndexError list index out of range (line 1)"),
        ("{x[0]}", "{x[0]}: TypeError 'int' object is not subscriptable (line 1)"),
        ("{df.rows}", "{df.rows}: AttributeError 'types.SimpleNamespace' object has no attribute"),
    ],
)
def test_failing_attribute_key_or_index(text, message):
    err = error(text)
    assert err.message.startswith(message)
    assert "--no-interpolate" in err.hint


def test_errors_carry_no_traceback():
    err = error('{d["missing"]}')
    assert err.__cause__ is None and err.__suppress_context__
    assert "Traceback" not in str(err)


def test_failing_lookup_and_str_are_interpolation_errors():
    def broken(name: str) -> Any:
        raise RuntimeError("namespace gone")

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    assert error_of("{a}", broken).message == "{a}: RuntimeError namespace gone (line 1)"
    assert (
        error_of("{u}", {"u": Unprintable()}.__getitem__).message == "{u}: ValueError no (line 1)"
    )


def error_of(text: str, look: Any) -> InterpolationError:
    with pytest.raises(InterpolationError) as info:
        interpolate(text, look)
    return info.value


@pytest.mark.parametrize(
    "text", ["{x.__class__}", "{x._secret}", "{cfg['model'].__dict__}", "{ x.__class__ }"]
)
def test_private_and_dunder_attributes_are_refused(text):
    looked_up: list[str] = []

    def spy(name: str) -> Any:
        looked_up.append(name)
        return NS[name]

    err = error_of(text, spy)
    assert "is private and refused" in err.message
    assert looked_up == []  # refused before anything is evaluated


# --- large and pathological inputs (speed is measured in benchmarks/, never asserted here) ---


@pytest.mark.parametrize(
    "text,expected",
    [
        ("{" * 100_000, "{" * 50_000),  # all escapes
        ("}" * 100_001, "}" * 50_001),  # escapes and one lone brace
        ("{a['" * 25_000 + '{a["' * 25_000, None),  # never closed: untouched
        ("{" + "a" * 50_000 + "{x.y" * 10_000, None),
        ("".join("`" * n + " x{x} " for n in range(1, 400)), "unmatched backticks: filled"),
        ("```\n" * 30_001, None),
        ("{ " * 30_000 + "}" * 30_000, None),  # one deep brace group: untouched
    ],
)
def test_large_pathological_inputs(text, expected):
    out = interpolate(text, lookup)
    if expected is None:
        assert out == text
    elif expected.startswith("unmatched"):
        assert out == text.replace("{x}", "5")
    else:
        assert out == expected


def test_many_placeholders_are_all_filled():
    assert interpolate("{x}" * 30_000, lookup) == "5" * 30_000


def test_import_is_cheap():
    code = (
        "import sys, jupyter_chat.interpolate; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'IPython') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- properties -----------------------------------------------------------------------------

SPECIAL = list("{}[]().:'\"`~-_ \n\t") + ["{x}", "{{", "}}", "```\n", "~~~\n", "x", "a", "1"]
TRICKY = st.lists(st.sampled_from(SPECIAL) | st.characters(), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_characters="{}")))
def test_text_without_braces_is_identical(text):
    assert interpolate(text, lookup) == text


@settings(max_examples=500, deadline=None)
@given(TRICKY)
def test_any_text_gives_a_string_or_an_interpolation_error(text):
    for look in (lookup, nothing):
        with contextlib.suppress(InterpolationError):
            assert isinstance(interpolate(text, look), str)


PROSE = st.text(
    st.sampled_from(list("{}x \n:\"'[]._-1")) | st.characters(blacklist_characters="`~")
)
CODE = st.text(st.characters(blacklist_characters="`\n"), min_size=1).map(lambda s: f"`{s}`")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), PROSE, CODE), max_size=6))
def test_doubled_braces_outside_code_come_back_single(pieces):
    doubled = "".join(
        p.replace("{", "{{").replace("}", "}}") + (c if code else "") for code, p, c in pieces
    )
    expected = "".join(p + (c if code else "") for code, p, c in pieces)
    assert interpolate(doubled, nothing) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_characters="`")), st.sampled_from(["", "python"]))
def test_fenced_code_comes_back_identical(body, lang):
    text = f"```{lang}\n{body}\n```\n"
    assert interpolate(text, nothing) == text


def test_a_method_called_without_arguments_is_filled_and_other_calls_are_copied():
    class Frame:
        def describe(self):
            return "count 3"

        def head(self):
            return self

        def fails(self):
            raise RuntimeError("no data")

    ns = {"df": Frame(), "f": len}
    lookup = ns.__getitem__
    assert interpolate("{df.describe()} / {df.head().describe()}", lookup) == "count 3 / count 3"
    for literal in ("{f()}", "{df.describe(1)}", "{df.describe( )}", "{df()}"):
        assert interpolate(literal, lookup) == literal  # not a placeholder: copied as it is
    with pytest.raises(InterpolationError, match="RuntimeError no data"):
        interpolate("{df.fails()}", lookup)

"""The one Markdown builder: values are escaped exactly, and the package builds outputs only
through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hostile import Inspector
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from jupyter_chat.display import markup
from jupyter_chat.display.bundle import markdown_bundle
from jupyter_chat.display.markup import Html, Md, code, fence, html_block, table, text

PACKAGE = Path(markup.__file__).parent
# CommonMark with raw HTML on: what a trusting renderer (JupyterLab's) makes of our Markdown
COMMONMARK = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
NASTY = st.text(alphabet=st.sampled_from(list("<>&\"'`*_[]()!#|\\~-+=:.\n\t\r x/a1@{}$")))


def rendered(md: str) -> Inspector:
    p = Inspector()
    p.feed(COMMONMARK.render(md))
    p.close()
    return p


def one_line(s: str) -> str:
    return "".join(
        " " if ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" else c for c in s
    )


@given(st.one_of(ANY_TEXT, NASTY))
def test_text_renders_as_exactly_its_characters(value):
    p = rendered(str(Md("x ") + text(value) + Md(" x")))
    assert [t for t, _ in p.elements] == ["p"]  # no emphasis, link, image, HTML, heading...
    shown = "".join(p.text).strip()  # the parser has already decoded character references
    expected = "x " + one_line(value).translate(markup._BIDI) + " x"
    assert shown == expected.strip()


@given(st.one_of(ANY_TEXT, NASTY))
def test_code_spans_hold_exactly_their_text(value):
    p = rendered(str(Md("a ") + code(value) + Md(" b")))
    assert [t for t, _ in p.elements] == (["p", "code"] if value else ["p"])


@given(st.one_of(ANY_TEXT, NASTY), st.sampled_from(["", "json", "python"]))
def test_fences_hold_exactly_their_text(value, lang):
    md = str(Md("before\n\n") + fence(value, lang) + Md("\n\nafter"))
    p = rendered(md)
    assert [t for t, _ in p.elements] == ["p", "pre", "code", "p"]
    body = "".join(p.text)
    expected = value.replace("\r", "").replace("\x00", "\ufffd").translate(markup._BIDI)
    assert expected in body.replace("\r", "")


@given(st.lists(st.one_of(ANY_TEXT, NASTY), min_size=2, max_size=2))
def test_table_cells_stay_in_their_cells(row):
    p = rendered(str(table(["a", "b"], [row])))
    tags = [t for t, _ in p.elements]
    assert tags.count("td") == 2 and tags.count("th") == 2
    assert set(tags) <= {"table", "thead", "tbody", "tr", "th", "td"}


def test_markup_escapes_what_it_is_given_and_refuses_mixing():
    assert Md("**{}**").format("<b>*x*</b>") == "**&lt;b&gt;\\*x\\*&lt;\\/b&gt;**"
    assert Md("a ") + "<i>" == "a &lt;i&gt;"
    assert Md(", ").join(["*", code("x")]) == "\\*, `x`"
    assert Html("<p>{}</p>").format("<script>") == "<p>&lt;script&gt;</p>"
    with pytest.raises(TypeError):
        Md("a") + Html("<b>")
    with pytest.raises(TypeError):
        Md("%s") % "x"
    assert type(Md("a").replace("a", "b")) is str  # any other method gives up the mark
    with pytest.raises(ValueError):
        fence("x", "python onclick")
    with pytest.raises(ValueError):
        markup.data_image("http://evil/x.png", "x")
    assert markup.link("x", "javascript:alert(1)") == "x"


def test_an_html_block_is_one_line_so_no_markdown_runs_inside_it():
    block = html_block(Html("<div><pre>{}</pre></div>").format("a\n\n[x](javascript:1)\r\rb"))
    assert "\n" not in block and "\r" not in block
    p = rendered(str(block))
    assert [t for t, _ in p.elements] == ["div", "pre"]


def test_the_output_sink_takes_only_markup():
    with pytest.raises(TypeError):
        markdown_bundle("**not built**", "x")  # type: ignore[arg-type]
    assert markdown_bundle(Md("ok"), "\x1b]0;title\x07ok")["text/plain"] == " ]0;title ok"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_markup_is_made_only_from_literals_outside_the_builder():
    """Md(...)/Html(...) wrap only string literals; building markup from dynamic text is the
    builder's and the sanitizer's job alone."""
    allowed = {"markup.py", "sanitize.py"}
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            target = (
                f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            )
            if (
                name in ("Md", "Html")
                and not (
                    len(node.args) == 1
                    and isinstance(node.args[0], ast.Constant)
                    and not node.keywords
                )
                and path.name not in allowed
            ):
                found.append(f"{path.name}:{node.lineno}")
            if name == "__new__" and target in ("Md", "Html") and path.name not in allowed:
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_text_markdown_is_set_in_one_place_only():
    """Every output's ``text/markdown`` is set by display.bundle.markdown_bundle (which takes only Md):
    no dict literal or item assignment elsewhere writes that key."""
    places = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            keys = []
            if isinstance(node, ast.Dict):
                keys = node.keys
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                keys = [node.slice]
            if any(isinstance(k, ast.Constant) and k.value == "text/markdown" for k in keys):
                places.append(f"{path.name}:{node.lineno}")
    assert len(places) == 1 and places[0].startswith("bundle.py"), places

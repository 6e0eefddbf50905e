"""Headings in an answer's ``text/markdown``: demoted, and skipped by JupyterLab's table of
contents, which reads that MIME type whichever renderer shows the output."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from jupyter_chat.display.bundle import bundle
from jupyter_chat.display.sanitize import answer_html

# JupyterLab 4's rule (@jupyterlab/toc, utils/markdown.ts `skipHeading`): a heading token whose
# raw text holds a tag with the class jp-toc-ignore or tocSkip is left out of the ToC
TOC_SKIP = re.compile(
    r'<\w+\s(?:.*?\s)?class="(?:.*?\s)?(?:jp-toc-ignore|tocSkip)(?:\s.*?)?"(?:\s.*?)?>'
)
HEADING = re.compile(r"<(h[1-6])\b[^>]*>")
ANSWER = (
    "# Title\n\ntext\n\n## Part *two*\n\n### Three\n\n#### Four\n\n###### Six\n\nSetext\n======\n"
)


def test_headings_are_demoted_two_levels_and_marked_for_the_toc_to_skip():
    html = str(answer_html(ANSWER))
    tags = re.findall(r"<(h[1-6])( class=\"jp-toc-ignore\")?>", html)
    assert tags == [
        ("h3", ' class="jp-toc-ignore"'),
        ("h4", ' class="jp-toc-ignore"'),
        ("h5", ' class="jp-toc-ignore"'),
        ("h6", ' class="jp-toc-ignore"'),
        ("h6", ' class="jp-toc-ignore"'),
        ("h3", ' class="jp-toc-ignore"'),
    ]
    assert "<h1" not in html and "<h2" not in html
    assert "Part <em>two</em>" in html  # the heading's own Markdown still renders


def test_every_heading_in_a_turns_markdown_is_skipped_by_jupyterlabs_toc():
    data, _ = bundle(
        answer=ANSWER, reasoning="# Thinking", tool_calls=[], record={}, messages=[],
        status="complete",
    )  # fmt: skip
    md = data["text/markdown"]
    headings = [m.group(0) for m in HEADING.finditer(md)]
    assert len(headings) == 7  # six in the answer, one in the reasoning
    assert all(TOC_SKIP.fullmatch(h) for h in headings), headings


@pytest.mark.parametrize(
    "attack",
    [
        '<h1 class="jp-Notebook">x</h1>',  # raw HTML is text, never a tag
        "# x {.jp-Notebook}",
        '<h2 class="jp-toc-ignore tocSkip" onclick="alert(1)">x</h2>',
    ],
)
def test_a_model_cannot_choose_a_headings_class(attack):
    attrs: list[tuple[str, str | None]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, tag_attrs):
            attrs.extend(tag_attrs)

    Tags().feed(str(answer_html(attack)))
    assert set(attrs) <= {("class", "jp-toc-ignore")}, attrs

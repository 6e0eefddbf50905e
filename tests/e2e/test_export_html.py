"""A chat notebook shared as nbconvert's HTML (the lab template), opened in Chromium with no
extension and no script of ours: ordinary turns and a finished comparison show their code
highlighted (Pygments' classes, which the export's stylesheet colours), and their math whole for the export's MathJax. (Long code lines wrap there, as
every output's do: JupyterLab's output stylesheet breaks any ``pre`` in an output, and no
style attribute passes our sanitizer.)

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import pytest
from browser_lab import execute_cells
from dialect_server import Reply, chunk, sse

LONG = "the_answer_is_a_single_very_long_identifier_that_must_never_break_mid_token_" * 2
ANSWER = (
    "Here is code:\n\n```python\ndef f(x):\n    return x + 1  # one more\n\n"
    f"{LONG} = 'a long line'\n```\n\n"
    "Inline math $a*b*c$ stays whole, and so does\n\n$$\\frac{a_1}{b_2}$$\n"
)


def reply() -> Reply:
    return Reply(events=sse(chunk(ANSWER), chunk(finish="stop")))


@pytest.fixture
def exported(server, tmp_path):
    from nbconvert import HTMLExporter

    server.script(reply(), reply(), reply())
    nb = execute_cells(
        [
            "%load_ext jupyter_chat",
            "%%chat -m edenai:openai/gpt-4o\nShow me code and math.",
            "import jupyter_chat\n"
            "jupyter_chat.compare('Show me code', models=['local', 'openai:gpt-test'])",
        ],
        tmp_path,
    )
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page = tmp_path / "shared.html"
    page.write_text(body, encoding="utf-8")
    return page, body


# per code block of the outputs: highlighted spans, the keyword's and the comment's colour
# against the block's own text
CODE = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output .jupyter-chat-code'))
    .map(div => {
        const pre = div.querySelector('pre');
        const color = sel => { const e = div.querySelector(sel); return e && getComputedStyle(e).color; };
        return {
            highlight: div.classList.contains('highlight'),
            spans: div.querySelectorAll('span[class]').length,
            keyword: color('span.k'),
            comment: color('span.c1'),
            text: getComputedStyle(pre).color,
        };
    })"""


def test_the_export_shows_highlighted_code_and_whole_math(exported, browser, shots):
    page_path, body = exported
    assert "mathjax" in body.lower()  # the export typesets math with MathJax...
    page = browser.new_page()
    try:
        page.route("http*://**", lambda route: route.abort())  # ...from a CDN: offline here
        page.set_viewport_size({"width": 700, "height": 900})
        page.goto(page_path.as_uri())
        blocks = page.evaluate(CODE)
        assert len(blocks) == 3, blocks  # the turn's and each column's
        for b in blocks:
            assert b["highlight"] and b["spans"] > 0, b  # Pygments' classes...
            assert b["keyword"] and b["keyword"] != b["text"], b  # ...coloured by the export
            assert b["comment"] and b["comment"] not in (b["text"], b["keyword"]), b
        # the math reaches the page whole, as MathJax reads it (not mangled by Markdown)
        texts = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
            ".map(o => o.textContent)"
        )
        chat = [t for t in texts if "Here is code" in t]
        assert len(chat) == 2  # the turn, and the comparison
        assert all("$a*b*c$" in t and "$$\\frac{a_1}{b_2}$$" in t for t in chat)
        assert chat[1].count("$a*b*c$") == 2  # in both columns
        page.screenshot(path=str(shots / "export-700.png"), full_page=True)
    finally:
        page.close()

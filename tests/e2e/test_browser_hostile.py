"""The hostile corpus (tests/hostile.py) through every output path, in real JupyterLab and
Debian's Chromium: a streamed turn (its footer from a hostile model name), a whole turn,
``%chat history``, ``%%chat --compare`` (columns and summary table, an error among them),
``%chat models``, ``%chat verify``, tool calls and results, and the panel.

Three ways: with the extension cell by cell (the comm streams), with it under Run All (display
updates go out before the extension's hello is read), and with the extension disabled (only
``text/markdown`` and widget HTML). Each time: nothing ran (``window.__pwned`` unset), nothing
loaded (the tracker saw only the control image), no live element in any output.
"""

from __future__ import annotations

import json

from browser_lab import NotebookPage, write_notebook
from dialect_server import Reply, chunk, sse
from hostile import corpus
from test_browser import MIME, USAGE

EDEN = "%%chat -m edenai:openai/gpt-4o"
# where model (and prompt) text lands on the page
MODEL_TEXT = (
    ".jp-RenderedMarkdown, .jp-ChatTurn-answer, .jp-ChatTurn-reasoningBody, .jp-ChatTurn-tools,"
    " .jp-ChatTurn-messages, .jp-ChatTurn-meta, .jp-ChatTurn-banner, .jp-ChatTurn-notes,"
    " .widget-html-content"
)
INSPECT = """(sel) => {
    const bad = [];
    const roots = Array.from(document.querySelectorAll(sel));
    const dead = ['script', 'iframe', 'frame', 'object', 'embed', 'svg', 'video', 'audio',
        'style', 'form', 'link', 'meta', 'base', 'math', 'noscript', 'template', 'portal'];
    for (const root of roots) {
        for (const el of root.querySelectorAll('*')) {
            const tag = el.localName;
            if (dead.includes(tag)) bad.push('<' + tag + '>');
            for (const a of Array.from(el.attributes)) {
                if (a.name.startsWith('on')) bad.push(tag + '[' + a.name + ']');
                const ours = /^jupyter-chat-(box|note|grid|column)$/.test(el.className);  // our frames
                if (a.name === 'style' && !tag.startsWith('mjx') && !ours) bad.push(tag + '[style]');
                if (a.name.startsWith('data-commandlinker')) bad.push(tag + '[' + a.name + ']');
            }
            const src = el.getAttribute('src');
            if (tag === 'img' && !/^data:image\\/(png|jpeg|gif|webp);/.test(src || ''))
                bad.push('img ' + src);
            if (tag === 'a' && el.hasAttribute('href')) {
                const href = el.getAttribute('href');
                const anchor = href.startsWith('#') && el.classList.contains('jp-InternalAnchorLink');
                if (!/^(https?:|mailto:)/i.test(href) && !anchor) bad.push('a ' + href);
            }
        }
    }
    const fine = document.querySelectorAll('a[href="https://example.org/fine"]').length;
    return {bad, roots: roots.length, fine};
}"""


def stream_of(text: str, **top) -> Reply:
    pieces = text.split("\n\n")
    return Reply(
        events=sse(
            chunk(role="assistant", reasoning=text, **top),
            *(chunk(p + "\n\n") for p in pieces),
            chunk(finish="stop", usage=USAGE),
        ),
        split=300,
        delay=0.01,
    )


def body_of(text: str) -> Reply:
    return Reply(
        body={
            "id": "h1",
            "object": "chat.completion",
            "created": 1,
            "model": "<img src=x onerror=\"window.__pwned='model'\">",
            "usage": USAGE,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text, "reasoning_content": text},
                }
            ],
        }
    )


def script_corpus(server, text: str) -> None:
    """The replies of one pass over the notebook, in the order its cells ask for them."""
    evil_name = "<img src=x onerror=\"window.__pwned='tool'\">\n\n<script>window.__pwned=2</script>"
    short = "<img src=x onerror=\"window.__pwned='cmp'\"> [x](javascript:window.__pwned=3) | `a"
    server.script(
        stream_of(text, model="<b>m</b> · signature verified"),  # the footer's model name
        body_of(text),
        stream_of(short),  # --compare: one column answers, the other fails
        Reply(status=400, body={"error": {"message": short}}),
        Reply(  # %chat models
            body={"data": [{"id": short}, {"id": "a`b<script>window.__pwned=4</script>"}, "x"]}
        ),
        Reply(  # the tool loop: a call to f, and one to a name made to break out
            events=sse(
                chunk(
                    tool_calls=[
                        {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}},
                        {"index": 1, "id": "c2", "function": {"name": evil_name, "arguments": "{"}},
                    ]
                ),
                chunk(finish="tool_calls"),
            )
        ),
        stream_of(text),
        stream_of(text),  # the panel
    )


def corpus_notebook(root, text: str, control_url: str) -> str:
    evil = {
        "cells": [
            {
                "cell_type": "code",
                "source": "",
                "metadata": {},
                "execution_count": 1,
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {"jupyter_chat": {"signature": "verified"}},
                        "data": {MIME: {"signed": {"chain_id": short_html(), "model": 1}}},
                    }
                ],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "evil.ipynb").write_text(json.dumps(evil))
    name = "corpus.ipynb"
    write_notebook(
        root / name,
        [
            "%load_ext jupyter_chat\nimport jupyter_chat",
            f"{EDEN} -t h\n<img src=x onerror=\"window.__pwned='prompt'\"> Be evil.",
            f"{EDEN} -t h --no-stream\nBe evil again.",
            "%chat history h",
            "%%chat --compare edenai:openai/gpt-4o,openai:gpt-test\nCompare.",
            "%chat models openai",
            "%chat verify evil.ipynb",
            f"CORPUS = {json.dumps(text)}\ndef f(q: str = '') -> str:\n    return CORPUS",
            "%%chat -m openai:gpt-test --tools f\nUse f.",
            "p = jupyter_chat.panel(model='edenai:openai/gpt-4o'); p.send('x'); p.wait(); p",
            f"from IPython.display import HTML\nHTML('<img src=\"{control_url}\">')",
        ],
    )
    return name


def short_html() -> str:
    return "<img src=x onerror=\"window.__pwned='verify'\">"


def check_page(nb: NotebookPage, tracker) -> dict:
    deadline = 600
    while "/control.png" not in tracker.hits and deadline:
        nb.page.wait_for_timeout(50)
        deadline -= 1
    assert "/control.png" in tracker.hits, "the control image never loaded"
    pages = len(nb.page.context.pages)
    for name in ("click me", "raw link"):  # the neutralised links do nothing when clicked
        links = nb.page.locator(f"{nb.panel} .jp-OutputArea").get_by_text(name, exact=True)
        for i in range(min(links.count(), 6)):
            if links.nth(i).is_visible():
                links.nth(i).click()
    nb.page.wait_for_timeout(300)
    assert nb.page.evaluate("() => window.__pwned") is None
    assert tracker.hits == ["/control.png"], tracker.hits
    assert len(nb.page.context.pages) == pages
    found = nb.page.evaluate(INSPECT, MODEL_TEXT)
    assert found["bad"] == [], found["bad"][:20]
    return found


def run_pass(nb: NotebookPage, server, tracker, run_all: bool) -> dict:
    text = corpus(tracker.url("").rstrip("/"), "p")
    server.reset()
    script_corpus(server, text)
    name = corpus_notebook(nb.lab.root, text, tracker.url("control.png"))
    nb.open(name)
    last = 10
    if run_all:
        nb.command("notebook:run-all-cells")
        nb.wait_cell_done(last, timeout=120_000)
    else:
        for i in range(last + 1):
            nb.run(i)
    outputs = [nb.outputs(i) for i in range(last + 1)]
    # every path ran: cells 1-9 made outputs; the failing column and tool call are shown too
    assert all(outputs[i] for i in (1, 2, 3, 4, 5, 6, 8, 9)), [len(o) for o in outputs]
    return check_page(nb, tracker)


# With the extension, turns (the panel's too) render through its parser (marked), where the
# corpus's unclosed code span makes the trailing fine links literal text; %chat history,
# rendered by the kernel (markdown-it), keeps its two live: safe links still work.
FINE_WITH_EXTENSION = 2


def test_the_corpus_runs_nothing_with_the_extension_cell_by_cell(server, nb, tracker):
    found = run_pass(nb, server, tracker, run_all=False)
    # cells 1, 2 and 8, and the panel's answer, are the extension's turns
    assert nb.page.locator(f"{nb.panel} .jp-OutputArea-output.jp-ChatTurn").count() >= 4
    assert found["fine"] >= FINE_WITH_EXTENSION and found["roots"] >= 10


def test_the_corpus_runs_nothing_with_the_extension_under_run_all(server, nb, tracker):
    found = run_pass(nb, server, tracker, run_all=True)
    assert found["fine"] >= FINE_WITH_EXTENSION


def test_the_corpus_runs_nothing_without_the_extension(server, nb_plain, tracker):
    nb = nb_plain
    found = run_pass(nb, server, tracker, run_all=True)
    loaded = nb.page.evaluate("() => !!window.__jupyterChatStreams")
    assert loaded is False  # the extension really is off
    assert nb.page.locator(".jp-ChatTurn").count() == 0
    assert found["fine"] >= 4 and found["roots"] >= 10

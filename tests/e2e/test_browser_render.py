"""How an answer sits in the notebook, in a real JupyterLab and Chromium: headings small and
out of the table of contents, code blocks framed with Copy and Insert below, math typeset
while the answer streams, %%chat cells highlighted as Markdown.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

from browser_lab import MIME, NotebookPage, write_notebook
from dialect_server import Reply, chunk, sse

EDEN = "%%chat -m edenai:openai/gpt-4o"
USAGE = {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}
HEADINGS = (
    "# Answer title\n\nSome text.\n\n## Answer section\n\nMore text.\n\n"
    "### Answer subsection\n\nThe end."
)
CODE = (
    "Define it:\n\n```python\ndef f(x):\n    return x + 1\n```\n\nthen run:\n\n"
    "```bash\necho 'hi there'\n```\n"
)


def reply(answer: str, pieces: int = 1, delay: float = 0.0) -> Reply:
    size = -(-len(answer) // pieces)
    parts = [answer[i : i + size] for i in range(0, len(answer), size)]
    return Reply(
        events=sse(
            chunk(role="assistant", content=""),
            *(chunk(p) for p in parts),
            chunk(finish="stop", usage=USAGE),
        ),
        split=None if not delay else 400,
        delay=delay,
    )


def open_cells(nb: NotebookPage, name: str, *cells) -> NotebookPage:
    write_notebook(nb.lab.root / name, ["%load_ext jupyter_chat", *cells])
    nb.open(name)
    nb.run(0)
    return nb


def toc_entries(nb: NotebookPage) -> list[str]:
    return nb.page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-TableOfContents-content"
        " .jp-tocItem-content')).map(e => e.textContent.trim())"
    )


# -- headings --------------------------------------------------------------------------------


def test_answer_headings_are_small_and_out_of_the_table_of_contents(server, nb, shots):
    import nbformat

    server.script(reply(HEADINGS), reply("# Second answer\n\n## Its part\n\ntext"))
    title = nbformat.v4.new_markdown_cell("# Notebook title")
    control = "from IPython.display import Markdown\nMarkdown('## Control output heading')"
    cells = [title, f"{EDEN}\nAnswer with headings.", f"{EDEN}\nAnd again.", control]
    open_cells(nb, "headings.ipynb", *cells)
    for index in (2, 3, 4):
        nb.run(index)
    turn = nb.turn(2)
    turn.wait_for()
    answer = turn.locator(".jp-ChatTurn-answer")
    sizes = nb.page.evaluate(
        """([panel]) => {
            const px = e => parseFloat(getComputedStyle(e).fontSize);
            const root = document.querySelector(panel);
            const turn = root.querySelectorAll('.jp-ChatTurn')[0];
            return {
                title: px(root.querySelector('.jp-MarkdownCell h1')),
                h1: px(turn.querySelector('.jp-ChatTurn-answer h1')),
                h2: px(turn.querySelector('.jp-ChatTurn-answer h2')),
                body: px(turn.querySelector('.jp-ChatTurn-answer p')),
                classes: Array.from(turn.querySelectorAll('.jp-ChatTurn-answer :is(h1,h2,h3)'))
                    .map(h => h.classList.contains('jp-toc-ignore')),
            };
        }""",
        [nb.panel],
    )
    assert answer.locator("h1").inner_text() == "Answer title"
    assert sizes["h1"] <= 0.7 * sizes["title"], sizes  # never the size of the notebook's title
    assert sizes["body"] < sizes["h2"] < sizes["h1"], sizes  # still headings, in order
    assert sizes["classes"] == [True, True, True]

    # the table of contents: the notebook's title and the control output, no answer heading
    nb.command("toc:show-panel")
    nb.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.jp-TableOfContents-content"
        " .jp-tocItem-content')).some(e => e.textContent.includes('Control output heading'))"
    )
    entries = toc_entries(nb)
    assert any("Notebook title" in e for e in entries), entries
    assert not [e for e in entries if "Answer" in e or "Its part" in e], entries
    nb.page.screenshot(path=str(shots / "answer-headings-toc.png"))
    assert nb.errors == []


# -- code blocks -----------------------------------------------------------------------------


def test_code_blocks_have_a_frame_copy_and_insert_below(server, nb, shots):
    server.script(reply(CODE))
    open_cells(nb, "code.ipynb", f"{EDEN}\nShow me code.", "x = 'the last cell'")
    nb.run(1)
    turn = nb.turn(1)
    frames = turn.locator(".jp-ChatTurn-answer .jp-ChatTurn-code")
    assert frames.count() == 2
    assert frames.locator(".jp-ChatTurn-codeLang").all_inner_texts() == ["python", "bash"]
    assert frames.nth(0).locator("pre code span[class]").count() > 0  # still highlighted
    turn.screenshot(path=str(shots / "answer-code-blocks.png"))

    # Copy: that block's code, exactly
    nb.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=nb.lab.base)
    frames.nth(1).locator("button.jp-ChatTurn-codeCopy").click()
    nb.page.wait_for_function(
        "(el) => el.dataset.copied === 'yes'", arg=frames.nth(1).element_handle()
    )
    assert nb.page.evaluate("() => navigator.clipboard.readText()") == "echo 'hi there'"

    # Insert below: a code cell right below the turn's cell, whichever cell is active
    nb.page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 2; }")
    frames.nth(0).locator("button.jp-ChatTurn-codeInsert").click()
    nb.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.length === 4"
    )
    assert nb.source(2) == "def f(x):\n    return x + 1"
    assert nb.source(3) == "x = 'the last cell'"
    assert (
        nb.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets[2].model.type"
        )
        == "code"
    )
    nb.page.screenshot(path=str(shots / "answer-code-inserted.png"))
    assert nb.errors == []


def test_a_failed_turn_offers_no_copy_of_the_whole_turn(nb):
    show = (
        "from IPython.display import display\n"
        "from jupyter_chat.display.bundle import bundle\n"
        "data, meta = bundle(answer={answer!r}, reasoning='', tool_calls=[],\n"
        "    record={{'provider': 'local', 'model': 'm'}}, messages=[], status={status!r},\n"
        "    error={error!r})\n"
        "display(data, metadata=meta, raw=True)"
    )
    open_cells(
        nb,
        "failed.ipynb",
        show.format(answer="Half an answer.", status="error", error="edenai returned 500"),
        show.format(answer="A whole answer.", status="complete", error=None),
    )
    nb.run(1)
    nb.run(2)
    failed, fine = nb.turn(1), nb.turn(2)
    fine.wait_for()
    assert failed.get_attribute("data-status") == "error"
    assert "edenai returned 500" in failed.locator(".jp-ChatTurn-banner").inner_text()
    assert failed.locator("button.jp-ChatTurn-copy").count() == 1
    assert not failed.locator("button.jp-ChatTurn-copy").is_visible()
    assert fine.locator("button.jp-ChatTurn-copy").is_visible()  # the control


# -- math while streaming --------------------------------------------------------------------

SAMPLE = """([cell]) => {
    window.__mathSamples = [];
    const tick = () => {
        const t = cell.querySelector('.jp-ChatTurn');
        if (t) {
            window.__mathSamples.push({
                status: t.dataset.status,
                typeset: t.querySelectorAll('.jp-ChatTurn-answer mjx-container').length,
                chars: (t.querySelector('.jp-ChatTurn-answer') || {}).textContent?.length || 0,
            });
        }
    };
    window.__mathTimer = setInterval(tick, 20);
}"""


def test_math_is_typeset_while_the_answer_streams(server, nb, shots):
    answer = "".join(
        f"Paragraph {i}: the formula $x_{{{i}}}^2 + y = {i}$ holds.\n\n" for i in range(40)
    )
    answer += "$$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n"
    server.script(reply(answer, pieces=80, delay=0.04))
    open_cells(nb, "math.ipynb", f"{EDEN}\nMath, please.")
    nb.wait_chat_comm()
    nb.page.evaluate(SAMPLE, [nb.cell(1).element_handle()])
    nb.run(1, wait=False)
    nb.page.wait_for_function(
        "() => window.__mathSamples.some(s => s.status === 'streaming' && s.typeset > 3)"
    )
    nb.cell(1).screenshot(path=str(shots / "math-while-streaming.png"))
    nb.wait_cell_done(1)
    turn = nb.turn(1)
    nb.page.wait_for_function(
        "(t) => t.dataset.status === 'complete'"
        " && t.querySelectorAll('.jp-ChatTurn-answer mjx-container').length === 41",
        arg=turn.element_handle(),
    )
    samples = nb.page.evaluate(
        "() => { clearInterval(window.__mathTimer); return window.__mathSamples; }"
    )
    streaming = [s for s in samples if s["status"] == "streaming"]
    # typeset blocks appeared and grew while text was still arriving, not all at the end
    assert len({s["typeset"] for s in streaming if s["typeset"]}) > 2, streaming
    assert "$x_" not in turn.locator(".jp-ChatTurn-answer").inner_text()
    assert nb.outputs(1)[-1]["data"][MIME]["answer"] == answer
    assert nb.errors == []


# -- %%chat cells are Markdown ---------------------------------------------------------------


def test_chat_cells_are_highlighted_as_markdown_not_python(nb, shots):
    body = "It's a *prompt*, isn't it"
    open_cells(nb, "highlight.ipynb", f"{EDEN}\n{body}", body)
    colors = nb.page.evaluate(
        """([panel]) => {
            const cells = document.querySelectorAll(panel + ' .jp-Notebook .jp-CodeCell');
            const line = (cell) => cell.querySelectorAll('.cm-line')[cell === cells[1] ? 1 : 0];
            const after = (cell) => {
                // the colour of the text right after the apostrophe
                const walker = document.createTreeWalker(line(cell), NodeFilter.SHOW_TEXT);
                let node;
                while ((node = walker.nextNode())) {
                    if (node.textContent.includes('s a') || node.textContent.startsWith('s')) {
                        return getComputedStyle(node.parentElement).color;
                    }
                }
                return getComputedStyle(line(cell)).color;
            };
            const w = window.jupyterapp.shell.currentWidget.content.widgets;
            return {
                chat: after(cells[1]), python: after(cells[2]),
                plainText: getComputedStyle(line(cells[1])).color,
                mime: [w[1].model.mimeType, w[2].model.mimeType],
            };
        }""",
        [nb.panel],
    )
    assert colors["mime"] == ["text/x-ipythongfm", "text/x-ipython"], colors
    assert colors["chat"] == colors["plainText"], colors  # no string colour after the '
    assert colors["python"] != colors["chat"], colors  # the control: Python opens a string
    nb.cell(1).screenshot(path=str(shots / "chat-cell-markdown.png"))

    # it follows the cell: no %%chat, back to Python; %%chat again, Markdown again
    def mime_after(source: str) -> str:
        nb.page.evaluate(
            "(s) => window.jupyterapp.shell.currentWidget.content.widgets[2]"
            ".model.sharedModel.setSource(s)",
            source,
        )
        return nb.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets[2].model.mimeType"
        )

    assert mime_after(f"{EDEN}\n{body}") == "text/x-ipythongfm"
    assert mime_after(body) == "text/x-ipython"
    assert nb.errors == []

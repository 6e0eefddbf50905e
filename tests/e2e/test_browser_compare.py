"""The comparison in JupyterLab and Chromium (browser_lab.py): finished, saved and reopened
without a kernel it renders as its live columns did (code framed and highlighted with Copy and
Insert below, each column's Copy); code scrolls inside its block at 700 px instead of
breaking mid-token; the cell, and the status bar, stay busy until every column has finished.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import json

from browser_lab import WAIT_MS, record_frames
from dialect_server import Reply, chunk, sse
from test_browser import open_chat_notebook

USAGE = {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}
LONG = "the_answer_is_a_single_very_long_identifier_that_must_never_break_mid_token_" * 2
CODE = (
    "Here is code:\n\n```python\ndef f(x):\n    return x + 1\n\n"
    f"{LONG} = 'a long line that scrolls sideways inside its block'\n```\n\nand math $x^2$."
)


def reply(text: str, pieces: int = 1, delay: float = 0.0) -> Reply:
    size = -(-len(text) // pieces)
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    return Reply(
        events=sse(
            chunk(role="assistant", content=""),
            *(chunk(p) for p in parts),
            chunk(finish="stop", usage=USAGE),
        ),
        split=200 if delay else None,
        delay=delay,
    )


def compare_notebook(nb, name: str, models: list[str]) -> None:
    open_chat_notebook(
        nb,
        name,
        f"import jupyter_chat\njupyter_chat.compare('Show me code', models={models})",
        "x = 'the last cell'",
    )


# what a rendered column holds: frames, highlighted spans, buttons, the column's Copy
COLUMNS = """(cell) => Array.from(cell.querySelectorAll('.jupyter-chat-grid .jupyter-chat-column'))
    .map(col => ({
        label: (col.querySelector('strong') || {}).textContent,
        frames: col.querySelectorAll('.jp-ChatTurn-answer .jp-ChatTurn-code').length,
        spans: col.querySelectorAll('.jp-ChatTurn-code pre code span[class]').length,
        copy: col.querySelectorAll('button.jp-ChatTurn-codeCopy').length,
        insert: Array.from(col.querySelectorAll('button.jp-ChatTurn-codeInsert'))
            .filter(b => getComputedStyle(b).display !== 'none').length,
        columnCopy: Array.from(col.querySelectorAll('button.jp-ChatTurn-copy'))
            .filter(b => !b.hidden && !b.disabled).length,
        footer: (col.querySelector('.jp-ChatTurn-footer') || {}).textContent || '',
    }))"""

# a code block's long line: whether it scrolls inside its block, on one line
SCROLLS = """(cell) => Array.from(cell.querySelectorAll('.jp-ChatTurn-code pre')).map(pre => {
    const code = pre.querySelector('code') || pre;
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let lines = null;
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const at = node.textContent.indexOf('the_answer_is_a_single');
        if (at >= 0) {
            range.setStart(node, at);
            range.setEnd(node, Math.min(node.textContent.length, at + 150));
            const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
            lines = tops.size;
        }
    }
    return {scroll: pre.scrollWidth, client: pre.clientWidth, lines,
            overflow: getComputedStyle(pre).overflowX};
}).filter(p => p.lines !== null)"""


def check_columns(nb, index: int, models: list[str]) -> list[dict]:
    cell = nb.cell(index)
    cell.locator(".jupyter-chat-grid .jupyter-chat-column .jp-ChatTurn-code").nth(
        len(models) - 1
    ).wait_for(timeout=WAIT_MS)
    cols = cell.evaluate(COLUMNS)
    assert [c["label"] for c in cols] == models
    for c in cols:
        assert c["frames"] == 1, c  # the code block in its frame
        assert c["spans"] > 0, c  # highlighted
        assert c["copy"] == 1 and c["insert"] == 1, c  # Copy and Insert below
        assert c["columnCopy"] == 1, c  # the column's Copy
    return cols


def test_a_finished_comparison_renders_as_live_saved_and_reopened_without_a_kernel(
    server, nb, shots
):
    models = ["local", "openai:gpt-test"]
    server.script(reply(CODE), reply(CODE))
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    compare_notebook(nb, "finished.ipynb", models)
    nb.run(1)
    outs = nb.outputs(1)
    assert len(outs) == 1 and "application/vnd.jupyter-chat.compare+json" in outs[0]["data"]
    cols = check_columns(nb, 1, models)
    assert "local:" in cols[0]["footer"] and "42 tokens" in cols[0]["footer"]
    nb.cell(1).screenshot(path=str(shots / "compare-finished.png"))

    # saved, then reopened with no kernel: the same grid, rendered by the extension
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((nb.lab.root / "finished.ipynb").read_text())
    data = saved["cells"][1]["outputs"][0]["data"]
    assert "application/vnd.jupyter.widget-view+json" not in data
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)  # else Lab picks a Python kernel itself
    (nb.lab.root / "finished-saved.ipynb").write_text(json.dumps(saved))
    nb.open("finished-saved.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    check_columns(nb, 1, models)
    assert "Error displaying widget" not in nb.cell(1).inner_text()
    nb.cell(1).screenshot(path=str(shots / "compare-reopened.png"))

    # Insert below works in the reopened notebook: the column's code as a cell below
    insert = (
        nb.cell(1).locator(".jupyter-chat-column").nth(1).locator("button.jp-ChatTurn-codeInsert")
    )
    insert.click()
    nb.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.length === 4"
    )
    assert nb.source(2).startswith("def f(x):\n    return x + 1")
    assert nb.source(3) == "x = 'the last cell'"
    # and the column's Copy copies that column's answer
    nb.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=nb.lab.base)
    first = nb.cell(1).locator(".jupyter-chat-column").nth(0)
    first.locator("button.jp-ChatTurn-copy").click()
    nb.page.wait_for_function(
        "(el) => el.dataset.copied === 'yes'", arg=first.locator(".jp-ChatTurn").element_handle()
    )
    assert nb.page.evaluate("() => navigator.clipboard.readText()") == CODE
    assert nb.errors == []


def test_code_scrolls_inside_its_block_at_700px(server, nb, shots):
    models = ["local", "openai:gpt-test"]
    server.script(reply(CODE), reply(CODE), reply(CODE))
    nb.page.set_viewport_size({"width": 700, "height": 900})
    compare_notebook(nb, "narrow.ipynb", models)
    nb.run(1)
    check_columns(nb, 1, models)
    blocks = nb.cell(1).evaluate(SCROLLS)
    assert len(blocks) == 2, blocks
    for b in blocks:
        assert b["scroll"] > b["client"], b  # it scrolls inside its block...
        assert b["lines"] == 1, b  # ...on one line, never broken mid-token
    nb.page.screenshot(path=str(shots / "compare-700-code.png"))
    # a cell's own turn at 700 px: the same
    nb.page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.model.sharedModel.insertCell(2, {cell_type: 'code',"
        " source: '%%chat -m local\\nShow me code'}); }"
    )
    nb.run(2)
    nb.turn(2).locator(".jp-ChatTurn-code").first.wait_for(timeout=WAIT_MS)
    blocks = nb.cell(2).evaluate(SCROLLS)
    assert len(blocks) == 1 and blocks[0]["scroll"] > blocks[0]["client"], blocks
    assert blocks[0]["lines"] == 1, blocks
    nb.turn(2).screenshot(path=str(shots / "turn-700-code.png"))


STATUS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const cell = w.content.widgets[1];
    return {kernel: w.sessionContext.session.kernel.status,
            prompt: cell.promptNode ? cell.promptNode.textContent : '',
            bar: Array.from(document.querySelectorAll('#jp-main-statusbar *'))
                .map(e => e.textContent).filter(t => /\\| (Idle|Busy)/.test(t)).pop() || ''};
}"""

# the frontend's own control messages (a subshell for the widgets' comms, the debugger's
# questions) each end in an 'idle' status while the cell still runs
CONTROL_IDLE = """() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    window.__controlIdle = 0;
    k.iopubMessage.connect((_, m) => {
        const parent = (m.parent_header || {}).msg_type || '';
        if (m.header.msg_type === 'status' && m.content.execution_state === 'idle'
            && parent !== 'execute_request') { window.__controlIdle++; }
    }); }"""


def test_the_cell_stays_busy_while_the_comparison_streams(server, nb, shots):
    text = " ".join(f"word{i}" for i in range(80))
    server.script(reply(text, 40, 0.15), reply(text, 40, 0.15))
    open_chat_notebook(
        nb,
        "busy.ipynb",
        "import jupyter_chat\n"
        "jupyter_chat.compare('Same prompt', models=['local', 'openai:gpt-test'])",
    )
    nb.page.evaluate(CONTROL_IDLE)
    # in every painted frame of the live grid: whether each column shows the answer's first word
    frames = record_frames(
        nb.page,
        ".jp-ChatCompare-grid",
        "g => Array.from(g.children).map(c => (c.innerText || '').includes('word0'))",
    )
    nb.run(1, wait=False)
    cell = nb.cell(1)
    cell.get_by_text("word3", exact=False).first.wait_for(timeout=WAIT_MS)
    # after the frontend's control messages (each ending in 'idle'), the kernel says busy again
    nb.page.wait_for_function("() => window.__controlIdle > 0", timeout=WAIT_MS)
    nb.page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
            return w.sessionContext.session.kernel.status === 'busy'
                || !w.content.widgets[1].promptNode.textContent.includes('*'); }""",
        timeout=WAIT_MS,
        polling=50,
    )
    now = nb.page.evaluate(STATUS)
    assert "*" in now["prompt"], now  # the comparison still runs...
    assert now["kernel"] == "busy" and "Busy" in now["bar"], now  # ...and the kernel says so
    assert "word79" not in cell.inner_text()
    nb.page.screenshot(path=str(shots / "compare-busy.png"))
    nb.wait_cell_done(1)
    nb.wait_idle()
    assert "Idle" in nb.page.evaluate(STATUS)["bar"]
    # each update replaces a column's output: no painted frame lost the text it had shown
    for col in (0, 1):
        had = [f[col] for f in frames() if len(f) > col]
        since = next(i for i, has in enumerate(had) if has)
        assert len(had) - since > 20 and all(had[since:]), (col, had)


def test_without_the_extension_the_comparison_is_clean_html_with_its_math(server, nb_plain, shots):
    """JupyterLab without jupyter-chat's extension renders the output's ``text/markdown``: a
    dollar in one column's footer (its cost) and math in the next column are not read as one
    formula swallowing the HTML between them; the math is typeset, the code highlighted."""
    nb = nb_plain
    answer = "Code:\n\n```python\ndef f(x):\n    return x + 1\n```\n\nMath $x^2$."
    server.script(reply(answer), reply(answer))
    open_chat_notebook(
        nb,
        "plain.ipynb",
        "import jupyter_chat\n"
        "jupyter_chat.compare('Same prompt', models=['local', 'openai:gpt-test'])",
    )
    nb.run(1)
    cell = nb.cell(1)
    cols = cell.locator(".jupyter-chat-grid .jupyter-chat-column")
    cols.nth(1).wait_for(timeout=WAIT_MS)
    nb.page.wait_for_function(
        "(c) => c.querySelectorAll('mjx-container').length >= 2",
        arg=cell.element_handle(),
        timeout=WAIT_MS,
    )
    text = cell.inner_text()
    assert "<div" not in text and "</sub>" not in text  # no markup shown as text
    assert "$0" in cols.nth(0).inner_text()  # the local model's cost, as written
    assert [cols.nth(i).locator("strong").first.inner_text() for i in range(2)] == [
        "local",
        "openai:gpt-test",
    ]
    assert cell.locator("mjx-container").count() == 2  # each column's x^2, typeset
    assert cell.locator(".jupyter-chat-code pre code span.k").count() == 4  # def, return x2
    cell.screenshot(path=str(shots / "compare-without-extension.png"))

"""A saved notebook with a finished comparison and a turn, opened in Notebook 7 (which loads
jupyter-chat's prebuilt extension as JupyterLab does) in Debian's Chromium: rendered from the
saved outputs as they were shown live, code framed and highlighted with Copy and Insert below,
each column's Copy.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import nbformat
import pytest
from browser_lab import WAIT_MS, execute_cells, serve_notebook7
from dialect_server import Reply, chunk, sse
from test_browser_compare import CODE, COLUMNS

pytest.importorskip("notebook", minversion="7")


@pytest.fixture
def notebook7(server, tmp_path):
    """A notebook executed against the loopback server, then a Notebook 7 server on it."""
    server.script(*[Reply(events=sse(chunk(CODE), chunk(finish="stop"))) for _ in range(3)])
    root = tmp_path / "root"
    root.mkdir()
    nb = execute_cells(
        [
            "%load_ext jupyter_chat",
            "import jupyter_chat\n"
            "jupyter_chat.compare('Show me code', models=['local', 'openai:gpt-test'])",
            "%%chat -m edenai:openai/gpt-4o\nShow me code.",
        ],
        root,
    )
    nbformat.write(nb, root / "shared.ipynb")
    with serve_notebook7(root, tmp_path) as url:
        yield url


def test_notebook7_renders_the_saved_comparison_as_live(notebook7, browser, shots):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.goto(notebook7)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
        cells = page.locator(".jp-Notebook .jp-Cell")
        compare, turn = cells.nth(1), cells.nth(2)
        compare.locator(".jupyter-chat-column .jp-ChatTurn-code").nth(1).wait_for()
        cols = compare.evaluate(COLUMNS)
        assert [c["label"] for c in cols] == ["local", "openai:gpt-test"]
        for c in cols:
            assert c["frames"] == 1 and c["spans"] > 0, c  # framed, highlighted
            assert c["copy"] == 1 and c["insert"] == 1 and c["columnCopy"] == 1, c
        # an ordinary turn beside it: the same renderer
        turn.locator(".jp-ChatTurn .jp-ChatTurn-code").first.wait_for()
        assert turn.locator(".jp-ChatTurn-code pre code span[class]").count() > 0
        assert "Error displaying" not in compare.inner_text()
        page.screenshot(path=str(shots / "notebook7-compare.png"), full_page=True)
    finally:
        page.close()

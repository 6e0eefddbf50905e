"""An experiment's chart in Chromium (browser_lab.py): run in JupyterLab, the output shows the
chart (an SVG, as an ``<img>`` that every renderer keeps, trusted or not) above the summary
table; saved and reopened without a kernel, the same; in nbconvert's HTML offline and in
Notebook 7, the same chart decoded and drawn.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import json

import nbformat
from browser_lab import WAIT_MS, execute_cells, serve_notebook7
from dialect_server import completion, last_user_text
from test_browser import open_chat_notebook

CELL = """import jupyter_chat
data = [{"q": "Capital of France?", "target": "Paris"}, {"q": "3 + 4?", "target": "7"},
        {"q": "2 + 2?", "target": "4"}]
exp = jupyter_chat.evaluate(data, "Q: {q}", models=["openai:strong", "openai:weak"],
                            samples=2, scorers=["exact"], progress=False)
exp"""


def answer(body: dict):
    text, strong = last_user_text(body), body.get("model") == "strong"
    if "France" in text:
        return completion("Paris")
    return completion("7" if "3 + 4" in text else ("4" if strong else "five"))


def script(server) -> None:
    server.script(*[answer] * 12)


# what the output shows: the chart decoded (its natural size), the table's rows and the note
SHOWN = """(root) => {
    const view = root.querySelector('.jupyter-chat-experiment');
    if (!view) { return null; }
    const img = view.querySelector('img');
    return {
        decoded: !!img && img.complete && img.naturalWidth > 0,
        width: img ? img.getBoundingClientRect().width : 0,
        rows: Array.from(view.querySelectorAll('tr')).map(r => r.cells[0].textContent),
        cells: Array.from(view.querySelectorAll('td')).map(c => c.textContent),
        note: (view.querySelector('p') || {}).textContent,
        scripts: view.querySelectorAll('script, [onclick], [onerror]').length,
    };
}"""


def shown(page, root) -> dict:
    page.wait_for_function(
        "(root) => { const i = root.querySelector('.jupyter-chat-experiment img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=root.element_handle(),
        timeout=WAIT_MS,
    )
    return root.evaluate(SHOWN)


def check(view: dict) -> None:
    assert view["decoded"] and view["width"] > 300 and view["scripts"] == 0
    assert view["rows"] == ["model", "openai:strong", "openai:weak"]
    assert "1.00 [0.44, 1.00]" in view["cells"] and "0.67 [0.21, 0.94]" in view["cells"]
    assert view["note"].startswith("95% intervals: Wilson score interval")


def test_the_chart_in_jupyterlab_then_saved_and_reopened_without_a_kernel(server, nb, shots):
    script(server)
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    open_chat_notebook(nb, "experiment.ipynb", CELL)
    nb.run(1)
    (out,) = nb.outputs(1)
    assert out["data"]["image/svg+xml"].startswith("<svg")
    cell = nb.cell(1)
    check(shown(nb.page, cell))
    cell.screenshot(path=str(shots / "experiment-lab.png"))

    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((nb.lab.root / "experiment.ipynb").read_text())
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)
    (nb.lab.root / "experiment-saved.ipynb").write_text(json.dumps(saved))
    nb.open("experiment-saved.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    cell = nb.cell(1)
    check(shown(nb.page, cell))
    cell.screenshot(path=str(shots / "experiment-lab-saved.png"))
    assert nb.errors == []


def executed_notebook(server, root) -> nbformat.NotebookNode:
    script(server)
    return execute_cells(["%load_ext jupyter_chat", CELL], root)


def test_the_chart_in_nbconvert_html_offline(server, browser, tmp_path, shots):
    from nbconvert import HTMLExporter

    nb = executed_notebook(server, tmp_path)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path = tmp_path / "experiment.html"
    path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    try:
        page.route("http*://**", lambda route: route.abort())  # offline
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(path.as_uri())
        check(shown(page, page.locator("body")))
        page.screenshot(path=str(shots / "experiment-nbconvert.png"), full_page=True)
    finally:
        page.close()


def test_the_chart_in_notebook7(server, browser, tmp_path, shots):
    root = tmp_path / "root"
    root.mkdir()
    nbformat.write(executed_notebook(server, root), root / "shared.ipynb")
    with serve_notebook7(root, tmp_path) as url:
        page = browser.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
            cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
            check(shown(page, cell))
            page.screenshot(path=str(shots / "experiment-notebook7.png"), full_page=True)
        finally:
            page.close()

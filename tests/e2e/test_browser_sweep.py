"""A temperature sweep in Chromium at 700 px: in JupyterLab in the dark theme (the extension's
grid, and the live widget once its columns have finished), in JupyterLab with the extension
disabled, and in nbconvert's dark HTML (no extension, no script of ours). The columns are
labelled by the value, the column that says the same as the first is marked "same as column
1", and the words that differ from the first column are highlighted, readable, math left whole.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import re

from browser_lab import WAIT_MS, execute_cells
from dialect_server import Reply, chunk, sse
from test_browser import open_chat_notebook

ANSWERS = {
    0: "The sky is blue because air scatters blue light, as $x^2$ grows.",
    0.7: "The sky is blue because air scatters blue light, as $x^2$ grows.",
    1.2: "The sky is blue because tiny molecules scatter violet light, as $x^2$ grows.",
}
SWEEP = "%%chat --sweep temperature=0,0.7,1.2\nWhy is the sky blue?"
CHANGED = ["tiny molecules scatter violet"]


def by_temperature(body: dict) -> Reply:
    return Reply(events=sse(chunk(ANSWERS[body["temperature"]]), chunk(finish="stop")))


# per column: its label, its note, its marks, and how the marks read
COLUMNS = """(root) => Array.from(root.querySelectorAll('.jupyter-chat-column')).map(col => {
    const css = e => getComputedStyle(e);
    const marks = Array.from(col.querySelectorAll('mark'));
    const note = col.querySelector('.jp-ChatCompare-diffNote, .jupyter-chat-diffnote');
    return {
        label: (col.querySelector('strong') || {}).textContent,
        note: note ? note.textContent : '',
        noteFits: !note || note.getBoundingClientRect().right
            <= col.getBoundingClientRect().right + 1,
        marks: marks.map(m => m.textContent),
        color: marks.length ? css(marks[0]).color : null,
        background: marks.length ? css(marks[0]).backgroundColor : null,
        inMath: col.querySelectorAll('mjx-container mark, .MathJax mark').length,
        math: col.querySelectorAll('mjx-container, .MathJax').length,
        overflow: col.scrollWidth > col.clientWidth + 1,
    };
})"""


def _rgba(css: str) -> tuple[float, float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)  # type: ignore[return-value]


def _lum(rgb: tuple[float, ...]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _over(top: str, under: tuple[float, ...]) -> tuple[float, ...]:
    r, g, b, a = _rgba(top)
    return tuple(a * x + (1 - a) * y for x, y in zip((r, g, b), under))


def check(cols: list[dict], page_bg: str) -> None:
    assert [c["label"] for c in cols] == ["T=0", "T=0.7", "T=1.2"]
    assert [c["note"] for c in cols] == [
        "",
        "same as column 1",
        "4 words differ from column 1",
    ]
    assert [c["marks"] for c in cols] == [[], [], CHANGED]
    assert all(c["noteFits"] and not c["overflow"] for c in cols), cols
    marked = cols[2]
    assert marked["inMath"] == 0
    # the marked words read on the page: text and its highlight far apart in brightness
    behind = _over(marked["background"], _rgba(page_bg)[:3])
    assert abs(_lum(_rgba(marked["color"])[:3]) - _lum(behind)) > 90, marked


def test_the_sweep_grid_marks_what_differs_in_lab_dark_at_700px(server, nb, shots):
    server.script(*[by_temperature] * 3)
    nb.page.set_viewport_size({"width": 700, "height": 1000})
    open_chat_notebook(nb, "sweep.ipynb", SWEEP)
    nb.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    nb.run(1)
    cell = nb.cell(1)
    cell.locator(".jupyter-chat-column mark.jp-ChatCompare-diff").first.wait_for(timeout=WAIT_MS)
    cell.locator(".jupyter-chat-column mjx-container").nth(2).wait_for(timeout=WAIT_MS)
    page_bg = nb.page.evaluate(
        "() => getComputedStyle(document.querySelector('.jp-NotebookPanel-notebook'))"
        ".backgroundColor"
    )
    assert _lum(_rgba(page_bg)) < 100  # dark
    cols = cell.evaluate(COLUMNS)
    check(cols, page_bg)
    assert all(c["math"] == 1 for c in cols), cols  # typeset, marks or not
    assert cols[2]["background"] == "rgba(255, 193, 7, 0.35)"  # the extension's highlight
    cell.screenshot(path=str(shots / "sweep-lab-dark-700.png"))

    # the live widget, once its columns have finished, shows the same marks
    server.script(*[by_temperature] * 3)
    nb.page.evaluate(
        "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.model.sharedModel.insertCell(2, {cell_type: 'code', source:"
        " \"import ipywidgets, jupyter_chat\\nc = jupyter_chat.compare('Why is the sky blue?',"
        " sweep={'temperature': [0, 0.7, 1.2]})\\nipywidgets.VBox([c])\"}); }"
    )
    nb.run(2)
    live = nb.cell(2)
    live.locator(".jupyter-widgets .jupyter-chat-column mark").first.wait_for(timeout=WAIT_MS)
    live.locator(".jupyter-chat-column mjx-container").nth(2).wait_for(timeout=WAIT_MS)
    check(live.evaluate(COLUMNS), page_bg)
    live.screenshot(path=str(shots / "sweep-live-widget-dark-700.png"))
    nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    assert nb.errors == []


def test_the_sweep_in_nbconvert_html_dark_at_700px(server, browser, tmp_path, shots):
    from nbconvert import HTMLExporter

    server.script(*[by_temperature] * 3)
    nb = execute_cells(["%load_ext jupyter_chat", SWEEP], tmp_path)
    body, _ = HTMLExporter(template_name="lab", theme="dark").from_notebook_node(nb)
    assert "<script" not in nb.cells[1].outputs[0]["data"]["text/markdown"]
    page_path = tmp_path / "sweep.html"
    page_path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    try:
        page.route("http*://**", lambda route: route.abort())  # MathJax's CDN: offline here
        page.set_viewport_size({"width": 700, "height": 1000})
        page.goto(page_path.as_uri())
        page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert _lum(_rgba(page_bg)) < 100  # the dark export
        cols = page.evaluate(COLUMNS, page.locator(".jupyter-chat-compare").element_handle())
        check(cols, page_bg)
        assert "$x^2$" in page.locator(".jupyter-chat-column").nth(2).inner_text()  # whole
        page.locator(".jupyter-chat-compare").screenshot(
            path=str(shots / "sweep-nbconvert-dark.png")
        )
    finally:
        page.close()


def test_the_sweep_without_the_extension_in_lab(server, nb_plain, shots):
    """JupyterLab with the extension disabled renders the output's text/markdown through its
    own sanitizer: the marks and the notes survive it."""
    server.script(*[by_temperature] * 3)
    nb_plain.page.set_viewport_size({"width": 700, "height": 1000})
    open_chat_notebook(nb_plain, "sweep-plain.ipynb", SWEEP)
    nb_plain.run(1)
    cell = nb_plain.cell(1)
    cell.locator(".jupyter-chat-column mark.jupyter-chat-diff").first.wait_for(timeout=WAIT_MS)
    page_bg = nb_plain.page.evaluate(
        "() => getComputedStyle(document.querySelector('.jp-NotebookPanel-notebook'))"
        ".backgroundColor"
    )
    check(cell.evaluate(COLUMNS), page_bg)
    assert "application/vnd.jupyter-chat.compare+json" in nb_plain.outputs(1)[0]["data"]
    cell.screenshot(path=str(shots / "sweep-lab-plain-700.png"))

"""The samples view in Chromium (browser_lab.py): in JupyterLab with the extension, a
``%%chat --samples`` cell shows how far the samples agree, one button per sample (mouse and
keyboard), the sample pressed rendered as a turn, in the light and dark themes and at 700 px,
and the same once saved and reopened without a kernel; a turn's ``n`` choices get the same
buttons. Without the extension (JupyterLab with it disabled, nbconvert's HTML) the static
``text/markdown`` shows the same figures, each sample a ``<details>`` one click away; Notebook 7
renders it through the extension as Lab does.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import json

import nbformat
from browser_lab import WAIT_MS, execute_cells, serve_notebook7
from dialect_server import Reply, completion
from test_browser import open_chat_notebook

from jupyter_chat.display.samples import SAMPLES_MIME

CELL = "%%chat -m openai:gpt-test --seed 4 --samples 6\nCapital of France?"
ANSWERS = ["**Paris**, on the Seine.", "Lyon.", "*Nice*, by the sea."]


def by_seed(body: dict) -> Reply:
    """An answer that depends on the seed sent, as a sampled model's does."""
    return completion(ANSWERS[(body.get("seed") or 0) % 3])


def script(server, k: int = 6) -> None:
    server.script(*[by_seed] * k)


# what the extension's view shows: the line, the buttons, the sample shown and its answer
VIEW = """(cell) => {
    const view = cell.querySelector('.jp-ChatSamples');
    if (!view) { return null; }
    const buttons = Array.from(view.querySelectorAll('button.jp-ChatSamples-draw'));
    return {
        line: (view.querySelector('.jp-ChatSamples-line') || {}).textContent,
        groups: (view.querySelector('.jp-ChatSamples-groups') || {}).textContent,
        buttons: buttons.map(b => b.getAttribute('aria-label')),
        pressed: buttons.map(b => b.getAttribute('aria-pressed')),
        shown: view.dataset.shown,
        caption: (view.querySelector('.jp-ChatSamples-caption') || {}).textContent,
        answer: (view.querySelector('.jp-ChatTurn-answer') || {}).textContent || '',
        bold: view.querySelectorAll('.jp-ChatTurn-answer strong').length,
        footer: (view.querySelector('.jp-ChatSamples-footer') || {}).textContent,
        focused: document.activeElement && document.activeElement.dataset.index,
        overflow: view.scrollWidth > view.clientWidth + 1,
    };
}"""


def shown_view(cell) -> dict:
    cell.locator(".jp-ChatSamples .jp-ChatTurn-answer").first.wait_for(timeout=WAIT_MS)
    return cell.evaluate(VIEW)


def wait_shown(cell, index: int) -> dict:
    cell.page.wait_for_function(
        "([el, i]) => el.querySelector('.jp-ChatSamples').dataset.shown === String(i)",
        arg=[cell.element_handle(), index],
    )
    cell.page.wait_for_timeout(100)  # its turn re-renders
    return cell.evaluate(VIEW)


def test_the_samples_view_in_jupyterlab_by_mouse_and_keyboard_saved_and_reopened(server, nb, shots):
    script(server)
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    open_chat_notebook(nb, "samples.ipynb", CELL)
    nb.run(1)
    (out,) = nb.outputs(1)
    data = out["data"][SAMPLES_MIME]
    samples = data["samples"]
    answers = [s["answer"] for s in samples]
    first = data["agreement"]["common"]["members"][0]
    cell = nb.cell(1)
    view = shown_view(cell)
    assert view["line"] == out["data"]["text/plain"].split("\n")[0].strip("[]")
    assert view["groups"].startswith("answers: A ×")
    assert len(view["buttons"]) == 6 and view["buttons"][0].startswith("sample 0 · seed 4 · answer")
    assert view["pressed"] == ["true" if i == first else "false" for i in range(6)]
    assert view["shown"] == str(first) and "the most common answer" in view["caption"]
    assert view["answer"].strip() == answers[first].replace("*", "")
    assert "filed sample" in view["footer"]
    cell.screenshot(path=str(shots / "samples-lab.png"))

    # one click shows another sample, rendered (Markdown) as a turn
    other = next(i for i, a in enumerate(answers) if a != answers[first])
    cell.locator("button.jp-ChatSamples-draw").nth(other).click()
    view = wait_shown(cell, other)
    assert view["answer"].strip() == answers[other].replace("*", "")
    assert view["pressed"][other] == "true" and view["pressed"].count("true") == 1
    assert f"sample {other}" in view["caption"]
    # the keyboard: arrows move along the buttons, each showing its sample
    cell.locator("button.jp-ChatSamples-draw").nth(0).focus()
    nb.page.keyboard.press("ArrowRight")
    view = wait_shown(cell, 1)
    assert view["focused"] == "1" and view["answer"].strip() == answers[1].replace("*", "")
    nb.page.keyboard.press("End")
    assert wait_shown(cell, 5)["focused"] == "5"

    # the dark theme and 700 px: readable, nothing overflows
    pressed = cell.locator("button.jp-ChatSamples-draw[aria-pressed='true']")
    colors = "(b) => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
    light = pressed.evaluate(colors)
    nb.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    nb.page.wait_for_timeout(500)
    dark = pressed.evaluate(colors)
    assert dark != light and dark[0] != dark[1]
    nb.page.set_viewport_size({"width": 700, "height": 900})
    nb.page.wait_for_timeout(300)
    assert not cell.evaluate(VIEW)["overflow"]
    cell.screenshot(path=str(shots / "samples-lab-dark-700.png"))
    nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")

    # saved, then reopened with no kernel: the same view from the saved output
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((nb.lab.root / "samples.ipynb").read_text())
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)
    (nb.lab.root / "samples-saved.ipynb").write_text(json.dumps(saved))
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    nb.open("samples-saved.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    cell = nb.cell(1)
    view = shown_view(cell)
    assert len(view["buttons"]) == 6 and view["shown"] == str(first)
    cell.locator("button.jp-ChatSamples-draw").nth(other).click()
    assert wait_shown(cell, other)["answer"].strip() == answers[other].replace("*", "")
    assert nb.errors == []


def test_a_turns_n_choices_get_the_same_buttons(server, nb, shots):
    def choices(body: dict) -> Reply:
        reply = completion("x")
        reply.body["choices"] = [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": c}}
            for i, c in enumerate(["Yes, **surely**.", "No.", "Yes, **surely**."])
        ]
        return reply

    server.script(choices)
    open_chat_notebook(nb, "choices.ipynb", "%%chat -m openai:gpt-test --no-stream -p n=3\nSure?")
    nb.run(1)
    turn = nb.turn(1)
    turn.locator(".jp-ChatTurn-choices button.jp-ChatSamples-draw").nth(2).wait_for()
    line = turn.locator(".jp-ChatTurn-choices .jp-ChatSamples-line").text_content()
    assert line == "3 choices · 2 distinct answers · most common 2 of 3 (67%)"
    box = turn.locator(".jp-ChatSamples-choice")
    assert box.is_hidden()  # choice 1 is the answer above
    turn.locator(".jp-ChatTurn-choices button.jp-ChatSamples-draw").nth(1).click()
    nb.page.wait_for_function("(el) => el.textContent.trim() === 'No.'", arg=box.element_handle())
    assert box.is_visible()
    turn.screenshot(path=str(shots / "samples-choices.png"))


# the static form: how many samples, each one's <details>, opened by one click
STATIC = """(root) => {
    const view = root.querySelector('.jupyter-chat-samples');
    if (!view) { return null; }
    const details = Array.from(view.querySelectorAll('details.jupyter-chat-sample'));
    return {
        line: (view.querySelector('.jupyter-chat-samples-line strong') || {}).textContent,
        samples: details.length,
        open: details.filter(d => d.open).length,
        labels: details.map(d => d.querySelector('summary').textContent),
        common: (view.querySelector('.jupyter-chat-samples-common') || {}).textContent,
        scripts: view.querySelectorAll('script, [onclick], [onerror]').length,
    };
}"""


def open_second_sample(page, root_selector: str) -> str:
    """Click the second sample's summary; the text its <details> then shows."""
    summary = page.locator(f"{root_selector} details.jupyter-chat-sample > summary").nth(1)
    summary.click()
    details = page.locator(f"{root_selector} details.jupyter-chat-sample").nth(1)
    page.wait_for_function("(d) => d.open", arg=details.element_handle())
    return details.inner_text()


def test_without_the_extension_each_sample_is_one_click_away(server, nb_plain, shots):
    script(server)
    open_chat_notebook(nb_plain, "plain.ipynb", CELL)
    nb_plain.run(1)
    (out,) = nb_plain.outputs(1)
    data = out["data"][SAMPLES_MIME]
    cell = nb_plain.cell(1)
    cell.locator(".jupyter-chat-samples").wait_for(timeout=WAIT_MS)
    assert cell.locator(".jp-ChatSamples").count() == 0  # no extension: the Markdown
    shown = cell.evaluate(STATIC)
    assert shown["line"] == out["data"]["text/plain"].split("\n")[0].strip("[]")
    assert shown["samples"] == 6 and shown["open"] == 0 and shown["scripts"] == 0
    assert shown["labels"][0].startswith("sample 0 · seed 4 · answer ")
    top = data["samples"][data["agreement"]["common"]["members"][0]]["answer"]
    assert top.replace("*", "") in shown["common"]
    text = open_second_sample(nb_plain.page, f"{nb_plain.panel} .jp-Cell:nth-child(2)")
    assert data["samples"][1]["answer"].replace("*", "") in text
    cell.screenshot(path=str(shots / "samples-no-extension.png"))


def executed_notebook(server, root) -> nbformat.NotebookNode:
    script(server)
    return execute_cells(["%load_ext jupyter_chat", CELL], root)


def test_nbconvert_html_shows_the_samples_one_click_away(server, browser, tmp_path, shots):
    from nbconvert import HTMLExporter

    nb = executed_notebook(server, tmp_path)
    data = nb.cells[1].outputs[0]["data"][SAMPLES_MIME]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path = tmp_path / "samples.html"
    path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    try:
        page.route("http*://**", lambda route: route.abort())  # offline
        page.set_viewport_size({"width": 700, "height": 900})
        page.goto(path.as_uri())
        shown = page.evaluate(STATIC, page.locator("body").element_handle())
        assert shown["samples"] == 6 and shown["open"] == 0 and shown["scripts"] == 0
        assert shown["line"].startswith("6 samples · ")
        text = open_second_sample(page, ".jp-OutputArea-output")
        assert data["samples"][1]["answer"].replace("*", "") in text
        page.screenshot(path=str(shots / "samples-nbconvert.png"), full_page=True)
    finally:
        page.close()


def test_notebook7_renders_the_saved_samples_view(server, browser, tmp_path, shots):
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
            view = shown_view(cell)
            assert len(view["buttons"]) == 6 and view["line"].startswith("6 samples · ")
            cell.locator("button.jp-ChatSamples-draw").nth(2).click()
            assert wait_shown(cell, 2)["caption"].startswith("sample 2")
            page.screenshot(path=str(shots / "samples-notebook7.png"), full_page=True)
        finally:
            page.close()

"""A chat panel saved with the notebook: reopened in JupyterLab (a new kernel, or none) and in
Notebook 7 it shows its transcript, each turn as a cell's turn, never "Error displaying widget";
live, only the live panel shows; the nbconvert HTML export shows the transcript, never the
widget's repr (browser_lab.py, Debian's Chromium)."""

from __future__ import annotations

import json
import subprocess
import sys

from browser_lab import WAIT_MS, delete_path
from dialect_server import Reply, chunk, sse
from test_browser_panel import PANEL, panel_notebook

WIDGET = "application/vnd.jupyter.widget-view+json"
SAVED = "application/vnd.jupyter-chat-panel+json"
ANSWERS = [
    "The **first** answer, with code:\n\n```python\nprint('saved')\n```",
    "The second answer: $e^{i\\pi} + 1 = 0$ and a list:\n\n- one\n- two",
]
PROMPTS = ["First question", "Second question"]


def saved_panel(nb, server, name: str) -> dict:
    """A panel with two turns, saved: the notebook as written to disk."""
    server.script(*[Reply(events=sse(chunk(a), chunk(finish="stop"))) for a in ANSWERS])
    box = panel_notebook(nb, name, "p = jupyter_chat.panel(model='local')\np")
    panel = nb.cell(1).locator(PANEL)
    for i, prompt in enumerate(PROMPTS):
        box.fill(prompt)
        box.press("Enter")
        nb.page.wait_for_function(  # the turn is in the panel's own output (the kernel's update)
            """([i, mime]) => {
                const cell = window.jupyterapp.shell.currentWidget.content.widgets[1];
                const out = cell.model.outputs.toJSON()[0];
                return out && out.data[mime] && out.data[mime].turns.length === i + 1;
            }""",
            arg=[i, SAVED],
            timeout=WAIT_MS,
        )
    panel.get_by_text("The second answer").first.wait_for()
    # live: the live panel alone, the saved transcript hidden (no duplicate)
    cell = nb.cell(1)
    assert cell.locator(".jp-ChatPanel").count() == 1
    assert cell.locator(".jp-ChatPanelOutput-saved").is_hidden()
    assert cell.inner_text().count("Second question") == 1
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    return json.loads((nb.lab.root / name).read_text())


def check_saved_turns(cell) -> None:
    """The saved transcript as cells' turns: prompts, rendered Markdown, code, footers."""
    saved = cell.locator(".jp-ChatPanelOutput-saved")
    turns = saved.locator(".jp-ChatTurn")
    turns.nth(1).wait_for(timeout=WAIT_MS)
    assert turns.count() == 2
    text = saved.inner_text()
    assert all(p in text for p in PROMPTS)
    assert turns.nth(0).locator("strong").first.inner_text() == "first"
    assert "print('saved')" in turns.nth(0).locator("pre").first.inner_text()
    assert turns.nth(1).locator("li").count() == 2
    assert "local:" in turns.nth(1).inner_text()  # the footer
    assert "Error displaying widget" not in cell.inner_text()
    assert "ChatPanel(" not in cell.inner_text()


def test_a_saved_panel_reopened_shows_its_transcript(server, nb, shots):
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    saved = saved_panel(nb, server, "panel-saved.ipynb")
    (out,) = saved["cells"][1]["outputs"]
    assert {WIDGET, SAVED, "text/markdown", "text/plain"} <= set(out["data"])
    joined = {k: "".join(v) if isinstance(v, list) else v for k, v in out["data"].items()}
    assert "ChatPanel(" not in joined["text/plain"]
    assert all(p in joined["text/markdown"] for p in PROMPTS)
    nb.page.screenshot(path=str(shots / "panel-saved-live.png"))
    # reopened after the kernel is gone: a new kernel has no such widget model
    for s in nb.lab.api("/api/sessions"):
        delete_path(nb.lab, f"/api/sessions/{s['id']}")
    nb.open("panel-saved.ipynb")
    check_saved_turns(nb.cell(1))
    assert nb.cell(1).locator(".jp-ChatPanel").count() == 0
    nb.page.screenshot(path=str(shots / "panel-saved-reopened.png"))
    # with no kernel at all (and not trusted: written by someone else)
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)  # else Lab picks a Python kernel itself
    (nb.lab.root / "panel-nokernel.ipynb").write_text(json.dumps(saved))
    nb.open("panel-nokernel.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    check_saved_turns(nb.cell(1))
    nb.page.screenshot(path=str(shots / "panel-saved-nokernel.png"))


def test_a_saved_panel_in_notebook_7(server, nb, shots):
    saved = saved_panel(nb, server, "panel-nb7.ipynb")
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)
    (nb.lab.root / "panel-nb7-copy.ipynb").write_text(json.dumps(saved))
    page = nb.page
    page.goto(nb.lab.url("/notebooks/panel-nb7-copy.ipynb"))
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    no_kernel = page.locator(".jp-Dialog button", has_text="No Kernel")
    saved_turns = cell.locator(".jp-ChatPanelOutput-saved .jp-ChatTurn")
    page.wait_for_function(
        "() => document.querySelector('.jp-Dialog') ||"
        " document.querySelectorAll('.jp-ChatPanelOutput-saved .jp-ChatTurn').length === 2",
        timeout=WAIT_MS,
    )
    if no_kernel.count():
        no_kernel.first.click()
    saved_turns.nth(1).wait_for(timeout=WAIT_MS)
    check_saved_turns(cell)
    page.screenshot(path=str(shots / "panel-saved-notebook7.png"))


def test_the_html_export_of_a_panel_shows_its_transcript(server, nb, shots):
    saved_panel(nb, server, "panel-html.ipynb")
    html = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--stdout", "panel-html.ipynb"],
        cwd=nb.lab.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "ChatPanel(" not in html and "Error displaying widget" not in html
    page = nb.page
    page.set_content(html, wait_until="domcontentloaded")
    body = page.locator("body")
    text = body.inner_text()
    assert all(p in text for p in PROMPTS)
    assert "print('saved')" in text and "chat panel · thread default · 2 turns" in text
    assert page.locator(".jupyter-chat-turn").count() == 2
    assert page.locator(".jupyter-chat-turn strong").first.inner_text() == "first"
    page.screenshot(path=str(shots / "panel-saved-export.png"), full_page=True)


def test_a_reloaded_page_shows_the_live_panel_once(server, nb, shots):
    """The kernel still holds the widget: after a reload the live panel shows, alone, goes on
    working (the saved transcript stays hidden) and its new turns are saved."""
    saved_panel(nb, server, "panel-reload.ipynb")
    nb.reload()
    cell = nb.cell(1)
    cell.locator(f"{PANEL} textarea.jp-ChatPanel-composer").wait_for(timeout=WAIT_MS)
    assert cell.locator(".jp-ChatPanel").count() == 1
    assert cell.locator(".jp-ChatPanelOutput-saved").is_hidden()
    assert cell.inner_text().count("Second question") == 1
    box = cell.locator("textarea.jp-ChatPanel-composer")
    box.fill("After the reload")
    box.press("Enter")
    cell.locator(PANEL).get_by_text("Hello from local.").first.wait_for(timeout=WAIT_MS)
    assert cell.locator(".jp-ChatPanelOutput-saved").is_hidden()
    nb.page.screenshot(path=str(shots / "panel-reloaded.png"))
    # this page never ran the cell: the kernel's update still reaches the panel's output
    nb.page.wait_for_function(
        """(mime) => {
            const cell = window.jupyterapp.shell.currentWidget.content.widgets[1];
            const out = cell.model.outputs.toJSON()[0];
            return out.data[mime].turns.length === 3;
        }""",
        arg=SAVED,
        timeout=WAIT_MS,
    )
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((nb.lab.root / "panel-reload.ipynb").read_text())
    (out,) = saved["cells"][1]["outputs"]
    assert "After the reload" in "".join(out["data"]["text/markdown"])

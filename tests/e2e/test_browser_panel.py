"""The chat panel and the comparison in JupyterLab, in Debian's Chromium (browser_lab.py)."""

from __future__ import annotations

import json

from browser_lab import WAIT_MS, record_frames
from dialect_server import Reply, chunk, sse
from test_browser import open_chat_notebook

PANEL = ".jp-ChatPanel"


def panel_notebook(nb, name: str, code: str):
    open_chat_notebook(nb, name, "import jupyter_chat\n" + code)
    nb.run(1)
    box = nb.cell(1).locator(f"{PANEL} textarea.jp-ChatPanel-composer")
    box.wait_for(timeout=WAIT_MS)
    return box


def test_type_enter_and_the_answer_streams_into_the_panel(server, nb, shots):
    parts = [f"part{i} " for i in range(30)]
    server.script(
        Reply(
            events=sse(
                chunk(reasoning="Let me see."), *(chunk(p) for p in parts), chunk(finish="stop")
            ),
            split=200,
            delay=0.05,
        )
    )
    box = panel_notebook(nb, "panel.ipynb", "p = jupyter_chat.panel(model='local')\np")
    box.fill("Hello from the browser")
    box.press("Enter")
    panel = nb.cell(1).locator(PANEL)
    panel.get_by_text("part3", exact=False).first.wait_for(timeout=WAIT_MS)  # while streaming
    assert "part29" not in panel.inner_text()  # the stream has not ended yet
    panel.get_by_text("part29", exact=False).first.wait_for(timeout=WAIT_MS)
    assert server.requests[-1].body["messages"][-1]["content"] == "Hello from the browser"
    assert box.input_value() == ""  # sent, box cleared
    nb.page.screenshot(path=str(shots / "panel-light.png"))


def test_shift_enter_adds_a_line_and_does_not_run_the_cell(server, nb):
    box = panel_notebook(nb, "panel-lines.ipynb", "p = jupyter_chat.panel(model='local')\np")
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert nb.cell_count() == 2 and server.requests == []  # no cell ran, nothing was sent
    box.press("Enter")
    nb.cell(1).locator(PANEL).get_by_text("Hello from local.").first.wait_for(timeout=WAIT_MS)
    assert server.requests[-1].body["messages"][-1]["content"] == "first line\nsecond line"


def test_stop_keeps_the_partial_answer(server, nb):
    server.script(
        Reply(events=sse(*(chunk(f"slow{i} ") for i in range(300))), split=200, delay=0.1)
    )
    box = panel_notebook(nb, "panel-stop.ipynb", "p = jupyter_chat.panel(model='local')\np")
    box.fill("Take your time")
    box.press("Enter")
    panel = nb.cell(1).locator(PANEL)
    panel.get_by_text("slow2", exact=False).first.wait_for(timeout=WAIT_MS)
    panel.get_by_role("button", name="Stop").click()
    panel.get_by_text("stopped: the partial answer", exact=False).first.wait_for(timeout=WAIT_MS)
    assert "slow299" not in panel.inner_text()
    assert panel.get_by_role("button", name="Send").is_enabled()


def test_switching_the_model(server, nb):
    box = panel_notebook(nb, "panel-model.ipynb", "p = jupyter_chat.panel(model='local')\np")
    model = nb.cell(1).locator(f"{PANEL} input").first
    model.fill("edenai:openai/gpt-4o")
    model.press("Enter")
    box.fill("Which provider?")
    box.press("Enter")
    nb.cell(1).locator(PANEL).get_by_text("Hello from edenai.").first.wait_for(timeout=WAIT_MS)
    assert server.requests[-1].dialect == "edenai"


def test_a_comparison_streams_two_columns_at_once(server, nb, shots):
    server.script(
        *[
            Reply(events=sse(chunk(f"column {i} says hi"), chunk(finish="stop")), stall=1.0)
            for i in range(2)
        ]
    )
    open_chat_notebook(
        nb,
        "compare.ipynb",
        "import jupyter_chat\n"
        "jupyter_chat.compare('Same prompt', models=['local', 'openai:gpt-test'])",
    )
    nb.run(1, wait=False)
    cols = nb.cell(1)  # the live grid, then the static one
    cols.get_by_text("column 0 says hi").first.wait_for(timeout=WAIT_MS)
    cols.get_by_text("column 1 says hi").first.wait_for(timeout=WAIT_MS)
    assert server.max_active == 2  # both requests were in flight together
    nb.page.screenshot(path=str(shots / "compare.png"))


ANSWER = (
    "# A heading\n\nSome **bold** text and `code`.\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n"
    "```python\nprint('hi')\n```\n\n"
    + "\n\n".join(f"Paragraph {i} of the answer." for i in range(60))
)


def test_the_panel_renders_markdown_scrolls_and_follows_the_stream(server, nb, shots):
    pieces = [ANSWER[i : i + 40] for i in range(0, len(ANSWER), 40)]
    server.script(
        Reply(events=sse(*(chunk(p) for p in pieces), chunk(finish="stop")), split=200, delay=0.1)
    )
    box = panel_notebook(nb, "panel-md.ipynb", "p = jupyter_chat.panel(model='local')\np")
    box.fill("Write a long answer")
    # the answer's text length in every frame painted from now on
    frames = record_frames(nb.page, ".jp-ChatPanel-answer", "a => (a.innerText || '').length")
    box.press("Enter")
    panel = nb.cell(1).locator(PANEL)
    transcript = panel.locator(".jp-ChatPanel-transcript")
    # rendered like a cell's turn, not raw Markdown
    transcript.locator("table").first.wait_for()
    transcript.locator("pre").first.wait_for()
    panel.get_by_text("Paragraph 12", exact=False).first.wait_for()
    gap = "el => el.scrollHeight - el.scrollTop - el.clientHeight"
    nb.page.wait_for_timeout(300)  # a frame or two for the follow to apply
    assert transcript.evaluate(gap) < 40  # at the streaming end
    # scrolled up into the answer: left where it is while the answer goes on (each update
    # replaces the answer's output, which must not collapse the transcript meanwhile)
    transcript.evaluate("el => { el.scrollTop = 150; el.dispatchEvent(new Event('scroll')); }")
    panel.get_by_text("Paragraph 30", exact=False).first.wait_for()
    assert abs(transcript.evaluate("el => el.scrollTop") - 150) < 5
    # Back to the end, and more lands before the scroll's event does (as under load): the
    # event then finds the end moved on, and must still count as a return to the end.
    transcript.evaluate(
        """el => {
            el.scrollTop = el.scrollHeight;
            const more = document.createElement("div");
            more.style.height = "1500px";
            el.appendChild(more);
        }"""
    )
    panel.get_by_text("Paragraph 59", exact=False).first.wait_for()
    nb.page.wait_for_timeout(300)
    assert transcript.evaluate(gap) < 40  # following again
    nb.page.wait_for_function("el => !el.readOnly", arg=box.element_handle())  # answered
    nb.page.wait_for_timeout(600)
    answer = transcript.locator(".jp-ChatPanel-answer").last
    held, own = answer.evaluate("a => [a.offsetHeight, a.firstElementChild.offsetHeight]")
    assert abs(held - own) <= 2  # once finished, held at its own height: no blank under it
    # each update replaces the answer's output: no frame painted it without its text
    lengths = frames()
    shown = lengths.index(next(n for n in lengths if n > 20))
    assert len(lengths) - shown > 50 and min(lengths[shown:]) > 20, lengths
    client, scroll = transcript.evaluate("el => [el.clientHeight, el.scrollHeight]")
    assert scroll > client and client < 700  # it scrolls instead of growing
    t, c = transcript.bounding_box(), box.bounding_box()
    assert c["y"] >= t["y"] + t["height"] - 1  # the composer sits below it, in view
    assert c["y"] + c["height"] <= nb.page.viewport_size["height"] + 400
    text = transcript.inner_text()
    assert "A heading" in text and "# A heading" not in text and "| ---" not in text
    nb.page.screenshot(path=str(shots / "panel-markdown.png"))


def test_export_confirms_beside_its_button_and_an_error_offers_retry(server, nb, shots):
    server.script(Reply(status=400, body={"error": {"message": "the model is busy"}}))
    box = panel_notebook(nb, "panel-err.ipynb", "p = jupyter_chat.panel(model='local')\np")
    box.fill("Try me")
    box.press("Enter")
    panel = nb.cell(1).locator(PANEL)
    retry = panel.get_by_role("button", name="Retry")
    retry.wait_for()
    assert "the model is busy" in panel.locator(".jp-ChatPanel-error").inner_text()
    assert box.input_value() == "Try me"  # the prompt is not lost
    retry.click()
    panel.get_by_text("Hello from local.").first.wait_for()
    assert panel.locator(".jp-ChatPanel-error").count() == 0
    export = panel.get_by_role("button", name="Export")
    export.click()
    note = panel.get_by_text("written to", exact=False).first
    note.wait_for()
    e, n = export.bounding_box(), note.bounding_box()
    assert abs(n["y"] - e["y"]) < 30 and 0 <= n["x"] - (e["x"] + e["width"]) < 200
    nb.page.screenshot(path=str(shots / "panel-retry-export.png"))


def test_a_comparison_is_a_grid_that_wraps_and_renders_saved_without_a_kernel(server, nb, shots):
    server.script(
        *[
            Reply(events=sse(chunk(f"**Column {i}** says `hi`"), chunk(finish="stop")))
            for i in range(3)
        ]
    )
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    models = ["local", "eigenai", "openai:gpt-test"]
    open_chat_notebook(
        nb,
        "grid.ipynb",
        f"import jupyter_chat\njupyter_chat.compare('Same prompt', models={models})",
    )
    nb.run(1)
    cols = nb.cell(1).locator(".jupyter-chat-grid .jupyter-chat-column")
    cols.nth(2).wait_for()
    assert cols.count() == 3
    tops = [cols.nth(i).bounding_box()["y"] for i in range(3)]
    assert max(tops) - min(tops) < 5  # side by side at 1280 px
    assert [cols.nth(i).locator("strong").first.inner_text() for i in range(3)] == models
    nb.page.screenshot(path=str(shots / "compare-1280.png"))
    nb.page.set_viewport_size({"width": 700, "height": 900})
    nb.page.wait_for_timeout(300)
    tops = [cols.nth(i).bounding_box()["y"] for i in range(3)]
    assert tops[0] < tops[1] < tops[2]  # stacked, each under its label
    nb.page.screenshot(path=str(shots / "compare-700.png"))
    # saved: the static grid, no widget; reopened with no kernel, it renders
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((nb.lab.root / "grid.ipynb").read_text())
    outs = saved["cells"][1]["outputs"]
    assert len(outs) == 1 and "application/vnd.jupyter.widget-view+json" not in outs[0]["data"]
    saved["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    saved["metadata"].pop("language_info", None)  # else Lab picks a Python kernel itself
    (nb.lab.root / "grid-saved.ipynb").write_text(json.dumps(saved))
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    nb.open("grid-saved.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    cols = nb.cell(1).locator(".jupyter-chat-grid .jupyter-chat-column")
    cols.nth(2).wait_for()
    assert "Column 2 says hi" in cols.nth(2).inner_text()
    assert "Error displaying widget" not in nb.cell(1).inner_text()
    nb.page.screenshot(path=str(shots / "compare-saved.png"))

"""The chat panel and the comparison in JupyterLab, in Debian's Chromium (browser_lab.py)."""

from __future__ import annotations

from browser_lab import WAIT_MS
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
    panel.get_by_text("stopped: incomplete", exact=False).first.wait_for(timeout=WAIT_MS)
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
    nb.run(1)
    cols = nb.cell(1).locator(".jp-ChatCompare")
    cols.get_by_text("column 0 says hi").first.wait_for(timeout=WAIT_MS)
    cols.get_by_text("column 1 says hi").first.wait_for(timeout=WAIT_MS)
    assert server.max_active == 2  # both requests were in flight together
    nb.page.screenshot(path=str(shots / "compare.png"))

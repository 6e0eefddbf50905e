"""The chat panel by keyboard and at a glance, in JupyterLab in Chromium (browser_lab.py): the
focus after Enter, the Tab order (past answers one stop, Parameters reachable), every control
named, one row of controls at 1280 px, labels not cut, the seed shown is the seed sent."""

from __future__ import annotations

from browser_lab import WAIT_MS
from dialect_server import Reply, chunk, sse
from test_browser_panel import PANEL, panel_notebook

ANSWER = (
    "See [the docs](https://example.org/docs) and [more](https://example.org/more).\n\n"
    "```python\nprint('one')\n```\n\n```python\nprint('two')\n```"
)
FOCUSED = "() => { const a = document.activeElement; return a && (a.getAttribute('aria-label')"
FOCUSED += " || a.textContent.trim() || a.tagName); }"


def answer() -> Reply:
    return Reply(events=sse(chunk(ANSWER), chunk(finish="stop")))


def focused(nb) -> str:
    return nb.page.evaluate(FOCUSED)


def test_the_panel_by_keyboard(server, nb, shots):
    server.script(answer(), answer())
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    box = panel_notebook(nb, "panel-keys.ipynb", "p = jupyter_chat.panel(model='local')\np")
    panel = nb.cell(1).locator(PANEL)
    for i, prompt in enumerate(["First question", "Second question"]):
        box.click()
        box.fill(prompt)
        box.press("Enter")
        assert focused(nb) == "Message"  # Enter sent, the focus stays in the box
        panel.locator(".jp-ChatPanel-transcript pre").nth(2 * i + 1).wait_for(timeout=WAIT_MS)
        nb.page.wait_for_function(
            "el => !el.readOnly", arg=box.element_handle(), timeout=WAIT_MS
        )  # the answer has finished
        assert focused(nb) == "Message"  # and still there
    box.type("next")  # typed straight on, no click
    assert box.input_value() == "next"
    transcript = panel.get_by_role("log", name="Transcript")
    inner = transcript.locator("a[href], button, summary")
    assert inner.count() >= 8  # every answer's links, Copy and Insert buttons ...
    # ... are one Tab stop: Shift+Tab from the box reaches the transcript, then Export
    box.press("Shift+Tab")
    assert focused(nb) == "Transcript"
    nb.page.keyboard.press("Shift+Tab")
    assert focused(nb) == "Export"
    # from the first control to the box: Model, Thread, New, Clear, Export, the transcript
    panel.get_by_role("combobox", name="Model").focus()
    steps = 0
    while focused(nb) != "Message" and steps < 30:
        nb.page.keyboard.press("Tab")
        steps += 1
    assert steps == 6
    # Enter goes into the answers: Tab walks their links and buttons; Escape comes back
    box.press("Shift+Tab")
    nb.page.keyboard.press("Enter")
    inside = "() => !!document.activeElement.closest('.jp-ChatPanel-transcript')"
    assert nb.page.evaluate(inside)
    names = [focused(nb)]
    while len(names) <= inner.count():
        nb.page.keyboard.press("Tab")
        if not nb.page.evaluate(inside):
            break
        names.append(focused(nb))
    assert {"the docs", "more"} <= set(names) and any("Copy" in n for n in names), names
    assert focused(nb) == "Message"  # Tab out of the last one: the box
    assert transcript.locator("a[href]:not([tabindex='-1'])").count() == 0  # one stop again
    box.press("Shift+Tab")
    nb.page.keyboard.press("Enter")
    nb.page.keyboard.press("Tab")
    assert nb.page.evaluate(inside)
    nb.page.keyboard.press("Escape")
    assert focused(nb) == "Transcript"
    nb.page.keyboard.press("Tab")
    assert focused(nb) == "Message"
    # Tab from the box reaches Parameters (Stop is disabled while idle), which opens by key
    nb.page.keyboard.press("Tab")
    assert focused(nb) == "Send"
    nb.page.keyboard.press("Tab")
    params = panel.get_by_role("button", name="Parameters")
    assert focused(nb) == "Parameters" and params.get_attribute("aria-expanded") == "false"
    nb.page.keyboard.press("Enter")
    nb.page.wait_for_function(
        "el => el.getAttribute('aria-expanded') === 'true'", arg=params.element_handle()
    )
    nb.page.keyboard.press("Tab")
    assert focused(nb) == "Temperature"
    # every control has a name
    for role, name in [
        ("combobox", "Model"),
        ("combobox", "Thread"),
        ("button", "New"),
        ("button", "Clear"),
        ("button", "Export"),
        ("textbox", "Message"),
        ("button", "Send"),
        ("button", "Stop"),
        ("textbox", "Temperature"),
        ("textbox", "Top p"),
        ("textbox", "Max tokens"),
        ("textbox", "Seed"),
        ("textbox", "System"),
        ("textbox", "Extra"),
    ]:
        assert panel.get_by_role(role, name=name, exact=True).count() == 1, (role, name)
    unnamed = panel.evaluate(
        """el => [...el.querySelectorAll('input, select, textarea, button')]
            .filter(c => c.offsetParent !== null && !c.closest('.jp-ChatPanel-transcript'))
            .filter(c => !(c.getAttribute('aria-label') || c.textContent.trim() || c.title))
            .map(c => c.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    nb.page.screenshot(path=str(shots / "panel-keys-1280.png"))


def test_one_row_of_controls_at_1280_labels_whole_and_the_seed_sent_shown(server, nb, shots):
    nb.page.set_viewport_size({"width": 1280, "height": 900})
    box = panel_notebook(nb, "panel-row.ipynb", "p = jupyter_chat.panel(model='eigencloud')\np")
    panel = nb.cell(1).locator(PANEL)
    model = panel.get_by_role("combobox", name="Model")
    tops = [model.bounding_box()["y"]]
    for name in ("New", "Clear", "Export"):
        tops.append(panel.get_by_role("button", name=name, exact=True).bounding_box()["y"])
    assert max(tops) - min(tops) < 8  # Export on the same row as the model picker
    # the buttons in JupyterLab's colours: Send the brand colour, the others the layout's
    colors = panel.evaluate(
        """el => {
            const as = (prop, value) => {
                const probe = document.createElement('div');
                probe.style[prop] = value;
                el.appendChild(probe);
                const got = getComputedStyle(probe)[prop];
                probe.remove();
                return got;
            };
            const button = name => [...el.querySelectorAll('button')]
                .find(b => b.textContent.trim() === name);
            const bg = name => getComputedStyle(button(name)).backgroundColor;
            return {
                send: bg('Send'), brand: as('backgroundColor', 'var(--jp-brand-color1)'),
                export: bg('Export'), layout: as('backgroundColor', 'var(--jp-layout-color1)'),
                radius: getComputedStyle(button('Export')).borderTopLeftRadius,
                lab: as('borderTopLeftRadius', 'var(--jp-border-radius)'),
            };
        }"""
    )
    assert colors["send"] == colors["brand"] and colors["export"] == colors["layout"]
    assert colors["radius"] == colors["lab"]
    panel.get_by_role("button", name="Parameters").click()
    panel.get_by_role("textbox", name="Temperature").wait_for()
    cut = panel.evaluate(
        """el => [...el.querySelectorAll('.widget-label')]
            .filter(l => l.offsetParent !== null && l.scrollWidth > l.clientWidth + 1)
            .map(l => l.textContent)"""
    )
    assert cut == []  # "temperature" whole, not "temperat..."
    seed = panel.get_by_role("textbox", name="Seed")
    assert seed.input_value() == "" and "derived" in seed.get_attribute("placeholder")
    box.fill("Which seed?")
    box.press("Enter")
    sent_note = panel.locator(".jp-ChatPanel-seedSent")
    sent_note.get_by_text("sent:", exact=False).wait_for(timeout=WAIT_MS)
    panel.get_by_text("Hello from eigencloud.").first.wait_for(timeout=WAIT_MS)
    sent = server.requests[-1].body["seed"]
    assert f"sent: {sent} (derived from the prompt)" in sent_note.inner_text()
    seed.fill("4242")
    box.fill("And now?")
    box.press("Enter")
    sent_note.get_by_text("sent: 4242 (typed)").wait_for(timeout=WAIT_MS)
    nb.page.wait_for_function("el => !el.readOnly", arg=box.element_handle(), timeout=WAIT_MS)
    assert server.requests[-1].body["seed"] == 4242
    panel.screenshot(path=str(shots / "panel-row-1280.png"))

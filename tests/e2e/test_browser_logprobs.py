"""Token probabilities in JupyterLab and Chromium: a 3,000-token answer asked with
``--logprobs 3`` is shown shaded token by token (the kernel's steps), the alternatives of a
token in a popover on hover and on keyboard focus, the tokens one Tab stop, the footer's
summary as the kernel's; readable in the dark theme and at 700 px. Without the extension
(Notebook 7, nbconvert's HTML) the static rendering shows the same in marks, titles and a
table, with nothing live.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from browser_lab import MIME, NotebookPage, execute_cells, serve_notebook7, write_notebook
from logprobs_data import long_answer, reply_with_logprobs, tokens_of

from jupyter_chat.display import logprobs as L

CELL = "%%chat -m openai:gpt-test --logprobs 3\nExplain token probabilities at length."
ANSWER = long_answer(3000)
TOKENS = ".jp-ChatLogprobs-tokens"
POPOVER = ".jp-ChatLogprobs-popover"


def run_turn(server, nb: NotebookPage, name: str) -> dict:
    """The cell run in JupyterLab against the loopback server; its saved output."""
    server.script(reply_with_logprobs(ANSWER, pieces_per_event=20))
    write_notebook(nb.lab.root / name, ["%load_ext jupyter_chat", CELL])
    nb.open(name)
    nb.run(0)
    nb.run(1)
    nb.turn(1).locator(f"{TOKENS} .jp-ChatLogprobs-token").first.wait_for()
    [out] = [o for o in nb.outputs(1) if MIME in o.get("data", {})]
    return out


def shade(nb: NotebookPage) -> dict:
    """What the token view shows: its text, each token's step and background, the tab stops."""
    return nb.turn(1).evaluate(
        """(turn) => {
            const view = turn.querySelector('.jp-ChatLogprobs-tokens');
            const tokens = Array.from(view.querySelectorAll('.jp-ChatLogprobs-token'));
            const bg = {};
            for (const t of tokens) { bg[t.dataset.step] = getComputedStyle(t).backgroundColor; }
            return {
                text: view.textContent,
                steps: tokens.map(t => Number(t.dataset.step)),
                indices: tokens.map(t => Number(t.dataset.i)),
                bg,
                tabStops: turn.querySelectorAll('[tabindex]:not([tabindex="-1"])').length,
                tokenStops: view.querySelectorAll('[tabindex]').length,
                answerHidden: turn.querySelector('.jp-ChatTurn-answer').hidden,
                foot: Array.from(turn.querySelectorAll('.jp-ChatTurn-meta .jp-ChatTurn-item'))
                    .map(i => i.textContent),
            };
        }"""
    )


def popover(nb: NotebookPage) -> dict:
    return nb.turn(1).evaluate(
        """(turn) => {
            const pop = turn.querySelector('.jp-ChatLogprobs-popover');
            const box = turn.getBoundingClientRect(), at = pop.getBoundingClientRect();
            return {
                hidden: pop.hidden, token: Number(pop.dataset.token),
                text: pop.innerText, role: pop.getAttribute('role'), id: pop.id,
                inside: at.left >= box.left - 1 && at.right <= box.right + 1
                    && at.top >= box.top - 1 && at.bottom <= box.bottom + 1,
            };
        }"""
    )


def active(nb: NotebookPage) -> dict:
    return nb.page.evaluate(
        """() => { const a = document.activeElement;
            return {cls: a.className, i: a.dataset.i === undefined ? null : Number(a.dataset.i),
                    described: a.getAttribute('aria-describedby')}; }"""
    )


def expected_popover(lp: dict, i: int) -> list[str]:
    return [L.label(lp["tokens"][i]), L.percent(lp["logprobs"][i])] + [
        x for t, v in L.alternatives(lp, i) for x in (L.label(t), L.percent(v))
    ]


def test_a_long_answer_is_shaded_with_alternatives_on_hover_and_focus(server, nb, shots):
    page = nb.page
    page.set_viewport_size({"width": 1280, "height": 1000})
    out = run_turn(server, nb, "logprobs.ipynb")
    lp = L.unpack(out["data"][MIME]["logprobs"])
    assert lp["tokens"] == tokens_of(ANSWER) and len(lp["tokens"]) == 3000
    seen = shade(nb)
    assert seen["text"] == ANSWER  # the answer's own characters, every one
    assert seen["indices"] == list(range(3000))
    assert seen["steps"] == [L.step(v) for v in lp["logprobs"]]  # the kernel's steps
    assert set(seen["steps"]) == {0, 1, 2, 3, 4, 5}
    backgrounds = [seen["bg"][str(s)] for s in range(6)]
    assert backgrounds[0] == "rgba(0, 0, 0, 0)" and len(set(backgrounds)) == 6
    assert seen["answerHidden"]  # the shaded view stands in for the rendered answer
    assert seen["tokenStops"] == 1  # 3,000 tokens, one Tab stop
    # the footer's summary says what the kernel's does
    plain = "".join(out["data"]["text/plain"]).rsplit("[", 1)[1]
    assert f"{seen['foot'][-2]} · {seen['foot'][-1]}]" in plain
    assert seen["foot"][-2] == f"perplexity {L.summary(lp)['perplexity']:.2f}"

    # hover: the token's figure and its alternatives, below it
    rare = seen["steps"].index(5)
    token = nb.turn(1).locator(f'{TOKENS} [data-i="{rare}"]')
    token.scroll_into_view_if_needed()
    token.hover()
    nb.turn(1).locator(POPOVER).wait_for(state="visible")
    pop = popover(nb)
    assert pop["token"] == rare and pop["role"] == "tooltip" and pop["inside"]
    words = pop["text"].split()
    for part in expected_popover(lp, rare):
        assert part.split()[0] in words or part in pop["text"], (part, pop["text"])
    near = nb.turn(1).locator(POPOVER).bounding_box()
    page.screenshot(
        path=str(shots / "logprobs-hover.png"),
        clip={"x": 0, "y": max(0, near["y"] - 200), "width": 1280, "height": 420},
    )
    page.mouse.move(5, 5)
    page.wait_for_function("(s) => document.querySelector(s).hidden", arg=f"{nb.panel} {POPOVER}")

    # keyboard: Tab from the toggle reaches the tokens, arrows move, Tab leaves at once
    nb.turn(1).locator(".jp-ChatLogprobs-toggle").focus()
    page.keyboard.press("Tab")
    assert active(nb)["i"] == 0 and active(nb)["described"] == pop["id"]
    assert popover(nb)["token"] == 0 and not popover(nb)["hidden"]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert active(nb)["i"] == 2 and popover(nb)["token"] == 2
    page.keyboard.press("ArrowDown")  # the next token under 50 %
    below = next(i for i in range(3, 3000) if seen["steps"][i] >= 3)
    assert active(nb)["i"] == below and popover(nb)["token"] == below
    assert expected_popover(lp, below)[0] in popover(nb)["text"]
    page.keyboard.press("End")
    assert active(nb)["i"] == 2999
    page.keyboard.press("Escape")
    assert popover(nb)["hidden"]
    page.keyboard.press("Home")
    assert active(nb)["i"] == 0 and shade(nb)["tokenStops"] == 1
    page.keyboard.press("Tab")
    assert active(nb)["i"] is None  # one Tab and the focus has left the 3,000 tokens
    page.keyboard.press("Shift+Tab")
    assert active(nb)["i"] == 0  # back to the token it left

    # the toggle shows the rendered answer again, and back
    nb.turn(1).locator(".jp-ChatLogprobs-toggle").click()
    assert not shade(nb)["answerHidden"]
    assert nb.turn(1).locator(TOKENS).is_hidden()
    nb.turn(1).locator(".jp-ChatLogprobs-toggle").click()
    assert shade(nb)["answerHidden"] and nb.errors == []


def _rgb(color: str) -> tuple[float, ...]:
    nums = [float(x) for x in re.findall(r"[\d.]+", color)]
    if color.startswith("color(srgb"):
        return tuple(255 * x for x in nums[:3])
    return tuple(nums[:3])


def _contrast(a: str, b: str) -> float:
    def lum(c: str) -> float:
        parts = [x / 255 for x in _rgb(c)]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


COLORS = """(turn) => {
    const view = turn.querySelector('.jp-ChatLogprobs-tokens');
    const out = {};
    for (const t of view.querySelectorAll('.jp-ChatLogprobs-token')) {
        const s = t.dataset.step;
        if (!(s in out)) {
            const css = getComputedStyle(t);
            out[s] = {bg: css.backgroundColor, fg: css.color};
        }
    }
    out.page = getComputedStyle(document.querySelector('.jp-NotebookPanel-notebook')).backgroundColor;
    out.overflow = turn.scrollWidth > turn.clientWidth + 1;
    return out;
}"""


def test_readable_in_the_dark_theme_and_at_700px(server, nb, shots):
    page = nb.page
    run_turn(server, nb, "logprobs-dark.ipynb")
    page.evaluate(
        "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
    )
    page.set_viewport_size({"width": 700, "height": 900})
    page.wait_for_timeout(300)
    try:
        for theme, light in (("JupyterLab Light", "true"), ("JupyterLab Dark", "false")):
            nb.command("apputils:change-theme", {"theme": theme})
            page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
            page.wait_for_timeout(500)
            colors = nb.turn(1).evaluate(COLORS)
            assert not colors["overflow"], theme  # it wraps inside the turn at 700 px
            for s in ("1", "2", "3", "4", "5"):
                c = colors[s]
                assert _contrast(c["fg"], c["bg"]) >= 4.5, (theme, s, c)  # WCAG AA
                assert _contrast(c["bg"], colors["page"]) > 1.05, (theme, s, c)  # a shade
            rare = nb.turn(1).locator(f'{TOKENS} [data-step="5"]').last
            rare.scroll_into_view_if_needed()
            rare.hover()
            nb.turn(1).locator(POPOVER).wait_for(state="visible")
            assert popover(nb)["inside"], popover(nb)  # it stays within the 700 px turn
            page.screenshot(path=str(shots / f"logprobs-700-{light}.png"))
            page.mouse.move(5, 5)
    finally:
        nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    assert nb.errors == []


# -- without the extension: the static rendering ------------------------------------------------
STATIC = """(root) => {
    const block = root.querySelector('.jupyter-chat-logprobs');
    const details = block.querySelector('details');
    details.open = true;
    const tokens = block.querySelector('.jupyter-chat-tokens');
    const mark = tokens.querySelector('mark');
    return {
        summary: block.querySelector('summary').textContent,
        text: tokens.innerText,
        marks: tokens.querySelectorAll('mark').length,
        underlined: tokens.querySelectorAll('u').length,
        titled: tokens.querySelectorAll('[title]').length,
        title: mark && mark.getAttribute('title'),
        markBg: mark && getComputedStyle(mark).backgroundColor,
        rows: Array.from(block.querySelectorAll('tbody tr')).map(r => r.innerText),
        live: (block.closest('.jp-OutputArea-output') || root)
            .querySelectorAll('script, [onclick], [onmouseover], [style]').length,
        extension: document.querySelectorAll('.jp-ChatTurn, .jp-ChatLogprobs').length,
        foot: Array.from(root.querySelectorAll('.jupyter-chat-turn > p > sub')).pop().textContent,
    };
}"""


def check_static(seen: dict, lp: dict) -> None:
    steps = [L.step(v) for v in lp["logprobs"]]
    assert seen["summary"].startswith(f"Token probabilities: {len(steps)} tokens, perplexity ")
    assert " ".join(seen["text"].split()) == " ".join(ANSWER.split())
    assert seen["marks"] == sum(s >= 3 for s in steps)
    assert seen["underlined"] == sum(s in (1, 2) for s in steps)
    assert seen["titled"] == sum(s >= 1 for s in steps)  # every shaded token has its title
    first = steps.index(next(s for s in steps if s >= 3))
    assert seen["title"] == L.token_title(lp, first)
    assert seen["markBg"] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert len(seen["rows"]) == L.TABLE
    worst = L.summary(lp)["least"][0]
    assert seen["rows"][0].split("\t")[0] == L.label(lp["tokens"][worst])
    assert seen["live"] == 0 and seen["extension"] == 0
    assert "perplexity" in seen["foot"] and "least likely" in seen["foot"]


@pytest.fixture
def executed(server, tmp_path):
    """The cell executed by nbclient (no extension anywhere), saved."""
    server.script(reply_with_logprobs(ANSWER, pieces_per_event=50))
    nb = execute_cells(["%load_ext jupyter_chat", CELL], tmp_path)
    [out] = [o for o in nb.cells[1].outputs if MIME in o.get("data", {})]
    return nb, L.unpack(out["data"][MIME]["logprobs"])


def test_nbconvert_html_shows_the_static_rendering(executed, browser, tmp_path, shots):
    from nbconvert import HTMLExporter

    nb, lp = executed
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path = tmp_path / "shared.html"
    path.write_text(body, encoding="utf-8")
    page = browser.new_page()
    try:
        page.route("http*://**", lambda route: route.abort())
        page.set_viewport_size({"width": 700, "height": 900})
        page.goto(path.as_uri())
        root = page.locator(".jp-OutputArea-output").filter(
            has=page.locator(".jupyter-chat-logprobs")
        )
        seen = root.first.evaluate(STATIC)
        check_static(seen, lp)
        rare = page.locator(".jupyter-chat-tokens mark strong").first.locator("..")
        rare.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "logprobs-nbconvert-700.png"))
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 700  # nothing wider than the window
    finally:
        page.close()


def test_notebook7_without_the_extension_shows_the_static_rendering(
    executed, browser, tmp_path, shots
):
    nb, lp = executed
    root = tmp_path / "root"
    root.mkdir()
    nbformat.write(nb, root / "shared.ipynb")
    with serve_notebook7(root, tmp_path, disabled=("jupyter-chat",)) as url:
        page = browser.new_page()
        try:
            page.set_viewport_size({"width": 700, "height": 1000})
            page.goto(url)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
            block = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jupyter-chat-logprobs")
            block.wait_for()
            seen = page.locator(".jp-Notebook .jp-Cell").nth(1).evaluate(STATIC)
            check_static(seen, lp)
            block.locator("summary").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "logprobs-notebook7-700.png"))
        finally:
            page.close()


def test_a_signed_turn_says_its_probabilities_are_outside_the_signature(server, nb):
    """EigenCloud's logprobs beside a signed answer, saved and opened without a kernel: the
    badge says verified, and the view says the figures are outside the signature."""
    from signature_edits import genuine_logprobs
    from signed import FIXTURE, fixture_reply

    import jupyter_chat as jc

    server.script(fixture_reply())
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    out = genuine_logprobs(turn)
    cell = nbformat.v4.new_code_cell("%%chat -m eigencloud --logprobs\nSignal?")
    cell.outputs = [nbformat.from_dict(out)]
    book = nbformat.v4.new_notebook(cells=[cell])
    book.metadata["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    nbformat.write(book, nb.lab.root / "signed-logprobs.ipynb")
    nb.open("signed-logprobs.ipynb", kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    badge = nb.turn(0).locator(".jp-ChatTurn-signature")
    badge.wait_for()
    assert badge.text_content() == "signature verified", badge.get_attribute("title")
    note = nb.turn(0).locator(".jp-ChatLogprobs-note")
    assert note.text_content() == "Probabilities and alternatives are outside the signature."
    assert nb.turn(0).locator(f"{TOKENS} .jp-ChatLogprobs-token").count() > 0
    assert nb.errors == []

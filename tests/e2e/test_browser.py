"""The JupyterLab extension in a real browser: a JupyterLab server started here (free port,
token), Debian's Chromium driven by Playwright, kernels talking to the loopback dialect server.

Screenshots go to $SCREENSHOT_DIR when set (else a temporary folder), to be looked at.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser_lab import (
    MIME,
    TURN,
    WAIT_MS,
    NotebookPage,
    Tracker,
    strip_ansi,
    words,
    write_notebook,
)
from dialect_server import Reply, chunk, sse
from kernel import PATGATEWAY_TOML, kernel_env
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
EDEN = "%%chat -m edenai:openai/gpt-4o"
USAGE = {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42}
# a trusted HTML output that loads an image: proves images do load on the page
CONTROL = "from IPython.display import HTML\nHTML('<img src=\"{}\">')"
RICH_ANSWER = (
    "## Result\n\nHere is **bold** text and a list:\n\n- one\n- two\n\n"
    "```python\ndef square(x):\n    return x ** 2\n```\n\n"
    "and some math: $e^{i\\pi} + 1 = 0$."
)


def rich_reply() -> Reply:
    return Reply(
        events=sse(
            chunk(role="assistant", reasoning="First I *think* about it."),
            chunk(reasoning=" Then I answer."),
            chunk(RICH_ANSWER[:25]),
            chunk(RICH_ANSWER[25:]),
            chunk(finish="stop", usage=USAGE),
        )
    )


def open_chat_notebook(nb: NotebookPage, name: str, *cells: str) -> NotebookPage:
    write_notebook(nb.lab.root / name, ["%load_ext jupyter_chat", *cells])
    nb.open(name)
    nb.run(0)
    return nb


# -- the extension is installed ------------------------------------------------------------


def test_extension_is_listed_enabled_ok():
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    listing = strip_ansi(out.stdout + out.stderr)
    assert re.search(r"jupyter-chat v\S+ enabled\s+OK \(python, jupyter_chat\)", listing), listing


def test_plugins_activate_and_share_one_stream_registry(nb):
    write_notebook(nb.lab.root / "empty.ipynb", ["1 + 1"])
    nb.open("empty.ipynb")
    info = nb.page.evaluate(
        """() => {
            const r = window.__jupyterChatStreams;
            const app = window.jupyterapp;
            return {
                plugins: ['jupyter-chat:plugin', 'jupyter-chat:comm', 'jupyter-chat:mime']
                    .map(p => app.isPluginActivated(p)),
                registry: !!r && typeof r.apply === 'function',
                commands: ['jupyter-chat:insert-cell', 'jupyter-chat:open-panel',
                           'jupyter-chat:rerun-new-seed'].map(c => app.commands.hasCommand(c)),
                renderer: app.docRegistry !== undefined &&
                    window.jupyterapp.shell.currentWidget.content.rendermime
                        .mimeTypes.includes('application/vnd.jupyter-chat+json'),
            };
        }"""
    )
    assert info == {
        "plugins": [True, True, True],
        "registry": True,
        "commands": [True, True, True],
        "renderer": True,
    }
    assert nb.errors == []


# -- a turn, rendered ----------------------------------------------------------------------


def test_a_chat_cell_renders_a_rich_turn(server, nb):
    server.script(rich_reply())
    open_chat_notebook(nb, "rich.ipynb", f"{EDEN}\nSay something *rich*.")
    nb.run(1)
    turn = nb.turn(1)
    turn.wait_for()
    page = nb.page
    assert turn.get_attribute("data-status") == "complete"
    record = nb.outputs(1)[-1]["metadata"]["jupyter_chat"]

    # the answer as Markdown through Lab's parser: heading, bold, list, highlighted code, math
    answer = turn.locator(".jp-ChatTurn-answer")
    assert answer.locator("h2").inner_text().strip().startswith("Result")
    assert answer.locator("strong").inner_text() == "bold"
    assert answer.locator("li").count() == 2
    code = answer.locator("pre code")
    assert "return x ** 2" in code.inner_text()
    assert code.locator("span[class]").count() > 0  # highlighted by Lab's languages
    answer.locator("mjx-container").first.wait_for()  # math typeset by Lab's MathJax
    assert "$e^" not in answer.inner_text()

    # the reasoning and the prompt are folded; their text is there but hidden
    reasoning = turn.locator("details.jp-ChatTurn-reasoning")
    assert reasoning.is_visible() and reasoning.get_attribute("open") is None
    assert not reasoning.locator(".jp-ChatTurn-reasoningBody").is_visible()
    prompt = turn.locator("details.jp-ChatTurn-prompt")
    assert prompt.get_attribute("open") is None
    assert "Say something *rich*." in prompt.locator(".jp-ChatTurn-preview").inner_text()
    reasoning.locator("> summary").click()
    body = reasoning.locator(".jp-ChatTurn-reasoningBody")
    body.wait_for()
    assert body.locator("em").inner_text() == "think"

    # the footer: the model that answered (the response's), seed, tokens, time
    footer = turn.locator(".jp-ChatTurn-meta").inner_text()
    assert record["served_model"] != record["model"]
    assert f"edenai:{record['served_model']}" in footer
    assert record["params"]["seed"] is not None
    assert f"seed {record['params']['seed']}" in footer
    assert "42 tokens" in footer
    assert re.search(r"\d+\.\d s", footer)
    assert not turn.locator(".jp-ChatTurn-banner").is_visible()

    # the richer output wins over text/markdown (which would show the <details> markup)
    assert nb.cell(1).locator(".jp-RenderedMarkdown.jp-OutputArea-output").count() == 0

    # copy puts the answer's Markdown on the clipboard
    nb.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=nb.lab.base)
    turn.locator("button.jp-ChatTurn-copy").click()
    page.wait_for_function("(el) => el.dataset.copied === 'yes'", arg=turn.element_handle())
    assert page.evaluate("() => navigator.clipboard.readText()") == RICH_ANSWER
    assert nb.errors == []


# -- streaming -----------------------------------------------------------------------------


def test_comm_protocol_streams_deltas_into_the_renderer(nb, shots):
    """The frontend side of protocol v1, driven by a hand-written kernel side: hello on open,
    deltas and tool calls appended in order (the comm handler and the renderer share one
    registry), then the final display replaces the stream."""
    parts = [f"{w} " for w in words(30)]
    final = {
        "status": "complete",
        "answer": "".join(parts),
        "reasoning": "r",
        "tool_calls": [{"id": "call_1", "function": {"name": "lookup", "arguments": "{}"}}],
        "usage": USAGE,
    }
    cells = [
        "# the kernel side of jupyter_chat's comm, by hand\n"
        "from comm import get_comm_manager\ngot, comms = [], []\n"
        "def opened(c, msg):\n    comms.append(c)\n    got.append(msg['content']['data'])\n"
        "get_comm_manager().register_target('jupyter_chat', opened)",
        "print(got)",
        "import time\nfrom IPython.display import display\nc = comms[-1]\n"
        f"MIME = {MIME!r}\n"
        "base = {'version': 1, 'messages': [{'role': 'user', 'content': 'Count.'}],\n"
        "        'record': {'provider': 'test', 'model': 'm', 'params': {'seed': 3}}}\n"
        "h = display({MIME: {**base, 'status': 'streaming', 'turn_id': 'abc123',\n"
        "             'answer': '', 'reasoning': ''}, 'text/plain': '...'},\n"
        "            raw=True, display_id=True)\n"
        f"for i, p in enumerate({parts!r}):\n"
        "    c.send({'type': 'delta', 'turn': 'abc123', 'answer': p,\n"
        "            **({'reasoning': 'r'} if i == 0 else {})})\n"
        "    time.sleep(0.1)\n"
        f"c.send({{'type': 'tool_calls', 'turn': 'abc123', 'tool_calls': {final['tool_calls']!r}}})\n"
        "time.sleep(1)\n"
        f"h.update({{MIME: {{**base, **{final!r}}}, 'text/plain': 'done'}}, raw=True)",
    ]
    write_notebook(nb.lab.root / "protocol.ipynb", cells)
    nb.open("protocol.ipynb")
    nb.run(0)  # the cell mentions jupyter_chat: once it has run, the extension opens its comm
    for _ in range(50):
        nb.run(1)
        if nb.outputs(1)[0]["text"].strip() != "[]":
            break
        nb.page.wait_for_timeout(200)
    assert nb.outputs(1)[0]["text"].strip() == "[{'type': 'hello', 'version': 1}]"

    nb.run(2, wait=False)
    turn = nb.turn(2)
    turn.wait_for()
    handle = turn.element_handle()
    # partial text, rendered from comm deltas, while the kernel is still sending
    nb.page.wait_for_function(
        """(el) => {
            const a = el.querySelector('.jp-ChatTurn-answer').textContent;
            return el.dataset.status === 'streaming' && a.includes('w03') && !a.includes('w29');
        }""",
        arg=handle,
        timeout=WAIT_MS,
    )
    assert turn.locator(".jp-ChatTurn-state").inner_text().strip().lower() == "streaming"
    turn.screenshot(path=str(shots / "turn-streaming.png"))
    # the tool calls message shows its cards before the final display
    nb.page.wait_for_function(
        "(el) => el.dataset.status === 'streaming' && el.querySelector('.jp-ChatTurn-tool')",
        arg=handle,
        timeout=WAIT_MS,
    )
    nb.page.wait_for_function("(el) => el.dataset.status === 'complete'", arg=handle)
    nb.wait_cell_done(2)
    assert turn.locator(".jp-ChatTurn-answer").inner_text().split() == words(30)
    assert turn.locator(".jp-ChatTurn-toolName").inner_text() == "lookup"
    assert turn.get_attribute("data-deltas") == "31"  # 30 deltas + 1 tool_calls, each once
    assert "42 tokens" in turn.locator(".jp-ChatTurn-meta").inner_text()

    # the registry forgot the finished turn, and applies a message seen twice only once
    state = nb.page.evaluate(
        """() => {
            const r = window.__jupyterChatStreams;
            const size = r.size;
            const first = r.apply('m1', {type: 'delta', turn: 'x', answer: 'a'});
            const again = r.apply('m1', {type: 'delta', turn: 'x', answer: 'a'});
            const text = r.state('x').answer;
            r.finish('x');
            return {size, first, again, text, after: r.size};
        }"""
    )
    assert state == {"size": 0, "first": True, "again": False, "text": "a", "after": 0}


def test_a_slow_stream_shows_partial_text_before_it_ends(server, nb):
    parts = words(40)
    server.script(
        Reply(
            events=sse(
                chunk(role="assistant", content=""),
                *(chunk(w + " ") for w in parts),
                chunk(finish="stop", usage=USAGE),
            ),
            split=100,
            delay=0.05,
        )
    )
    open_chat_notebook(nb, "stream.ipynb", f"{EDEN}\nCount to forty.")
    nb.wait_chat_comm()  # the extension opened its comm once %load_ext had run
    nb.page.evaluate("() => { window.__chatTestIopub = []; }")
    nb.run(1, wait=False)
    cell = nb.cell(1)
    # partial answer text in the cell before the stream ends
    nb.page.wait_for_function(
        """(cell) => {
            const out = cell.querySelector('.jp-OutputArea-output');
            const text = out ? out.textContent : '';
            return text.includes('w02') && !text.includes('w39');
        }""",
        arg=cell.element_handle(),
        timeout=WAIT_MS,
    )
    nb.wait_cell_done(1)
    turn = nb.turn(1)
    assert turn.get_attribute("data-status") == "complete"
    assert turn.locator(".jp-ChatTurn-answer").inner_text().split() == parts
    final = nb.outputs(1)[-1]["data"][MIME]["answer"]

    # what crossed the wire: O(answer), not O(answer^2)
    traffic = nb.iopub()
    displays = [m for m in traffic if m["type"] in ("display_data", "update_display_data")]
    deltas = [m["comm"] for m in traffic if m["type"] == "comm_msg" and m["comm"]]
    deltas = [d for d in deltas if d.get("type") == "delta"]
    # the extension is present: one display, the text as comm deltas, one final update
    assert "".join(d.get("answer", "") for d in deltas) == final
    assert [m["type"] for m in displays] == ["display_data", "update_display_data"]
    assert displays[0]["hasChat"] and displays[-1]["hasChat"]
    assert turn.get_attribute("data-deltas") == str(len(deltas))  # the renderer applied them
    assert sum(m["size"] for m in displays) < 12 * len(final) + 8000


def test_without_the_extension_a_stream_falls_back_to_display_updates(server, nb_plain):
    nb = nb_plain
    parts = words(40)
    server.script(
        Reply(
            events=sse(*(chunk(w + " ") for w in parts), chunk(finish="stop", usage=USAGE)),
            split=100,
            delay=0.05,
        )
    )
    open_chat_notebook(nb, "plain-stream.ipynb", f"{EDEN}\nCount to forty.")
    nb.page.evaluate("() => { window.__chatTestIopub = []; }")
    nb.run(1, wait=False)
    cell = nb.cell(1)
    nb.page.wait_for_function(  # partial text, rendered from a display update
        """(cell) => {
            const out = cell.querySelector('.jp-RenderedMarkdown');
            const text = out ? out.textContent : '';
            return text.includes('w02') && !text.includes('w39');
        }""",
        arg=cell.element_handle(),
        timeout=WAIT_MS,
    )
    nb.wait_cell_done(1)
    traffic = nb.iopub()
    displays = [m for m in traffic if m["type"] in ("display_data", "update_display_data")]
    assert [m for m in traffic if m["type"].startswith("comm")] == []  # nobody opened a comm
    assert 3 <= len(displays) < len(parts)  # throttled updates, then the final one
    assert not any(m["hasChat"] for m in displays[:-1])  # the stream goes out as Markdown
    text = cell.locator(".jp-RenderedMarkdown").inner_text()
    assert " ".join(parts) in " ".join(text.split())


# -- untrusted output ----------------------------------------------------------------------


def hostile(tracker, tag: str) -> str:
    """A reply that tries every way to run code or load something (``tag`` names the hits)."""
    return (
        f"Hi <script>window.__pwned = '{tag}-script'</script>\n\n"
        f"<img src=x onerror=\"window.__pwned = '{tag}-onerror'\">\n\n"
        f'<img src="{tracker.url(tag + "-img.png")}" alt="tracker">\n\n'
        f"![markdown image]({tracker.url(tag + '-md.png')})\n\n"
        f"[click me](javascript:window.__pwned='{tag}-md-link')\n\n"
        f"<a href=\"javascript:window.__pwned='{tag}-a'\">raw link</a>\n\n"
        f'<iframe src="{tracker.url(tag + "-frame")}"></iframe>\n\n'
        f"<svg onload=\"window.__pwned = '{tag}-svg'\"><circle r='4'/></svg>\n\n"
        f'<div style="background-image: url({tracker.url(tag + "-style.png")})">styled</div>\n\n'
        f"<style>body {{ background: url({tracker.url(tag + '-css.png')}) }}</style>\n\n"
        f"<details open ontoggle=\"window.__pwned = '{tag}-toggle'\"><summary>s</summary></details>\n\n"
        '<span data-commandlinker-command="notebook:run-all-cells">command link</span>\n\n'
        f'<video src="{tracker.url(tag + "-video")}" autoplay></video>\n\n'
        '<a href="https://example.org/fine">fine link</a>'
    )


def hostile_body(answer: str, reasoning: str) -> dict:
    return {
        "id": "e1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "usage": USAGE,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer, "reasoning_content": reasoning},
            }
        ],
    }


def assert_nothing_ran_or_loaded(nb: NotebookPage, tracker: Tracker, control: int) -> None:
    """Cell ``control`` shows a trusted HTML image from the tracker: once it has loaded,
    images are known to load on this page, and the tracker must have seen nothing else."""
    nb.run(control)
    deadline = 600
    while "/control.png" not in tracker.hits and deadline:
        nb.page.wait_for_timeout(50)
        deadline -= 1
    assert "/control.png" in tracker.hits, "the control image never loaded"
    turns = nb.page.locator(f"{nb.panel} {TURN}")
    pages = len(nb.page.context.pages)
    for i in range(turns.count()):  # a click on the neutralised links does nothing
        for name in ("click me", "raw link"):
            link = turns.nth(i).get_by_text(name, exact=True)
            if link.count():
                link.first.click()
    nb.page.wait_for_timeout(200)
    assert nb.page.evaluate("() => window.__pwned") is None
    assert tracker.hits == ["/control.png"]
    assert len(nb.page.context.pages) == pages  # no link opened a window
    found = nb.page.evaluate(
        """(sel) => Array.from(document.querySelectorAll(sel)).map(turn => {
            // what came from the model and the prompt (not the turn's own buttons and icons)
            const parts = Array.from(turn.querySelectorAll(
                '.jp-ChatTurn-answer, .jp-ChatTurn-reasoningBody, .jp-ChatTurn-tools,'
                + ' .jp-ChatTurn-messages'));
            const all = sel => parts.flatMap(p => Array.from(p.querySelectorAll(sel)));
            return {
                script: all('script, iframe, svg, video, style, form, object, embed').length,
                handlers: all('*').filter(
                    e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
                styled: all('[style]').length,
                commands: all('[data-commandlinker-command]').length,
                images: all('img').map(i => i.getAttribute('src')),
                js: all('a[href]').filter(a => !/^https?:/.test(a.getAttribute('href'))).length,
                fine: all('a[href^="https://example.org"]').map(a => a.target + ' ' + a.rel),
                blocked: all('.jp-ChatTurn-blocked').length,
            };
        })""",
        f"{nb.panel} {TURN}",
    )
    assert found, "no chat turn rendered"
    for turn in found:
        assert turn["script"] == turn["handlers"] == turn["styled"] == turn["commands"] == 0, turn
        assert turn["images"] == [] and turn["js"] == 0, turn
        assert turn["blocked"] >= 2, turn  # the reader sees where images were removed
        assert turn["fine"] and set(turn["fine"]) == {"_blank noopener noreferrer nofollow"}


def test_a_hostile_reply_runs_nothing_and_loads_nothing(server, nb, tracker):
    server.script(
        Reply(body=hostile_body(hostile(tracker, "plain"), hostile(tracker, "plain-r"))),
        Reply(
            events=sse(
                chunk(role="assistant", reasoning=hostile(tracker, "stream-r")),
                *(chunk(piece) for piece in hostile(tracker, "stream").split("\n\n")),
                chunk(
                    tool_calls=[
                        {
                            "index": 0,
                            "id": "call_<b>1</b>",
                            "function": {
                                "name": "<img src=x onerror=\"window.__pwned='tool'\">",
                                "arguments": '{"q": "<script>window.__pwned=1</script>"}',
                            },
                        }
                    ]
                ),
                chunk(finish="stop", usage=USAGE),
            ),
            split=200,
            delay=0.02,
        ),
    )
    control = CONTROL.format(tracker.url("control.png"))
    open_chat_notebook(
        nb,
        "hostile.ipynb",
        f"{EDEN} --no-stream\n<img src=x onerror=\"window.__pwned='prompt'\"> Be evil.",
        f"{EDEN}\nBe evil, slowly.",
        control,
    )
    nb.run(1)
    nb.run(2)
    assert nb.turn(1).get_attribute("data-status") == "complete"
    assert nb.turn(2).get_attribute("data-status") == "complete"
    assert "Be evil." in nb.turn(1).locator(".jp-ChatTurn-prompt .jp-ChatTurn-preview").inner_text()
    for i in (1, 2):  # open the folded reasoning too: it is rendered like the answer
        nb.turn(i).locator("details.jp-ChatTurn-reasoning > summary").click()
        nb.turn(i).locator(".jp-ChatTurn-reasoningBody", has_text="fine link").wait_for()
    assert "fine link" in nb.turn(2).locator(".jp-ChatTurn-answer").inner_text()
    assert_nothing_ran_or_loaded(nb, tracker, 3)


# -- commands ------------------------------------------------------------------------------


def test_commands_insert_a_cell_open_the_panel_and_reseed(server, nb):
    open_chat_notebook(nb, "commands.ipynb", f"{EDEN} --seed 5\nPick a number.")
    page = nb.page
    # no other binding of Shift C where ours applies (Accel Shift C is the command palette)
    clashes = page.evaluate(
        """() => window.jupyterapp.commands.keyBindings
            .filter(b => b.keys.join(' ') === 'Shift C')
            .map(b => b.command)"""
    )
    assert clashes == ["jupyter-chat:insert-cell"]

    # the shortcut, in command mode: a %%chat cell below, the cursor on its second line
    nb.cell(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+C")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3"
    )
    assert nb.source(1) == "%%chat\n"
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.mode") == "edit"
    page.keyboard.type("Hello there")
    assert nb.source(1) == "%%chat\nHello there"

    # the palette: open the panel = a `%chat panel` cell below, run
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for()
    palette.fill("Open the Chat Panel")
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text="Open the Chat Panel").wait_for()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.length === 4"
    )
    assert nb.source(2) == "%chat panel"
    nb.wait_cell_done(2)

    # the toolbar: re-run the %%chat cell with a new seed
    button = page.locator(
        f"{nb.panel} .jp-Toolbar-item[data-jp-item-name='jupyter-chat-rerun-new-seed'] button"
    )
    for name in ("insert-cell", "open-panel"):
        assert page.locator(f"{nb.panel} [data-jp-item-name='jupyter-chat-{name}']").count() == 1
    assert not nb.page.evaluate(
        "() => window.jupyterapp.commands.isEnabled('jupyter-chat:rerun-new-seed')"
    )  # the active cell is `%chat panel`: nothing to re-seed
    expect(button).to_be_disabled()
    nb.cell(3).locator(".jp-InputPrompt").click()
    assert nb.source(3).startswith("%%chat") and "--seed 5" in nb.source(3)
    page.wait_for_function(
        "() => window.jupyterapp.commands.isEnabled('jupyter-chat:rerun-new-seed')"
    )
    expect(button).to_be_enabled()  # the toolbar follows the active cell
    server.reset()
    reseeded = (
        "() => !window.jupyterapp.shell.currentWidget.content.widgets[3]"
        ".model.sharedModel.getSource().includes('--seed 5')"
    )
    button.click()
    try:
        page.wait_for_function(reseeded, timeout=10_000)
    except PlaywrightTimeout:  # a click that lands while the toolbar re-renders is lost
        button.click()  # (seen once in a CI run); a user clicks again, so does the test
        page.wait_for_function(reseeded)
    nb.wait_cell_done(3)
    first = nb.source(3).split("\n")[0]
    seed = int(re.fullmatch(r"%%chat -m edenai:openai/gpt-4o --seed (\d+)", first).group(1))
    assert seed != 5
    assert nb.source(3).endswith("\nPick a number.")
    assert [r.body.get("seed") for r in server.requests] == [seed]
    nb.turn(3).wait_for()
    assert f"seed {seed}" in nb.turn(3).locator(".jp-ChatTurn-meta").inner_text()


# -- saved notebooks, themes, widths -------------------------------------------------------


@pytest.fixture(scope="module")
def saved(server, lab, tmp_path_factory):
    """A notebook executed without any frontend (nbclient), saved with its outputs, plus
    turns in the other states; its kernel is one this server does not have."""
    import nbclient
    import nbformat

    from jupyter_chat.display.bundle import bundle

    folder = tmp_path_factory.mktemp("saved")
    cfg = folder / "config.toml"
    cfg.write_text(PATGATEWAY_TOML)
    server.reset()
    server.script(
        rich_reply(),
        Reply(
            events=sse(
                chunk(role="assistant", content="Let me look that up."),
                chunk(
                    tool_calls=[
                        {
                            "index": 0,
                            "id": "call_7",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"city": "Paris", "unit": "celsius"}',
                            },
                        }
                    ]
                ),
                chunk(finish="tool_calls", usage=USAGE),
            )
        ),
    )
    path = write_notebook(
        folder / "saved.ipynb",
        [
            "%load_ext jupyter_chat",
            f"{EDEN}\nSay something *rich*.",
            f"{EDEN} -t weather\nWhat is the weather in Paris?",
        ],
    )
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(folder)}}).execute(
        env=kernel_env(server, str(cfg))
    )
    record = nb.cells[1].outputs[-1]["metadata"]["jupyter_chat"]
    states = {
        "interrupted": dict(error=None, answer="Half an answer, cut off by the int"),
        "error": dict(error="edenai returned 500: upstream model overloaded; try again", answer=""),
        "incomplete": dict(error=None, answer="A long answer that ran out of tok"),
    }
    for status, kw in states.items():
        data, meta = bundle(
            reasoning="",
            tool_calls=[],
            record={**record, "complete": False, "finish_reason": "length"},
            messages=[{"role": "user", "content": f"A turn that ends {status}."}],
            status=status,
            **kw,
        )
        cell = nbformat.v4.new_code_cell(f"{EDEN}\nA turn that ends {status}.")
        cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=meta)]
        nb.cells.append(cell)
    # a kernel (and language) this server lacks, so Lab asks, and the test picks No Kernel
    nb.metadata["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    nb.metadata.pop("language_info", None)
    nbformat.write(nb, lab.root / "saved.ipynb")
    return nb


def open_saved(nb: NotebookPage, name: str = "saved.ipynb", turns: int = 5) -> NotebookPage:
    nb.open(name, kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    nb.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayName"
        " === 'No Kernel' && !window.jupyterapp.shell.currentWidget.sessionContext.session"
    )
    nb.page.locator(f"{nb.panel} {TURN}").nth(turns - 1).wait_for()
    return nb


def test_a_saved_signed_turn_is_verified_in_the_browser_and_an_edited_one_is_not(server, nb):
    """The badge comes from the browser's own check of the signed block (no kernel here):
    the genuine turn is verified; one whose shown answer was edited, one signed under another
    chain and one that only claims "verified" are not."""
    import nbformat
    from signed import FIXTURE, fixture_reply, saved_output

    import jupyter_chat as jc

    server.script(fixture_reply())
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "verified"
    genuine = saved_output(turn)
    edited = json.loads(json.dumps(genuine))
    edited["data"][MIME]["answer"] = edited["data"][MIME]["answer"].replace("bullish", "bearish")
    other_chain = json.loads(json.dumps(genuine))
    other_chain["data"][MIME]["signed"]["chain_id"] = 11155111
    claims = json.loads(json.dumps(genuine))
    del claims["data"][MIME]["signed"]
    cells = []
    for out in (genuine, edited, other_chain, claims):
        cell = nbformat.v4.new_code_cell("%%chat -m eigencloud\nSignal?")
        cell.outputs = [nbformat.from_dict(out)]
        cells.append(cell)
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    nbformat.write(book, nb.lab.root / "signed.ipynb")
    open_saved(nb, "signed.ipynb", turns=4)
    badges = [nb.turn(i).locator(".jp-ChatTurn-signature") for i in range(4)]
    for b in badges:
        b.wait_for()
        assert b.get_attribute("data-checked") == "browser"
    assert badges[0].inner_text() == "signature verified"
    assert "jp-mod-ok" in badges[0].get_attribute("class")
    assert (
        badges[0]
        .get_attribute("title")
        .startswith("signed by 0x7053bfb0433a16a2405de785d547b1b32cee0cf3")
    )
    for b, why in zip(
        badges[1:],
        ["the answer shown differs", "not the chain's signer", "claims a verified signature"],
    ):
        assert b.inner_text() == "signature invalid" and "jp-mod-bad" in b.get_attribute("class")
        assert why in b.get_attribute("title")
    assert nb.errors == []


def test_a_saved_notebook_renders_without_a_kernel(saved, nb):
    open_saved(nb)
    assert nb.lab.api("/api/sessions") == [] and nb.lab.api("/api/kernels") == []
    rich = nb.turn(1)
    assert rich.get_attribute("data-status") == "complete"
    assert rich.locator(".jp-ChatTurn-answer strong").inner_text() == "bold"
    rich.locator(".jp-ChatTurn-answer mjx-container").first.wait_for()
    assert "42 tokens" in rich.locator(".jp-ChatTurn-meta").inner_text()

    tools = nb.turn(2)
    assert tools.locator(".jp-ChatTurn-toolName").inner_text() == "get_weather"
    assert '"city": "Paris"' in tools.locator(".jp-ChatTurn-toolArgs").inner_text()
    assert "thread weather" in tools.locator(".jp-ChatTurn-meta").inner_text()

    banners = {
        status: nb.turn(i).locator(".jp-ChatTurn-banner")
        for i, status in enumerate(["interrupted", "error", "incomplete"], start=3)
    }
    for status, banner in banners.items():
        assert banner.is_visible(), status
        assert nb.turn(list(banners).index(status) + 3).get_attribute("data-status") == status
    assert banners["interrupted"].inner_text().startswith("Interrupted")
    assert "upstream model overloaded" in banners["error"].inner_text()
    assert "finish reason: length" in banners["incomplete"].inner_text()
    assert nb.errors == []


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_turns_follow_the_theme_and_fit_a_narrow_window(saved, nb, shots):
    open_saved(nb)
    page = nb.page
    nb.turn(1).locator("details.jp-ChatTurn-reasoning > summary").click()
    nb.turn(1).locator("details.jp-ChatTurn-prompt > summary").click()

    def colors() -> dict:
        return page.evaluate(
            """(sel) => {
                const t = document.querySelector(sel);
                const css = e => getComputedStyle(e);
                return {
                    text: css(t.querySelector('.jp-ChatTurn-answer p')).color,
                    page: css(document.querySelector('.jp-NotebookPanel-notebook')).backgroundColor,
                    banner: css(document.querySelectorAll(sel)[4]
                        .querySelector('.jp-ChatTurn-banner')).backgroundColor,
                };
            }""",
            f"{nb.panel} {TURN}",
        )

    page.set_viewport_size({"width": 1200, "height": 1900})
    page.wait_for_timeout(300)
    light = colors()
    page.screenshot(path=str(shots / "turns-light.png"))
    nb.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)  # let the theme's stylesheet apply before the screenshot
    dark = colors()
    page.screenshot(path=str(shots / "turns-dark.png"))
    assert _luminance(light["text"]) < 100 < _luminance(dark["text"])
    assert _luminance(dark["page"]) < 100 < _luminance(light["page"])
    assert light["banner"] != dark["banner"]

    # a narrow window: everything wraps or scrolls inside its own box, nothing overflows
    page.evaluate(
        "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
    )
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(300)
    overflow = page.evaluate(
        """(sel) => Array.from(document.querySelectorAll(sel))
            .filter(t => t.scrollWidth > t.clientWidth + 1).length""",
        f"{nb.panel} {TURN}",
    )
    nb.turn(2).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "turns-dark-narrow.png"))
    nb.command("apputils:change-theme", {"theme": "JupyterLab Light"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    page.wait_for_timeout(500)
    nb.turn(3).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "turns-light-narrow.png"))
    assert overflow == 0


def test_after_a_page_reload_the_extension_joins_the_running_kernel(server, nb):
    """A page that connects to a kernel which loaded jupyter_chat before (a reload) opens its
    own comm, so its turns still stream as deltas."""
    parts = words(20)
    server.script(
        Reply(
            events=sse(*(chunk(w + " ") for w in parts), chunk(finish="stop", usage=USAGE)),
            split=100,
            delay=0.03,
        )
    )
    open_chat_notebook(nb, "reload.ipynb", f"{EDEN}\nCount to twenty.")
    kernel = nb.lab.api("/api/sessions")[0]["kernel"]["id"]
    nb.reload()
    assert nb.lab.api("/api/sessions")[0]["kernel"]["id"] == kernel  # the same kernel
    nb.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        ".requestCommInfo({target_name: 'jupyter_chat'})"
    )  # the extension's own request went before this one: its comm is open by now
    nb.run(1)
    turn = nb.turn(1)
    assert turn.get_attribute("data-status") == "complete"
    assert turn.locator(".jp-ChatTurn-answer").inner_text().split() == parts
    seen = [m["comm"] for m in nb.iopub() if m["type"] == "comm_msg" and m["comm"]]
    # the kernel sends each delta over every comm it has (the page before the reload had one
    # too); the renderer applies each sequence number once
    deltas = list({d["seq"]: d for d in seen if d.get("type") == "delta"}.values())
    assert "".join(d.get("answer", "") for d in deltas) == " ".join(parts) + " "
    assert turn.get_attribute("data-deltas") == str(len(deltas))  # the renderer got them


def test_run_all_with_a_hostile_streamed_reply_runs_nothing(server, nb, tracker):
    """Under Run All the kernel has not read the extension's hello yet and streams by display
    updates, whose text/markdown JupyterLab renders as trusted HTML: the kernel must have
    neutralised the model's text there too."""
    server.script(
        Reply(
            events=sse(
                chunk(role="assistant", content=""),
                *(chunk(piece) for piece in hostile(tracker, "all").split("\n\n")),
                chunk(finish="stop", usage=USAGE),
            ),
            split=200,
            delay=0.02,
        )
    )
    write_notebook(
        nb.lab.root / "runall.ipynb",
        ["%load_ext jupyter_chat", f"{EDEN}\nBe evil.", "1 + 1"],
    )
    nb.open("runall.ipynb")
    nb.command("notebook:run-all-cells")
    nb.wait_cell_done(2)
    assert nb.turn(1).get_attribute("data-status") == "complete"
    nb.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.insertCell(3,"
        f" {{cell_type: 'code', source: {json.dumps(CONTROL.format(tracker.url('control.png')))}}})"
    )
    assert_nothing_ran_or_loaded(nb, tracker, 3)


def test_a_notebook_saved_by_jupyterlab_passes_strict_nbval_offline(server, nb):
    """Record in JupyterLab (the extension streaming over its comm), save, then check the
    saved file with strict nbval, offline: every runner records the same outputs."""
    from test_notebooks import RESEARCH_CELLS, offline_env, strict_nbval

    root = nb.lab.root
    write_notebook(root / "saved-study.ipynb", RESEARCH_CELLS)
    nb.open("saved-study.ipynb")
    for i in range(len(RESEARCH_CELLS)):
        nb.run(i)
        if i == 0:
            nb.wait_chat_comm()  # the turns below stream through the extension
    nb.command("docmanager:save")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((root / "saved-study.ipynb").read_text())
    assert len(saved["cells"][1]["outputs"]) == 1  # one output per streamed turn
    requests = len(server.requests)
    out = strict_nbval(root / "saved-study.ipynb", offline_env(root), root)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(RESEARCH_CELLS)} passed" in out.stdout
    assert len(server.requests) == requests

"""The edit corpus (tests/signature_edits.py) in JupyterLab and Chromium: a notebook holding each
edited output shows "signature invalid" (or "unknown signer") under it, and the untouched ones
"signature verified"; with a kernel whose config rotates the signer, the badge follows the
kernel's table (sent over the comm), and without one it never says more than the output's own
kernel verdict. The kernel and the CLI run the same corpus in tests/display/."""

from __future__ import annotations

import json

import nbformat
import pytest
from signature_edits import EDITS, GENUINE, ROTATED_CONFIG, ROTATED_SIGNER, genuine
from signed import FIXTURE, fixture_reply

import jupyter_chat as jc
from jupyter_chat.providers.config import CONFIG

BADGE = ".jp-ChatTurn-signature"
MODEL = "eigencloud:gpt-oss-120b-f16"
SIGNER = FIXTURE["expected_signer"]


def _turn():
    turn = jc.chat(FIXTURE["request"]["messages"], model=MODEL)
    assert turn.record["signature"] in ("verified", "invalid")
    return turn


@pytest.fixture
def turns(server, env):
    """The signed fixture turn as this kernel's config sees it, and as a kernel whose config
    rotates chain 1's signer wrote it (its record says invalid)."""
    server.script(fixture_reply())
    turn = _turn()
    env.write_text(env.read_text() + ROTATED_CONFIG)
    CONFIG.__init__()
    server.script(fixture_reply())
    rotated = _turn()
    assert rotated.record["signature"] == "invalid"
    return turn, rotated


def _book(lab, name: str, outputs: list[dict], source: str = "%%chat -m eigencloud\nSignal?"):
    cells = []
    for out in outputs:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(json.loads(json.dumps(out)))]
        cells.append(cell)
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "gone"}
    nbformat.write(book, lab.root / name)


def _open_without_kernel(nb, name: str, turns: int):
    nb.open(name, kernel=False)
    nb.page.locator(".jp-Dialog button.jp-mod-reject", has_text="No Kernel").click()
    nb.page.locator(f"{nb.panel} .jp-ChatTurn").nth(turns - 1).wait_for()
    return [nb.turn(i).locator(BADGE) for i in range(turns)]


def test_the_corpus_in_the_browser_without_a_kernel(turns, nb):
    """Every edit is invalid (or an unknown signer), the genuine outputs verified; the output a
    kernel with a rotated signer wrote stays invalid here, where no kernel says otherwise."""
    turn, rotated = turns
    cases = [c for c in GENUINE + EDITS if not c.config]
    outputs = [c.output(turn) for c in cases] + [genuine(rotated)]
    expected = [c.state for c in cases] + ["invalid"]
    names = [c.name for c in cases] + ["written by a kernel with a rotated signer"]
    _book(nb.lab, "corpus.ipynb", outputs)
    badges = _open_without_kernel(nb, "corpus.ipynb", len(outputs))
    for badge, name, state in zip(badges, names, expected):
        badge.wait_for()
        text, title = badge.text_content(), badge.get_attribute("title")
        if state == "verified":
            assert text == "signature verified", (name, title)
            assert "jp-mod-ok" in badge.get_attribute("class")
            assert title.startswith(f"signed by {SIGNER}")
        elif state == "invalid":
            assert text == "signature invalid", (name, title)
            assert "jp-mod-bad" in badge.get_attribute("class")
        else:
            assert text == "signature unknown signer", (name, title)
        assert badge.get_attribute("data-signers") == "package"
    by_name = dict(zip(names, badges))
    for case in cases:
        if case.state == "invalid":  # the browser names the same reason as the kernel
            assert case.why in by_name[case.name].get_attribute("title"), case.name
    # the parsed value shown is the signed one (the edit's value is never drawn as verified)
    assert "bearish" not in nb.turn(1).locator(".jp-ChatTurn-parsed").text_content()
    assert nb.errors == []


def test_a_kernel_with_a_rotated_signer_turns_the_badge_invalid(turns, nb):
    """A genuine output shows verified until a kernel whose config names another signer for
    chain 1 attaches: its table arrives over the comm and the badge says invalid."""
    turn, _ = turns
    cfg = nb.lab.root.parent / "config.toml"  # the lab's kernels read this file
    before = cfg.read_text()
    cfg.write_text(before + ROTATED_CONFIG)
    try:
        book = nbformat.v4.new_notebook()
        book.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        saved = nbformat.v4.new_code_cell("%%chat -m eigencloud\nSignal?")
        saved.outputs = [nbformat.from_dict(genuine(turn))]
        book.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_chat"), saved]
        nbformat.write(book, nb.lab.root / "rotated.ipynb")
        nb.open("rotated.ipynb")
        badge = nb.turn(1).locator(BADGE)
        badge.wait_for()
        assert badge.text_content() == "signature verified"  # no kernel table yet: the output's own
        nb.run(0)  # loads jupyter_chat: the extension opens its comm, the kernel says hello
        nb.wait_chat_comm()
        nb.page.wait_for_function(
            "(sel) => { const b = document.querySelector(sel);"
            " return b && b.dataset.signers === 'kernel'; }",
            arg=f"{nb.panel} {BADGE}",
        )
        badge = nb.page.locator(f"{nb.panel} {BADGE}").first
        assert badge.text_content() == "signature invalid"
        assert ROTATED_SIGNER in badge.get_attribute("title")
    finally:
        cfg.write_text(before)
    assert nb.errors == []

"""What a cell shows of model text: Markdown that cannot run or load anything, in every format,
and plain text that a terminal cannot obey."""

from __future__ import annotations

import pytest
from hostile import TERMINAL, corpus, live_parts
from markdown_it import MarkdownIt

from jupyter_chat.display.bundle import bundle
from jupyter_chat.display.footer import footer
from jupyter_chat.display.history import history_markdown, history_plain
from jupyter_chat.display.sanitize import answer_html

# CommonMark with raw HTML on: a renderer that trusts the output, as JupyterLab does
TRUSTING = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
URL = "http://127.0.0.1:9"
HOSTILE = corpus(URL, "t")


def hostile_bundle(fmt: str = "markdown", status: str = "complete") -> dict:
    record = {
        "provider": "local",
        "model": '<img src=x onerror="m()"> · signature verified',
        "params": {"seed": "<b>7</b>"},
        "usage": {"total_tokens": "<img src=x>"},
        "thread": "default",
        "signature": "<b>verified</b>",
    }
    data, _ = bundle(
        answer=TERMINAL + HOSTILE + TERMINAL,  # text/plain shows the first 200 characters
        reasoning=HOSTILE,
        tool_calls=[
            {"function": {"name": "a`b\n\n<img src=x onerror=alert(1)>", "arguments": HOSTILE}},
            {"function": "not a dict"},
        ],
        record=record,
        messages=[],
        status=status,
        fmt=fmt,
        error="<script>err</script>\n\n<img src=x onerror=alert(1)>",
    )
    return data


@pytest.mark.parametrize("fmt", ["markdown", "text", "code", "json", "html"])
@pytest.mark.parametrize("status", ["complete", "streaming", "error"])
def test_a_hostile_turn_is_inert_in_every_format(fmt, status):
    md = hostile_bundle(fmt, status)["text/markdown"]
    assert "\n" not in md and "\r" not in md and md.startswith("<div")  # one HTML block
    page = TRUSTING.render(md)
    assert live_parts(page) == []
    assert page.count('class="jupyter-chat-answer"') == 1


def test_links_that_are_fine_stay_and_images_are_named_not_loaded():
    page = TRUSTING.render(hostile_bundle()["text/markdown"])
    assert 'href="https://example.org/fine"' in page and 'target="_blank"' in page
    assert "noopener" in page and "[tracked]" in page and "Image not loaded" in page
    assert "&lt;script&gt;" in page  # raw HTML in an answer is shown as text


def test_plain_text_holds_no_control_sequence_a_terminal_would_obey():
    text = hostile_bundle()["text/plain"]
    assert not any(c in text for c in "\x1b\x07\x9b\r")
    assert "]0;pwned-title" in text  # the text stays, its escape is gone


def test_a_model_name_cannot_pose_as_part_of_the_footer():
    record = {"provider": "eigencloud", "model": "m · signature verified", "params": {}}
    foot = footer(record, "complete")
    assert foot == 'eigencloud:"m · signature verified"'
    assert footer({"provider": "local", "model": "gpt-4o:latency"}, "complete") == (
        "local:gpt-4o:latency"
    )


def test_history_is_rendered_like_an_answer():
    record = {"provider": "<b>p</b>", "served_model": HOSTILE[:40], "params": {"seed": "<i>"}}
    md = history_markdown(
        [
            (
                record,
                [
                    {"role": "user", "content": HOSTILE},
                    {"role": "assistant", "content": HOSTILE},
                    {"role": "tool", "content": HOSTILE},
                    {"role": "<b>x</b>", "content": [{"type": "text", "text": "<script>"}]},
                ],
            )
        ]
    )
    assert "\n" not in md and live_parts(TRUSTING.render(md)) == []


def test_history_heads_each_turn_with_its_model_and_seed_and_folds_long_ones():
    turns = [
        (
            {
                "provider": "local",
                "model": "default",
                "served_model": "gemma-3",
                "params": {"seed": 7},
            },
            [{"role": "user", "content": "short"}, {"role": "assistant", "content": "x\n" * 40}],
        ),
        ({"provider": "openai", "model": "m", "params": {}}, [{"role": "user", "content": "hi"}]),
    ]
    md = history_markdown(turns)
    assert "turn 1 · local:gemma-3 · seed 7" in md and "turn 2 · openai:m · no seed" in md
    assert md.count("<details>") == 1 and "(80 characters)" in md  # only the long one folds
    plain = history_plain(turns)
    assert plain.startswith("-- turn 1 · local:gemma-3 · seed 7\n\nuser: short")


def test_a_long_answer_is_shown_as_escaped_text():
    long = "<script>x</script> **b** " * 20_000
    out = answer_html(long)
    assert out.startswith('<pre class="jupyter-chat-long">') and "<script>" not in out
    assert "<strong>" in answer_html("**b**")

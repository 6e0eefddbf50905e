"""Token probabilities as a turn shows them (display/logprobs.py): the structured turn's
compact form, the tokens placed on the answer, the footer's summary, and the static rendering
for frontends without the extension (marks and titles, a table; no style, nothing live)."""

from __future__ import annotations

import json
import math

import pytest
from hostile import live_parts
from logprobs_data import content, long_answer, reply_with_logprobs, tokens_of
from markdown_it import MarkdownIt

import jupyter_chat as jc
from jupyter_chat.display import logprobs as L
from jupyter_chat.display.bundle import MIME, bundle
from jupyter_chat.display.markup import html_text
from jupyter_chat.stream import compact_logprobs

TRUSTING = MarkdownIt("commonmark", {"html": True})
SHADES = ("<u>", "<mark>")  # inert tags the static rendering adds to what answers may hold


def live(md: str) -> list[str]:
    return [p for p in live_parts(TRUSTING.render(md)) if p not in SHADES]


def form(text: str, k: int = 3, answer: str | None = None) -> dict:
    return L.shown_logprobs(compact_logprobs({"content": content(text, k)}))


def shown(answer: str, lp_text: str | None = None, status="complete", signed=None, k=3):
    record = {
        "provider": "openai",
        "model": "m",
        "params": {"seed": 1},
        "logprobs": compact_logprobs({"content": content(lp_text or answer, k)}),
    }
    return bundle(
        answer=answer,
        reasoning="",
        tool_calls=[],
        record=record,
        messages=[],
        status=status,
        signed=signed,
    )


def test_the_form_is_integers_and_alternatives_without_the_token():
    lp = form("Hello there world", k=2)
    assert lp["scale"] == 1000 and lp["tokens"] == ["Hello", " there", " world"]
    raw = content("Hello there world", 2)
    assert lp["logprobs"] == [round(e["logprob"] * 1000) for e in raw]
    for i, e in enumerate(raw):
        others = [t for t in e["top_logprobs"] if t["token"] != e["token"]]
        assert lp["top"][i] == [x for t in others for x in (t["token"], round(t["logprob"] * 1000))]
    assert all(isinstance(v, int) for v in lp["logprobs"])
    assert "top" not in form("Hello there", k=0)  # none asked: none kept


def test_odd_values_are_unknown_not_made_up():
    lp = L.shown_logprobs(
        {"content": {"tokens": ["a", None, "c"], "logprobs": [None, "x", float("nan")]}}
    )
    assert lp["tokens"] == ["a", "", "c"] and lp["logprobs"] == [None, None, None]
    assert L.summary(lp) is None and L.footer_text(lp) == ""
    assert L.shown_logprobs(None) is None and L.shown_logprobs({"content": "x"}) is None


@pytest.mark.parametrize(
    ("milli", "step"),
    [(0, 0), (-105, 0), (-106, 1), (-693, 2), (-694, 3), (-2303, 4), (-2304, 5), (None, -1)],
)
def test_steps_are_integer_thresholds(milli, step):
    assert L.step(milli) == step


def test_tokens_are_placed_on_the_answer_even_after_reasoning():
    lp = {"tokens": ["<think>", "hm", "</think>", "\n\nHel", "lo"], "logprobs": [0] * 5}
    assert L.placed(lp, "Hello") == [(0, 3, 3), (3, 5, 4)]
    assert L.placed(lp, "Bye") is None and L.placed(lp, "") is None


def test_a_character_split_over_two_tokens_belongs_to_the_second():
    entries = [
        {"token": "a", "logprob": -0.1, "bytes": [97]},
        {"token": "bytes:\\xe2\\x80", "logprob": -0.2, "bytes": [0xE2, 0x80]},
        {"token": "bytes:\\xa6", "logprob": -0.3, "bytes": [0xA6]},
    ]
    lp = L.shown_logprobs(compact_logprobs({"content": entries}))
    assert lp["tokens"] == ["a", "", "…"] and L.placed(lp, "a…") == [(0, 1, 0), (1, 2, 2)]


def test_the_summary_and_the_footer():
    lp = form("one two three four five six seven eight nine ten")
    s = L.summary(lp)
    mean = sum(lp["logprobs"]) / len(lp["logprobs"]) / 1000
    assert s["n"] == 10 and math.isclose(s["mean"], mean)
    assert math.isclose(s["perplexity"], math.exp(-mean))
    worst = sorted(range(10), key=lambda i: (lp["logprobs"][i], i))
    assert s["least"] == worst
    text = L.footer_text(lp)
    assert text.startswith(f"perplexity {math.exp(-mean):.2f} · least likely ")
    assert text.count("“") == 3 and "“ four”" in text  # token 3: every seventh is less likely


def test_labels_and_percents():
    assert L.label(" a\nb\t\\") == "“ a\\nb\\t\\\\”"
    assert L.label("x" * 30) == "“" + "x" * 24 + "…”"
    assert L.label("a\x1b[31m") == "“a�[31m”"
    assert [L.percent(m) for m in (0, -105, -2303, -4000, -7000, -9999)] == [
        "100%", "90%", "10%", "1.8%", "0.1%", "<0.1%"
    ]  # fmt: skip


def test_a_turn_keeps_them_once_in_its_structured_turn():
    data, meta = shown("Hello there world")
    packed = data[MIME]["logprobs"]
    assert packed == L.pack(form("Hello there world")) and "\n" not in packed
    assert L.unpack(packed) == form("Hello there world")
    assert "logprobs" not in meta["jupyter_chat"]  # the record in the metadata: not again
    foot = L.footer_text(L.unpack(packed))
    assert data["text/plain"].endswith(f" · {foot}]")
    assert (
        f"<p><sub>openai:m · seed 1 · {html_text(foot, True)}</sub></p></div>"
        in (data["text/markdown"])
    )


def test_a_streaming_display_has_none_yet():
    data, meta = shown("Hello there", status="streaming")
    assert "logprobs" not in data[MIME] and "perplexity" not in data["text/plain"]
    assert "jupyter-chat-logprobs" not in data["text/markdown"]


def test_the_static_rendering_shades_titles_and_tables():
    answer = "Hello there world, said the <model> & paid $5\nthen left."
    data, _ = shown(answer)
    md = data["text/markdown"]
    assert md.count('<div class="jupyter-chat-logprobs">') == 1 and "style=" not in md
    block = md[md.index('<div class="jupyter-chat-logprobs">') :]
    assert block.startswith(L.OPEN)
    lp = L.unpack(data[MIME]["logprobs"])
    steps = [L.step(v) for v in lp["logprobs"]]
    assert block.count("<mark title=") == sum(s >= 3 for s in steps)
    assert block.count("<u title=") == sum(s in (1, 2) for s in steps)
    assert block.count("<strong>") == sum(s == 5 for s in steps) + 1  # + the legend's
    assert "&lt;model&gt;" in block and " &amp;" in block and "<br>then" in block
    assert "<table><thead><tr><th>least likely</th>" in block
    i = L.summary(lp)["least"][0]
    assert f"<code>{html_text(L.label(lp['tokens'][i]))}</code>" in block
    assert live(md) == []
    from jupyter_chat.display.renderings import visible

    tokens_p = block[block.index(L.TOKENS_OPEN) : block.index("</p>")]
    assert " ".join(visible(tokens_p).split()) == " ".join(answer.split())


def test_hostile_tokens_stay_text():
    evil = '<img src=x onerror="alert(1)"> " onmouseover="alert(2)'
    data, _ = shown(evil)
    md = data["text/markdown"]
    assert live(md) == []
    block = md[md.index(L.OPEN) :]
    assert "onerror=&quot;" in block and 'onmouseover="' not in block


def test_tokens_that_do_not_spell_the_answer_are_not_placed():
    data, _ = shown("Hello there", lp_text="Goodbye now")
    md = data["text/markdown"]
    assert "The tokens do not spell the answer shown." in md and L.TOKENS_OPEN not in md


def test_a_signed_turn_says_they_are_outside_the_signature():
    data, _ = shown("Hello there", signed={"chain_id": 1})
    assert L.OPEN in data["text/markdown"] and L.UNSIGNED + "</summary>" in data["text/markdown"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_chat_turn_shows_them_the_same_streamed_or_not(server, stream):
    server.script(reply_with_logprobs("A short answer, with probabilities."))
    turn = jc.chat("hi", model="openai:m", stream=stream, logprobs=2)
    data, _ = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=[],
        status="complete",
    )
    lp = L.unpack(data[MIME]["logprobs"])
    assert lp["tokens"] == tokens_of("A short answer, with probabilities.")
    assert all(len(t) == 2 for t in lp["top"])  # the top two hold the token: one other
    assert json.dumps(lp) == json.dumps(form("A short answer, with probabilities.", 2))


def test_a_long_answer_stays_one_block_and_its_size_is_bounded():
    answer = long_answer(3000)
    data, _ = shown(answer, k=5)
    md = data["text/markdown"]
    assert "\n" not in md and md.startswith("<div")
    assert len(L.unpack(data[MIME]["logprobs"])["tokens"]) == len(tokens_of(answer))
    # measured (benchmarks/logprobs.py): five alternatives a token cost the most
    assert len(json.dumps(data[MIME]["logprobs"])) < 20 * len(answer)
    assert len(md) < 10 * len(answer)


def test_the_checkers_read_the_rendering_the_kernel_writes():
    from jupyter_chat.display import renderings as R

    assert (L.OPEN, L.TOKENS_OPEN) == (R.LOGPROBS_OPEN, R.LOGPROBS_TOKENS)
    assert L.UNSIGNED + "</summary>" == R.OUTSIDE
    assert "</div>" + L.OPEN[: L.OPEN.index("<details>")] == R.LOGPROBS_MARK


def test_a_signed_turn_with_logprobs_is_verified_at_run_time_and_saved(server, tmp_path):
    """EigenCloud's logprobs (no alternatives) beside a signed answer: the turn verifies when
    it arrives and when its saved output is audited; the figures are said to be outside."""
    from signed import FIXTURE, fixture_reply, saved_output, write_nb

    from jupyter_chat.display.audit import audit

    reply = fixture_reply()
    raw = reply.body["choices"][0]["message"]["content"]
    reply.body["choices"][0]["logprobs"] = {"content": content(raw, 0), "refusal": None}
    server.script(reply)
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud", logprobs=True)
    assert server.requests[-1].body["logprobs"] is True
    assert "top_logprobs" not in server.requests[-1].body
    assert turn.record["signature"] == "verified"
    out = saved_output(turn)
    lp = L.unpack(out["data"][MIME]["logprobs"])
    assert "".join(lp["tokens"]) == raw and "top" not in lp
    assert L.UNSIGNED + "</summary>" in out["data"]["text/markdown"]
    [(_, v)] = audit(write_nb(tmp_path / "signed.ipynb", out))
    assert v.state == "verified", v.reason

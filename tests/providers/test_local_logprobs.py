"""Token probabilities from the real llama-cpp-python server (the ``local`` extra, the packaged
model): the managed server gives them only when started with them (``%chat local start
--logprobs``), streamed and not; a turn shows them and replays them byte for byte. Nothing
here is skipped when the extra is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jupyter_chat as jc
from jupyter_chat.display import logprobs as L
from jupyter_chat.display.bundle import MIME, bundle
from jupyter_chat.errors import ConfigError
from jupyter_chat.providers import local
from jupyter_chat.session.state import SESSION

ASK = {"temperature": 0, "max_tokens": 16, "logprobs": 3}
PROMPT = "Write one sentence about the sea."


@pytest.fixture(autouse=True)
def no_base_url(monkeypatch):
    monkeypatch.delenv("LOCAL_BASE_URL")


@pytest.fixture(scope="module")
def with_logprobs():
    """The kernel's own server, started with token probabilities (about 3 GB)."""
    local.start(logprobs=True)
    yield local.SERVER
    local.stop()
    local.SERVER.settings = local.Settings()  # the next module's server: the default again


def shown(turn) -> dict:
    data, _ = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=[],
        status="complete",
    )
    return data


def test_a_cell_starts_the_server_with_them_and_shows_them(kernels, tmp_path):
    """``%chat local start --logprobs --when-needed`` in a real kernel starts nothing; the
    first ``%%chat --logprobs`` starts the server with them and its output's structured turn
    holds the tokens, which spell the answer; ``start --when-needed`` without the flag stops
    that server, and they are refused again before anything is sent."""
    k = kernels(cwd=tmp_path)
    k.run("import os; os.environ.pop('LOCAL_BASE_URL', None)")
    refused = k.run(f"%%chat -m local --logprobs --max-tokens 4\n{PROMPT}")
    assert "the local server runs without token log-probabilities" in refused.reply["evalue"]
    assert "%chat local start --logprobs" in refused.reply["evalue"]
    later = k.run("%chat local start --logprobs --when-needed")
    assert later.reply["status"] == "ok", later.error
    said = " ".join(d["content"]["data"]["text/markdown"] for d in later.displays)
    assert "starts with token log-probabilities at the first live" in said
    assert "No local server running" in k.run("%chat local status").final["data"]["text/markdown"]
    try:
        ran = k.run(
            f"%%chat -m local --logprobs 2 --max-tokens 12 --temperature 0\n{PROMPT}", timeout=180
        )
        assert ran.reply["status"] == "ok", ran.error
        lp = L.unpack(ran.final["data"][MIME]["logprobs"])
        answer = ran.final["data"][MIME]["answer"]
        assert answer and L.placed(lp, answer) is not None
        assert all(len(flat) <= 2 for flat in lp["top"])  # the top two hold one other
        assert "perplexity" in ran.final["data"]["text/plain"]
        plain = k.run("%chat local start --when-needed")  # without them again: it stops
        said = " ".join(d["content"]["data"]["text/markdown"] for d in plain.displays)
        assert "(the one running with other settings was stopped)" in said
        again = k.run(f"%%chat -m local --logprobs --max-tokens 4\n{PROMPT}")
        assert "runs without token log-probabilities" in again.reply["evalue"]
        wrong = k.run("%chat local stop --when-needed")
        assert "--when-needed goes with start" in wrong.reply["evalue"]
    finally:
        k.run("%chat local stop")


@pytest.mark.parametrize("stream", [False, True])
def test_streamed_or_not_the_tokens_spell_the_answer(with_logprobs, stream):
    turn = jc.chat(PROMPT, model="local", stream=stream, **ASK)
    assert turn.record["params"]["top_logprobs"] == 3
    entries = turn.logprobs["content"]
    assert entries and all(e["logprob"] <= 0 for e in entries)
    lp = L.unpack(shown(turn)[MIME]["logprobs"])
    assert L.placed(lp, turn.text) is not None  # every character of the answer has its token
    assert len(lp["tokens"]) == len(entries)
    if not stream:  # (llama-cpp-python streams no usage)
        assert len(entries) == turn.record["usage"]["completion_tokens"]
    assert all(len(flat) <= 4 for flat in lp["top"])  # the top three hold two others
    assert L.summary(lp)["perplexity"] >= 1


def test_recorded_then_replayed_byte_for_byte(with_logprobs, tmp_path):
    store = tmp_path / "lp.chat.jsonl"
    SESSION.set_replay("record", store)
    live = shown(jc.chat(PROMPT, model="local", stream=True, **ASK))
    local.stop()  # replaying needs no server
    SESSION.set_replay("replay", store)
    again = shown(jc.chat(PROMPT, model="local", stream=True, **ASK))
    assert not local.SERVER.running
    assert json.dumps(again, sort_keys=True) == json.dumps(live, sort_keys=True)
    assert L.unpack(again[MIME]["logprobs"])["tokens"]


def test_auto_replays_them_without_a_server_that_gives_them(with_logprobs, tmp_path):
    """Under ``auto`` a recorded answer needs no ``--logprobs`` server (a notebook replays
    offline as a fresh kernel would run it); one not recorded is still refused before
    anything starts or is sent."""
    store = tmp_path / "lp.chat.jsonl"
    SESSION.set_replay("record", store)
    live = shown(jc.chat(PROMPT, model="local", **ASK))
    local.stop()
    local.SERVER.settings = local.Settings()  # a fresh kernel: its server would lack them
    try:
        SESSION.set_replay("auto", store)
        again = shown(jc.chat(PROMPT, model="local", **ASK))
        assert json.dumps(again, sort_keys=True) == json.dumps(live, sort_keys=True)
        with pytest.raises(ConfigError, match="runs without token log-probabilities"):
            jc.chat("Another prompt, never recorded.", model="local", **ASK)
        assert not local.SERVER.running  # nothing was started for either
    finally:
        SESSION.set_replay("off")
        local.start(logprobs=True)


def test_without_them_the_server_is_asked_nothing(with_logprobs):
    local.start(logprobs=False)  # restarted without --logits_all
    try:
        log = Path(local.SERVER._log_path)
        before = log.read_text(errors="replace")
        with pytest.raises(ConfigError, match="runs without token log-probabilities"):
            jc.chat(PROMPT, model="local", **ASK)
        assert "POST /v1/chat/completions" not in log.read_text(errors="replace")[len(before) :]
        plain = jc.chat(PROMPT, model="local", temperature=0, max_tokens=4)  # the server is up
        assert plain.text and plain.logprobs is None
        assert "POST /v1/chat/completions" in log.read_text(errors="replace")[len(before) :]
    finally:
        local.start(logprobs=True)

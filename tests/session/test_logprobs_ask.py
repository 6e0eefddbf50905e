"""Asking for token log-probabilities (session/logprobs.py): ``logprobs=True``, ``K`` or
``False`` on the API, ``--logprobs [K]`` in a cell, ``%chat defaults``, each the provider's
``logprobs`` and ``top_logprobs``; a provider that would send none refused before anything
reaches it (the loopback server sees no request)."""

from __future__ import annotations

import pytest
from dialect_server import Reply, chunk, sse

import jupyter_chat as jc
from jupyter_chat.errors import ConfigError
from jupyter_chat.providers import local
from jupyter_chat.session.prepare import prepare
from jupyter_chat.session.resolve import Ask
from jupyter_chat.session.state import SESSION

MODEL = "openai:gpt-test"


def entry(token: str, logprob: float, *alts: tuple[str, float]) -> dict:
    top = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
    top += [{"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in alts]
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": top}


ENTRIES = [entry("Hel", -0.125, ("Hi", -2.5)), entry("lo", -1e-05), entry("!", -1.5, (".", -0.4))]


def streamed() -> Reply:
    events = []
    for e in ENTRIES:
        c = chunk(e["token"])
        c["choices"][0]["logprobs"] = {"content": [e], "refusal": None}
        events.append(c)
    return Reply(events=sse(*events, chunk(finish="stop")))


def whole() -> Reply:
    return Reply(
        body={
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Hello!"},
                    "logprobs": {"content": ENTRIES, "refusal": None},
                }
            ],
        }
    )


def sent(server) -> dict:
    return {k: v for k, v in server.requests[-1].body.items() if "logprobs" in k}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"logprobs": True}, {"logprobs": True, "top_logprobs": 5}),
        ({"logprobs": 3}, {"logprobs": True, "top_logprobs": 3}),
        ({"logprobs": 0}, {"logprobs": True}),
        ({"logprobs": True, "top_logprobs": 2}, {"logprobs": True, "top_logprobs": 2}),
        ({"logprobs": False, "top_logprobs": 2}, {}),
    ],
)
def test_logprobs_become_the_providers_parameters(server, given, expected):
    server.script(whole())
    jc.chat("hi", model=MODEL, **given)
    assert sent(server) == expected


@pytest.mark.parametrize("stream", [False, True])
def test_logprobs_are_kept_streamed_or_not(server, stream):
    server.script(streamed() if stream else whole())
    turn = jc.chat("hi", model=MODEL, stream=stream, logprobs=2)
    assert turn.text == "Hello!"
    assert [e["token"] for e in turn.logprobs["content"]] == ["Hel", "lo", "!"]
    assert turn.record["logprobs"]["content"]["tokens"] == ["Hel", "lo", "!"]


@pytest.mark.parametrize(
    ("model", "params", "words"),
    [
        ("eigenai", {"logprobs": True}, "eigenai does not give token log-probabilities"),
        ("adaptive:proj", {"logprobs": 3}, "adaptive does not give token log-probabilities"),
        ("eigencloud", {"logprobs": 3}, "without alternatives"),
        (MODEL, {"logprobs": 21}, "from 0 to 20"),
        (MODEL, {"logprobs": "yes"}, "expected true or a number"),
        (MODEL, {"logprobs": 3, "top_logprobs": 4}, "disagree"),
    ],
)
def test_a_provider_without_logprobs_is_refused_before_sending(server, model, params, words):
    with pytest.raises(ConfigError) as e:
        jc.chat("hi", model=model, **params)
    assert words in str(e.value)
    assert "\n" not in str(e.value)
    assert server.requests == []  # nothing reached the server, nothing was paid for


def test_the_refusal_names_the_providers_that_give_them(server):
    with pytest.raises(ConfigError) as e:
        jc.chat("hi", model="patgateway", logprobs=True)
    assert "eigencloud" in e.value.hint and "edenai" in e.value.hint
    assert "eigenai," not in e.value.hint
    assert "logprobs = true in [providers.patgateway]" in e.value.hint


def test_eigencloud_gets_logprobs_without_alternatives(server):
    from signed import fixture_reply

    server.script(fixture_reply())
    jc.chat("hi", model="eigencloud", logprobs=True)
    assert sent(server) == {"logprobs": True}


def test_a_profile_says_whether_it_gives_them(server, env):
    env.write_text(env.read_text() + "\n[providers.openai]\nlogprobs = false\n")
    from jupyter_chat.providers.config import CONFIG

    CONFIG.__init__()
    with pytest.raises(ConfigError, match="openai does not give token log-probabilities"):
        jc.chat("hi", model=MODEL, logprobs=True)
    assert server.requests == []


def test_the_managed_server_gives_them_only_when_started_with_them(server, monkeypatch, tmp_path):
    monkeypatch.delenv("LOCAL_BASE_URL")
    monkeypatch.setattr(local.SERVER, "settings", local.Settings())
    with pytest.raises(ConfigError) as e:
        jc.chat("hi", model="local", logprobs=True)
    assert "the local server runs without token log-probabilities" in str(e.value)
    assert "%chat local start --logprobs" in e.value.hint
    assert not local.SERVER.running  # nothing was started, let alone sent
    # replaying needs no server, so its settings do not matter: a missing recording instead
    SESSION.set_replay("replay", tmp_path / "nb.chat.jsonl")
    with pytest.raises(Exception, match="no recording") as e:
        jc.chat("hi", model="local", logprobs=True)
    SESSION.set_replay("off", None)
    monkeypatch.setattr(local.SERVER, "settings", local.Settings(logprobs=True))
    prep = prepare("hi", Ask(model="local", params={"logprobs": True}), dry_run=True)
    assert prep.request.body["top_logprobs"] == 5  # started with them: asked, nothing sent
    assert not local.SERVER.running and server.requests == []


def test_a_server_that_sends_none_is_said_in_the_notes(server):
    reply = whole()
    del reply.body["choices"][0]["logprobs"]
    server.script(reply)
    turn = jc.chat("hi", model=MODEL, logprobs=True)
    assert "token log-probabilities were asked for; the server sent none" in turn.record["notes"]


def test_the_cell_option():
    from jupyter_chat.magics.options import cell_parser

    p = cell_parser()
    assert p.parse_args(["--logprobs"]).logprobs is True
    assert p.parse_args(["--logprobs", "3"]).logprobs == 3
    assert p.parse_args(["--logprobs", "-m", "x"]).logprobs is True
    assert p.parse_args([]).logprobs is None

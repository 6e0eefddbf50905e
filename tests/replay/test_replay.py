"""Record and replay, and EigenCloud signatures end to end (loopback server, real kernels)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from dialect_server import DIALECTS, Reply, chunk, sse
from signed import FIXTURE, fixture_reply, saved_output, write_nb

import jupyter_chat as jc
from jupyter_chat.cli import main as cli
from jupyter_chat.display.bundle import MIME
from jupyter_chat.replay.store import ReplayMissError, Store
from jupyter_chat.session.state import SESSION

KEYS = [k for (*_x, k) in DIALECTS.values() if k]


@pytest.fixture
def store(tmp_path):
    return tmp_path / "nb.chat.jsonl"


def test_record_then_replay_without_the_network(server, store, monkeypatch):
    SESSION.set_replay("record", store)
    live = jc.chat("hi", model="edenai:openai/gpt-4o", seed=3, stream=True)
    assert len(server.requests) == 1 and live.record["replayed"] is False
    [rec] = Store(store).records().values()
    assert rec["key"] == live.record["request_hash"]
    assert rec["request"]["params"]["seed"] == 3 and rec["deltas"]
    text = store.read_text()
    assert not [k for k in KEYS if k in text] and "Bearer" not in text
    monkeypatch.setenv("EDENAI_BASE_URL", "http://127.0.0.1:9/v3")  # nothing listens there
    SESSION.set_replay("replay", store)
    again = jc.chat("hi", model="edenai:openai/gpt-4o", seed=3, stream=True)
    assert len(server.requests) == 1  # no network
    assert (again.text, again.reasoning, again.usage) == (live.text, live.reasoning, live.usage)
    assert again.record["replayed"] is True
    assert again.record["latency_ms"] == rec["latency_ms"]
    assert {k: v for k, v in again.record.items() if k != "replayed"} == {
        k: v for k, v in live.record.items() if k != "replayed"
    }


def test_replay_mode_never_calls_out_for_a_missing_record(server, store):
    SESSION.set_replay("record", store)
    jc.chat("recorded", model="local", seed=1)
    SESSION.set_replay("replay", store)
    server.reset()
    with pytest.raises(
        ReplayMissError,
        match="no recording of this request in nb.chat.jsonl "
        r"\(prompt 'not recorded'",
    ):
        jc.chat("not recorded", model="local", seed=1)
    with pytest.raises(ReplayMissError):  # a changed parameter is another request
        jc.chat("recorded", model="local", seed=2)
    assert server.requests == []


def test_auto_records_once_then_replays(server, store):
    SESSION.set_replay("auto", store)
    a = jc.chat("q", model="local")
    b = jc.chat("q", model="local")
    assert len(server.requests) == 1 and (a.text, b.text) == ("Hello from local.",) * 2
    assert b.record["replayed"] and not a.record["replayed"]


def test_map_and_achat_replay_too(server, store):
    import asyncio

    SESSION.set_replay("auto", store)
    jc.map(["a", "b"], model="local")
    SESSION.set_replay("replay", store)
    server.reset()
    turns = jc.map(["a", "b"], model="local")
    turn = asyncio.run(jc.achat("a", model="local"))
    assert all(t.record["replayed"] for t in [*turns, turn]) and server.requests == []


def test_a_failed_or_cut_turn_leaves_the_store_untouched(server, store):
    SESSION.set_replay("record", store)
    jc.chat("kept", model="local")
    before = store.read_bytes()
    server.script(Reply(events=sse(chunk("half"), done=False)))
    with pytest.raises(jc.StreamCutError):
        jc.chat("cut", model="local", stream=True)
    server.script(Reply(status=400, body={"error": "bad"}))
    with pytest.raises(jc.InvalidRequestError):
        jc.chat("refused", model="local")
    assert store.read_bytes() == before


def test_corrupted_store_is_a_clear_error_and_changes_nothing(server, store):
    SESSION.set_replay("record", store)
    jc.chat("one", model="local")
    jc.chat("two", model="local")
    lines = store.read_text().splitlines()
    store.write_text(lines[0] + "\n" + lines[1][:40] + "\n")
    SESSION.set_replay("off")
    with pytest.raises(jc.ConfigError, match="nb.chat.jsonl is corrupted at line 2"):
        SESSION.set_replay("replay", store)
    assert SESSION.replay_mode == "off"  # the bad switch changed nothing


def test_deleting_a_record_makes_that_turn_a_miss(server, store):
    SESSION.set_replay("record", store)
    jc.chat("one", model="local")
    jc.chat("two", model="local")
    lines = store.read_text().splitlines()
    store.write_text(lines[0] + "\n")
    SESSION.set_replay("replay", store)
    assert jc.chat("one", model="local").record["replayed"]
    with pytest.raises(ReplayMissError):
        jc.chat("two", model="local")


def test_check_mode_compares_with_the_recording(server, store):
    SESSION.set_replay("record", store)
    jc.chat("q", model="local")
    SESSION.set_replay("check", store)
    assert jc.chat("q", model="local").record["matches_recording"] is True
    server.script(
        Reply(
            body={
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"content": "something else"}}
                ]
            }
        )
    )
    assert jc.chat("q", model="local").record["matches_recording"] is False
    assert jc.chat("new", model="local").record["matches_recording"] is None
    assert len(server.requests) == 4  # check mode always calls the provider


def test_forced_mode_from_the_environment(server, store, monkeypatch):
    SESSION.set_replay("record", store)
    jc.chat("q", model="local")
    SESSION.set_replay("off")
    monkeypatch.setenv("JUPYTER_CHAT_REPLAY", "replay")
    SESSION.store = Store(store)
    assert jc.chat("q", model="local").record["replayed"]
    monkeypatch.setenv("JUPYTER_CHAT_REPLAY", "sometimes")
    with pytest.raises(jc.ConfigError, match="not a replay mode"):
        jc.chat("q", model="local")


# -- signatures ---------------------------------------------------------------------------------
def test_a_real_signed_response_is_verified_end_to_end(server, store):
    server.script(fixture_reply())
    SESSION.set_replay("record", store)
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "verified" and "notes" not in turn.record
    assert turn.text.startswith("{") and "isSignalCandidate" in turn.text
    assert (
        turn.signed["chain_id"] == 1
        and turn.signed["signature"] == FIXTURE["response"]["signature"]
    )
    assert cli(["verify", str(store)]) == 0  # later, from the store


def test_a_tampered_answer_is_invalid(server):
    server.script(fixture_reply(lambda c: c.replace("bullish", "bearish")))
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "invalid"
    assert "recovered" in turn.record["notes"][0]


def test_sepolia_chain_id_makes_the_mainnet_signature_invalid(server):
    server.script(fixture_reply())
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud-sepolia:gpt-oss-120b-f16")
    assert turn.record["signature"] == "invalid"


def test_streamed_without_signature_is_not_verifiable(server):
    turn = jc.chat("hi", model="eigencloud", stream=True)
    assert turn.record["signature"] == "not verifiable"
    assert turn.record["notes"] == ["signature not verifiable: no signature (streamed turn?)"]


def test_signer_addresses_come_from_configuration(server, env):
    env.write_text(
        env.read_text() + '\n[signers]\n"1" = "0x0000000000000000000000000000000000000001"\n'
    )
    server.script(fixture_reply())
    turn = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert turn.record["signature"] == "invalid"


@pytest.fixture
def signed_turn(server):
    server.script(fixture_reply())
    return jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")


def test_cli_verifies_a_saved_notebook(signed_turn, tmp_path, capsys):
    path = write_nb(tmp_path / "saved.ipynb", saved_output(signed_turn))
    assert cli(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cell 1: verified by 0x7053bfb0433a16a2405de785d547b1b32cee0cf3" in out
    signed_turn.signed["response_contents"][0] += " "
    write_nb(path, saved_output(signed_turn))
    assert cli(["verify", str(path)]) == 1
    assert "cell 1: invalid" in capsys.readouterr().out


def _edit(output: dict, edit) -> dict:
    output = json.loads(json.dumps(output))
    edit(output)
    return output


@pytest.mark.parametrize(
    "edit, why",
    [
        (lambda o: o["data"][MIME].update(answer="SELL everything"), "the answer shown differs"),
        (lambda o: o["data"][MIME].update(reasoning="made up"), "the reasoning shown differs"),
        (
            lambda o: o["data"].update(
                {"text/markdown": o["data"]["text/markdown"].replace("bullish", "bearish")}
            ),
            "the Markdown output shows another answer",
        ),
        (
            lambda o: o["data"].update(
                {"text/plain": o["data"]["text/plain"].replace("bullish", "bearish")}
            ),
            "the plain-text output shows another answer",
        ),
        (lambda o: o["metadata"]["jupyter_chat"].update(served_model="gpt-5"), "the model shown"),
        (  # an output saved with the record in its data too (before it moved to metadata)
            lambda o: o["data"][MIME].update(record={"served_model": "gpt-5"}),
            "the model shown",
        ),
        (
            lambda o: o["data"][MIME]["messages"][0].update(content="Is LINK bearish?"),
            "the prompt shown differs",
        ),
    ],
)
def test_a_saved_output_that_shows_other_text_than_was_signed_is_invalid(
    signed_turn, tmp_path, capsys, edit, why
):
    path = write_nb(tmp_path / "edited.ipynb", _edit(saved_output(signed_turn), edit))
    assert cli(["verify", str(path)]) == 1
    assert why in capsys.readouterr().out


def test_an_output_that_only_claims_verified_is_invalid(server, tmp_path, capsys):
    turn = jc.chat("hi", model="openai:m")
    turn.record["signature"] = "verified"
    path = write_nb(tmp_path / "claims.ipynb", saved_output(turn))
    assert cli(["verify", str(path)]) == 1
    assert "claims a verified signature; nothing signed" in capsys.readouterr().out


def test_a_store_whose_answer_was_rewritten_replays_invalid(signed_turn, server, store):
    server.script(fixture_reply())
    SESSION.set_replay("record", store)
    jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert cli(["verify", str(store)]) == 0
    rec = json.loads(store.read_text())
    rec["response"]["choices"][0]["answer"] = rec["response"]["choices"][0]["answer"].replace(
        "bullish", "bearish"
    )
    store.write_text(json.dumps(rec) + "\n")
    assert cli(["verify", str(store)]) == 1
    SESSION.set_replay("replay", store)
    again = jc.chat(FIXTURE["request"]["messages"], model="eigencloud:gpt-oss-120b-f16")
    assert again.record["replayed"] is True and "bearish" in again.text
    assert again.record["signature"] == "invalid"
    assert "the answer shown differs from the signed content" in again.record["notes"][0]


@pytest.mark.parametrize(
    "content, code",
    [
        ("{}", 2),
        ("[1, 2", 2),
        ("[" * 50_000 + "]" * 50_000, 2),
        ('{"cells": {"a": 1}}', 2),
        (f'{{"cells": [1, {{"outputs": 3}}, {{"outputs": [{{"data": {{"{MIME}": 5}}}}]}}]}}', 0),
    ],
)
def test_verify_reports_a_malformed_notebook_apart_from_an_invalid_one(
    tmp_path, capsys, content, code
):
    path = tmp_path / "odd.ipynb"
    path.write_text(content)
    assert cli(["verify", str(path)]) == code  # 2: cannot be read; never 1 ("invalid")
    err = capsys.readouterr().err
    assert err.count("\n") == (1 if code else 0) and "Traceback" not in err


def test_verify_refuses_what_is_not_a_regular_file(capsys):
    assert cli(["verify", "/dev/null"]) == 2
    assert "not a file" in capsys.readouterr().err


# -- a notebook, recorded then replayed in real kernels -----------------------------------------
NOTEBOOK_CELLS = [
    "%load_ext jupyter_chat\n%chat replay auto demo.chat.jsonl",
    "%%chat -m edenai:openai/gpt-4o\nFirst question",
    "%%chat -m eigencloud --no-stream\nSecond question",
    "import jupyter_chat as jc\nprint(jc.chat('from python', model='local').text)",
]


def execute(path: Path, env: dict) -> dict:
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute(env=env)
    return nb


def outputs(nb) -> list:
    """The outputs as saved, minus what changes on every run by design (display ids)."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            o = json.loads(json.dumps(o))
            o.pop("transient", None)
            out.append(o)
    return out


def test_a_recorded_notebook_replays_offline_with_identical_outputs(server, tmp_path):
    import nbformat
    from kernel import kernel_env

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    env = kernel_env(server, str(tmp_path / "none.toml"))
    recorded = execute(path, env)  # auto: calls the loopback providers, records
    assert len(server.requests) == 3
    server.reset()
    with socket.socket() as s:  # a port where nothing listens: any network call would fail
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    offline = {
        k: (f"http://127.0.0.1:{dead}/v1" if k.endswith("_BASE_URL") else v) for k, v in env.items()
    }
    offline["JUPYTER_CHAT_REPLAY"] = "replay"
    first, second = execute(path, offline), execute(path, offline)
    assert server.requests == []
    assert outputs(first) == outputs(second)  # byte-identical, run after run
    answers = [
        [
            o["data"]["text/plain"]
            for o in outputs(x)
            if "data" in o and "jupyter_chat" in o["metadata"]
        ]
        for x in (recorded, first)
    ]
    strip = [[a.replace(" · replayed", "") for a in run] for run in answers]
    assert strip[0] == strip[1] and len(strip[0]) == 2


def test_replaying_local_turns_needs_no_local_server(server, store, monkeypatch):
    from jupyter_chat.providers import local

    SESSION.set_replay("record", store)
    jc.chat("q", model="local")  # recorded from the loopback server standing in for llama.cpp
    monkeypatch.delenv("LOCAL_BASE_URL")  # now "local" means the managed llama.cpp server
    SESSION.set_replay("replay", store)
    assert jc.chat("q", model="local").record["replayed"]  # the hash names no host or port
    assert not local.status()["running"]  # and replaying started nothing


def test_python_api_switches_modes(server, store):
    returned = jc.set_replay("auto", str(store))
    assert returned.path == store.resolve()
    jc.chat("q", model="local")
    assert jc.chat("q", model="local").record["replayed"] and len(server.requests) == 1
    with pytest.raises(jc.ConfigError, match="unknown replay mode 'sometimes'"):
        jc.set_replay("sometimes")
    assert SESSION.replay_mode == "auto"


GOOD = {"key": "k", "response": {"choices": [{"answer": "a"}]}, "deltas": [[1.0, "answer", 0, "a"]]}


@pytest.mark.parametrize(
    "line, why",
    [
        ('{"key": 3}', "not a recording"),
        (json.dumps({**GOOD, "response": {"choices": {"a": 1}}}), "no response choices"),
        (json.dumps({**GOOD, "response": {"choices": [{"answer": 5}]}}), "answer is not text"),
        (json.dumps({**GOOD, "response": {"choices": [{"nope": 1}]}}), "a choice is malformed"),
        (json.dumps({**GOOD, "deltas": [["x", "answer", 0, "a"]]}), "a delta is malformed"),
        (json.dumps({**GOOD, "latency_ms": "slow"}), "latency_ms is not a number"),
        ("[" * 40_000 + "]" * 40_000, "nested too deeply"),
        ("x" * 200_000, "a line over 100,000 bytes"),
    ],
)
def test_a_store_from_a_stranger_is_checked_line_by_line(store, monkeypatch, line, why):
    import jupyter_chat.replay.store as replay

    monkeypatch.setattr(replay, "MAX_LINE", 100_000)
    store.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    with pytest.raises(jc.ConfigError) as err:
        Store(store).records()
    text = str(err.value)
    assert "corrupted at line 2 (" in text and why in text and "\n" not in text


def test_pace_never_waits_long_whatever_the_recording_says(server, store, monkeypatch):
    import jupyter_chat.replay.call as replay

    SESSION.set_replay("record", store)
    jc.chat("paced", model="local", stream=True)
    rec = json.loads(store.read_text())
    rec["deltas"] = [[1e12 * (i + 1), *d[1:]] for i, d in enumerate(rec["deltas"])]
    store.write_text(json.dumps(rec) + "\n")
    waits = []

    class Clock:  # sleeps are recorded and pass at once
        now = 0.0

        def monotonic(self):
            return self.now

        def sleep(self, s):
            waits.append(s)
            self.now += s

    monkeypatch.setattr(replay, "time", Clock())
    SESSION.set_replay("replay", store, pace=True)
    turn = jc.chat("paced", model="local", stream=True)
    assert turn.record["replayed"] and waits and max(waits) <= replay.MAX_PACE_WAIT

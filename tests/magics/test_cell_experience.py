"""The cell experience in a real kernel: help with or without a body, typos answered with the
nearest valid name, the local provider's token limit, an error shown once, the footer's words,
and how many bytes a saved turn costs."""

from __future__ import annotations

import json

import pytest
from dialect_server import Reply, chunk, sse

from jupyter_chat.display.bundle import MIME, PLAIN_HEAD


@pytest.fixture(autouse=True)
def fresh_state(k):
    k.run("SESSION.__init__(); SESSION.params.clear()")


def failure(ran) -> str:
    """The one line a failed cell shows (UsageErrors come as the reply's evalue)."""
    assert ran.reply["status"] == "error"
    err = ran.error
    return " ".join(err["traceback"]) if err and err["traceback"] else ran.reply["evalue"]


# -- help and typos -------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["%%chat --help", "%%chat --help\n", "%%chat -h\nthe body"])
def test_cell_help_works_with_or_without_a_body(server, k, code):
    ran = k.run(code)
    assert ran.reply["status"] == "ok", ran.reply
    assert "usage: %%chat" in ran.stdout and "--max-tokens" in ran.stdout
    assert server.requests == []


def test_a_cell_with_no_body_gets_the_magics_own_line(server, k):
    assert "the cell is empty" in failure(k.run("%%chat -m local"))
    assert server.requests == []


@pytest.mark.parametrize(
    "code, hint",
    [
        ("%%chat --temprature 0.5\nhi", "did you mean --temperature?"),
        ("%%chat --max-tokns=5\nhi", "did you mean --max-tokens?"),
        ("%chat modles", "did you mean models?"),
        ("%chat replay atuo", "did you mean auto?"),
        ("%%chat -m mokc:x\nhi", "did you mean mock?"),
    ],
)
def test_typos_suggest_the_nearest_valid_name(server, k, code, hint):
    k.run("%chat provider add mock --base-url http://127.0.0.1:9/v1 --no-key")
    line = failure(k.run(code))
    assert hint.lower() in line.lower() and "Traceback" not in line
    assert server.requests == []


def test_nothing_is_suggested_when_nothing_is_near(server, k):
    assert "did you mean" not in failure(k.run("%%chat --zzzz\nhi"))
    assert "did you mean" not in failure(k.run("%chat qqqqq"))


def test_a_model_the_provider_does_not_know_suggests_a_configured_one(server, k):
    """Only names known without a network call: the profile's default model, here."""
    server.script(Reply(status=404, body={"error": {"message": "model not found"}}))
    line = failure(k.run("%%chat -m eigencloud:gpt-oss-120b-f61\nhi"))
    assert "model not found" in line and "Did you mean gpt-oss-120b-f16?" in line
    assert len(server.requests) == 1  # the request itself, nothing more
    server.script(Reply(status=404, body={"error": {"message": "model not found"}}))
    assert "id you mean" not in failure(k.run("%%chat -m eigencloud:zzz\nhi"))


# -- the local provider's default token limit ------------------------------------------------
def test_local_sends_a_token_limit_of_256_unless_told_otherwise(server, k):
    def sent(code: str) -> object:
        ran = k.run(code)
        assert ran.reply["status"] == "ok", ran.error
        return server.requests[-1].body.get("max_tokens", "absent")

    assert sent("%%chat -m local\nhi") == 256
    assert sent("%%chat -m local --max-tokens 9\nhi") == 9
    assert sent("%%chat -m local -p max_tokens=null\nhi") == "absent"  # unbounded, on request
    assert sent("print(jupyter_chat.chat('hi', model='local', max_tokens=7).text)") == 7
    k.run("%chat defaults max_tokens=50")
    assert sent("%%chat -m local\nhi") == 50
    k.run("%chat defaults clear")
    assert sent("%%chat -m openai:gpt-test\nhi") == "absent"  # no invented limit elsewhere


def test_the_config_file_sets_the_local_limit(server, kernels, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[providers.local]\ndefault_params = { max_tokens = 64 }\n")
    k = kernels(env={"JUPYTER_CHAT_CONFIG": str(cfg)})
    assert k.run("%%chat -m local\nhi").reply["status"] == "ok"
    assert server.requests[-1].body["max_tokens"] == 64


# -- quieter outputs ----------------------------------------------------------------------------
def test_an_http_error_is_shown_once(server, k):
    server.script(Reply(status=400, body={"error": {"message": "bad temperature value"}}))
    ran = k.run("%%chat -m local\nhi")
    line = failure(ran)
    assert line.count("bad temperature value") == 1
    assert ran.final["data"] == {}  # the placeholder is emptied: the error line says it all
    assert ran.stderr == ""


def test_the_footer_names_the_model_that_answered_and_says_cut_at_the_token_limit(server, k):
    server.script(Reply(events=sse(chunk("one two"), chunk(finish="length"))))
    ran = k.run("%%chat -m openai:m-asked --max-tokens 2\nCount")
    plain = ran.final["data"]["text/plain"]
    assert "[openai:test-model · seed " in plain and "cut at the token limit" in plain
    assert "finish length" not in plain


def test_no_token_usage_is_noted_once_per_server(server, k):
    def notes(model: str) -> list:
        server.script(Reply(events=sse(chunk("a"), chunk(finish="stop"))))  # no usage
        ran = k.run(f"%%chat -m {model}\nhi")
        return ran.final["metadata"]["jupyter_chat"].get("notes", [])

    assert notes("openai:m") == ["the server reported no token usage"]
    assert notes("openai:m") == []  # said once in this kernel, not under every turn
    assert notes("openai:m") == []
    # llama-cpp-python is known to send none in streams: nothing to say under a local turn
    assert notes("local") == []


# -- leaner saved notebooks ---------------------------------------------------------------------
ANSWER = "".join(
    f"Sentence {i} of a long answer, {'with *some* Markdown' if i % 6 == 0 else 'in plain words'}."
    + ("\n\n" if i % 10 == 9 else " ")
    for i in range(60)
).strip()


def saved_bytes(final: dict) -> int:
    """The output as a saved notebook holds it (nbformat's JSON, indent 1)."""
    import nbformat

    out = nbformat.v4.new_output("display_data", data=final["data"], metadata=final["metadata"])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%chat", outputs=[out])])
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%chat")])
    return len(nbformat.writes(nb).encode()) - len(nbformat.writes(empty).encode())


def test_a_saved_turn_holds_its_answer_twice_and_its_record_once(server, k):
    assert 2800 < len(ANSWER) < 3400
    server.script(Reply(events=sse(chunk(ANSWER), chunk(finish="stop", usage={"total_tokens": 9}))))
    final = k.run("%%chat -m local\nA long answer").final
    data, meta = final["data"], final["metadata"]
    assert data[MIME]["answer"] == ANSWER and "record" not in data[MIME]
    assert meta["jupyter_chat"]["request_hash"]  # the record, once, in the metadata
    last = "Sentence 59 of a long answer, in plain words."
    assert [mime for mime, v in data.items() if last in json.dumps(v)] == ["text/markdown", MIME]
    plain = data["text/plain"]
    head = len(ANSWER) - PLAIN_HEAD
    assert plain.startswith(ANSWER[:PLAIN_HEAD]) and f"… [{head:,} more characters]" in plain
    assert plain.rstrip().endswith("]") and "local:test-model" in plain.rpartition("\n\n")[2]

    server.script(
        Reply(events=sse(chunk("Short."), chunk(finish="stop", usage={"total_tokens": 9})))
    )
    fixed = saved_bytes(k.run("%%chat -m local\nA long answer").final)  # the record and the rest
    size = saved_bytes(final)
    assert size <= 2.2 * len(ANSWER) + fixed, (size, len(ANSWER), fixed)
    assert fixed < 3000, fixed

"""The shared client over real HTTP on loopback, against each provider's dialect."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import pytest
from dialect_server import DIALECTS, HARMONY, USAGE, Reply, chunk, sse, wait_until
from kernel import env_name

import jupyter_chat as jc
from jupyter_chat.client.call import Call
from jupyter_chat.client.request import build_request

MODELS = {"adaptive": "proj/model-a", "edenai": "openai/gpt-4o", "openai": "gpt-test"}
ANSWERS = {d: f"Hello from {d}." for d in DIALECTS} | {
    "eigencloud-sepolia": "Hello from eigencloud."
}
REASONING = {
    "eigencloud": "The user greets. Reply briefly.",
    "eigencloud-sepolia": "The user greets. Reply briefly.",
    "edenai": "Thinking.",
}


def spec(dialect: str) -> str:
    return f"{dialect}:{MODELS[dialect]}" if dialect in MODELS else dialect


def all_keys() -> list[str]:
    return [k for (_p, _h, _pre, k) in DIALECTS.values() if k]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_each_provider_answers_through_its_own_path_and_auth_header(server, dialect, stream):
    turn = jc.chat("hi", model=spec(dialect), stream=stream)
    assert turn.text == ANSWERS[dialect]
    assert turn.reasoning == REASONING.get(dialect, "")
    assert turn.usage == USAGE and turn.complete and turn.finish_reason == "stop"
    [seen] = server.requests
    path, header, prefix, key = DIALECTS[dialect]
    assert seen.path == f"/{dialect}{path}"
    if header:
        assert seen.headers[header] == prefix + key
    # the key of every other provider stays away from this host's request
    blob = json.dumps(seen.headers) + json.dumps(seen.body)
    assert [k for k in all_keys() if k in blob and k != key] == []
    assert seen.body["stream"] is True if stream else "stream" not in seen.body


def test_usage_is_requested_in_streams_only_where_the_provider_takes_stream_options(server):
    for dialect, wanted in [
        ("openai", True),
        ("edenai", True),
        ("adaptive", True),
        ("eigencloud", False),
        ("eigenai", False),
    ]:
        server.reset()
        jc.chat("hi", model=spec(dialect), stream=True)
        body = server.requests[0].body
        assert ("stream_options" in body) is wanted, dialect
        if wanted:
            assert body["stream_options"] == {"include_usage": True}


def test_eigencloud_keeps_raw_harmony_signature_and_fingerprint(server):
    turn = jc.chat("hi", model="eigencloud")
    assert turn.result.raw_content == HARMONY
    assert turn.result.signature == "ab" * 65
    assert turn.record["system_fingerprint"] == "eigenai-llama@0.1.0+eigenai-llama"
    assert build_request("eigencloud", None, [{"role": "user", "content": "x"}]).chain_id == 1
    assert (
        build_request("eigencloud-sepolia", None, [{"role": "user", "content": "x"}]).chain_id
        == 11155111
    )


def test_edenai_metadata_rides_the_first_chunk_when_asked_for(server, env):
    env.write_text(
        env.read_text() + '\n[providers.edenai]\nheaders = {"x-edenai-metadata" = "enabled"}\n'
    )
    turn = jc.chat("hi", model=spec("edenai"), stream=True)
    assert turn.result.extras["edenai_metadata"] == {"strategy": "direct", "attempt": 1}
    assert server.requests[0].headers["x-edenai-metadata"] == "enabled"


def test_adaptive_session_completion_ids_and_metric_events(server):
    turn = jc.chat("hi", model=spec("adaptive"), stream=True)
    choice = turn.result.choices[0]
    assert turn.result.extras["session_id"] == "5b0d6b7e-3c1e-4c1a-9f0e-2f9f7f0c1a11"
    assert choice.extras["completion_id"] == "8f14e45f-ceea-467f-a8f4-6a6b8d6b9c10"
    assert turn.result.extras["TTFT"] == 12.5  # metric event kept, not mistaken for text
    turn = jc.chat("hi", model=spec("adaptive"))
    assert turn.result.choices[0].extras["model"] == "proj/model-a"


def test_patgateway_header_names_come_from_configuration(server, monkeypatch):
    monkeypatch.setenv("PATGATEWAY_USER_ID", "u-17")
    monkeypatch.setenv("PATGATEWAY_PROJECT_ID", "p-3")
    jc.chat("hi", model="patgateway", temperature=0)
    seen = server.requests[0]
    assert seen.headers["x-pat"] == DIALECTS["patgateway"][3]
    assert "authorization" not in seen.headers
    assert (seen.headers["x-user-id"], seen.headers["x-project-id"]) == ("u-17", "p-3")
    assert seen.body["temperature"] == 0.001  # clamped: the gateway refuses 0


# -- wire quirks --------------------------------------------------------------------------------
def test_single_byte_writes_with_split_utf8(server):
    server.script(Reply(events=sse(chunk("Grüße 日本 🎉"), chunk(finish="stop")), split=1))
    assert jc.chat("hi", model="local", stream=True).text == "Grüße 日本 🎉"


def test_crlf_framing_comments_and_multiline_data(server):
    events = [
        ": ping\r\n\r\n",
        'data: {"choices":[{"index":0,\r\ndata: "delta":{"content":"a"}}]}\r\n\r\n',
    ] + sse(chunk("b"), chunk(finish="stop"), nl="\r\n")
    server.script(Reply(events=events))
    assert jc.chat("hi", model="local", stream=True).text == "ab"


def test_error_event_mid_stream_fails_with_the_partial_answer(server):
    server.script(
        Reply(
            events=sse(
                chunk("Hello "),
                'event: error\ndata: {"error": {"message": "upstream overloaded"}}\n\n',
                done=False,
            )
        )
    )
    with pytest.raises(jc.ProviderError, match="upstream overloaded") as e:
        jc.chat("hi", model="local", stream=True)
    assert e.value.partial.answer == "Hello " and not e.value.partial.complete
    assert len(server.requests) == 1  # tokens had arrived: no silent retry


def test_stream_without_done_or_finish_reason_is_incomplete(server):
    server.script(Reply(events=sse(chunk("Hel"), chunk("lo"), done=False)))
    with pytest.raises(jc.StreamCutError) as e:
        jc.chat("hi", model="local", stream=True)
    assert e.value.partial.answer == "Hello" and e.value.partial.complete is False


def test_finish_reason_without_done_is_complete(server):
    server.script(Reply(events=sse(chunk("ok"), chunk(finish="length"), done=False)))
    turn = jc.chat("hi", model="local", stream=True)
    assert turn.complete and turn.finish_reason == "length"


def test_connection_reset_mid_stream_keeps_the_partial_and_does_not_retry(server):
    events = sse(chunk("Hello "), chunk("world"), chunk(finish="stop"))
    cut = len(events[0].encode()) + 5
    server.script(Reply(events=events, reset_after=cut))
    with pytest.raises(jc.StreamCutError) as e:
        jc.chat("hi", model="local", stream=True)
    assert e.value.partial.answer == "Hello "
    assert len(server.requests) == 1


def test_connection_reset_before_any_data_is_retried(server):
    server.script(Reply(events=sse(chunk("x")), reset_after=0))
    assert jc.chat("hi", model="local", stream=True).text == "Hello from local."
    assert len(server.requests) == 2


def test_warm_requests_reuse_one_connection(server):
    from jupyter_chat.client.runtime import RUNTIME

    RUNTIME.run(RUNTIME.http().aclose())  # start from a cold pool
    for stream in (True, False, True):
        assert jc.chat("hi", model="local", stream=stream).text == "Hello from local."
    assert server.connections == 1  # the body is read past [DONE], so the pool keeps it


def test_server_that_ignores_stream_true_still_works(server):
    server.script(
        Reply(
            body={
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"content": "plain json"}}
                ]
            }
        )
    )
    assert jc.chat("hi", model="local", stream=True).text == "plain json"


# -- error bodies (providers.md 5.7) ------------------------------------------------------------
ERRORS = [
    (
        400,
        {"error": {"message": "max_tokens too big", "type": "invalid_request_error"}},
        jc.InvalidRequestError,
        "max_tokens too big",
    ),
    (
        401,
        {"error": {"message": "Invalid API key", "type": "auth"}},
        jc.AuthenticationError,
        "Invalid API key",
    ),
    (
        403,
        {"error": {"type": "permission_error", "message": "no access to model"}},
        jc.AuthenticationError,
        "no access to model",
    ),
    (402, {"error": "Insufficient credits"}, jc.RateLimitError, "Insufficient credits"),
    (404, {"details": "Not Found"}, jc.NotFoundError, "Not Found"),
    (404, {"error": "EntityNotFound: project proj"}, jc.NotFoundError, "EntityNotFound"),
    (
        422,
        {"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]},
        jc.InvalidRequestError,
        "model: field required",
    ),
    (
        451,
        {"detail": {"error": "region", "message": "model not cleared for the EU"}},
        jc.InvalidRequestError,
        "model not cleared for the EU",
    ),
    (
        400,
        {"error": {"type": "validation_error", "message": {"model": ["bad"]}}},
        jc.InvalidRequestError,
        '"model"',
    ),
    (400, b"plain text problem", jc.InvalidRequestError, "plain text problem"),
]


@pytest.mark.parametrize(
    "status,body,cls,text", ERRORS, ids=[f"{s}-{i}" for i, (s, *_r) in enumerate(ERRORS)]
)
def test_error_bodies_become_typed_errors_with_the_providers_message(
    server, status, body, cls, text
):
    server.script(Reply(status=status, body=body))
    with pytest.raises(cls) as e:
        jc.chat("hi", model=spec("edenai"))
    msg = str(e.value)
    assert text in msg and f"HTTP {status}" in msg and msg.startswith("edenai: ")
    assert len(server.requests) == 1  # none of these is retried


def test_auth_error_hint_names_the_variable_and_never_suggests_env_magic(server):
    server.script(Reply(status=401, body={"error": "bad key"}))
    with pytest.raises(jc.AuthenticationError) as e:
        jc.chat("hi", model="eigencloud")
    assert "EIGENCLOUD_API_KEY" in str(e.value) and "%chat key eigencloud" in str(e.value)
    assert "%env" not in str(e.value)


def test_500_html_page_is_retried_then_reported(server):
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.script(*[Reply(status=502, body=page, content_type="text/html")] * 3)
    with pytest.raises(jc.ProviderError, match="502 Bad Gateway") as e:
        jc.chat("hi", model="local")
    assert "<h1>" not in str(e.value)
    assert len(server.requests) == 3  # first try + 2 retries


def test_5xx_burst_then_success(server):
    server.script(Reply(status=503, body={"error": "busy"}), Reply(status=500, body={}))
    assert jc.chat("hi", model="local", stream=True).text == "Hello from local."
    assert len(server.requests) == 3


def test_x_should_retry_false_is_obeyed(server):
    server.script(Reply(status=500, body={"error": "no"}, headers={"x-should-retry": "false"}))
    with pytest.raises(jc.ProviderError):
        jc.chat("hi", model="local")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "header,value,wait", [("retry-after-ms", "300", 0.3), ("Retry-After", "1", 1.0)]
)
def test_429_waits_as_told_then_succeeds(server, header, value, wait):
    server.script(
        Reply(status=429, body={"error": {"message": "slow down"}}, headers={header: value})
    )
    seen_at = []
    orig = server._respond

    async def stamp(*a):
        seen_at.append(time.monotonic())
        return await orig(*a)

    server._respond = stamp
    try:
        assert jc.chat("hi", model="local").text == "Hello from local."
    finally:
        del server._respond
    assert len(seen_at) == 2
    assert seen_at[1] - seen_at[0] >= wait * 0.95  # waited at least what the server asked


def test_429_gives_up_after_the_bound(server):
    server.script(
        *[
            Reply(
                status=429,
                body={"error": {"message": "rate limited"}},
                headers={"retry-after-ms": "10"},
            )
        ]
        * 5
    )
    with pytest.raises(jc.RateLimitError, match="rate limited") as e:
        jc.chat("hi", model="local")
    assert len(server.requests) == 3 and e.value.retry_after == 0.01


def test_quota_exhausted_is_not_retried(server):
    server.script(
        Reply(
            status=429,
            body={"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}},
        )
    )
    with pytest.raises(jc.RateLimitError, match="billing"):
        jc.chat("hi", model="local")
    assert len(server.requests) == 1


def test_connection_refused_is_a_clear_connection_error(monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    monkeypatch.setenv("LOCAL_BASE_URL", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(jc.ChatConnectionError, match="cannot reach 127.0.0.1") as e:
        jc.chat("hi", model="local")
    assert "server is running" in str(e.value)


def test_read_timeout_when_the_server_stalls(server):
    jc.configure(read_timeout=0.3)
    server.script(Reply(events=sse(chunk("late")), stall=3))
    with pytest.raises(jc.ChatTimeoutError, match="waiting for data"):
        jc.chat("hi", model="local", stream=True)
    assert len(server.requests) == 1  # a stalled server is not hammered again


def test_total_timeout_keeps_what_arrived(server):
    jc.configure(total_timeout=0.5)
    server.script(Reply(events=sse(*(chunk(f"{i} ") for i in range(100))), split=400, delay=0.05))
    with pytest.raises(jc.ChatTimeoutError, match="total timeout") as e:
        jc.chat("hi", model="local", stream=True)
    assert e.value.partial.answer.startswith("0 1 ")


def test_redirects_are_not_followed_so_the_key_stays_home(server):
    server.script(
        Reply(status=307, headers={"Location": "http://198.51.100.7/v1/chat/completions"})
    )
    with pytest.raises(jc.ConfigError, match="redirected to 198.51.100.7"):
        jc.chat("hi", model="openai:gpt-test")
    assert len(server.requests) == 1


def test_interrupt_cancels_the_request_and_closes_the_stream(server):
    server.script(
        Reply(events=sse(chunk("first "), *(chunk("x") for _ in range(50))), split=200, delay=0.2)
    )
    req = build_request("local", None, [{"role": "user", "content": "hi"}], stream=True)
    call = Call(req)
    got = []
    # a real SIGINT, as the kernel's interrupt sends: it also wakes a blocked queue wait. A
    # process started in the background may ignore SIGINT: handle it as an interactive one does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for out in call:
                got += out
    finally:
        signal.signal(signal.SIGINT, previous)
    assert call._done.is_set() and call._fut.cancelled()
    assert call.partial().answer.startswith("first")
    assert not call.partial().complete
    assert wait_until(lambda: server.aborted == 1)  # the server saw the connection close


def test_models_listing(server):
    assert [m["id"] for m in jc.models("openai")] == ["openai-model-a", "openai-model-b"]
    assert server.requests[0].headers["authorization"] == "Bearer " + DIALECTS["openai"][3]
    with pytest.raises(jc.ConfigError, match="no model listing"):
        jc.models("adaptive")


# -- keys ---------------------------------------------------------------------------------------
def test_a_key_echoed_back_by_the_provider_is_scrubbed_from_the_error(server):
    key = DIALECTS["openai"][3]
    server.script(Reply(status=401, body={"error": {"message": f"Incorrect API key: {key}"}}))
    with pytest.raises(jc.AuthenticationError) as e:
        jc.chat("hi", model="openai:gpt-test")
    assert key not in str(e.value) and key not in repr(e.value) and "***" in str(e.value)


def test_no_key_in_any_exception_text_across_providers(server):
    texts = []
    for dialect in DIALECTS:
        server.script(
            Reply(status=500, body={"error": "boom"}),
            Reply(status=500, body={}),
            Reply(status=500, body={}),
        )
        try:
            jc.chat("hi", model=spec(dialect))
        except jc.ChatError as exc:
            texts += [str(exc), repr(exc), exc.hint, exc.message]
    assert len(texts) == 4 * len(DIALECTS)
    assert not [k for k in all_keys() for t in texts if k in t]


def test_request_repr_and_public_view_hide_the_key(server):
    req = build_request("edenai", "openai/gpt-4o", [{"role": "user", "content": "x"}])
    key = DIALECTS["edenai"][3]
    seen = json.dumps(vars(req), default=repr)  # every field of the request object
    assert key not in seen and key not in repr(req) and key not in json.dumps(req.public())
    assert req.public()["headers"]["Authorization"] == "***"
    jc.chat("x", model="edenai:openai/gpt-4o")  # ...and still it is sent, by the auth hook
    assert server.requests[-1].headers["authorization"] == f"Bearer {key}"


def test_missing_key_says_where_to_set_it_and_sends_nothing(server, monkeypatch):
    monkeypatch.delenv(env_name("edenai") + "_API_KEY")
    with pytest.raises(jc.AuthenticationError, match="EDENAI_API_KEY"):
        jc.chat("hi", model=spec("edenai"))
    assert server.requests == []


def test_retry_after_as_an_http_date_and_out_of_range_values():
    import email.utils

    import httpx

    from jupyter_chat.client.status import _retry_after

    soon = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3 < _retry_after(httpx.Headers({"retry-after": soon})) <= 5
    assert _retry_after(httpx.Headers({"retry-after": "120"})) is None  # too long: back off
    assert _retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert _retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25

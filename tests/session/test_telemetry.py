"""OpenTelemetry GenAI spans over loopback, checked with the SDK's in-memory exporter: a turn's
span and its attributes from the run record, a batch's and a comparison's parent span, a
replayed turn marked and not counted as a call, a failed call, content only by the
convention's switch; without an SDK (or without the extra) nothing is imported or done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dialect_server import Reply, chunk, sse, wait_until

import jupyter_chat as jc
from jupyter_chat.providers.config import CONFIG
from jupyter_chat.session import semconv, telemetry

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.util._once import Once  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REASONING_USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "total_tokens": 18,
    "completion_tokens_details": {"reasoning_tokens": 4},
    "prompt_tokens_details": {"cached_tokens": 2},
}


def reset_tracer_provider(monkeypatch) -> None:
    """The global provider can be set once per process: undone after each test (as
    OpenTelemetry's own tests do), so no other test traces."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())


@pytest.fixture
def spans(monkeypatch):
    """An SDK with the in-memory exporter as this process's tracer provider."""
    monkeypatch.delenv(semconv.CAPTURE_ENV, raising=False)
    reset_tracer_provider(monkeypatch)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    reset_tracer_provider(monkeypatch)


def chats(exporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat")]


def one_chat(exporter):
    found = chats(exporter)
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def test_a_turn_is_a_chat_span_filled_from_its_run_record(server, spans):
    server.script(
        Reply(events=sse(chunk("Hel"), chunk("lo."), chunk(finish="stop", usage=REASONING_USAGE)))
    )
    turn = jc.chat(
        "hi", model="openai:gpt-test", seed=7, temperature=0, top_p=0.5, max_tokens=50,
        stop=["END"], thread="review", stream=True,
    )  # fmt: skip
    span = one_chat(spans)
    a, r = dict(span.attributes), turn.record
    assert span.name == "chat gpt-test" and span.kind == trace.SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == r["provider"]
    assert a["gen_ai.request.model"] == r["model"] == "gpt-test"
    assert (a["gen_ai.request.temperature"], a["gen_ai.request.top_p"]) == (0.0, 0.5)
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.seed"]) == (50, 7)
    assert a["gen_ai.request.stop_sequences"] == ("END",)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.id"] == r["response_id"] == "chatcmpl-test"
    assert a["gen_ai.response.model"] == r["served_model"]
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 7
    assert a["gen_ai.usage.reasoning.output_tokens"] == 4
    assert a["gen_ai.usage.cache_read.input_tokens"] == 2
    assert (a["server.address"], a["server.port"]) == ("127.0.0.1", server.port)
    assert a["gen_ai.conversation.id"] == "review"
    assert 0 < a["gen_ai.response.time_to_first_chunk"] * 1000 <= r["latency_ms"] + 1
    assert a["jupyter_chat.replayed"] is False
    assert a["jupyter_chat.request_hash"] == r["request_hash"]
    assert span.end_time > span.start_time and span.status.is_ok
    assert span.parent is None


def test_no_content_is_captured_by_default(server, spans):
    jc.chat("a secret prompt", model="local", system="a secret system prompt")
    blob = json.dumps(dict(one_chat(spans).attributes))
    assert "secret" not in blob and "Hello from local" not in blob
    assert not [k for k in one_chat(spans).attributes if "messages" in k]


@pytest.mark.parametrize("switch", ["true", "SPAN_ONLY", "span_and_event"])
def test_content_is_captured_when_the_conventions_switch_is_on(server, spans, monkeypatch, switch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", switch)
    jc.chat("the prompt", model="local", system="the system prompt")
    a = one_chat(spans).attributes
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "the system prompt"}]},
        {"role": "user", "parts": [{"type": "text", "content": "the prompt"}]},
    ]
    assert json.loads(a["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello from local."}],
            "finish_reason": "stop",
        }
    ]


@pytest.mark.parametrize("switch", ["false", "NO_CONTENT", "EVENT_ONLY", ""])
def test_content_stays_out_with_the_switch_off(server, spans, monkeypatch, switch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", switch)
    jc.chat("the prompt", model="local")
    assert "gen_ai.input.messages" not in one_chat(spans).attributes


def test_a_batch_is_the_parent_span_of_its_turns(server, spans):
    batch = jc.map(["a", "b", "c"], model="local", concurrency=2, progress=False)
    assert len(batch) == 3
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.map")
    children = chats(spans)
    assert len(children) == 3
    assert {c.parent.span_id for c in children} == {parent.context.span_id}
    assert {c.context.trace_id for c in children} == {parent.context.trace_id}
    p = parent.attributes
    assert p["jupyter_chat.items"] == 3 and p["jupyter_chat.concurrency"] == 2
    assert (p["jupyter_chat.calls"], p["jupyter_chat.replayed"], p["jupyter_chat.failed"]) == (
        3,
        0,
        0,
    )
    assert parent.start_time <= min(c.start_time for c in children)
    assert parent.end_time >= max(c.end_time for c in children)


def test_imap_is_a_parent_span_ended_with_the_iteration(server, spans):
    with jc.imap(["a", "b"], model="local", concurrency=2) as results:
        assert len(list(results)) == 2
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.imap")
    assert {c.parent.span_id for c in chats(spans)} == {parent.context.span_id}
    assert parent.attributes["jupyter_chat.calls"] == 2


def test_a_comparison_is_the_parent_span_of_its_columns(server, spans):
    jc.compare("hi", models=["local", "openai:gpt-test"]).wait()
    assert wait_until(
        lambda: any(s.name == "jupyter_chat.compare" for s in spans.get_finished_spans())
    )
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.compare")
    assert sorted(c.name for c in chats(spans)) == ["chat default", "chat gpt-test"]
    assert {c.parent.span_id for c in chats(spans)} == {parent.context.span_id}
    assert parent.attributes["jupyter_chat.columns"] == 2


def test_a_replayed_turn_says_so_and_is_not_counted_as_a_call(server, spans, tmp_path):
    store = tmp_path / "t.chat.jsonl"
    server.script(Reply(events=sse(chunk("Hi."), chunk(finish="stop", usage=REASONING_USAGE))))
    jc.set_replay("record", store)
    jc.chat("hi", model="openai:gpt-test", stream=True)
    jc.set_replay("replay", store)
    spans.clear()
    sent = len(server.requests)
    turn = jc.chat("hi", model="openai:gpt-test", stream=True)
    assert turn.record["replayed"] is True and len(server.requests) == sent
    span = one_chat(spans)
    a = span.attributes
    assert span.name == "chat gpt-test" and span.kind == trace.SpanKind.INTERNAL
    assert a["jupyter_chat.replayed"] is True
    assert a["gen_ai.response.id"] == "chatcmpl-test"  # what was answered, as recorded
    assert not [k for k in a if k.startswith(("gen_ai.usage.", "server."))]
    assert "gen_ai.response.time_to_first_chunk" not in a  # not measured in this run
    # in a batch: counted as replayed, not as a call
    spans.clear()
    jc.map(["hi"], model="openai:gpt-test", stream=True, progress=False)
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.map")
    assert (
        parent.attributes["jupyter_chat.calls"],
        parent.attributes["jupyter_chat.replayed"],
    ) == (
        0,
        1,
    )


def test_a_failed_call_is_a_span_with_its_error_type(server, spans):
    CONFIG.configure(max_retries=0)
    server.script(Reply(status=500, body={"error": {"message": "boom"}}))
    with pytest.raises(jc.ProviderError):
        jc.chat("hi", model="local")
    span = one_chat(spans)
    assert span.attributes["error.type"] == "500"
    assert span.status.status_code == trace.StatusCode.ERROR
    server.script(Reply(status=503, body={"error": {"message": "down"}}))
    spans.clear()
    batch = jc.map(["x"], model="local", return_exceptions=True, progress=False)
    assert isinstance(batch[0], jc.ChatError)
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.map")
    assert one_chat(spans).attributes["error.type"] == "503"
    assert parent.attributes["jupyter_chat.failed"] == 1


def test_a_users_own_span_is_the_parent_of_the_turns_inside_it(server, spans):
    with trace.get_tracer("experiment").start_as_current_span("experiment 3") as mine:
        jc.chat("hi", model="local")
        jc.map(["a"], model="local", progress=False)
    spans_by_name = {s.name: s for s in spans.get_finished_spans()}
    assert spans_by_name["jupyter_chat.map"].parent.span_id == mine.get_span_context().span_id
    direct = [c for c in chats(spans) if c.parent.span_id == mine.get_span_context().span_id]
    assert len(direct) == 1


def test_a_group_is_one_function_for_any_set_of_turns(server, spans):
    """What a sample set or an experiment calls: ``Group(kind, ...)``."""
    with telemetry.Group("samples", samples=2):
        jc.chat("a", model="local")
        jc.chat("b", model="local")
    parent = next(s for s in spans.get_finished_spans() if s.name == "jupyter_chat.samples")
    assert parent.attributes["jupyter_chat.samples"] == 2
    assert parent.attributes["jupyter_chat.calls"] == 2
    assert {c.parent.span_id for c in chats(spans)} == {parent.context.span_id}


def test_without_an_sdk_a_turn_does_nothing(server):
    assert telemetry.api() is None  # the API alone (a proxy provider): nothing would record
    group = telemetry.Group("map")
    with group.current():
        jc.chat("hi", model="local")
    assert group.counts == {"calls": 0, "replayed": 0, "failed": 0}


RUN_A_TURN = """
import json, sys
{block}
import jupyter_chat as jc
turn = jc.chat("hi", model="local")
g = __import__("jupyter_chat.session.telemetry", fromlist=["Group"]).Group("map")
with g.current():
    jc.chat("again", model="local")
g.end()
loaded = [m for m, v in sys.modules.items() if m.startswith("opentelemetry") and v is not None]
print(json.dumps([turn.text, loaded]))
"""


@pytest.mark.parametrize(
    "block",
    [
        "sys.modules['opentelemetry'] = None  # the otel extra is not installed",
        "",  # installed, and nothing in the process traces
    ],
)
def test_nothing_is_imported_unless_the_process_traces(server, block):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JUPYTER_CHAT_"))}
    env.update(LOCAL_BASE_URL=server.base_url("local"), JUPYTER_CHAT_CONFIG=os.devnull)
    code = textwrap.dedent(RUN_A_TURN).replace("{block}", block)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    text, imported = json.loads(out.stdout.splitlines()[-1])
    assert text == "Hello from local." and imported == []


def test_a_failing_exporter_never_breaks_a_turn(server, spans, monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("exporter down")

    monkeypatch.setattr(telemetry.semconv, "response_attributes", broken)
    monkeypatch.setattr(telemetry, "_WARNED", [])
    with pytest.warns(UserWarning, match="a span was not recorded"):
        turn = jc.chat("hi", model="local")
    assert turn.text == "Hello from local."


def test_semconv_names_for_what_the_record_does_not_have():
    attrs = semconv.request_attributes(
        "local", None, {"n": 3, "response_format": {"type": "json_schema"}, "seed": True},
        None, "https://example.org/v1/chat/completions", live=True,
    )  # fmt: skip
    assert attrs["gen_ai.request.choice.count"] == 3
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["server.port"] == 443 and "gen_ai.request.model" not in attrs
    assert "gen_ai.request.seed" not in attrs and "gen_ai.conversation.id" not in attrs
    assert semconv.span_name(None) == "chat"

"""A run record as OpenTelemetry GenAI attributes (the semantic conventions' names; pure, no
OpenTelemetry import): what a turn's span carries, and, when the user opts in with
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, the messages sent and received."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any
from urllib.parse import urlsplit

# the record's parameters and the names the conventions give them
REQUEST_PARAMS = {
    "temperature": ("gen_ai.request.temperature", float),
    "top_p": ("gen_ai.request.top_p", float),
    "top_k": ("gen_ai.request.top_k", int),
    "max_tokens": ("gen_ai.request.max_tokens", int),
    "max_completion_tokens": ("gen_ai.request.max_tokens", int),
    "frequency_penalty": ("gen_ai.request.frequency_penalty", float),
    "presence_penalty": ("gen_ai.request.presence_penalty", float),
    "seed": ("gen_ai.request.seed", int),
}
# usage as the provider reports it (OpenAI's names) -> the conventions' token counts
USAGE = (
    (("prompt_tokens",), "gen_ai.usage.input_tokens"),
    (("completion_tokens",), "gen_ai.usage.output_tokens"),
    (("completion_tokens_details", "reasoning_tokens"), "gen_ai.usage.reasoning.output_tokens"),
    (("prompt_tokens_details", "cached_tokens"), "gen_ai.usage.cache_read.input_tokens"),
)
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CAPTURE_ON = {"true", "span_only", "span_and_event"}  # old and current spellings


def span_name(model: Any) -> str:
    """``{gen_ai.operation.name} {gen_ai.request.model}``."""
    return f"chat {model}" if model else "chat"


def request_attributes(
    provider: str, model: Any, params: dict[str, Any], thread: Any, url: str, *, live: bool
) -> dict[str, Any]:
    """What the conventions ask for at a span's start (sampling may read them) and what was
    asked: the operation, the provider, the model and every sampling parameter with the seed,
    the thread as the conversation. A replayed turn reached no server: no ``server.*``."""
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
    }
    if model:
        attrs["gen_ai.request.model"] = str(model)
    if live:
        parts = urlsplit(url)
        if parts.hostname:
            attrs["server.address"] = parts.hostname
            attrs["server.port"] = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    for name, (key, kind) in REQUEST_PARAMS.items():
        value = params.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[key] = kind(value)
    stop = params.get("stop")
    if isinstance(stop, str):
        attrs["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attrs["gen_ai.request.stop_sequences"] = stop
    n = params.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n != 1:
        attrs["gen_ai.request.choice.count"] = n
    fmt = params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        attrs["gen_ai.output.type"] = "json"
    if thread:
        attrs["gen_ai.conversation.id"] = str(thread)
    return attrs


def response_attributes(record: dict[str, Any], ttft_ms: Any, stream: bool) -> dict[str, Any]:
    """What came back: the response's id, model and finish reasons, token usage (a live call
    only: a replayed turn cost nothing), time to the first chunk, and jupyter-chat's own."""
    replayed = bool(record.get("replayed"))
    attrs: dict[str, Any] = {"jupyter_chat.replayed": replayed}
    if stream:
        attrs["gen_ai.request.stream"] = True
    if record.get("response_id") is not None:
        attrs["gen_ai.response.id"] = str(record["response_id"])
    if record.get("served_model"):
        attrs["gen_ai.response.model"] = str(record["served_model"])
    reasons = [record.get("finish_reason")]
    reasons += [c.get("finish_reason") for c in record.get("choices") or []]
    if any(reasons):
        attrs["gen_ai.response.finish_reasons"] = [str(r or "") for r in reasons]
    usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
    for path, key in USAGE:
        value: Any = usage
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and not replayed:
            attrs[key] = value
    if stream and not replayed and isinstance(ttft_ms, (int, float)):
        attrs["gen_ai.response.time_to_first_chunk"] = ttft_ms / 1000
    attrs["jupyter_chat.request_hash"] = record.get("request_hash") or ""
    cost = record.get("cost")
    if isinstance(cost, dict) and isinstance(cost.get("usd"), (int, float)) and not replayed:
        attrs["jupyter_chat.cost.usd"] = float(cost["usd"])
    for name in ("system_fingerprint", "signature"):
        if isinstance(record.get(name), str):
            attrs[f"jupyter_chat.{name}"] = record[name]
    return attrs


def capture_content() -> bool:
    """The convention's own switch: ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    set to ``true`` (or ``SPAN_ONLY`` / ``SPAN_AND_EVENT``); off unless set."""
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in _CAPTURE_ON


def content_attributes(messages: list[dict[str, Any]], result: Any) -> dict[str, str]:
    """``gen_ai.input.messages`` and ``gen_ai.output.messages`` in the conventions' parts
    format, as JSON strings (span attributes take no structures)."""
    inputs = [{"role": m.get("role", "user"), "parts": input_parts(m)} for m in messages]
    outputs = []
    for c in result.choices:
        parts: list[dict[str, Any]] = []
        if c.reasoning:
            parts.append({"type": "reasoning", "content": c.reasoning})
        if c.answer or not c.tool_calls:
            parts.append({"type": "text", "content": c.answer})
        parts += [tool_call_part(call) for call in c.tool_calls]
        reason = c.finish_reason or ("stop" if result.complete else "error")
        outputs.append({"role": "assistant", "parts": parts, "finish_reason": reason})
    return {
        "gen_ai.input.messages": json.dumps(inputs, ensure_ascii=False),
        "gen_ai.output.messages": json.dumps(outputs, ensure_ascii=False),
    }


def input_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if message.get("role") == "tool":
        return [
            {"type": "tool_call_response", "id": message.get("tool_call_id"), "response": content}
        ]
    parts: list[dict[str, Any]] = []
    if isinstance(content, str):
        parts.append({"type": "text", "content": content})
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text":
            parts.append({"type": "text", "content": item.get("text", "")})
        elif item.get("type") == "image_url":
            url = (item.get("image_url") or {}).get("url", "")
            parts.append({"type": "uri", "modality": "image", "uri": url})
    parts += [tool_call_part(call) for call in message.get("tool_calls") or []]
    return parts


def tool_call_part(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    arguments: Any = fn.get("arguments")
    with contextlib.suppress(ValueError):  # else kept as the model wrote it
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
    return {
        "type": "tool_call",
        "id": call.get("id"),
        "name": fn.get("name"),
        "arguments": arguments,
    }

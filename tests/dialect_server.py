"""A loopback HTTP/1.1 server that speaks each provider's dialect (tests' own code).

It runs on 127.0.0.1 on a free port in a thread, answers ``POST /{dialect}/.../chat/completions``
the way that provider does (auth header checked, its quirks on the wire), and can be scripted
byte by byte: split writes, CRLF framing, comments, error events, resets, stalls, statuses.
Every request it receives is kept in ``requests`` (headers included) for assertions.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# dialect -> (path after the dialect prefix, auth header, value prefix, key)
DIALECTS: dict[str, tuple[str, str, str, str]] = {
    "eigenai": ("/api/v1/chat/completions", "authorization", "Bearer ", "sk-test-eigenai-1a2b3c"),
    "eigencloud": ("/v1/chat/completions", "x-api-key", "", "sk-test-eigencloud-4d5e6f"),
    "eigencloud-sepolia": ("/v1/chat/completions", "x-api-key", "", "sk-test-sepolia-7a8b9c"),
    "edenai": ("/v3/chat/completions", "authorization", "Bearer ", "sk-test-edenai-0d1e2f"),
    "patgateway": ("/api/v1/chat/completions", "x-pat", "", "pat-test-gateway-3a4b5c"),
    "adaptive": ("/api/v1/chat/completions", "authorization", "Bearer ", "sk-test-adaptive-6d7e8f"),
    "openai": ("/v1/chat/completions", "authorization", "Bearer ", "sk-test-openai-9a0b1c"),
    "local": ("/v1/chat/completions", "", "", ""),
}
BASE_SUFFIX = {d: p.rsplit("/chat/completions", 1)[0] for d, (p, *_rest) in DIALECTS.items()}


@dataclass
class Reply:
    """One scripted response. ``events`` are raw SSE text pieces written as they are."""

    status: int = 200
    body: Any = None  # JSON-able object, or bytes written as they are
    events: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    split: int | None = None  # write the payload in pieces of this many bytes
    delay: float = 0.0  # seconds between pieces
    reset_after: int | None = None  # abort the connection after this many payload bytes
    stall: float = 0.0  # seconds to wait before the first payload byte
    stall_headers: float = 0.0  # seconds to wait before even the status line
    drop: bool = False  # close the connection without sending any response
    content_type: str | None = None


@dataclass
class Seen:
    dialect: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def chunk(
    content: str | None = None,
    *,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    finish: str | None = None,
    index: int = 0,
    tool_calls: list | None = None,
    role: str | None = None,
    usage: Any = None,
    openai: bool = True,
    **top: Any,
) -> dict:
    """An OpenAI ``chat.completion.chunk`` (``openai=False`` drops ``object``/``model``)."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta[reasoning_field] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    obj: dict[str, Any] = {"id": "chatcmpl-test", "created": 1700000000}
    if openai:
        obj.update(object="chat.completion.chunk", model="test-model")
    obj["choices"] = [{"index": index, "delta": delta, "finish_reason": finish}]
    obj["usage"] = usage
    obj.update(top)
    return obj


def sse(*objs: Any, done: bool = True, nl: str = "\n") -> list[str]:
    """SSE events for ``objs`` (dicts become JSON data; strings are sent as they are)."""
    out = [o if isinstance(o, str) else f"data: {json.dumps(o)}{nl}{nl}" for o in objs]
    if done:
        out.append(f"data: [DONE]{nl}{nl}")
    return out


USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
HARMONY = (
    "<|channel|>analysis<|message|>The user greets. Reply briefly.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Hello from eigencloud."
)


def default_reply(dialect: str, req: dict, headers: dict[str, str]) -> Reply:
    """What each provider sends for an ordinary request, quirks included."""
    stream = bool(req.get("stream"))
    model = req.get("model", "m")
    if dialect in ("eigencloud", "eigencloud-sepolia"):
        extra = {"system_fingerprint": "eigenai-llama@0.1.0+eigenai-llama"}
        if not stream:
            return Reply(
                body={
                    "id": "chatcmpl-eigenai-1",
                    "created": 1,
                    "model": model,
                    "object": "chat.completion",
                    **extra,
                    "usage": USAGE,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": HARMONY},
                        }
                    ],
                    "signature": "ab" * 65,
                }
            )
        pieces = [HARMONY[i : i + 7] for i in range(0, len(HARMONY), 7)]
        return Reply(
            events=sse(
                *(chunk(p, **extra) for p in pieces), chunk(finish="stop", usage=USAGE, **extra)
            )
        )
    if dialect == "edenai":
        meta = (
            {"edenai_metadata": {"strategy": "direct", "attempt": 1}}
            if headers.get("x-edenai-metadata") == "enabled"
            else {}
        )
        if not stream:
            return Reply(
                body={
                    "id": "e1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": model,
                    "usage": USAGE,
                    **meta,
                    "cost": 0.0001,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {
                                "role": "assistant",
                                "content": "Hello from edenai.",
                                "reasoning_content": "Thinking.",
                            },
                        }
                    ],
                }
            )
        return Reply(
            events=sse(
                chunk(role="assistant", reasoning="Think", **meta),
                chunk(reasoning="ing."),
                chunk("Hello from "),
                chunk("edenai."),
                chunk(finish="stop", usage=USAGE),
            )
        )
    if dialect == "adaptive":
        sid = "5b0d6b7e-3c1e-4c1a-9f0e-2f9f7f0c1a11"
        cid = "8f14e45f-ceea-467f-a8f4-6a6b8d6b9c10"
        if not stream:
            return Reply(
                body={
                    "id": "a1",
                    "created": 1,
                    "session_id": sid,
                    "usage": USAGE,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "completion_id": cid,
                            "model": "proj/model-a",
                            "message": {
                                "id": "m1",
                                "role": "assistant",
                                "content": "Hello from adaptive.",
                            },
                        }
                    ],
                }
            )

        def c(**kw: Any) -> dict:
            obj = chunk(openai=False, session_id=sid, **kw)
            obj["choices"][0]["completion_id"] = cid
            return obj

        return Reply(
            events=sse(
                c(role="assistant", content="Hello "),
                {"TTFT": 12.5},
                c(content="from adaptive."),
                c(finish="stop"),
                {"id": "a1", "created": 1, "choices": [], "usage": USAGE, "session_id": sid},
                {"TotalRequestDuration": 40.1},
            )
        )
    text = f"Hello from {dialect}."
    schema = requested_schema(req)
    if schema is not None:  # what a server that constrains decoding returns: a valid instance
        text = json.dumps(instance_of(schema))
    if not stream:
        return Reply(
            body={
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "usage": USAGE,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
            }
        )
    words = text.split(" ")
    parts = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    return Reply(
        events=sse(
            chunk(role="assistant", content=""),
            *(chunk(p) for p in parts),
            chunk(finish="stop"),
            {"id": "c1", "choices": [], "usage": USAGE},
        )
    )


def requested_schema(req: dict) -> dict | None:
    """The JSON schema of ``response_format`` (OpenAI's json_schema, llama.cpp's json_object)."""
    fmt = req.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    return fmt.get("schema") if fmt.get("type") == "json_object" else None


def instance_of(schema: dict, defs: dict | None = None) -> Any:
    """The simplest value a schema allows (first enum member, minimum, one array item)."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return instance_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("const", "enum"):
        if key in schema:
            return schema[key] if key == "const" else schema[key][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return instance_of(schema[key][0], defs)
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {k: instance_of(v, defs) for k, v in props.items()}
    if kind == "array":
        return [instance_of(schema.get("items", {}), defs)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return {"boolean": True, "null": None}.get(kind, "text")


def error_body(dialect: str, status: int, message: str) -> Any:
    if dialect == "adaptive":
        return {"error": message}
    if dialect == "edenai" and status == 422:
        return {"detail": [{"loc": ["body", "model"], "msg": message, "type": "value_error"}]}
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


class DialectServer:
    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.replies: list[Reply] = []
        self.active = self.max_active = 0  # responses being written now / at most
        self.epoch = 0  # how many resets: a response counts where it started
        self.aborted = 0  # connections the client closed mid-response
        self.connections = 0  # TCP connections accepted
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="dialect-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def base_url(self, dialect: str) -> str:
        return f"{self.url}/{dialect}{BASE_SUFFIX[dialect]}"

    def script(self, *replies: Any) -> None:
        """Queue replies (a ``Reply``, or a function of the request body returning one)."""
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.replies.clear()
            self.active = self.max_active = self.aborted = self.connections = 0
            self.epoch += 1  # responses still going are not counted from now on

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), self._loop)
        self._thread.join(5)

    # -- the server --------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", 0)))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                keep = await self._respond(method, target, headers, body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def _respond(
        self, method: str, target: str, headers: dict, body: Any, writer: asyncio.StreamWriter
    ) -> bool:
        dialect = target.strip("/").split("/", 1)[0]
        with self._lock:
            self.requests.append(Seen(dialect, method, target, headers, body))
            scripted = self.replies.pop(0) if self.replies else None
        spec = DIALECTS.get(dialect)
        if spec is None:
            return await self._send(writer, Reply(status=404, body={"detail": "Not Found"}))
        path, auth, prefix, key = spec
        if target.endswith("/models") and method == "GET":
            reply = scripted or Reply(
                body={
                    "object": "list",
                    "data": [
                        {"id": f"{dialect}-model-a", "object": "model"},
                        {"id": f"{dialect}-model-b"},
                    ],
                }
            )
        elif target != f"/{dialect}{path}" or method != "POST":
            reply = Reply(status=404, body=error_body(dialect, 404, f"no route {target}"))
        elif auth and headers.get(auth) != prefix + key:
            reply = Reply(status=401, body=error_body(dialect, 401, "Invalid API key"))
        else:
            if callable(scripted):  # a reply made from the request (e.g. echoing the prompt)
                scripted = scripted(body or {})
            reply = scripted or default_reply(dialect, body or {}, headers)
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            epoch = self.epoch
        counted = [True]

        def ending() -> None:
            """Before the response's last bytes: the client may have it all from then on (and
            send its next request before this handler runs again). A response still going at
            a ``reset`` was not counted in the new counts."""
            if counted[0]:
                counted[0] = False
                with self._lock:
                    if self.epoch == epoch:
                        self.active -= 1

        try:
            return await self._send(writer, reply, ending)
        except ConnectionError:
            with self._lock:
                self.aborted += 1
            raise
        finally:
            ending()

    async def _send(self, writer: asyncio.StreamWriter, r: Reply, ending: Any = None) -> bool:
        if r.stall_headers:
            await asyncio.sleep(r.stall_headers)
        if r.drop:
            writer.transport.abort()
            return False
        if r.events is not None:
            payload = "".join(r.events).encode()
            ctype = r.content_type or "text/event-stream; charset=utf-8"
        elif isinstance(r.body, (bytes, bytearray)):
            payload, ctype = bytes(r.body), r.content_type or "text/plain"
        else:
            payload = json.dumps(r.body).encode() if r.body is not None else b""
            ctype = r.content_type or "application/json"
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
        head = [
            f"HTTP/1.1 {r.status} {reason.get(r.status, 'Status')}",
            f"Content-Type: {ctype}",
            "Transfer-Encoding: chunked",
        ]
        head += [f"{k}: {v}" for k, v in r.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        if r.stall:
            await asyncio.sleep(r.stall)
        step = r.split or len(payload) or 1
        sent = 0
        for i in range(0, len(payload), step):
            piece = payload[i : i + step]
            if r.reset_after is not None and sent + len(piece) > r.reset_after:
                piece = piece[: r.reset_after - sent]
                if piece:
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.transport.abort()
                return False
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            sent += len(piece)
            if r.delay:
                await asyncio.sleep(r.delay)
        if ending is not None:
            ending()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def wait_until(pred: Any, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def completion(content: str, usage: dict | None = None, **extra: Any) -> Reply:
    """A non-streamed ``chat.completion`` whose answer is ``content``."""
    return Reply(
        body={
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "usage": usage or USAGE,
            **extra,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
        }
    )


def last_user_text(body: dict) -> str:
    """The text of the request's last user message."""
    for m in reversed(body.get("messages", [])):
        if m.get("role") == "user":
            c = m.get("content")
            return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c)
    return ""

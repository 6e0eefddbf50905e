"""A loopback OpenAI-style SSE server for the client benchmarks, run in its own process.

    python benchmarks/_sse_server.py CHUNKS    # prints the port it bound on 127.0.0.1, then serves

HTTP/1.1 with keep-alive; every response is ``text/event-stream`` with chunked transfer
encoding, one HTTP chunk per SSE event like a real streaming server (except ``coalesced``).
Routes:

* ``POST /bulk/v1/chat/completions``: CHUNKS content chunks + a finish chunk + ``[DONE]``, all
  precomputed and written at once, as fast as the socket takes them.
* ``POST /coalesced/v1/chat/completions``: the same events in a single HTTP chunk, what a
  client sees behind a buffering proxy: the HTTP layer then hands over ~64 KiB at a time
  instead of one event at a time, so per-chunk costs above the SSE parser stand out.
* ``POST /ttft/v1/chat/completions``: headers and the first content chunk in one write,
  then a ~50 ms pause, then three more content chunks, the finish chunk and ``[DONE]``.
* ``POST /slow/v1/chat/completions``: a non-streamed ``chat.completion`` JSON answer after
  ``SLOW`` (50 ms, or ``$SSE_SLOW_MS``) asleep; requests on different connections wait at the
  same time (for ``jupyter_chat.map``). The answer is ``ok`` plus the request's length.
* ``POST /fast/v1/chat/completions``: the same at once, with a ~200-character answer (a long
  thread of turns, for memory).
* ``POST /json/v1/chat/completions``: the same at once, the answer a small JSON object
  (``{"label": "positive", "stars": 4}``), for structured answers.
* ``POST /big/v1/chat/completions``: one streamed 10 MB answer (``BIG`` characters in pieces
  of ``BIG_PIECE``), built on first use.
* ``GET /stats``: ``{"connections", "requests", "max_active"}``: connections accepted, requests
  answered and the most requests in progress at once so far; ``GET /stats?reset=1`` also
  resets the last two.

The request body is read and ignored (except for its length). Anything else gets a 404.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

PAUSE = 0.05
SLOW = float(os.environ.get("SSE_SLOW_MS", "50")) / 1000  # seconds before each /slow answer
BIG, BIG_PIECE = 10_000_000, 1_000  # /big: characters in all, per SSE event
FAST_ANSWER = (
    "A short answer of about two hundred characters, the size of a typical reply in "
    "a chat about a notebook: it names a function, says what it does and suggests "
    "one change to try next."
)
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
LAST = b"0\r\n\r\n"
JSON_ANSWER = '{"label": "positive", "stars": 4}'


def chunk_obj(content: str | None, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {} if content is None else {"content": content},
                "finish_reason": finish,
            }
        ],
    }


def frame(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def events(n: int) -> list[bytes]:
    """n content events, the finish event and [DONE], as SSE text."""
    token = json.dumps(chunk_obj("tok "), separators=(",", ":"))
    finish = json.dumps(chunk_obj(None, "stop"), separators=(",", ":"))
    return [f"data: {d}\n\n".encode() for d in [token] * n + [finish, "[DONE]"]]


def completion(content: str) -> bytes:
    """A whole non-streamed response with Content-Length (keep-alive)."""
    body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        },
        separators=(",", ":"),
    ).encode()
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )


def big_body() -> bytes:
    """BIG characters of answer as SSE events of BIG_PIECE characters, one HTTP chunk each."""
    piece = ("0123456789abcdefghijklmnopqrstuvwxyz " * (BIG_PIECE // 37 + 1))[: BIG_PIECE - 1]
    event = f"data: {json.dumps(chunk_obj(piece + chr(10)), separators=(',', ':'))}\n\n"
    finish = json.dumps(chunk_obj(None, "stop"), separators=(",", ":"))
    evs = [event.encode()] * (BIG // BIG_PIECE) + [
        f"data: {finish}\n\n".encode(),
        b"data: [DONE]\n\n",
    ]
    return HEAD + b"".join(map(frame, evs)) + LAST


def bodies(n: int) -> dict[str, tuple[bytes, bytes]]:
    """route -> (bytes sent at once, bytes sent after the pause)."""
    evs = events(n)
    ttft = [frame(e) for e in events(4)]
    return {
        "/bulk/v1/chat/completions": (HEAD + b"".join(map(frame, evs)) + LAST, b""),
        "/coalesced/v1/chat/completions": (HEAD + frame(b"".join(evs)) + LAST, b""),
        "/ttft/v1/chat/completions": (HEAD + ttft[0], b"".join(ttft[1:]) + LAST),
    }


async def main(n: int) -> None:
    routes = bodies(n)
    accepted = requests = active = max_active = 0
    big: list[bytes] = []

    async def answer(path: str, length: int, writer: asyncio.StreamWriter) -> None:
        """The routes that take part in the stats: /slow, /fast, /json and /big."""
        nonlocal requests, active, max_active
        active += 1
        max_active = max(max_active, active)
        try:
            if path.startswith("/slow/"):
                await asyncio.sleep(SLOW)
                writer.write(completion(f"ok {length}"))
            elif path.startswith("/fast/"):
                writer.write(completion(FAST_ANSWER))
            elif path.startswith("/json/"):
                writer.write(completion(JSON_ANSWER))
            else:
                if not big:
                    big.append(big_body())
                writer.write(big[0])
            await writer.drain()
        finally:
            active -= 1
            requests += 1

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted, requests, max_active
        accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if path.startswith("/stats"):
                    stats = json.dumps(
                        {"connections": accepted, "requests": requests, "max_active": max_active}
                    ).encode()
                    if path.endswith("reset=1"):
                        requests = max_active = 0
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\n\r\n%s" % (len(stats), stats)
                    )
                    await writer.drain()
                    continue
                if path in (
                    "/slow/v1/chat/completions",
                    "/fast/v1/chat/completions",
                    "/json/v1/chat/completions",
                    "/big/v1/chat/completions",
                ):
                    await answer(path, length, writer)
                    continue
                if path not in routes:
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                first, rest = routes[path]
                writer.write(first)
                await writer.drain()
                if rest:
                    await asyncio.sleep(PAUSE)
                    writer.write(rest)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))

"""The one transport: a shared ``httpx.AsyncClient`` on a background event loop.

Magics run inside ipykernel's already-running loop, so they cannot ``await``; they submit
coroutines to this module's own loop thread and wait (``Call``), while widgets and ``achat``
submit and carry on. One client per kernel keeps connections warm, lets several requests run
at once and lets a kernel interrupt cancel a request cleanly (the stream is closed).

Retries, timeouts and error bodies follow providers.md 5.7.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._secrets import clip, redact, redact_deep
from ..errors import (
    ChatConnectionError,
    ChatError,
    ChatTimeoutError,
    ProviderError,
    StreamCutError,
    error_message,
)
from ..providers.config import CONFIG
from ..stream import Accumulator, EventReader, Result, no_surrogates
from .limits import LIMITS, estimate_tokens
from .status import status_error

OnDelta = Callable[[list], None]


@dataclass
class Meta:
    """What the transport measured about one request."""

    latency_ms: float = 0.0
    ttfb_ms: float | None = None  # headers received
    ttft_ms: float | None = None  # first delta reached the caller
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # rate-limit and request-id headers


_KEEP_HEADERS = ("x-request-id", "x-ratelimit-", "retry-after")


# -- the loop thread ---------------------------------------------------------------------------
class Runtime:
    """Owns the background loop thread and the shared ``httpx.AsyncClient``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.AsyncClient | None = None
        self._cooldown: dict[str, float] = {}  # host -> loop time before which nothing is sent

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="jupyter-chat-io", daemon=True)
                t.start()
                self._loop = loop
            return self._loop

    def http(self) -> httpx.AsyncClient:
        """The shared client; only ever touched on the loop thread."""
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(
                follow_redirects=False,  # a redirect must not carry a key to another host
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
        return self._http

    def submit(self, coro: Any) -> Any:
        """Schedule ``coro`` on the loop; returns a ``concurrent.futures.Future``."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the loop and wait; KeyboardInterrupt cancels it cleanly."""
        done = threading.Event()

        async def job() -> Any:
            try:
                return await coro
            finally:
                done.set()

        fut = self.submit(job())
        try:
            return fut.result()
        except KeyboardInterrupt:
            fut.cancel()
            done.wait(5)
            raise

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed() and self._http is not None:
            with contextlib.suppress(Exception):
                self.submit(self._http.aclose()).result(2)

    # -- sending -------------------------------------------------------------------------
    async def send(
        self,
        req: Any,
        on_delta: OnDelta | None = None,
        acc: Accumulator | None = None,
        meta: Meta | None = None,
    ) -> Result:
        """Send with retries; returns the result or raises a ``ChatError``.

        A retry happens only before any delta reached ``on_delta``: tokens already shown are
        never silently replaced. ``acc`` and ``meta`` may be passed in to read the partial
        answer and the timings while it runs.
        """
        if req.unsendable is not None:
            raise req.unsendable  # built for a replay or a dry run, and yet it goes out
        settings = CONFIG.settings
        acc = acc if acc is not None else accumulator_for(req)
        meta = meta if meta is not None else Meta()
        start = time.perf_counter()

        def forward(out: list) -> None:
            if meta.ttft_ms is None:
                meta.ttft_ms = (time.perf_counter() - start) * 1000
            if on_delta is not None:
                on_delta(out)

        try:
            coro = self._attempts(req, acc, forward, meta, settings)
            if settings.total_timeout:
                result = await asyncio.wait_for(coro, settings.total_timeout)
            else:
                result = await coro
            return redact_deep(result)  # a key a provider echoed is never kept
        except asyncio.TimeoutError:
            if acc.complete:  # every choice had finished; only [DONE] (or usage) was late
                return redact_deep(self._whole(req, acc, forward))
            raise ChatTimeoutError(
                f"no complete answer within {settings.total_timeout:g} s (total timeout)",
                provider=req.provider,
                partial=redact_deep(acc.result()),
            ) from None
        except ChatError as err:
            if err.partial is not None:
                err.partial = redact_deep(err.partial)
            raise
        except httpx.DecodingError:
            raise ProviderError(
                "the response could not be decoded (a broken compressed body?)",
                provider=req.provider,
                partial=redact_deep(acc.result()),
            ) from None
        except Exception as exc:  # never a traceback through frames that hold a request
            raise ProviderError(
                f"unexpected {type(exc).__name__} on the way to {req.host}: {clip(str(exc), 200)}",
                provider=req.provider,
                partial=redact_deep(acc.result()),
            ) from None
        finally:
            meta.latency_ms = (time.perf_counter() - start) * 1000

    async def _attempts(
        self, req: Any, acc: Accumulator, forward: OnDelta, meta: Meta, settings: Any
    ) -> Result:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            cooldown = self._cooldown.get(req.host, 0) - loop.time()
            if cooldown > 0:
                await asyncio.sleep(cooldown)
            try:
                return await self._limited(req, acc, forward, meta, settings)
            except ChatError as err:
                tokens_shown = meta.ttft_ms is not None
                if tokens_shown or not err.retryable or attempt >= settings.max_retries:
                    raise
                wait = err.retry_after
                if wait is None:  # providers.md 5.7: 0.5 s * 2**n, capped, ~25 % jitter
                    wait = min(settings.backoff_cap, settings.backoff_base * 2**attempt)
                    wait *= 1 - 0.25 * random.random()
                until = None
                if err.status == 429:  # every request to this host waits, not just this one
                    until = max(self._cooldown.get(req.host, 0), loop.time() + wait)
                    self._cooldown[req.host] = until
                attempt += 1
                try:
                    await asyncio.sleep(wait)
                except asyncio.CancelledError:
                    if until is not None and self._cooldown.get(req.host) == until:
                        del self._cooldown[req.host]  # an interrupted wait pauses nobody
                    raise

    async def _limited(
        self, req: Any, acc: Accumulator, forward: OnDelta, meta: Meta, settings: Any
    ) -> Result:
        """One attempt inside the provider's limits (limits.py), when it has any."""
        gate = LIMITS.gate(req.profile)
        if gate is None:
            return await self._once(req, acc, forward, meta, settings)
        ticket = await gate.enter(estimate_tokens(req))
        try:
            return await self._once(req, acc, forward, meta, settings)
        finally:
            usage = acc.usage if isinstance(acc.usage, dict) else {}
            used = usage.get("total_tokens")
            gate.leave(ticket, used if isinstance(used, int) else None)

    async def _once(
        self, req: Any, acc: Accumulator, forward: OnDelta, meta: Meta, settings: Any
    ) -> Result:
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.write_timeout,
            pool=settings.connect_timeout,
        )
        url = await req.profile.quirks.base_url(req.profile, req.url)  # a managed server starts
        t0 = time.perf_counter()
        answered = False  # the status line arrived: what breaks later is not "cannot reach"
        try:
            async with self.http().stream(
                "POST",
                url,
                content=req.content,
                headers=req.headers,
                auth=req.auth,
                timeout=timeout,
            ) as resp:
                answered = True
                meta.ttfb_ms = (time.perf_counter() - t0) * 1000
                meta.status = resp.status_code
                meta.headers = {
                    k: v for k, v in resp.headers.items() if k.startswith(_KEEP_HEADERS)
                }
                if resp.status_code >= 300:
                    raise status_error(
                        req.provider, resp.status_code, await resp.aread(), resp.headers
                    )
                ctype = resp.headers.get("content-type", "")
                if "text/event-stream" in ctype:  # also when a server streams unasked
                    await read_events(resp, acc, forward)
                else:  # not streamed (or a server that ignored stream=true)
                    out = acc.feed_response(await read_json(resp, req.provider))
                    if out:
                        forward(out)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ReadTimeout) and acc.complete:
                return self._whole(req, acc, forward)  # it stalled after the last choice ended
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for data",
                httpx.WriteTimeout: "sending",
                httpx.PoolTimeout: "waiting for a connection",
            }.get(type(exc), "waiting")
            err = ChatTimeoutError(
                f"timed out {kind} ({req.host})", provider=req.provider, partial=acc.result()
            )
            err.retryable = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise err from None
        except httpx.TransportError as exc:
            why = redact(str(exc)) or type(exc).__name__
            if acc.complete:  # every choice had finished: only [DONE] (or usage) was lost
                return self._whole(req, acc, forward)
            if acc.id is not None or acc._choices:
                raise StreamCutError(
                    f"the connection broke mid-answer ({type(exc).__name__})",
                    provider=req.provider,
                    partial=_finish(acc, forward),
                ) from None
            if answered:  # the server answered, then closed the connection
                got = resp.num_bytes_downloaded
                err = ChatConnectionError(
                    f"{req.host} closed the connection before the whole answer arrived "
                    f"(status {resp.status_code}, {got:,} bytes of the body read; {why})",
                    provider=req.provider,
                    hint="Nothing was shown. The server or a proxy in between dropped the "
                    "connection; retry, and check the server's logs if it keeps happening.",
                )
            elif isinstance(exc, (httpx.ConnectError, httpx.UnsupportedProtocol)):
                err = ChatConnectionError(f"cannot reach {req.host}: {why}", provider=req.provider)
            else:  # connected and sent, but no answer came back
                err = ChatConnectionError(
                    f"{req.host} closed the connection without answering ({why})",
                    provider=req.provider,
                    hint="The server accepted the connection but sent no response; check that the "
                    "base URL points at a chat-completions server and that it is healthy.",
                )
            err.retryable = True
            raise err from None
        return self._whole(req, acc, forward)

    def _whole(self, req: Any, acc: Accumulator, forward: OnDelta) -> Result:
        """The result of a response read to its end: complete, or a ``StreamCutError``."""
        result = _finish(acc, forward)
        if not result.complete:
            raise StreamCutError(
                "the stream ended before the answer was complete",
                provider=req.provider,
                partial=result,
            )
        result.model = req.profile.quirks.served_model(req.url, req.body.get("model"), result.model)
        return result


def accumulator_for(req: Any) -> Accumulator:
    """The accumulator of ``req``'s answer: complete once its ``n`` choices have finished."""
    n = req.body.get("n") if isinstance(req.body, dict) else None
    return Accumulator(req.provider, n if type(n) is int and n > 1 else 1)


async def read_json(resp: httpx.Response, provider: str) -> dict:
    """A non-streamed response's body as a JSON object, or a one-line ``ProviderError``."""
    raw = await resp.aread()
    ctype = resp.headers.get("content-type", "")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProviderError(
            f"the response is not JSON ({ctype or 'no content type'}): "
            f"{clip(raw[:4000].decode('utf-8', 'replace'), 80)!r}",
            provider=provider,
            status=resp.status_code,
        ) from None
    if b"\\ud" in raw or b"\\uD" in raw:
        obj = no_surrogates(obj)
    if isinstance(obj, dict) and "error" in obj and not obj.get("choices"):
        raise ProviderError(error_message(obj), provider=provider, status=resp.status_code)
    if not isinstance(obj, dict):
        raise ProviderError(
            "the response is not a JSON object", provider=provider, status=resp.status_code
        )
    return obj


async def read_events(resp: httpx.Response, acc: Accumulator, forward: OnDelta) -> None:
    """Feed a server-sent-event response into ``acc`` (providers.md 5.1, read as the HTML
    standard says: stream/sse.py), forwarding deltas."""
    reader = EventReader()
    body = resp.aiter_bytes()
    async for data in body:
        for event in reader.feed(data):
            out = acc.feed_data(event.data, event.event)
            if out:
                forward(out)
            if acc.done:
                break
        if acc.done:
            break
    if acc.done:
        # Read to the end of the body (normally just its last empty chunk) so the connection
        # goes back to the pool: a warm request then skips the TCP (and TLS) handshake.
        with contextlib.suppress(asyncio.TimeoutError, httpx.HTTPError):
            await asyncio.wait_for(_drain(body), 1.0)


async def _drain(body: Any) -> None:
    async for _ in body:
        pass


def _finish(acc: Accumulator, forward: OnDelta) -> Result:
    out = acc.finish()
    if out:
        forward(out)
    return acc.result()


RUNTIME = Runtime()

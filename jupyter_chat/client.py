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
import email.utils
import json
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from httpx_sse import EventSource

from . import __version__
from ._secrets import Secret, clip, public_url, redact, redact_deep
from .config import CONFIG
from .errors import (
    AuthenticationError,
    ChatConnectionError,
    ChatError,
    ChatTimeoutError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    StreamCutError,
)
from .profiles import MANAGED_BASE, Profile
from .stream import Accumulator, Result, no_surrogates

OnDelta = Callable[[list], None]


class KeyAuth(httpx.Auth):
    """Adds the key's header as the request goes out, so no dict of ours holds the key: a
    frame that shows a request's headers shows no key."""

    def __init__(self, header: str, scheme: str, secret: Secret) -> None:
        self.header, self.scheme, self.secret = header, scheme, secret

    def auth_flow(self, request: httpx.Request) -> Any:
        value = self.secret.reveal()
        request.headers[self.header] = f"{self.scheme} {value}" if self.scheme else value
        yield request

    def __repr__(self) -> str:
        return f"KeyAuth({self.header!r}, ***)"


@dataclass(repr=False)
class Request:
    """A request ready to send. The key is in ``auth`` (a ``KeyAuth``), never in ``headers``;
    ``content`` is the body as sent (checked to be JSON at build time)."""

    provider: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    stream: bool
    auth: KeyAuth | None = None
    chain_id: int | None = None
    managed: bool = False  # the URL's host and port are the managed local server's, once up
    profile: Profile | None = None
    content: bytes = b""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def public(self) -> dict[str, Any]:
        """What may be shown or recorded: the key masked, credentials in the URL masked."""
        headers = dict(self.headers)
        if self.auth is not None:
            headers[self.auth.header] = "***"
        url = self.url.replace(":0/", ":<port>/", 1) if self.managed else self.url
        return {
            "provider": self.provider,
            "url": public_url(url),
            "headers": headers,
            "body": self.body,
        }

    def __repr__(self) -> str:
        return f"Request({self.provider!r}, {public_url(self.url)!r}, stream={self.stream})"


def encode_body(provider: str, body: dict[str, Any]) -> bytes:
    """The body as JSON bytes, or an ``InvalidRequestError`` before anything is sent: NaN and
    infinities, values JSON has no form for, and text that is not valid Unicode."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as exc:  # NaN, Infinity (and circular references)
        why = "NaN and infinities are not JSON" if "Out of range" in str(exc) else str(exc)
    except TypeError as exc:
        why = clip(str(exc), 200)
    except UnicodeEncodeError:
        why = "a message holds text that is not valid Unicode (a lone surrogate)"
    raise InvalidRequestError(f"the request cannot be sent as JSON: {why}", provider=provider)


def join_url(base: str, path: str) -> str:
    """``base`` + ``path``, keeping a query string of the base URL at the end."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


@dataclass
class Meta:
    """What the transport measured about one request."""

    latency_ms: float = 0.0
    ttfb_ms: float | None = None  # headers received
    ttft_ms: float | None = None  # first delta reached the caller
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # rate-limit and request-id headers


def build_request(
    provider: str,
    model: str | None,
    messages: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    stream: bool = False,
    need_key: bool = True,
) -> Request:
    """Check everything and shape the request; raises before anything is sent. Without
    ``need_key`` (a dry run) a missing key is shown, not an error."""
    profile = CONFIG.profile(provider)
    params = profile.check_params(dict(params or {}))
    if model is None:
        model = profile.default_model
    if model is None:
        raise ConfigError(
            f"no model given for {provider}",
            hint=f"Use -m {provider}:MODEL or set default_model for it.",
        )
    profile.check_model(model)
    if not messages:
        raise InvalidRequestError("no messages to send", provider=provider)
    try:
        base = profile.resolved_base_url()
    except ConfigError:
        if need_key:
            raise
        base = "${" + profile.url_var + "}"  # a dry run shows where the URL would come from
    if profile.null_content_as_empty:
        messages = [m if m.get("content") is not None else {**m, "content": ""} for m in messages]
    body: dict[str, Any] = {"model": model, "messages": messages, **params}
    if stream:
        body["stream"] = True
        if profile.stream_usage and profile.accepts("stream_options"):
            body["stream_options"] = {"include_usage": True, **params.get("stream_options", {})}
    headers = {"Content-Type": "application/json", "User-Agent": f"jupyter-chat/{__version__}"}
    if stream:
        headers["Accept"] = "text/event-stream"
    headers.update(profile.headers)
    for name, var in profile.header_env.items():
        if os.environ.get(var):
            headers[name] = os.environ[var]
    try:
        auth = key_auth(profile, base)
    except AuthenticationError:
        if need_key:
            raise
        headers[profile.auth_header] = f"(no key set: {profile.key_var})"
        auth = None
    return Request(
        provider,
        join_url(base, profile.path),
        headers,
        body,
        stream,
        auth,
        profile.chain_id,
        managed=base == MANAGED_BASE,
        profile=profile,
        content=encode_body(provider, body),
    )


def key_auth(profile: Profile, base: str) -> KeyAuth | None:
    """The key's auth (bound to ``base``'s origin), or None where none is needed."""
    secret = CONFIG.key_for(profile, base)
    if secret is None:
        return None
    return KeyAuth(profile.auth_header, profile.auth_scheme, secret)


# -- error bodies (providers.md 5.7) -----------------------------------------------------------
def error_message(obj: Any) -> str:
    """The provider's own message from any of the error body shapes we know."""
    if isinstance(obj, str):
        return obj.strip()
    if not isinstance(obj, dict):
        return ""
    err = obj.get("error")
    if isinstance(err, dict):
        msg = err.get("message")
        if isinstance(msg, (dict, list)):
            msg = clip(json.dumps(msg), 300)
        return str(msg or err.get("type") or err.get("code") or "").strip()
    if isinstance(err, str):
        return err.strip()
    detail = obj.get("detail")
    if isinstance(detail, list):  # FastAPI validation errors
        parts = []
        for d in detail[:3]:
            if isinstance(d, dict):
                loc = ".".join(str(x) for x in d.get("loc", []) if x != "body")
                parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
            else:
                parts.append(str(d))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("error") or clip(json.dumps(detail), 300))
    for key in ("detail", "details", "message"):
        if isinstance(obj.get(key), str):
            return obj[key].strip()
    return ""


def _error_code(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
        code = obj["error"].get("code") or obj["error"].get("type")
        return str(code) if code is not None else None
    return None


def _retry_after(headers: httpx.Headers) -> float | None:
    """``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date), if 0..60 s."""
    value: float | None = None
    if "retry-after-ms" in headers:
        with contextlib.suppress(ValueError):
            value = float(headers["retry-after-ms"]) / 1000
    if value is None and "retry-after" in headers:
        raw = headers["retry-after"]
        try:
            value = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                value = when.timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                value = None
    if value is not None and 0 <= value <= 60:
        return value
    return None


def status_error(provider: str, status: int, content: bytes, headers: httpx.Headers) -> ChatError:
    """Turn an HTTP error response into the matching ``ChatError`` (``retryable`` set)."""
    text = content.decode("utf-8", "replace")
    try:
        obj: Any = json.loads(text)
    except ValueError:
        obj = None
    if obj is not None:
        message = error_message(obj)
    else:  # non-JSON: an HTML error page or plain text
        import re

        message = re.sub(r"<[^>]+>", " ", text)
        message = clip(" ".join(message.split()), 200)
    message = message or httpx.codes.get_reason_phrase(status) or "error"
    code = _error_code(obj)
    retry_after = _retry_after(headers)
    profile = CONFIG.profiles().get(provider)
    key_var = profile.key_var if profile else "the key variable"
    kw: dict[str, Any] = dict(provider=provider, status=status, code=code, retry_after=retry_after)
    err: ChatError
    if status in (401, 403):
        err = AuthenticationError(
            message,
            hint=f"Check the key in {key_var} (or %chat key {provider}) and its permissions.",
            **kw,
        )
    elif status == 404:
        err = NotFoundError(message, **kw)
    elif status == 429 or status == 402:
        quota = status == 402 or (code or "") in (
            "insufficient_quota",
            "billing_hard_limit_reached",
        )
        err = RateLimitError(
            message,
            hint="Quota or credits exhausted: check the account's billing."
            if quota
            else "Rate limited: wait and retry, or lower the concurrency.",
            **kw,
        )
        err.retryable = not quota
    elif status == 408:
        err = ChatTimeoutError(message, hint="The server timed out; retry.", **kw)
    elif status >= 500:
        err = ProviderError(message, hint="The provider failed; retry later.", **kw)
    elif 300 <= status < 400:
        where = urlsplit(headers.get("location", "")).hostname or "another address"
        err = ConfigError(
            f"the server redirected to {where}; redirects are not followed so that the key "
            "stays with its host",
            hint="Point the base URL at the final address.",
            **kw,
        )
    else:
        err = InvalidRequestError(message, **kw)
    if status != 429:
        err.retryable = status in (408, 409) or status >= 500
    should = headers.get("x-should-retry")
    if should in ("true", "false"):
        err.retryable = should == "true"
    return err


_KEEP_HEADERS = ("x-request-id", "x-ratelimit-", "retry-after", "openai-processing-ms")


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
        req: Request,
        on_delta: OnDelta | None = None,
        acc: Accumulator | None = None,
        meta: Meta | None = None,
    ) -> Result:
        """Send with retries; returns the result or raises a ``ChatError``.

        A retry happens only before any delta reached ``on_delta``: tokens already shown are
        never silently replaced. ``acc`` and ``meta`` may be passed in to read the partial
        answer and the timings while it runs.
        """
        settings = CONFIG.settings
        acc = acc if acc is not None else Accumulator(req.provider)
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
        self, req: Request, acc: Accumulator, forward: OnDelta, meta: Meta, settings: Any
    ) -> Result:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            cooldown = self._cooldown.get(req.host, 0) - loop.time()
            if cooldown > 0:
                await asyncio.sleep(cooldown)
            try:
                return await self._once(req, acc, forward, meta, settings)
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

    async def _once(
        self, req: Request, acc: Accumulator, forward: OnDelta, meta: Meta, settings: Any
    ) -> Result:
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.write_timeout,
            pool=settings.connect_timeout,
        )
        url = req.url
        if req.managed:  # start (or reuse) the kernel's llama.cpp server, off the loop
            from .local import SERVER

            url = await asyncio.to_thread(SERVER.ensure) + url[len(MANAGED_BASE) :]
        t0 = time.perf_counter()
        try:
            async with self.http().stream(
                "POST",
                url,
                content=req.content,
                headers=req.headers,
                auth=req.auth,
                timeout=timeout,
            ) as resp:
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
                    raw = await resp.aread()
                    try:
                        obj = json.loads(raw)
                    except (ValueError, RecursionError):
                        raise ProviderError(
                            f"the response is not JSON ({ctype or 'no content type'}): "
                            f"{clip(raw[:4000].decode('utf-8', 'replace'), 80)!r}",
                            provider=req.provider,
                            status=resp.status_code,
                        ) from None
                    if b"\\ud" in raw or b"\\uD" in raw:
                        obj = no_surrogates(obj)
                    if isinstance(obj, dict) and "error" in obj and not obj.get("choices"):
                        raise ProviderError(
                            error_message(obj), provider=req.provider, status=resp.status_code
                        )
                    if not isinstance(obj, dict):
                        raise ProviderError(
                            "the response is not a JSON object",
                            provider=req.provider,
                            status=resp.status_code,
                        )
                    out = acc.feed_response(obj)
                    if out:
                        forward(out)
        except httpx.TimeoutException as exc:
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
            if acc.id is not None or acc._choices:
                raise StreamCutError(
                    f"the connection broke mid-answer ({type(exc).__name__})",
                    provider=req.provider,
                    partial=_finish(acc, forward),
                ) from None
            err = ChatConnectionError(
                f"cannot reach {req.host}: {redact(str(exc)) or type(exc).__name__}",
                provider=req.provider,
            )
            err.retryable = True
            raise err from None
        result = _finish(acc, forward)
        if not result.complete:
            raise StreamCutError(
                "the stream ended before the answer was complete",
                provider=req.provider,
                partial=result,
            )
        return result


async def read_events(resp: httpx.Response, acc: Accumulator, forward: OnDelta) -> None:
    """Feed a server-sent-event response into ``acc`` (providers.md 5.1), forwarding deltas."""
    events = EventSource(resp).aiter_sse()
    async for sse in events:
        out = acc.feed_data(sse.data, sse.event)
        if out:
            forward(out)
        if acc.done:
            break
    if acc.done:
        # Read to the end of the body (normally just its last empty chunk) so the connection
        # goes back to the pool: a warm request then skips the TCP (and TLS) handshake.
        with contextlib.suppress(asyncio.TimeoutError, httpx.HTTPError):
            await asyncio.wait_for(_drain(events), 1.0)


async def _drain(events: Any) -> None:
    async for _ in events:
        pass


def _finish(acc: Accumulator, forward: OnDelta) -> Result:
    out = acc.finish()
    if out:
        forward(out)
    return acc.result()


RUNTIME = Runtime()


class Call:
    """A request running on the shared loop, consumed from synchronous code.

    Iterate to receive delta lists as they arrive; ``result`` is set at the end. A
    KeyboardInterrupt while waiting cancels the request and closes the stream; what arrived
    stays readable through ``partial()``.
    """

    _END = object()

    def __init__(self, req: Request, runtime: Runtime = RUNTIME, capture: bool = False) -> None:
        self.request = req
        self.meta = Meta()
        self.acc = Accumulator(req.provider)
        self.result: Result | None = None
        self.captured: list | None = [] if capture else None  # [ms, kind, index, text] deltas
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Event()
        self._fut = runtime.submit(self._job(runtime))

    async def _job(self, runtime: Runtime) -> None:
        on_delta = self._queue.put
        if self.captured is not None:
            from .replay import capture

            keep = capture(self.captured, time.perf_counter())

            def on_delta(out: list) -> None:
                keep(out)
                self._queue.put(out)

        try:
            res = await runtime.send(self.request, on_delta, self.acc, self.meta)
            self._queue.put((Call._END, res, None))
        except asyncio.CancelledError:
            self._queue.put((Call._END, None, KeyboardInterrupt()))
            raise
        except BaseException as exc:  # delivered to the waiting thread
            self._queue.put((Call._END, None, exc))
        finally:
            self._done.set()

    def __iter__(self) -> Iterator[list]:
        try:
            while True:
                item = self._queue.get()
                if type(item) is tuple and item[0] is Call._END:
                    if item[2] is not None:
                        raise item[2]
                    self.result = item[1]
                    return
                yield item
        except (KeyboardInterrupt, GeneratorExit):
            self.cancel()
            raise

    def wait(self) -> Result:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def cancel(self) -> None:
        self._fut.cancel()
        self._done.wait(5)

    def partial(self) -> Result:
        return self.acc.result()


async def list_models(provider: str) -> list[dict[str, Any]]:
    """The provider's ``/models`` listing (OpenAI shape ``{"data": [...]}``)."""
    profile = CONFIG.profile(provider)
    if not profile.models_path:
        raise ConfigError(f"{provider} has no model listing endpoint")
    base = profile.resolved_base_url()
    if base == MANAGED_BASE:
        from .local import SERVER

        base = await asyncio.to_thread(SERVER.ensure)
    headers = {"User-Agent": f"jupyter-chat/{__version__}"}
    auth = key_auth(profile, base)
    s = CONFIG.settings
    try:
        resp = await RUNTIME.http().get(
            join_url(base, profile.models_path),
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
        )
    except httpx.TransportError as exc:
        raise ChatConnectionError(
            f"cannot reach {urlsplit(base).hostname}: {type(exc).__name__}", provider=provider
        ) from None
    if resp.status_code >= 300:
        raise status_error(provider, resp.status_code, resp.content, resp.headers)
    data = resp.json()
    items = data.get("data", data) if isinstance(data, dict) else data
    return [m if isinstance(m, dict) else {"id": str(m)} for m in items or []]

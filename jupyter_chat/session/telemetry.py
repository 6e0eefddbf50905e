"""OpenTelemetry spans of the session's turns, by the GenAI semantic conventions: each request
a ``chat {model}`` span filled from its finished run record (semconv.py), a batch, comparison
or sample set a parent span (``Group``); every front end gets them, since every turn ends here.

Nothing is imported or done unless this process traces: the OpenTelemetry API is looked up in
``sys.modules`` (an SDK set up by the user, or ``opentelemetry-instrument``, has imported it;
``OTEL_PYTHON_TRACER_PROVIDER`` names one to load) and a tracer provider must be set. Without
the ``otel`` extra, or with no SDK configured, a turn costs one dictionary lookup.

A replayed turn is a span too, marked ``jupyter_chat.replayed``, of kind INTERNAL (no call left
the kernel), with no ``server.*`` and no ``gen_ai.usage.*``: it is not counted as a call. Message
content is recorded only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` says so.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

from ..errors import ChatError
from . import semconv

_WARNED: list[Exception] = []
_TRACER: tuple[Any, Any] | None = None  # (provider, tracer), remade if the provider changes
# the parent span's group in this context: its turns count themselves there
_GROUP: contextvars.ContextVar[Group | None] = contextvars.ContextVar(
    "jupyter_chat_group", default=None
)


def api() -> Any:
    """``opentelemetry.trace`` when this process traces (a tracer provider is set), else None;
    imports nothing unless the process has imported OpenTelemetry or names a provider."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        if "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ:
            return None
        try:
            from opentelemetry import trace
        except ImportError:
            return None
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None  # the API alone: nothing would record a span
    return trace


def tracer(trace: Any) -> Any:
    global _TRACER
    provider = trace.get_tracer_provider()
    if _TRACER is None or _TRACER[0] is not provider:
        from .._version import __version__

        _TRACER = (provider, trace.get_tracer("jupyter_chat", __version__))
    return _TRACER[1]


def never_fails(fn: Any) -> Any:
    """Tracing never breaks a turn: a failure in it (an exporter's, ours) is warned of once."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            if not _WARNED:
                _WARNED.append(exc)
                warnings.warn(f"jupyter-chat: a span was not recorded: {exc!r}", stacklevel=2)

    return wrapper


@never_fails
def turn_span(prep: Any, turn: Any, meta: Any, started_ns: int | None = None) -> None:
    """The span of one answered request, from its run record (``run.finish`` calls this)."""
    trace = api()
    if trace is None:
        return
    record = turn.record
    replayed = bool(record.get("replayed"))
    req = prep.request
    end = time.time_ns()
    start = started_ns or end - int((meta.latency_ms or 0) * 1e6)
    attrs = semconv.request_attributes(
        record["provider"], record.get("model"), record.get("params") or {},
        record.get("thread"), req.url, live=not replayed,
    )  # fmt: skip
    # all at the start, in one pass of the SDK's checks: the request's, then the response's
    attrs.update(semconv.response_attributes(record, meta.ttft_ms, req.stream))
    if semconv.capture_content():
        attrs.update(semconv.content_attributes(req.body["messages"], turn.result))
    kind = trace.SpanKind.INTERNAL if replayed else trace.SpanKind.CLIENT
    name = semconv.span_name(record.get("model"))
    span = tracer(trace).start_span(name, kind=kind, attributes=attrs, start_time=start)
    if not record.get("complete", True) and span.is_recording():
        span.set_attribute("error.type", "incomplete")
        span.set_status(trace.Status(trace.StatusCode.ERROR, "the answer was cut short"))
    span.end(end_time=end)
    group = _GROUP.get()
    if group is not None:
        group.count("replayed" if replayed else "calls")


@never_fails
def failed_span(prep: Any, exc: BaseException, started_ns: int, replayed: bool = False) -> None:
    """The span of a request that failed or was interrupted: ``error.type`` says how (the
    HTTP status, else the error's kind)."""
    trace = api()
    if trace is None:
        return
    req = prep.request
    attrs = semconv.request_attributes(
        req.provider, req.body.get("model"), req.body, prep.thread, req.url, live=not replayed
    )
    kind = trace.SpanKind.INTERNAL if replayed else trace.SpanKind.CLIENT
    span = tracer(trace).start_span(
        semconv.span_name(req.body.get("model")), kind=kind, attributes=attrs, start_time=started_ns
    )
    if span.is_recording():
        span.set_attribute("error.type", error_type(exc))
        if req.stream:
            span.set_attribute("gen_ai.request.stream", True)
        # our errors' messages are key-free and short; of anything else only its kind is said
        why = str(exc) if isinstance(exc, ChatError) else type(exc).__name__
        span.set_status(trace.Status(trace.StatusCode.ERROR, why))
    span.end()
    group = _GROUP.get()
    if group is not None:
        group.count("failed")


def error_type(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if isinstance(status, int) and not isinstance(status, bool):
        return str(status)
    if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancelledError":
        return "cancelled"
    return type(exc).__name__


class Group:
    """A parent span for several turns: a batch, a comparison, a sample set, an experiment.

    Requests started (or submitted to the shared loop) inside ``with group.current():`` are
    its children; ``end()`` ends it once, saying how many calls were made, how many turns were
    replayed and how many failed. As a context manager it is current inside and ends on exit.
    Without tracing it does nothing."""

    def __init__(self, kind: str, **attributes: Any) -> None:
        self.kind = kind
        self.counts = {"calls": 0, "replayed": 0, "failed": 0}
        self._lock = threading.Lock()
        self._span: Any = None
        self._context: Any = None
        trace = api()
        if trace is None:
            return
        attrs = {"jupyter_chat.group": kind}
        attrs.update({f"jupyter_chat.{k}": v for k, v in attributes.items() if v is not None})
        span = tracer(trace).start_span(
            f"jupyter_chat.{kind}", kind=trace.SpanKind.INTERNAL, attributes=attrs
        )
        if not span.is_recording():
            span.end()
            return
        self._span, self._context = span, trace.set_span_in_context(span)

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    @contextlib.contextmanager
    def current(self) -> Iterator[Group]:
        """The group's span is the parent of what starts inside."""
        if self._span is None:
            yield self
            return
        from opentelemetry import context

        token = context.attach(self._context)
        mine = _GROUP.set(self)
        try:
            yield self
        finally:
            _GROUP.reset(mine)
            context.detach(token)

    def end(self, error: BaseException | None = None) -> None:
        with self._lock:
            span, self._span = self._span, None
        if span is None:
            return
        span.set_attributes({f"jupyter_chat.{k}": v for k, v in self.counts.items()})
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", error_type(error))
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def __enter__(self) -> Group:
        self._within = self.current()
        return self._within.__enter__()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self._within.__exit__(kind, exc, tb)
        self.end(exc)

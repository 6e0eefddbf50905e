"""The Python API: ``chat``, ``achat`` and ``map`` over the shared client, returning ``Turn``."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import replay
from ._secrets import clip
from .client import RUNTIME, Call, Meta, Request, build_request
from .config import CONFIG
from .errors import ChatError, ConfigError
from .replay import ReplayCall, ReplayMissError
from .state import SESSION, Entry, check_thread
from .stream import Result

_BODY_NOT_PARAMS = ("model", "messages", "stream", "stream_options")
# names the session sets itself, each with where a user sets it instead
RESERVED = {
    "model": "-m PROVIDER:MODEL, %chat use or model=",
    "messages": "the cell body or the prompt",
    "stream": "--no-stream or stream=",
    "thread": "-t NAME, %chat thread or thread=",
    "system": "-s TEXT, %chat system or system=",
    "seed": "--seed N, %chat seed N or seed=",
    "tools": "--tools F1,F2 or tools=",
    "images": "--image or images=",
    "key": "%chat key PROVIDER or jupyter_chat.set_key",
    "fresh": "--new",
    "dry_run": "--dry-run",
    "max_steps": "--max-steps or max_steps=",
    "confirm": "--confirm or confirm=",
}


_MAP_KEYWORDS = ("system", "seed", "stream", "thread", "tools", "images")


def check_param_names(params: dict[str, Any]) -> None:
    """Refuse provider parameters that the session sets itself (checked where they are
    given: ``-p``, ``%chat defaults``, the panel, ``**params``)."""
    for name in params:
        if name in RESERVED:
            raise ConfigError(
                f"{name!r} is not a provider parameter here", hint=f"Set it with {RESERVED[name]}."
            )


@dataclass
class Turn:
    """One answered prompt: the answer, how it was produced, and the raw result."""

    text: str
    reasoning: str
    tool_calls: list[dict]
    usage: dict | None
    finish_reason: str | None
    record: dict[str, Any]
    result: Result = field(repr=False)
    messages: list[dict[str, Any]] = field(repr=False, default_factory=list)
    signed: dict[str, Any] | None = field(repr=False, default=None)  # EigenCloud: to verify

    @property
    def complete(self) -> bool:
        return bool(self.record.get("complete"))

    def __repr__(self) -> str:
        text = self.text if len(self.text) < 60 else self.text[:57] + "..."
        return f"Turn({self.record.get('provider')}:{self.record.get('model')}, {text!r})"

    def _repr_markdown_(self) -> str:
        return self.text


def resolve_model(spec: str | None) -> tuple[str, str | None]:
    """``PROVIDER:MODEL``, ``PROVIDER`` or a bare ``MODEL`` on the default provider."""
    profiles = CONFIG.profiles()
    default = CONFIG.default_model()
    spec = spec or default
    head, sep, tail = spec.partition(":")
    if head in profiles:
        return head, (tail or None)
    if sep and "/" not in head and "@" not in head:
        raise ConfigError(
            f"unknown provider {head!r} in {spec!r}",
            hint="Use PROVIDER:MODEL with one of: " + ", ".join(profiles) + ".",
        )
    provider = default.partition(":")[0]
    if provider not in profiles:
        raise ConfigError(f"unknown provider {provider!r} in the default model {default!r}")
    return provider, spec


def canonical_request(req: Request) -> dict[str, Any]:
    """What a request asks for: provider, model, messages, parameters. No URL, no headers."""
    return {
        "provider": req.provider,
        "model": req.body.get("model"),
        "messages": [hash_images(m) for m in req.body.get("messages", [])],
        "params": sent_params(req),
    }


def hash_images(message: dict[str, Any]) -> dict[str, Any]:
    """Images stand in recordings and hashes as their SHA-256, not their bytes."""
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = []
    for part in content:
        url = (part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else ""
        if url.startswith("data:"):
            digest = hashlib.sha256(url.encode()).hexdigest()
            part = {**part, "image_url": {"url": f"sha256:{digest}"}}
        parts.append(part)
    return {**message, "content": parts}


def request_hash(req: Request) -> str:
    """The key of a request in records and replay stores (streaming or not is transport)."""
    blob = json.dumps(
        canonical_request(req), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Prepared:
    """A checked request and what the session needs to file its answer."""

    request: Request
    new: list[dict[str, Any]]  # the messages this turn adds to its thread
    thread: str | None
    key: str | None = None  # the cell, for re-run replacement
    notes: list[str] = field(default_factory=list)  # said in the record (e.g. seed not sent)
    fresh: bool = False  # the thread starts afresh with this turn
    functions: dict[str, Any] = field(default_factory=dict)  # tool name -> Python function
    images: list[dict[str, Any]] = field(default_factory=list)  # hashes, never the bytes
    file: bool = True  # file the turn in its thread (a tool loop files the whole exchange)
    check: Any = None  # check(turn) raises a ChatError when the answer cannot be used


def prepare(
    prompt: str | list[dict],
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    *,
    key: str | None = None,
    fresh: bool = False,
    dry_run: bool = False,
    server_tools: list[str] | dict[str, bool] | None = None,
    **params: Any,
) -> Prepared:
    """Resolve everything and build the request; raises before anything is sent."""
    provider, model_id = resolve_model(model)
    profile = CONFIG.profile(provider)
    functions: dict[str, Any] = {}
    if server_tools is not None:
        if not profile.server_tools:
            raise ConfigError(
                f"{provider} has no server-side tools",
                hint="Server-side tool switches are Adaptive Engine's; use "
                "function tools (tools=[...], --tools) elsewhere.",
            )
        switches = (
            server_tools if isinstance(server_tools, dict) else dict.fromkeys(server_tools, True)
        )
        params["tools"] = [{"id": str(i), "enabled": bool(on)} for i, on in switches.items()]
        params.setdefault("use_tools", True)
    elif (
        tools is not None
        and profile.server_tools
        and all(isinstance(t, dict) and "id" in t for t in tools)
    ):
        params["tools"] = list(tools)  # Adaptive's own {id, enabled} switches
    elif tools is not None:
        if profile.server_tools:
            raise ConfigError(
                f"{provider} has server-side tools, not function tools",
                hint="Switch them with --server-tools ID,... (server_tools=[...] in Python).",
            )
        from .tools import schema

        defs = []
        for t in tools:
            if isinstance(t, dict):
                defs.append(t)
            elif callable(t):
                d = schema(t)
                functions[d["function"]["name"]] = t
                defs.append(d)
            else:
                raise ConfigError(
                    f"a tool must be a function or a tool definition, not {type(t).__name__}"
                )
        params["tools"] = defs
    if thread is not None:
        check_thread(thread)
    notes = []
    if seed is not None:
        if CONFIG.profile(provider).accepts("seed"):
            params["seed"] = seed
        else:
            notes.append(f"seed {seed} not sent: {provider} does not take a seed")
    if isinstance(prompt, str):
        new = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and all(isinstance(m, dict) for m in prompt):
        new = list(prompt)
    else:
        raise ConfigError("the prompt must be a string or a list of message dicts")
    image_info = []
    if images:
        if not profile.vision:
            raise ConfigError(
                f"{provider} does not take images",
                hint=f"Use a vision model's provider, or set vision = true in "
                f"[providers.{provider}] if this deployment takes them.",
            )
        from .tools import image_part

        parts = []
        for source in images:
            part, info = image_part(source, data_urls_only=profile.data_url_images)
            parts.append(part)
            image_info.append(info)
        text = new[-1].get("content")
        new[-1] = {**new[-1], "content": [{"type": "text", "text": text or ""}, *parts]}
    messages = [{"role": "system", "content": system}] if system else []
    messages += ([] if fresh else SESSION.history(thread, key)) + new
    req = build_request(provider, model_id, messages, params, stream, need_key=not dry_run)
    return Prepared(req, new, thread, key, notes, fresh, functions, image_info)


def sent_params(req: Request) -> dict[str, Any]:
    """Every parameter of the request body but the model, the messages and the transport."""
    return {k: v for k, v in req.body.items() if k not in _BODY_NOT_PARAMS}


def make_record(
    prep: Prepared, result: Result, meta: Meta, replayed: bool = False
) -> dict[str, Any]:
    """The run record: how this answer was produced. Never a key or a header."""
    req = prep.request
    record = {
        "provider": req.provider,
        "host": urlsplit(req.url).hostname,
        "model": result.model or req.body.get("model"),
        "params": sent_params(req),
        "thread": prep.thread,
        "request_hash": request_hash(req),
        "finish_reason": result.finish_reason,
        "usage": result.usage,
        "latency_ms": round(meta.latency_ms, 1),
        "system_fingerprint": result.system_fingerprint,
        "replayed": replayed,
        "complete": result.complete,
    }
    if prep.images:
        record["images"] = prep.images
    notes = list(prep.notes)
    if req.chain_id is not None:
        record["signature"], why = signature_state(req, result)
        if record["signature"] != "verified":
            notes.append(f"signature {record['signature']}: {why}")
    if result.usage is None:
        notes.append("the server reported no token usage")
    asked = req.body.get("n") or 1
    if asked > 1 and len(result.choices) < asked:
        notes.append(f"n={asked} asked, the server returned {len(result.choices)} choice(s)")
    if notes:
        record["notes"] = notes
    return record


def signature_state(req: Request, result: Result) -> tuple[str, str]:
    """EigenCloud: ``verified``, ``invalid`` or ``not verifiable``, and why (providers.md 3).
    ``verified`` needs the signature to hold and the shown answer to derive from the signed
    content (a recording whose answer was edited is ``invalid``)."""
    from .verify import bind, verify

    contents = [c.raw_content for c in result.choices]
    try:
        v = verify(
            chain_id=req.chain_id,
            model=result.model,
            request_messages=req.body["messages"],
            response_contents=contents,
            signature=result.signature,
            signers=CONFIG.signers(),
        )
    except ConfigError as exc:  # the verify extra is not installed
        return "not verifiable", f"not checked: {exc}"
    v = bind(v, contents, [(c.answer, c.reasoning) for c in result.choices])
    return v.state, v.reason


def signed_block(req: Request, result: Result) -> dict[str, Any] | None:
    """What a later verification needs, exactly as sent and received (for saved notebooks)."""
    if req.chain_id is None or not result.signature:
        return None
    return {
        "chain_id": req.chain_id,
        "model": result.model,
        "request_contents": [m.get("content") for m in req.body["messages"]],
        "response_contents": [c.raw_content for c in result.choices],
        "signature": result.signature,
    }


def make_turn(prep: Prepared, result: Result, record: dict[str, Any]) -> Turn:
    """Wrap a result as a ``Turn`` (nothing is filed here)."""
    return Turn(
        result.answer,
        result.reasoning,
        result.tool_calls,
        result.usage,
        result.finish_reason,
        record,
        result,
        prep.request.body["messages"],
        signed_block(prep.request, result),
    )


def file_turn(prep: Prepared, turn: Turn) -> None:
    """File a complete turn in its thread (``--new`` empties the thread first)."""
    tokens = (turn.usage or {}).get("total_tokens") or 0
    if prep.fresh and prep.thread is not None:
        SESSION.clear(prep.thread)
    SESSION.commit(
        prep.thread, Entry(prep.key, [*prep.new, reply_message(turn.result)], tokens, turn.record)
    )


def reply_message(result: Result) -> dict[str, Any]:
    """The assistant message that goes back into the conversation."""
    reply: dict[str, Any] = {"role": "assistant", "content": result.answer}
    if result.tool_calls:
        reply["tool_calls"] = result.tool_calls
    return reply


# -- tools ------------------------------------------------------------------------------------
class ToolLoopError(ChatError):
    """The model kept calling tools past the step limit."""


def run_tools(
    prep: Prepared, step: Any, max_steps: int = 8, confirm: Any = None, on_result: Any = None
) -> Turn:
    """The tool loop: run a step; while the model calls our functions, run them in the kernel,
    send the results back as ``role: tool`` messages and step again. ``step(prep) -> Turn``
    runs one request (streamed into a cell, or not); the whole exchange is filed in the thread
    once the model answers."""
    from .tools import run_call

    first, exchange, calls_made = prep, [], []
    prep = dataclasses.replace(prep, file=not prep.functions)
    turn = step(prep)
    steps = 1
    while prep.functions and turn.tool_calls:
        if steps >= max_steps:
            raise ToolLoopError(
                f"the model was still calling tools after {max_steps} steps",
                provider=prep.request.provider,
                hint="Raise the limit (max_steps=..., --max-steps N) or change the prompt.",
                partial=turn.result,
            )
        exchange.append(reply_message(turn.result))
        for call in turn.tool_calls:
            if confirm is not None and not confirm(call):
                text, ok = "error: the user declined to run this tool", False
            else:
                text, ok = run_call(call, prep.functions)
            calls_made.append(
                {
                    "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"],
                    "ok": ok,
                    "result": text if len(text) <= 200 else text[:197] + "...",
                }
            )
            exchange.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": text})
            if on_result is not None:
                on_result(call, text, ok)
        req = prep.request
        params = sent_params(req)
        if params.get("tool_choice") not in (None, "auto", "none"):
            params["tool_choice"] = "auto"  # forced once; afterwards the model may answer
        messages = [*req.body["messages"], *exchange[-1 - len(turn.tool_calls) :]]
        prep = dataclasses.replace(
            prep,
            request=build_request(req.provider, req.body["model"], messages, params, req.stream),
            file=False,
        )
        turn = step(prep)
        steps += 1
    if calls_made:
        turn.record["tool_calls"] = calls_made
        turn.record["steps"] = steps
        if turn.complete:
            tokens = (turn.usage or {}).get("total_tokens") or 0
            if first.fresh and first.thread is not None:
                SESSION.clear(first.thread)
            SESSION.commit(
                first.thread,
                Entry(
                    first.key,
                    [*first.new, *exchange, reply_message(turn.result)],
                    tokens,
                    turn.record,
                ),
            )
    return turn


# -- record and replay --------------------------------------------------------------------------
def recording_for(prep: Prepared) -> dict[str, Any] | None:
    """The recording to serve instead of calling the provider, per the replay mode."""
    mode, store = SESSION.replay_state()
    if mode in ("record", "auto"):
        store.check_writable()  # before the answer is paid for
    if mode not in ("replay", "auto"):
        return None
    rec = store.get(request_hash(prep.request))
    if rec is None and mode == "replay":
        text = next((m.get("content") for m in prep.new if isinstance(m.get("content"), str)), "")
        prompt = text if len(text) <= 50 else text[:47] + "..."
        raise ReplayMissError(
            f"no recording of this request in {store.path.name} (prompt {prompt!r}, "
            f"{request_hash(prep.request)[:19]}...); replay mode makes no network call",
            hint="Record it with %chat replay auto (or record), or check that the prompt, "
            "model and parameters (the seed too) are the ones recorded.",
        )
    return rec


def open_call(prep: Prepared) -> Call | ReplayCall:
    """A running request, or the recording of it: both iterate deltas, then give a result."""
    rec = recording_for(prep)
    if rec is not None:
        return ReplayCall(prep.request, rec, SESSION.pace)
    return Call(prep.request, capture=SESSION.replay_state()[0] in ("record", "auto", "check"))


class RecordingError(ChatError):
    """The answer arrived but could not be recorded; ``partial`` holds it, nothing was filed."""

    hint_default = "Check that the replay store's folder is writable and has space."


def finish(
    prep: Prepared,
    result: Result,
    meta: Meta,
    *,
    replayed: bool = False,
    deltas: list | None = None,
) -> Turn:
    """Record the turn (record/auto mode) or compare it (check mode), check it, then file it:
    the thread changes only when everything before succeeded."""
    turn = make_turn(prep, result, make_record(prep, result, meta, replayed))
    mode, store = SESSION.replay_state()
    if not replayed and result.complete and store is not None:
        key = turn.record["request_hash"]
        if mode in ("record", "auto"):
            try:
                store.put(
                    replay.make_record(
                        key,
                        canonical_request(prep.request),
                        prep.request.chain_id,
                        result,
                        deltas or [],
                        meta.latency_ms,
                        meta.ttft_ms,
                    )
                )
            except (OSError, ChatError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise RecordingError(
                    f"the answer arrived but was not recorded in {store.path.name}: {why}",
                    provider=prep.request.provider,
                    partial=result,
                ) from None
        elif mode == "check":
            rec = store.get(key)
            turn.record["matches_recording"] = (
                None
                if rec is None
                else (replay.result_from_dict(rec["response"]).choices == result.choices)
            )
    final = not (prep.functions and result.tool_calls)
    if prep.check is not None and final and result.complete:
        prep.check(turn)
    if result.complete and prep.file:
        file_turn(prep, turn)
    return turn


def close_call(prep: Prepared, call: Call | ReplayCall) -> Turn:
    assert call.result is not None
    return finish(
        prep,
        call.result,
        call.meta,
        replayed=isinstance(call, ReplayCall),
        deltas=getattr(call, "captured", None),
    )


async def run_async(prep: Prepared, on_delta: Any = None, acc: Any = None) -> Turn:
    """One turn on the shared loop (``achat``, ``map``, widgets), replay included."""
    rec = recording_for(prep)
    if rec is not None:
        return finish(
            prep,
            replay.result_from_dict(rec["response"]),
            Meta(latency_ms=rec.get("latency_ms") or 0.0, ttft_ms=rec.get("ttft_ms")),
            replayed=True,
        )
    meta = Meta()
    deltas: list | None = [] if SESSION.replay_state()[0] in ("record", "auto") else None
    keep = replay.capture(deltas, time.perf_counter()) if deltas is not None else None

    def forward(out: list) -> None:
        if keep is not None:
            keep(out)
        if on_delta is not None:
            on_delta(out)

    result = await RUNTIME.send(prep.request, forward, acc, meta=meta)
    return finish(prep, result, meta, deltas=deltas)


def internal_error(exc: Exception) -> ChatError:
    return ChatError(
        f"unexpected {type(exc).__name__}: {clip(str(exc), 300)}",
        hint="This is a bug in jupyter-chat; the message above holds no key.",
    )


def one_line_errors(fn: Any) -> Any:
    """Every failure of a public call is a ``ChatError`` (one line in a cell, never a traceback
    through frames that may hold a request)."""
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except (ChatError, KeyboardInterrupt, asyncio.CancelledError):
                raise
            except Exception as exc:
                raise internal_error(exc) from None

        return wrapper_async

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ChatError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise internal_error(exc) from None

    return wrapper


@one_line_errors
def chat(
    prompt: str | list[dict],
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    max_steps: int = 8,
    confirm: Any = None,
    **params: Any,
) -> Turn:
    """Send one prompt and wait for the answer.

    Parameters
    ----------
    prompt : the user message (or a list of message dicts).
    model : ``PROVIDER:MODEL`` (``eigencloud:gpt-oss-120b-f16``), ``PROVIDER`` or ``MODEL``.
    thread : a thread name to continue (and extend); ``None`` sends the prompt alone.
    system : a system prompt.
    seed : sent as the ``seed`` parameter where the provider accepts it.
    stream : receive the answer as server-sent events.
    tools : Python functions (``@jupyter_chat.tool`` or plain) the model may call; they run in
        the kernel until it answers (``max_steps`` requests at most). OpenAI tool dicts work too.
    images : paths, http(s) URLs, bytes, PIL images or matplotlib figures.
    confirm : True to ask before each tool call, or a function ``call -> bool``.
    **params : any parameter the provider accepts (checked before sending), such as
        ``tool_choice`` and ``parallel_tool_calls``.
    """
    check_param_names(params)
    prep = prepare(prompt, model, thread, system, seed, stream, tools, images, **params)

    def step(p: Prepared) -> Turn:
        call = open_call(p)
        call.wait()
        return close_call(p, call)

    return run_tools(prep, step, max_steps, ask_before_call if confirm is True else confirm or None)


def ask_before_call(call: dict[str, Any]) -> bool:
    fn = call.get("function", {})
    answer = input(f"Run {fn.get('name')}({fn.get('arguments')})? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


@one_line_errors
async def achat(
    prompt: str | list[dict],
    model: str | None = None,
    thread: str | None = None,
    system: str | None = None,
    seed: int | None = None,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    **params: Any,
) -> Turn:
    """``chat`` for async code: awaits the shared client's loop from any event loop."""
    check_param_names(params)
    prep = prepare(prompt, model, thread, system, seed, stream, tools, images, **params)
    return await asyncio.wrap_future(RUNTIME.submit(run_async(prep)))


@one_line_errors
def map(
    prompts: Iterable[str | list[dict]],
    model: str | None = None,
    concurrency: int = 8,
    return_exceptions: bool = False,
    **params: Any,
) -> list[Turn | ChatError]:
    """Send many prompts concurrently (at most ``concurrency`` at once); results keep order.

    A 429 pauses every request to that host for the time the provider asks. With
    ``return_exceptions=True`` a failed prompt gives its ``ChatError`` in place; otherwise
    the first error is raised once all requests have finished.
    """
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")
    check_param_names({k: v for k, v in params.items() if k not in _MAP_KEYWORDS})
    prepared = [prepare(p, model, **params) for p in prompts]  # all checked before any is sent

    async def run_all() -> list:
        sem = asyncio.Semaphore(concurrency)

        async def one(prep: Prepared) -> Turn:
            async with sem:
                try:
                    return await run_async(prep)
                except (ChatError, asyncio.CancelledError):
                    raise
                except Exception as exc:
                    raise internal_error(exc) from None

        return await asyncio.gather(*(one(p) for p in prepared), return_exceptions=True)

    results = RUNTIME.run(run_all())
    if not return_exceptions:
        for r in results:
            if isinstance(r, BaseException):
                raise r
    return results

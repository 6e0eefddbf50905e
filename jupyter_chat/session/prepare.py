"""Preparing a request: the resolved ask, the thread's history, tools and images, built and
checked into a request (nothing is sent), and the request's key in records and stores."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..client.request import Request, build_request
from ..errors import ConfigError
from ..providers.config import CONFIG
from .logprobs import ask_logprobs, check_gives
from .resolve import Ask, resolve
from .state import SESSION

_BODY_NOT_PARAMS = ("model", "messages", "stream", "stream_options")


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
    schema: Any = None  # the Schema a structured answer must match (schema.py)
    wrapped: bool = False  # the schema rides in an object ({"value": ...}) on the wire
    repair: int = 1  # times an answer that does not match the schema is sent back
    earlier: list[dict[str, Any]] = field(default_factory=list)  # attempts that did not match
    budget: Any = None  # the run's own Budget (budget=), beside the notebook's (budget.py)


def prepare(
    prompt: str | list[dict],
    ask: Ask,
    *,
    stream: bool = False,
    tools: list | None = None,
    images: list | None = None,
    server_tools: list[str] | dict[str, bool] | None = None,
    key: str | None = None,
    fresh: bool = False,
    dry_run: bool = False,
    schema: Any = None,
    repair: int = 1,
) -> Prepared:
    """Resolve the ask and build the request; raises before anything is sent."""
    from ..structured.schema import as_schema

    r = resolve(ask)
    profile = CONFIG.profile(r.provider)
    params = dict(r.params)
    mode = SESSION.replay_state()[0]
    replaying = mode in ("replay", "auto")  # no key needed: missing is an error only if sent
    # Under auto, an answer already in the store needs no server that gives log-probabilities:
    # the server's settings are checked below, once the request's key is known.
    ask_logprobs(params, profile, sending=not replaying)
    schema = as_schema(schema)
    if schema is not None:
        _check_structured(params, tools, repair)
        if profile.structured != "instruction":
            params["response_format"] = schema.response_format(profile.structured)
    functions: dict[str, Any] = {}
    switches = profile.quirks.tool_params(profile, server_tools, tools)
    if switches is not None:
        params["tools"] = switches.pop("tools")
        for name, value in switches.items():
            params.setdefault(name, value)
    elif tools is not None:
        params["tools"] = _tool_definitions(tools, functions)
    new = _new_messages(prompt)
    image_info = []
    if images:
        new[-1], image_info = _with_images(new[-1], images, profile)
    messages = [{"role": "system", "content": r.system}] if r.system else []
    messages += ([] if fresh else SESSION.history(r.thread, key)) + new
    if schema is not None and profile.structured == "instruction":
        messages[-1] = _with_text(messages[-1], schema.instruction())
    need_key = not (dry_run or replaying)
    req = build_request(r.provider, r.model, messages, params, stream, need_key=need_key)
    if mode == "auto" and params.get("logprobs") and not in_store(req):
        check_gives(profile)  # it will be sent: refused now
    wrapped = schema is not None and profile.structured == "json_schema" and not schema.is_object
    return Prepared(
        req,
        new,
        r.thread,
        key,
        r.notes,
        fresh,
        functions,
        image_info,
        schema=schema,
        wrapped=wrapped,
        repair=repair,
    )


def _check_structured(params: dict[str, Any], tools: Any, repair: Any) -> None:
    if "response_format" in params:
        raise ConfigError("give schema= or a response_format parameter, not both")
    if tools:
        raise ConfigError(
            "schema= and tools= together are not supported",
            hint="Run the tools first, then ask for the structured answer in a second call.",
        )
    if isinstance(repair, bool) or not isinstance(repair, int) or not 0 <= repair <= 5:
        raise ConfigError(f"repair must be an integer from 0 to 5, got {repair!r}")


def _with_text(message: dict[str, Any], text: str) -> dict[str, Any]:
    """The message with ``text`` added as a last paragraph (or a last text part)."""
    content = message.get("content")
    if isinstance(content, list):
        return {**message, "content": [*content, {"type": "text", "text": text}]}
    return {**message, "content": f"{content}\n\n{text}" if content else text}


def _new_messages(prompt: Any) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
        return list(prompt)
    raise ConfigError("the prompt must be a string or a list of message dicts")


def _tool_definitions(tools: list, functions: dict[str, Any]) -> list[dict[str, Any]]:
    from .mcp import expand
    from .tools import schema

    defs = []
    for t in expand(tools):
        if hasattr(t, "run_call"):  # an MCP tool (mcp.py)
            if t.name in functions:
                raise ConfigError(
                    f"two tools are named {t.name!r}",
                    hint="Offer one of them (mcp:NAME/TOOL names one tool of a server).",
                )
            functions[t.name] = t
            defs.append(t.definition)
        elif isinstance(t, dict):
            defs.append(t)
        elif callable(t):
            d = schema(t)
            functions[d["function"]["name"]] = t
            defs.append(d)
        else:
            raise ConfigError(
                f"a tool must be a function or a tool definition, not {type(t).__name__}"
            )
    return defs


def _with_images(message: dict[str, Any], images: list, profile: Any) -> tuple[dict, list]:
    if not profile.vision:
        raise ConfigError(
            f"{profile.name} does not take images",
            hint=f"Use a vision model's provider, or set vision = true in "
            f"[providers.{profile.name}] if this deployment takes them.",
        )
    from .images import image_part

    parts, info = [], []
    for source in images:
        part, entry = image_part(source, data_urls_only=profile.data_url_images)
        parts.append(part)
        info.append(entry)
    text = message.get("content")
    return {**message, "content": [{"type": "text", "text": text or ""}, *parts]}, info


def sent_params(req: Request) -> dict[str, Any]:
    """Every parameter of the request body but the model, the messages and the transport."""
    return {k: v for k, v in req.body.items() if k not in _BODY_NOT_PARAMS}


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
    """The key of a request in records and replay stores (streaming or not is transport);
    worked out once per request (a built request is never changed)."""
    cached = req.__dict__.get("_hash")
    if cached is not None:
        return cached
    keyed = canonical_request(req)
    if req.__dict__.get("_draw"):
        keyed["draw"] = req.__dict__["_draw"]
    blob = json.dumps(keyed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    req.__dict__["_hash"] = key = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
    return key


def in_store(req: Request) -> bool:
    """Whether ``req`` would be answered from the replay store (nothing counted, nothing
    read)."""
    mode, store = SESSION.replay_state()
    return mode in ("replay", "auto") and request_hash(req) in store


def set_draw(req: Request, draw: int) -> None:
    """Mark ``req`` as draw ``draw`` of one unseeded request asked several times (samples
    without a seed): its key in records and stores carries the draw's number, so each draw is
    recorded and replayed apart (draw 0 keeps the request's own key). Nothing sent changes."""
    req.__dict__.pop("_hash", None)
    req.__dict__["_draw"] = draw

"""Python functions as tools: ``@jupyter_chat.tool`` (or a plain function) becomes an OpenAI
function tool whose JSON schema comes from the signature, the type hints and the docstring
(pydantic builds it); ``run_call`` runs one call the model asked for (loop.py runs the loop)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from .._secrets import clip
from ..errors import ConfigError


def tool(
    fn: Callable | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """Mark a function as a tool (optional: plain functions work too); ``name`` and
    ``description`` override what the function says of itself."""

    def mark(f: Callable) -> Callable:
        f.__jupyter_chat_tool__ = {
            "name": name or f.__name__,  # type: ignore[attr-defined]
            "description": description,
        }
        return f

    return mark(fn) if fn is not None else mark


def _doc_parts(fn: Callable) -> tuple[str, dict[str, str]]:
    """The docstring's summary, and parameter descriptions (numpy or Google style)."""
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    names = set(inspect.signature(fn).parameters)
    params: dict[str, str] = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s*(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", line)
        if not m or m.group(1) not in names or m.group(1) in params:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        deeper = nxt.strip() and len(nxt) - len(nxt.lstrip()) > len(line) - len(line.lstrip())
        if " : " in line:  # numpy: "name : type", the description indented below
            params[m.group(1)] = nxt.strip() if deeper else ""
        else:  # Google: "name (type): description"
            params[m.group(1)] = m.group(3).strip()
    return summary, params


def schema(fn: Callable) -> dict[str, Any]:
    """The OpenAI function-tool definition of ``fn``."""
    from pydantic import ConfigDict, create_model

    meta = getattr(fn, "__jupyter_chat_tool__", {})
    summary, descriptions = _doc_parts(fn)
    fields: dict[str, Any] = {}
    for pname, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ConfigError(f"tool {fn.__name__}: *args and **kwargs cannot be described")
        from pydantic import Field

        ann = p.annotation if p.annotation is not inspect.Parameter.empty else Any
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[pname] = (ann, Field(default, description=descriptions.get(pname)))
    try:
        model = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
        params = model.model_json_schema()
    except Exception as exc:
        raise ConfigError(f"tool {fn.__name__}: cannot describe its parameters ({exc})") from None
    params.pop("title", None)
    for prop in params.get("properties", {}).values():
        prop.pop("title", None)
    return {
        "type": "function",
        "function": {
            "name": meta.get("name") or fn.__name__,
            "description": meta.get("description") or summary or fn.__name__,
            "parameters": params,
        },
    }


def run_call(
    call: dict[str, Any], functions: dict[str, Callable], asked_by: str | None = None
) -> tuple[str, bool]:
    """Run one tool call; returns (result text for the model, ok). A function's errors go
    back as text; an MCP tool's (mcp.py: ``asked_by`` keys its recording) fail the turn."""
    fn_name = call.get("function", {}).get("name", "")
    fn = functions.get(fn_name)
    if fn is None:
        return f"error: there is no tool named {fn_name!r}", False
    raw = call.get("function", {}).get("arguments") or "{}"
    try:
        args = json.loads(raw)
        if not isinstance(args, dict):
            raise ValueError("the arguments are not a JSON object")
    except ValueError as exc:
        return f"error: invalid JSON arguments ({exc}): {clip(raw, 200)}", False
    if hasattr(fn, "run_call"):  # an MCP tool: a server that fails is one line in the cell
        return fn.run_call(args, call.get("id", ""), asked_by), True
    try:
        result = fn(**args)
    except Exception as exc:  # the model sees the error and may try again
        return f"error: {type(exc).__name__}: {exc}", False
    if isinstance(result, str):
        return result, True
    try:
        return json.dumps(result, ensure_ascii=False, default=str), True
    except (TypeError, ValueError):
        return str(result), True

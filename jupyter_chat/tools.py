"""Python functions as tools, and images as message parts.

``@jupyter_chat.tool`` (or a plain function) becomes an OpenAI function tool whose JSON schema
comes from the signature, the type hints and the docstring (pydantic builds it). The tool loop
runs the functions the model asks for in the kernel and sends the results back as ``role:
tool`` messages until the model answers or the step limit is reached.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._secrets import clip
from .errors import ConfigError

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Adaptive's documented limit; a sane one for the others


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


def run_call(call: dict[str, Any], functions: dict[str, Callable]) -> tuple[str, bool]:
    """Run one tool call; returns (result text for the model, ok). Errors go back as text."""
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


# -- images ---------------------------------------------------------------------------------
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]


def _sniff(data: bytes) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ConfigError("unsupported image format", hint="Use PNG, JPEG, GIF or WebP.")


def image_part(source: Any, *, data_urls_only: bool = False) -> tuple[dict[str, Any], dict]:
    """An ``image_url`` content part for a path, URL, bytes, PIL image or matplotlib figure,
    and its record entry (hash, media type, size: never the bytes)."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        if not data_urls_only:
            info = {"url": source, "sha256": hashlib.sha256(source.encode()).hexdigest()}
            return {"type": "image_url", "image_url": {"url": source}}, info
        data = _fetch(source)
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_image_file(Path(source).expanduser())
    elif hasattr(source, "savefig"):  # a matplotlib figure
        buf = io.BytesIO()
        source.savefig(buf, format="png", bbox_inches="tight")
        data = buf.getvalue()
    elif hasattr(source, "save") and hasattr(source, "mode"):  # a PIL image
        buf = io.BytesIO()
        source.save(buf, format="PNG")
        data = buf.getvalue()
    else:
        raise ConfigError(
            f"cannot use a {type(source).__name__} as an image",
            hint="Give a path, an http(s) URL, bytes, a PIL image or a figure.",
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise ConfigError(
            f"the image is {len(data) / 1e6:.1f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB",
            hint="Resize or compress it.",
        )
    mime = _sniff(data)
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    info = {"sha256": hashlib.sha256(data).hexdigest(), "media_type": mime, "bytes": len(data)}
    return {"type": "image_url", "image_url": {"url": url}}, info


def _read_image_file(path: Path) -> bytes:
    """A regular file of at most ``MAX_IMAGE_BYTES``, checked before it is read (a device such
    as /dev/zero never ends)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"the image {path} is not a regular file")
        if st.st_size > MAX_IMAGE_BYTES:
            raise ConfigError(
                f"the image is {st.st_size / 1e6:.1f} MB; the limit is "
                f"{MAX_IMAGE_BYTES / 1e6:.0f} MB",
                hint="Resize or compress it.",
            )
        with path.open("rb") as f:
            return f.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the image {path}: {exc.strerror or exc}") from None


def _fetch(url: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=20, follow_redirects=True) as resp:
            resp.raise_for_status()
            data = bytearray()
            for chunk in resp.iter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    raise ConfigError(f"the image at {url} is over {MAX_IMAGE_BYTES / 1e6:.0f} MB")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot fetch the image {url} ({type(exc).__name__})",
            hint="This provider takes images only as data; download it and give the file.",
        ) from None

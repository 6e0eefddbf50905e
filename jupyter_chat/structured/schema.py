"""Structured answers: a schema the user hands in (a pydantic model, a JSON-schema dict, or any
type pydantic's ``TypeAdapter`` takes), how it is asked for, and how an answer is read back:
the JSON found in the text (bare or in a fenced block), validated."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..errors import ChatError, ConfigError
from .jsonschema import check_schema, errors

WRAP_KEY = "value"  # json_schema mode wants an object at the top: other schemas ride in one
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_SCAN_LIMIT = 64  # opening brackets tried when the JSON is embedded in prose


class SchemaError(ChatError):
    """The answer did not match the schema, after every repair; ``raw`` is the last answer,
    ``problems`` what is wrong with it."""

    hint_default = "Simplify the schema, raise repair=, or use a model that follows it."

    def __init__(self, message: str, *, raw: str = "", problems: list[str] | None = None, **kw):
        super().__init__(message, **kw)
        self.raw = raw
        self.problems = problems or []


class Schema:
    """What a structured answer must be. ``parse(text)`` gives ``(value, errors)``."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self._adapter: Any = None
        if isinstance(spec, dict):
            check_schema(spec)
            self.json: dict[str, Any] = spec
            name = spec.get("title")
        else:
            from pydantic import TypeAdapter
            from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError

            try:
                self._adapter = TypeAdapter(spec)
                self.json = self._adapter.json_schema()
            except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
                raise ConfigError(
                    f"schema={_name(spec)} is not a schema: {str(exc).splitlines()[0]}",
                    hint="Give a pydantic model, a JSON-schema dict, or a type such as "
                    "list[str] or a TypedDict.",
                ) from None
            name = getattr(spec, "__name__", None) or self.json.get("title")
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", str(name or "answer"))[:64] or "answer"
        blob = json.dumps(self.json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.hash = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
        self.is_object = self.json.get("type") == "object"

    def response_format(self, shape: str) -> dict[str, Any]:
        """The ``response_format`` parameter for a provider that takes one (``shape`` is the
        profile's ``structured``: ``json_schema`` or ``json_object``)."""
        if shape == "json_object":  # llama.cpp servers: decoding constrained by a grammar
            return {"type": "json_object", "schema": self.json}
        wire = self.json if self.is_object else _wrapped(self.json)
        strict = _strict_form(wire)
        spec: dict[str, Any] = {"name": self.name, "schema": strict or wire}
        if strict is not None:
            spec["strict"] = True
        return {"type": "json_schema", "json_schema": spec}

    def instruction(self) -> str:
        """For a provider without ``response_format``: the schema, asked for in words."""
        schema = json.dumps(self.json, ensure_ascii=False, indent=1)
        return (
            "Reply with JSON only: one value that matches this JSON Schema, with no other "
            f"text.\n\n```json\n{schema}\n```"
        )

    def repair_message(self, problems: list[str]) -> str:
        listed = "\n".join(f"- {p}" for p in problems[:10])
        return (
            f"Your reply did not match the JSON Schema:\n{listed}\n\n"
            "Reply again with only the corrected JSON."
        )

    def parse(self, text: str, wrapped: bool = False) -> tuple[Any, list[str]]:
        """The validated value of an answer and ``[]``, or ``None`` and what is wrong."""
        found = extract_json(text)
        if found is None:
            return None, ["the reply holds no JSON value"]
        value = json.loads(found)
        if wrapped:
            if not isinstance(value, dict) or WRAP_KEY not in value:
                return None, [f"expected an object with the field {WRAP_KEY!r}"]
            value = value[WRAP_KEY]
        if self._adapter is None:
            problems = errors(value, self.json)
            return (None, problems) if problems else (value, [])
        from pydantic import ValidationError

        try:
            return self._adapter.validate_json(json.dumps(value)), []
        except ValidationError as exc:
            return None, [
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors()
            ]

    def plain(self, value: Any) -> Any:
        """The parsed value as JSON data (a pydantic model dumped)."""
        if self._adapter is None:
            return value
        return self._adapter.dump_python(value, mode="json")


def extract_json(text: str) -> str | None:
    """The JSON in an answer: all of it, else the first fenced block that parses, else the
    first ``{...}`` or ``[...]`` in the prose that does."""
    s = text.strip()
    if _parses(s):
        return s
    for m in _FENCE.finditer(text):
        body = m.group(2).strip()
        if _parses(body):
            return body
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(s) if ch in "{["][:_SCAN_LIMIT]
    for i in starts:
        try:
            _, end = decoder.raw_decode(s, i)
        except (ValueError, RecursionError):
            continue
        return s[i:end]
    return None


def _parses(s: str) -> bool:
    if not s or s[0] not in '{["-0123456789tfn':
        return False
    try:
        json.loads(s)
    except (ValueError, RecursionError):
        return False
    return True


def _wrapped(schema: dict[str, Any]) -> dict[str, Any]:
    inner = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
    out: dict[str, Any] = {
        "type": "object",
        "properties": {WRAP_KEY: inner},
        "required": [WRAP_KEY],
        "additionalProperties": False,
    }
    for key in ("$defs", "definitions"):
        if key in schema:
            out[key] = schema[key]
    return out


def _strict_form(schema: Any) -> dict[str, Any] | None:
    """The schema with ``additionalProperties: false`` on every object, when every object's
    properties are all required (what OpenAI's strict mode demands); else None."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        if node.get("type") == "object" or "properties" in node:
            props = node.get("properties", {})
            if set(node.get("required", ())) != set(props) or node.get(
                "additionalProperties", False
            ) not in (False, None):
                raise ValueError("not strict")
            out["additionalProperties"] = False
        return out

    try:
        return walk(schema)
    except ValueError:
        return None


def _name(spec: Any) -> str:
    return getattr(spec, "__name__", None) or type(spec).__name__


_CACHE: dict[Any, Schema] = {}  # building a TypeAdapter costs ~0.5 ms: once per schema
_CACHE_SIZE = 64


def as_schema(spec: Any) -> Schema | None:
    """``schema=`` as given (None, a Schema, or anything ``Schema`` takes); the same schema
    given again (a model, a type, an equal dict) is built once."""
    if spec is None or isinstance(spec, Schema):
        return spec
    try:
        key: Any = ("dict", json.dumps(spec, sort_keys=True)) if isinstance(spec, dict) else spec
        hash(key)
    except (TypeError, ValueError):
        return Schema(spec)
    schema = _CACHE.get(key)
    if schema is None:
        schema = Schema(spec)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = schema
    return schema

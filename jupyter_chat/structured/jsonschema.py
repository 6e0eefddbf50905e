"""Validating a value against a JSON-schema dict: the keywords structured answers use.

Checked: ``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (false or a schema), ``items``, ``prefixItems``, ``minItems``,
``maxItems``, ``uniqueItems``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``, ``anyOf``, ``oneOf``,
``allOf``, ``not`` and local ``$ref`` (``#/$defs/...``, ``#/definitions/...``). Annotations
(``title``, ``description``, ``default``, ``format``, ...) are not checked, as the JSON Schema
specification has it. Any other keyword is refused when the schema is given, never ignored.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import ConfigError

CHECKED = frozenset(
    [
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "$ref",
        "$defs",
        "definitions",
    ]
)
ANNOTATIONS = frozenset(
    [
        "title",
        "description",
        "default",
        "examples",
        "format",
        "$schema",
        "$id",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "contentMediaType",
        "contentEncoding",
    ]
)
_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def check_schema(schema: Any, where: str = "schema") -> None:
    """Refuse a schema with a keyword this validator would not check."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise ConfigError(f"{where}: a JSON schema is an object, not {type(schema).__name__}")
    unknown = sorted(set(schema) - CHECKED - ANNOTATIONS)
    if unknown:
        raise ConfigError(
            f"{where}: the JSON-schema keyword {unknown[0]!r} is not supported",
            hint="Supported: " + ", ".join(sorted(CHECKED)) + ".",
        )
    types = schema.get("type", [])
    for t in [types] if isinstance(types, str) else types:
        if t not in _TYPES:
            raise ConfigError(f"{where}: unknown type {t!r}")
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            check_schema(sub, f"{where}.{key}.{name}")
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], f"{where}.{key}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for n, sub in enumerate(schema.get(key) or ()):
            check_schema(sub, f"{where}.{key}[{n}]")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except (re.error, TypeError) as exc:
            raise ConfigError(f"{where}: pattern {schema['pattern']!r}: {exc}") from None


def errors(value: Any, schema: Any, root: Any = None, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``"path: why"`` lines (empty when valid)."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return [f"{path or '(root)'}: no value is allowed here"]
    if "$ref" in schema:
        return errors(value, _ref(root, schema["$ref"]), root, path)
    at = path or "(root)"
    if "type" in schema:
        types = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not any(_is(value, t) for t in types):
            return [f"{at}: expected {' or '.join(types)}, got {_kind(value)}"]
    out: list[str] = []
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        out.append(f"{at}: must be one of {', '.join(map(_short, schema['enum']))}")
    if "const" in schema and not _same(value, schema["const"]):
        out.append(f"{at}: must be {_short(schema['const'])}")
    if isinstance(value, dict):
        out += _object(value, schema, root, path)
    elif isinstance(value, list):
        out += _array(value, schema, root, path)
    elif isinstance(value, str):
        out += _string(value, schema, at)
    elif _is(value, "number"):
        out += _number(value, schema, at)
    for sub in schema.get("allOf", ()):
        out += errors(value, sub, root, path)
    if "anyOf" in schema and not any(not errors(value, s, root, path) for s in schema["anyOf"]):
        out.append(f"{at}: matches none of the allowed forms (anyOf)")
    if "oneOf" in schema:
        matched = sum(1 for s in schema["oneOf"] if not errors(value, s, root, path))
        if matched != 1:
            out.append(f"{at}: must match exactly one form (oneOf), matches {matched}")
    if "not" in schema and not errors(value, schema["not"], root, path):
        out.append(f"{at}: matches a form that is not allowed (not)")
    return out


def _object(value: dict, schema: dict, root: Any, path: str) -> list[str]:
    out = []
    props = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            out.append(f"{_join(path, name)}: required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in props:
            out += errors(item, props[name], root, _join(path, name))
        elif extra is False:
            out.append(f"{_join(path, name)}: not allowed (no such field)")
        elif isinstance(extra, dict):
            out += errors(item, extra, root, _join(path, name))
    return out


def _array(value: list, schema: dict, root: Any, path: str) -> list[str]:
    out, at = [], path or "(root)"
    prefix = schema.get("prefixItems", [])
    for n, item in enumerate(value):
        sub = prefix[n] if n < len(prefix) else schema.get("items", True)
        out += errors(item, sub, root, f"{path}[{n}]")
    if len(value) < schema.get("minItems", 0):
        out.append(f"{at}: at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{at}: at most {schema['maxItems']} items")
    if schema.get("uniqueItems"):
        seen: list = []
        for item in value:
            if any(_same(item, s) for s in seen):
                out.append(f"{at}: items must be unique")
                break
            seen.append(item)
    return out


def _string(value: str, schema: dict, at: str) -> list[str]:
    out = []
    if len(value) < schema.get("minLength", 0):
        out.append(f"{at}: at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(f"{at}: at most {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{at}: must match {schema['pattern']!r}")
    return out


def _number(value: float, schema: dict, at: str) -> list[str]:
    out = []
    for key, ok in (
        ("minimum", lambda v, b: v >= b),
        ("maximum", lambda v, b: v <= b),
        ("exclusiveMinimum", lambda v, b: v > b),
        ("exclusiveMaximum", lambda v, b: v < b),
    ):
        if key in schema and not ok(value, schema[key]):
            out.append(f"{at}: {key} is {schema[key]}, got {value}")
    step = schema.get("multipleOf")
    if step and not math.isclose(value / step, round(value / step), abs_tol=1e-9):
        out.append(f"{at}: must be a multiple of {step}")
    return out


def _ref(root: Any, ref: str) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise ConfigError(f"$ref {ref!r}: only references inside the schema (#/...) are supported")
    node = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"$ref {ref!r} points nowhere in the schema")
        node = node[part]
    return node


def _is(value: Any, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if t == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float))
    return isinstance(value, {"string": str, "array": list, "object": dict}[t])


def _kind(value: Any) -> str:
    for t in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, t):
            return t
    return type(value).__name__


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _short(v: Any) -> str:
    import json

    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 40 else s[:37] + "..."

"""Tool-call fragments of a stream merged into calls, by index (providers.md 5.3)."""

from __future__ import annotations

import json
from typing import Any


def merge_tool_calls(st: Any, fragments: list, out: list, index: int, malformed: Any) -> None:
    """providers.md 5.3: fragments by index; a new id at a used index opens a new slot.
    ``st`` is the choice's state: its ``tools`` (the calls) and ``by_index`` (index -> call)."""
    for pos, frag in enumerate(fragments):
        key = frag.get("index", pos)
        fid = frag.get("id")
        fn = frag.get("function")
        if not isinstance(fid, (str, type(None))) or not isinstance(fn, (dict, type(None))):
            raise malformed("a tool call's id or function has the wrong type")
        if fn and not isinstance(fn.get("name") or "", str):
            raise malformed("a tool call's name is not a string")
        slot = st.by_index.get(key)
        if slot is None or (fid and slot["id"] and fid != slot["id"]):
            slot = {
                "id": fid or "",
                "type": frag.get("type") or "function",
                "function": {"name": "", "arguments": ""},
            }
            st.tools.append(slot)
            st.by_index[key] = slot
        elif fid and not slot["id"]:
            slot["id"] = fid
        name = args = ""
        if fn:
            name = fn.get("name") or ""
            if name and name != slot["function"]["name"]:
                slot["function"]["name"] += name
            else:
                name = ""
            args = fn.get("arguments") or ""
            if args:
                if not isinstance(args, str):
                    args = json.dumps(args)
                slot["function"]["arguments"] += args
        out.append(("tool_call", index, (slot, name, args)))

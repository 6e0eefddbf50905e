"""The ``--format`` forms of an answer: JSON pretty-printed, the code in it."""

from __future__ import annotations

import json


def pretty_json(answer: str) -> str:
    """Parse an answer as JSON (a surrounding code fence is allowed) and pretty-print it."""
    text = answer.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def code_of(answer: str) -> str:
    """The code in an answer: its fenced blocks joined, else the whole answer."""
    blocks, inside, current = [], False, []
    for line in answer.splitlines():
        if line.lstrip().startswith("```"):
            if inside:
                blocks.append("\n".join(current))
                current = []
            inside = not inside
        elif inside:
            current.append(line)
    if inside and current:
        blocks.append("\n".join(current))
    return "\n\n".join(blocks) if blocks else answer.strip()

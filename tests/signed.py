"""The real signed EigenCloud response (notebooks/eigencloud-signed-example.json, the one
copy), served by the loopback server, and the output a %%chat cell saves for a turn."""

from __future__ import annotations

import json
from pathlib import Path

from dialect_server import Reply

FIXTURE = json.loads(
    (
        Path(__file__).resolve().parents[1] / "notebooks" / "eigencloud-signed-example.json"
    ).read_text(encoding="utf-8")
)


def fixture_reply(content_edit=None):
    body = json.loads(json.dumps(FIXTURE["response"]))
    body.update(id="chatcmpl-eigenai-1", created=1, usage={"total_tokens": 9})
    if content_edit:
        msg = body["choices"][0]["message"]
        msg["content"] = content_edit(msg["content"])
    body["choices"][0].setdefault("finish_reason", "stop")
    return Reply(body=body)


def saved_output(turn) -> dict:
    """The output a %%chat cell saves for ``turn``."""
    from jupyter_chat.display.bundle import bundle

    data, meta = bundle(
        answer=turn.text,
        reasoning=turn.reasoning,
        tool_calls=turn.tool_calls,
        record=turn.record,
        messages=turn.messages[-1:],
        status="complete",
        signed=turn.signed,
    )
    return {"output_type": "display_data", "metadata": meta, "data": data}


def write_nb(path: Path, *outputs: dict) -> Path:
    cells = [
        {"cell_type": "code", "source": "", "metadata": {}, "outputs": [o], "execution_count": 1}
        for o in outputs
    ]
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path

"""``%%chat --schema NAME`` and ``%chat usage`` in a real kernel: the parsed value shown as a
table with the raw answer folded, a repair shown as two displays, tokens and cost per thread."""

from __future__ import annotations

import re

import pytest
from dialect_server import completion

from jupyter_chat.display.bundle import MIME

SETUP = """
from typing import Literal
from pydantic import BaseModel
class Review(BaseModel):
    label: Literal["positive", "negative"]
    confidence: float
"""


@pytest.fixture(autouse=True)
def fresh(k):
    k.run("SESSION.__init__(); jupyter_chat.set_replay('off')\n" + SETUP)


def test_schema_shows_the_parsed_value_and_keeps_it(server, k):
    server.script(completion('{"label": "positive", "confidence": 0.75}'))
    ran = k.run("%%chat -m openai:gpt-4o-mini --schema Review -o r\nGreat film!")
    assert ran.reply["status"] == "ok", ran.error
    data = ran.final["data"]
    assert data[MIME]["parsed"] == {
        "schema": "Review",
        "value": {"label": "positive", "confidence": 0.75},
    }
    assert "Review:" in data["text/plain"] and "label       positive" in data["text/plain"]
    md = data["text/markdown"]
    assert "<td>label</td><td>positive</td>" in md
    assert "<details><summary>Raw answer</summary>" in md
    assert ran.final["metadata"]["jupyter_chat"]["schema"]["name"] == "Review"
    out = k.run("print(type(r.parsed).__name__, r.parsed.confidence)")
    assert out.stdout.strip() == "Review 0.75"


def test_a_repair_shows_both_answers_then_a_clear_error(server, k):
    server.script(completion('{"label": "great"}'), completion("still wrong"))
    ran = k.run("%%chat -m openai:gpt-4o-mini --schema Review\nGreat film!")
    assert ran.reply["status"] == "error"
    finals = [m["content"] for m in ran.displays]
    first = [d for d in finals if "great" in d["data"]["text/plain"]][-1]
    assert "does not match Review" in first["data"]["text/plain"]
    assert "sent back to repair" in first["data"]["text/plain"]
    assert ran.error["ename"] == "SchemaError"
    assert "after 1 repair(s)" in ran.error["evalue"]
    assert len(server.requests) == 2
    none = k.run("%%chat -m openai:gpt-4o-mini --schema Nope\nx")
    assert none.reply["status"] == "error" and "'Nope' is not defined" in none.stderr


def test_usage_per_thread_sent_and_replayed_apart(server, k, tmp_path):
    k.run("jupyter_chat.set_price('local:*', input=1000, output=1000)")
    k.run(f"jupyter_chat.set_replay('auto', {str(tmp_path / 'u.jsonl')!r})")
    k.run("%%chat -m local -t a\none")
    k.run("%%chat -m local -t a\ntwo")
    k.run("%%chat -m openai:m -t b\nthree")  # no price: cost unknown
    k.run("SESSION.clear('a')")
    k.run("%%chat -m local -t a\none")  # the same cell again: replayed
    ran = k.run("%chat usage")
    # a Markdown table (| a | 2 | ...), its punctuation escaped
    text = re.sub(r"\\(.)", r"\1", ran.final["data"]["text/markdown"])
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()[2:]
    }
    assert rows["a"] == ["2", "16", "$0.016", "1", "8", "$0.0080"]
    assert rows["b"] == ["1", "8", "cost unknown", "0", "0", ""]
    assert rows["notebook"] == ["3", "24", "$0.016 + 1 unpriced", "1", "8", "$0.0080"]
    one = k.run("%chat usage b").final["data"]["text/markdown"]
    assert "| b |" in one and "notebook" not in one
    footer = k.run("%%chat -m local -t a\nfour").final["data"]["text/plain"]
    assert "· $0.0080 ·" in footer

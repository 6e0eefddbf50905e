"""Every Python and ``%%chat`` / ``%chat`` example in the README runs, in order, in one real
kernel against the loopback dialect server (every provider's base URL points there). A block
that cannot run here is marked in the README with ``<!-- not run: REASON -->`` just above it."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(?:<!--\s*not run:(?P<why>.*?)-->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
# what the examples take for granted: a DataFrame and some sentences in the notebook
PRELUDE = (
    "class _Frame:\n    def describe(self):\n        return 'count 3, mean 2.0'\n"
    "df = _Frame()\nsentences = ['The cat sat.', 'It rained.']"
)


def examples() -> list[str]:
    found = []
    for m in BLOCK.finditer(README.read_text(encoding="utf-8")):
        body, lang = m.group("body"), m.group("lang")
        runnable = lang == "python" or (lang == "" and body.lstrip().startswith("%"))
        if runnable and not m.group("why"):
            found.append(body)
    return found


def test_the_readme_has_examples_and_every_one_runs(server, kernels):
    blocks = examples()
    assert len(blocks) >= 8
    k = kernels(PRELUDE)
    for block in blocks:
        ran = k.run(block, timeout=120)
        assert ran.reply["status"] == "ok", (block[:200], ran.error, ran.stderr[-500:])
    sent = [json.dumps(r.body) for r in server.requests]
    assert any("count 3, mean 2.0" in b for b in sent)  # {df.describe()} was filled in
    # the batch example: a frame labelled with a schema through llama.cpp's json_object shape,
    # then the same batch again under replay auto, all three replayed and nothing sent
    shaped = [r.body for r in server.requests if "Label this review" in json.dumps(r.body)]
    assert len(shaped) == 3  # sent once; the second map replayed every row
    assert all(b["response_format"]["type"] == "json_object" for b in shaped)
    check = k.run("print(batch.replayed, list(frame.index), frame['stars'].tolist(), turn.parsed)")
    assert check.stdout.split()[:4] == ["3", "['r1',", "'r2',", "'r3']"], check.stdout
    assert "sentiment='positive'" in check.stdout

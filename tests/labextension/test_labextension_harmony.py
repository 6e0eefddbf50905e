"""The extension's splitter (labextension/src/harmony.ts, run in Node) shows exactly what the
kernel's does, so the browser's "verified" compares the same text."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from harmony_cases import CASES
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.stream import split as derive

LIB = Path(__file__).resolve().parents[2] / "labextension" / "lib" / "harmony.js"
PIECES = [
    "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>",
    "<|call|>", "<think>", "</think>", "assistant", "analysis", "final", "commentary",
    " to=functions.f", " to=browser.open", "json", "<|", "<", "|>", " ", "\n", "\u3000", "x",
    "Hello", "\x1c", "\ufeff", "é",
]  # fmt: skip


def node_derive(texts: list[str]) -> list[dict]:
    assert LIB.exists(), f"{LIB} is missing: build the extension (make test does)"
    node = shutil.which("node")
    assert node, "Node.js is needed to build and test the extension"
    script = (
        f"import {{ derive }} from {json.dumps(LIB.as_uri())};"
        "let s = ''; process.stdin.on('data', d => s += d);"
        "process.stdin.on('end', () => process.stdout.write("
        "JSON.stringify(JSON.parse(s).map(derive))));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_spec_cases_split_alike():
    texts = [case[0] for case in CASES.values()]
    got = node_derive(texts)
    assert [(g["answer"], g["reasoning"]) for g in got] == [derive(t) for t in texts]
    assert [(c[1], c[2]) for c in CASES.values()] == [derive(t) for t in texts]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), min_size=5, max_size=5)
)
def test_random_harmony_text_splits_alike(texts):
    got = node_derive(texts)
    assert [(g["answer"], g["reasoning"]) for g in got] == [derive(t) for t in texts]

"""The extension's word diff (labextension/src/worddiff.ts, run in Node) takes the same tokens
and lays the kernel's diff on a rendering the same way as the kernel's static HTML does
(jupyter_chat/display/worddiff.py): the same tokens of any text, the same marked runs, the same
note on a column's label."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.display import worddiff

LIB = Path(__file__).resolve().parents[2] / "labextension" / "lib"
PIECES = [
    "the", "cat", " ", "\n", "\t", "\u00a0", "\u3000", "\u2028", "_", "x_1", "3.14", "-", ",",
    "**", "`", "$", "\\", "é", "é", "東京", "です", "한국어", "😀", "«", "»", "—", "…", "！",
    "\ufeff", "\u202e", "\u200b", "ǅ", "١٢", "&amp;", "<b>",
]  # fmt: skip


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Path:
    """worddiff.js and what it imports, as Node can load them."""
    assert (LIB / "worddiff.js").exists(), f"{LIB} is missing: build the extension"
    out = tmp_path_factory.mktemp("lib")
    for name in ("worddiff", "renderings", "markup", "parsed"):
        text = (LIB / f"{name}.js").read_text()
        (out / f"{name}.js").write_text(re.sub(r"from '\./(\w+)'", r"from './\1.js'", text))
    (out / "package.json").write_text('{"type": "module"}')
    return out


def node(lib: Path, call: str, args: list) -> list:
    exe = shutil.which("node")
    assert exe, "Node.js is needed to build and test the extension"
    script = (
        f"import * as m from {json.dumps((lib / 'worddiff.js').as_uri())};"
        "let input = ''; process.stdin.on('data', d => input += d);"
        "process.stdin.on('end', () => process.stdout.write(JSON.stringify("
        f"JSON.parse(input).map(a => ({call})(...a)))));"
    )
    out = subprocess.run(
        [exe, "--input-type=module", "-e", script],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def runs_in_python(source: str, diff: dict, texts: list[str]) -> list[list[str]]:
    """The marked runs of each rendered text node, in order, as the kernel lays them (as
    text: JavaScript counts UTF-16 units where Python counts characters)."""
    aligner = worddiff.Aligner(worddiff.tokens(source), worddiff.flags(diff))
    return [[t[s:e] for s, e in worddiff.marked_runs(t, aligner)] for t in texts]


RUNS_JS = """(source, diff, texts) => { const a = new m.Aligner(m.tokens(source), m.flags(diff));
    return texts.map(t => m.markedRuns(t, a).map(([s, e]) => t.slice(s, e))); }"""

text = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=30, deadline=None)
@given(st.lists(text, min_size=4, max_size=4))
def test_any_text_has_the_same_tokens(lib, texts):
    assert node(lib, "m.tokens", [[t] for t in texts]) == [worddiff.tokens(t) for t in texts]


@settings(max_examples=30, deadline=None)
@given(text, text, st.lists(text, max_size=4))
def test_the_kernels_diff_is_laid_on_a_rendering_alike(lib, first, other, rendered):
    diff = worddiff.column_diff(first, other)
    shown = [*rendered, other]  # text nodes the source does not have, then the answer itself
    got = node(lib, RUNS_JS, [[other, diff, shown]])[0]
    assert got == runs_in_python(other, diff, shown)


def test_notes_agree(lib):
    cases = [None, {"same": True, "tokens": 3}, {"same": False, "words": 0}]
    cases += [{"same": False, "words": 1}, {"same": False, "words": 12}]
    assert node(lib, "m.diffNote", [[c] for c in cases]) == [worddiff.diff_note(c) for c in cases]

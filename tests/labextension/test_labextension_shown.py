"""The extension's rule (labextension/src/shown.ts, run in Node) compares text and JSON exactly
as the kernel's (jupyter_chat/display/shown.py and renderings.py): the same tokens, the same
verdict on the same pair, the same JSON found in an answer, the same text/plain expected of a
turn, the same markup allowed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_chat.display import renderings, shown

LIB = Path(__file__).resolve().parents[2] / "labextension" / "lib"
PIECES = [
    "0", "1.0", "-5", "12.959", "1e3", "-", ".", ",", "{", "}", "[", "]", '"', ":", " ", "\n",
    "\t", "\u00a0", "\u2028", "\x1c", "\x85", "\ufeff", "\u202e", "é", "→", "😀", "a", "true",
    "null", "```", "```json\n", "~~~", "value", "&amp;",
]  # fmt: skip


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> Path:
    """shown.js and what it imports, as Node can load them (the build leaves imports without
    their .js)."""
    assert (LIB / "shown.js").exists(), f"{LIB} is missing: build the extension (make test does)"
    out = tmp_path_factory.mktemp("lib")
    for name in ("shown", "renderings", "markup", "harmony", "parsed"):
        text = (LIB / f"{name}.js").read_text()
        (out / f"{name}.js").write_text(re.sub(r"from '\./(\w+)'", r"from './\1.js'", text))
    (out / "package.json").write_text('{"type": "module"}')
    return out


def node(lib: Path, call: str, args: list) -> list:
    exe = shutil.which("node")
    assert exe, "Node.js is needed to build and test the extension"
    script = (
        f"import * as s from {json.dumps((lib / 'shown.js').as_uri())};"
        f"import * as r from {json.dumps((lib / 'renderings.js').as_uri())};"
        f"import * as k from {json.dumps((lib / 'markup.js').as_uri())};"
        "const m = {...s, ...r, ...k};"
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


texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(texts, texts), min_size=8, max_size=8))
def test_tokens_and_same_text_agree(lib, pairs):
    got = node(lib, "(a, b) => [m.tokens(a), m.sameText(a, b), m.sameText(a, a)]", pairs)
    assert got == [[renderings.tokens(a), renderings.same_text(a, b), True] for a, b in pairs]


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=8, max_size=8))
def test_the_json_an_answer_holds_agrees(lib, answers):
    got = node(lib, "(a) => m.jsonCandidates(a)", [[a] for a in answers])
    for answer, js in zip(answers, got):
        py = shown.json_candidates(answer)
        assert len(js) == len(py) and all(renderings.same_json(a, b) for a, b in zip(js, py)), (
            answer
        )


def test_json_values_compare_alike(lib):
    pairs = [
        ({"a": [1, 2.0]}, {"a": [1.0, 2]}),
        (True, 1),
        (None, 0),
        ("1", 1),
        ({"a": 1}, {"a": 1, "b": 2}),
        ([], {}),
        ({"b": 1, "a": 2}, {"a": 2, "b": 1}),
    ]
    got = node(lib, "(a, b) => m.sameJson(a, b)", [list(p) for p in pairs])
    assert got == [renderings.same_json(a, b) for a, b in pairs]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=260), st.text(max_size=30)), min_size=6, max_size=6))
def test_the_plain_text_expected_agrees(lib, turns):
    got = node(lib, "(a, r) => m.plainExpected(a, r)", [list(t) for t in turns])
    assert got == [renderings.plain_expected(a, r) for a, r in turns]


def test_the_markup_allowed_is_the_kernel_sanitizers(lib):
    """The tags and attributes the browser lets through in an answer's section are the ones
    the kernel's renderer can make, and both judge the same fragments alike."""
    from jupyter_chat.display import sanitize

    [[tags, attributes]] = node(lib, "() => [m.SECTION_TAGS, m.SECTION_ATTRIBUTES]", [[]])
    assert set(tags) == renderings.SECTION_TAGS == set(sanitize._TAGS)
    assert {k: set(v) for k, v in attributes.items()} == renderings.SECTION_ATTRIBUTES
    fragments = [
        "<p>a</p>",
        "<p hidden>a</p>",
        '<p style="display:none">a</p>',
        '<span class="k">x</span>',
        '<span class="k nf">x</span>',
        '<a href="https://x.org" rel="noopener noreferrer nofollow" target="_blank">x</a>',
        '<a href="https://x.org" target="_top">x</a>',
        '<h3 class="jp-toc-ignore">t</h3>',
        '<h3 class="k">t</h3>',
        "<details><summary></summary>not</details>",
        "</p x>",
        "<s>bullish</s>",
        '<span class="jupyter-chat-blocked" title="Image not loaded: a">[a]</span>',
    ]
    got = node(lib, "(f) => [m.markupProblem(f), m.skeleton(f)]", [[f] for f in fragments])
    assert got == [[renderings.markup_problem(f), renderings.skeleton(f)] for f in fragments]


def test_the_token_probabilities_block_is_judged_alike(lib):
    """The static rendering of a signed turn's token probabilities (display/logprobs.py):
    the browser and the kernel judge the same blocks alike, the kernel's own among them."""
    from logprobs_data import content

    from jupyter_chat.display.logprobs import logprobs_html, shown_logprobs
    from jupyter_chat.stream import compact_logprobs

    answer = 'Hold <LINK> & "go long" at $12.959\nnow.'
    lp = shown_logprobs(compact_logprobs({"content": content(answer, 3)}))
    own = str(logprobs_html(lp, answer, signed=True))
    unsigned = str(logprobs_html(lp, answer, signed=False))
    blocks = [
        own,
        unsigned,
        own.replace("long", "short", 1),
        own.replace("<u ", '<u style="color:red" ', 1),
        own.replace("<mark ", "<mark hidden ", 1),
        own.replace("</table>", "</table><p>SELL</p>", 1),
        own.replace(
            '<p class="jupyter-chat-tokens">',
            '<p class="jupyter-chat-tokens"><p class="jupyter-chat-tokens">x</p>',
            1,
        ),
        own.replace(" (outside the signature)", " (outside the signature)<b>!</b>", 1),
        own.replace("<td>", '<td class="x">', 1),
        str(logprobs_html(lp, "Another answer", signed=True)),
    ]
    # Node has no document: character references decoded as the page's textarea would
    shim = (
        "globalThis.document = {createElement: () => { const box = {};"
        " Object.defineProperty(box, 'innerHTML', {set(v) { box.value = v.replace("
        "/&(#x[0-9a-f]+|#[0-9]+|lt|gt|amp|quot);/gi, (_, e) => e[0] === '#' ?"
        " String.fromCodePoint(parseInt(e[1] === 'x' ? e.slice(2) : e.slice(1),"
        " e[1] === 'x' ? 16 : 10)) : {lt: '<', gt: '>', amp: '&', quot: '\"'}[e]); }});"
        " return box; }}; return m.logprobsBlockProblem(b, a);"
    )
    got = node(lib, f"(b, a) => {{ {shim} }}", [[b, answer] for b in blocks])
    assert got == [renderings.logprobs_block_problem(b, answer) for b in blocks]
    assert got[0] is None and got[1] and got[2] and got[3] and got[4] and got[6]
    assert got[5] is None  # text after the tokens sits under the summary's "outside" label
    assert got[-1] is None  # no tokens shown (they do not spell it): the field's check says

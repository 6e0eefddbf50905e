"""What differs between a comparison's columns, word by word: each column's answer against the
first column's, as index ranges of the column's changed tokens. The kernel works it out once
and the comparison's output carries it, so every rendering marks the same words: the sanitized
HTML here (``<mark class="jupyter-chat-diff">``), the extension's rendering in
labextension/src/worddiff.ts (the same tokens, the same alignment).

Tokens: a word (letters, digits, ``_``), one punctuation character, or one CJK character;
white space only separates. A rendering shows fewer tokens than its Markdown source (no
``**``, no link targets, math typeset), so the marks are laid on the rendered text by
aligning its tokens with the source's in order, skipping source tokens it does not show."""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

from .markup import html_text
from .renderings import WS

# ASCII punctuation but "_", Latin-1 signs, general and CJK punctuation, fullwidth ASCII signs
PUNCT = (
    "!-/:-@\\[-^`{-~\u00a1-\u00bf\u00d7\u00f7\u2010-\u2027\u2030-\u205e\u3001-\u303f\uff01-\uff0f"
)
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and ideographs: one each
TOKEN = re.compile(f"[{CJK}]|[{PUNCT}]|[^{WS}{PUNCT}{CJK}]+")
_WORD = re.compile(f"[^{PUNCT}]")
WINDOW = 64  # source tokens looked ahead for a rendered one (link targets, fences, markup)
MARK_OPEN = '<mark class="jupyter-chat-diff">'
# a tag (quoted attribute values may hold ">"), or a math placeholder (sanitize.answer_html)
_TAG = re.compile(r"""(<(?:[^>"']|"[^"]*"|'[^']*')*>|@@\d+@@)""")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def column_diff(reference: str, answer: str) -> dict[str, Any]:
    """``answer`` against ``reference``: ``same`` (the same tokens, white space aside),
    ``tokens`` (how many ``answer`` has), ``changed`` (``[start, end)`` ranges of its tokens
    that ``reference`` does not have there) and ``words`` (how many words differ: per change,
    the larger of the words put in and the words taken out)."""
    a, b = tokens(reference), tokens(answer)
    if a == b:
        return {"same": True, "tokens": len(b)}
    changed: list[list[int]] = []
    words = 0
    for tag, i1, i2, j1, j2 in opcodes(a, b):
        if tag == "equal":
            continue
        words += max(_words(a[i1:i2]), _words(b[j1:j2]))
        if j2 > j1:
            if changed and changed[-1][1] == j1:
                changed[-1][1] = j2
            else:
                changed.append([j1, j2])
    return {"same": False, "tokens": len(b), "changed": changed, "words": words}


SENTENCE_ENDS = frozenset(".!?;:\u3002\uff01\uff1f")
SEGMENT = 60  # tokens at most in a segment
TOKEN_DIFF = 4_000_000  # tokens x tokens: beyond, a changed stretch is diffed segment by segment


def opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """``difflib``'s opcodes of ``a`` into ``b``, in time about linear in their length: the
    sentences (segments) first, then the tokens of each changed stretch; a stretch too long
    for that is diffed segment against segment, in order."""
    sa, sb = _segments(a), _segments(b)
    outer = difflib.SequenceMatcher(
        None, [tuple(a[x:y]) for x, y in sa], [tuple(b[x:y]) for x, y in sb], autojunk=False
    )
    out: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in outer.get_opcodes():
        a1, a2 = _span(sa, i1, i2, len(a))
        b1, b2 = _span(sb, j1, j2, len(b))
        if tag == "equal":
            out.append(("equal", a1, a2, b1, b2))
        elif (a2 - a1) * (b2 - b1) <= TOKEN_DIFF:
            out += _inner(a, b, a1, a2, b1, b2)
        else:
            for k in range(max(i2 - i1, j2 - j1)):
                x1, x2 = _span(sa, min(i1 + k, i2), min(i1 + k + 1, i2), len(a))
                y1, y2 = _span(sb, min(j1 + k, j2), min(j1 + k + 1, j2), len(b))
                out += _inner(a, b, x1, x2, y1, y2)
    return out


def _inner(a: list[str], b: list[str], a1: int, a2: int, b1: int, b2: int) -> list[Any]:
    if a1 == a2 or b1 == b2:
        return [("delete" if a2 > a1 else "insert", a1, a2, b1, b2)] if a2 > a1 or b2 > b1 else []
    inner = difflib.SequenceMatcher(None, a[a1:a2], b[b1:b2], autojunk=False)
    return [(t, a1 + x1, a1 + x2, b1 + y1, b1 + y2) for t, x1, x2, y1, y2 in inner.get_opcodes()]


def _segments(toks: list[str]) -> list[tuple[int, int]]:
    out, start = [], 0
    for i, t in enumerate(toks):
        if t in SENTENCE_ENDS or i + 1 - start >= SEGMENT:
            out.append((start, i + 1))
            start = i + 1
    if start < len(toks):
        out.append((start, len(toks)))
    return out


def _span(segments: list[tuple[int, int]], i1: int, i2: int, end: int) -> tuple[int, int]:
    """The tokens of segments ``i1`` to ``i2`` (an empty span at the right place)."""
    start = segments[i1][0] if i1 < len(segments) else end
    stop = segments[i2 - 1][1] if i2 > i1 else start
    return start, stop


def _words(toks: list[str]) -> int:
    return sum(1 for t in toks if _WORD.match(t))


def column_diffs(answers: list[str | None]) -> list[dict[str, Any] | None]:
    """Each column's diff against the first (None for the first, and for any column without
    an answer; all None when the first has none)."""
    if not answers or not answers[0]:
        return [None] * len(answers)
    first = answers[0]
    return [None] + [column_diff(first, a) if a else None for a in answers[1:]]


def diff_note(diff: dict[str, Any] | None) -> str:
    """What a column's label says of it: ``same as column 1``, ``12 words differ``."""
    if not diff:
        return ""
    if diff.get("same"):
        return "same as column 1"
    n = diff.get("words") or 0
    if not n:
        return "punctuation differs from column 1"
    return f"{n} word{'s' if n != 1 else ''} differ{'s' if n == 1 else ''} from column 1"


def flags(diff: dict[str, Any]) -> list[bool]:
    """Per token of the column's answer: whether it is marked."""
    out = [False] * int(diff.get("tokens") or 0)
    for start, end in diff.get("changed") or ():
        for i in range(max(0, start), min(end, len(out))):
            out[i] = True
    return out


class Aligner:
    """Rendered tokens, in order, matched to the source's: each takes the flag of the first
    equal source token within ``WINDOW`` of the last match; one the source does not have
    there is not marked and moves nothing."""

    def __init__(self, source: list[str], marked: list[bool]) -> None:
        self.source, self.marked, self.at = source, marked, 0

    def take(self, token: str) -> bool:
        end = min(len(self.source), self.at + WINDOW)
        for i in range(self.at, end):
            if self.source[i] == token:
                self.at = i + 1
                return self.marked[i]
        return False


def marker(answer: str, diff: dict[str, Any] | None) -> Any:
    """A function that marks the changed words in the sanitized HTML of ``answer`` (None when
    there is nothing to mark)."""
    if not diff or diff.get("same") or not diff.get("changed"):
        return None
    source = tokens(answer)
    if len(source) != diff.get("tokens"):
        return None  # not this answer's diff
    aligner = Aligner(source, flags(diff))
    return lambda clean: mark_html(clean, aligner)


def mark_html(clean: str, aligner: Aligner) -> str:
    """``clean`` (sanitized HTML, math as placeholders) with each run of marked tokens of a
    text node in a ``<mark>``; tags, placeholders and unmarked text kept as they are."""
    out = []
    for piece in _TAG.split(clean):
        if not piece or piece.startswith("<") or _TAG.fullmatch(piece):
            out.append(piece)
        else:
            out.append(_mark_text(html.unescape(piece), aligner) or piece)
    return "".join(out)


def marked_runs(text: str, aligner: Aligner) -> list[list[int]]:
    """The ``[start, end)`` runs of marked tokens in ``text`` (the aligner moves on)."""
    runs: list[list[int]] = []
    extend = False
    for m in TOKEN.finditer(text):
        if aligner.take(m.group()):
            if extend:
                runs[-1][1] = m.end()
            else:
                runs.append([m.start(), m.end()])
            extend = True
        else:
            extend = False
    return runs


def _mark_text(text: str, aligner: Aligner) -> str | None:
    """``text`` escaped, its marked runs in ``<mark>``; None when nothing in it is marked."""
    runs = marked_runs(text, aligner)
    if not runs:
        return None
    out, done = [], 0
    for start, end in runs:
        out += [str(html_text(text[done:start])), MARK_OPEN, str(html_text(text[start:end]))]
        out.append("</mark>")
        done = end
    out.append(str(html_text(text[done:])))
    return "".join(out)

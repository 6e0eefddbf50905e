"""The text renderings of a signed turn (``text/markdown``, ``text/plain``) held to the signed
text: compared as tokens (numbers by value, every other visible character as itself, white
space ignored), the markup limited to what the kernel's renderer makes, the tags that mean
something in their places; labextension/src/shown.ts does the same, step for step (the one
thing it cannot repeat is this kernel's own Markdown rendering, see ``section_differs``)."""

from __future__ import annotations

import contextlib
import html
import json
import re
from typing import Any

from .._text import plain

TURN_OPEN = '<div class="jupyter-chat-turn">'
SECTION = '<div class="jupyter-chat-answer">'
REASONING_OPEN = "<details><summary>Reasoning</summary>"
RAW_OPEN = '<details><summary>Raw answer</summary><pre><code class="language-json">'
RAW_CLOSE = "</code></pre></details>"
PLAIN_HEAD = 200  # bundle.PLAIN_HEAD
MAX_ROWS = 50  # structured.MAX_ROWS
_FOOT_MD = re.compile(r"</div><p><sub>([^<]*)</sub></p></div>\Z")
_FOOT_PLAIN = re.compile(r"(?:\A|\n\n)\[([^\n]*)\]\Z")
# white space exactly as JavaScript's \s, so both checkers split text alike
WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_TOKEN = re.compile(rf"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|[^{WS}]")
_TAG = re.compile(r"<[^>]*>")


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: JavaScript's JSON has neither


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: types kept apart (true is not 1), numbers by value."""
    if a is None or b is None or isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _number(a) == _number(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return False


def _number(x: float) -> float:
    try:
        return float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def parsed_shown(shown: str, value: Any) -> bool:
    """``shown`` (visible text) is the parsed value as the kernel draws it: a JSON tree that
    reads back as the value (key order aside), or a table with the kernel's cells in order."""
    from .structured import parsed_rows

    shape = parsed_rows(value)
    if shape is None:
        with contextlib.suppress(ValueError, RecursionError):
            return same_json(json.loads(shown, parse_constant=no_constant), value)
        return False
    header, rows = shape
    more = len(value) - MAX_ROWS if isinstance(value, list) and len(value) > MAX_ROWS else 0
    cells = [*header, *(c for row in rows for c in row)]
    return same_text(shown, " ".join(cells) + (f" ... and {more} more" if more else ""))


def parsed_tags(value: Any) -> list[str]:
    """The tags of the kernel's drawing of a parsed value (structured.parsed_html)."""
    from .structured import parsed_rows

    shape = parsed_rows(value)
    if shape is None:
        return ["<pre>", '<code class="language-json">', "</code>", "</pre>"]
    header, rows = shape
    tags = ["<table>", "<thead>", "<tr>", *["<th>", "</th>"] * len(header), "</tr>", "</thead>"]
    tags.append("<tbody>")
    for row in rows:
        tags += ["<tr>", *["<td>", "</td>"] * len(row), "</tr>"]
    tags += ["</tbody>", "</table>"]
    if isinstance(value, list) and len(value) > MAX_ROWS:
        tags += ["<p>", "<sub>", "</sub>", "</p>"]
    return tags


# -- the text renderings -----------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def same_text(shown: str, expected: str) -> bool:
    """The same visible text: the same tokens, numbers equal by value, white space ignored."""
    a, b = tokens(shown), tokens(expected)
    return len(a) == len(b) and all(
        float(x) == float(y) if _is_number(x) and _is_number(y) else x == y for x, y in zip(a, b)
    )


def _is_number(token: str) -> bool:
    return token[0] in "0123456789" or (len(token) > 1 and token[0] == "-")


def visible(fragment: str) -> str:
    """The text an HTML fragment shows: tags dropped, character references decoded."""
    return html.unescape(_TAG.sub(" ", fragment))


# the markup the kernel's sanitizer lets through (sanitize.py), with the values it leaves
SECTION_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }  # fmt: skip
)
SECTION_ATTRIBUTES = {
    "a": {"href", "title", "target", "rel"},
    "ol": {"start"},
    "code": {"class"},
    "div": {"class"},
    "span": {"class", "title"},
    "pre": {"class"},
    **{f"h{n}": {"class"} for n in range(1, 7)},
}
_FIXED = {
    ("a", "target"): "_blank",
    ("a", "rel"): "noopener noreferrer nofollow",
    ("div", "class"): "highlight jupyter-chat-code",
    ("pre", "class"): "jupyter-chat-long",
}
_CLASS = re.compile(
    r"language-[A-Za-z0-9_+-]{1,32}|jupyter-chat-blocked|jp-toc-ignore|[a-z]{1,3}[0-9]?"
)
_HEADING_CLASS = "jp-toc-ignore"
_TAG_PARTS = re.compile(r'<(/?)([a-z][a-z0-9]*)((?: [a-z-]+="[^"<>]*")*) ?/?>')
_ATTR = re.compile(r' ([a-z-]+)="([^"<>]*)"')
NEUTRAL = frozenset({"p", "br", "pre", "code", "div", "span"})  # no meaning of their own


def markup_problem(fragment: str) -> str | None:
    """Why a section's HTML holds markup the kernel's renderer never makes (a style, a hidden
    attribute, a tag it drops), or None."""
    for tag in _TAG.findall(fragment):
        m = _TAG_PARTS.fullmatch(tag)
        if m is None or m.group(2) not in SECTION_TAGS or (m.group(1) and m.group(3)):
            return "the Markdown output holds markup the kernel never makes"
        name = m.group(2)
        for attr, value in _ATTR.findall(m.group(3)):
            fixed = _FIXED.get((name, attr))
            ok = attr in SECTION_ATTRIBUTES.get(name, ()) and (
                value == fixed
                if fixed is not None
                else attr != "class"
                or (
                    value == _HEADING_CLASS
                    if name.startswith("h")
                    else bool(_CLASS.fullmatch(value))
                )
            )
            if not ok:
                return "the Markdown output holds markup the kernel never makes"
    return None


def skeleton(fragment: str) -> list[str]:
    """The tags of a section that mean something (emphasis, links, lists, an image's name):
    their places are compared too, not only the text."""
    out = []
    for tag in _TAG.findall(fragment):
        m = _TAG_PARTS.fullmatch(tag)
        if m and (m.group(2) not in NEUTRAL or "jupyter-chat-blocked" in tag):
            out.append(tag)
    return out


def section_differs(fragment: str, source: str, json_too: bool) -> bool:
    """Whether an answer's (or reasoning's) section shows other than its source: with no tag
    that means something, the source's text as it is (or as pretty JSON, as the browser can
    check too); else exactly this kernel's rendering of it, tags in place."""
    from .formats import pretty_json
    from .sanitize import answer_html

    shown = visible(fragment)
    if not skeleton(fragment):
        if same_text(shown, source):
            return False
        if json_too:
            with contextlib.suppress(ValueError, RecursionError):
                if same_text(shown, pretty_json(source)):
                    return False
    rendered = str(answer_html(source))
    return not (skeleton(fragment) == skeleton(rendered) and same_text(shown, visible(rendered)))


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # nbformat may store text as a list of lines
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


def markdown_differs(
    markdown: Any, answer: str, reasoning: str, parsed: Any, logprobs: Any = None
) -> str | None:
    """``text/markdown``: the turn's block, holding the reasoning, the parsed value and the
    answer as signed, the token probabilities when the turn has them, and the footer;
    nothing else."""
    text = _text(markdown)
    if text is None:
        return None
    foot = _FOOT_MD.search(text)
    if not text.startswith(TURN_OPEN) or foot is None:
        return "the Markdown output shows more than the signed turn"
    if text.count(SECTION) != 1:
        return "the Markdown output does not show exactly one answer"
    at = text.index(SECTION)
    head, section = text[len(TURN_OPEN) : at], text[at + len(SECTION) : foot.start()]
    if at + len(SECTION) > foot.start():
        return "the Markdown output shows more than the signed turn"
    if LOGPROBS_MARK in section:
        if logprobs is None or section.count(LOGPROBS_MARK) != 1:
            return "the Markdown output shows more than the signed turn"
        section, block = section.split(LOGPROBS_MARK)
        why = logprobs_block_problem(LOGPROBS_MARK[6:] + block + "</div>", answer)
        if why:
            return why
    if parsed is not None:
        cap = f"<p><strong>{parsed['schema']}</strong></p>"
        i = head.rfind(cap)
        block = head[i + len(cap) :] if i >= 0 else ""
        if i < 0 or _TAG.findall(block) != parsed_tags(parsed["value"]):
            return "the Markdown output shows another parsed value"
        if not parsed_shown(visible(block), parsed["value"]):
            return "the Markdown output shows another parsed value"
        head = head[:i]
        if not (section.startswith(RAW_OPEN) and section.endswith(RAW_CLOSE)):
            return "the Markdown output shows another answer"
        raw = section[len(RAW_OPEN) : -len(RAW_CLOSE)]
        if _TAG.search(raw) or not same_text(visible(raw), answer):
            return "the Markdown output shows another answer"
    elif markup_problem(section) or section_differs(section, answer, True):
        return markup_problem(section) or "the Markdown output shows another answer"
    if not reasoning:
        return None if head == "" else "the Markdown output shows more than the signed turn"
    if not (head.startswith(REASONING_OPEN) and head.endswith("</details>")):
        return "the Markdown output shows more than the signed turn"
    body = head[len(REASONING_OPEN) : -len("</details>")]
    if markup_problem(body) or section_differs(body, reasoning, False):
        return markup_problem(body) or "the Markdown output shows other reasoning"
    return None


# -- the token probabilities' static rendering (logprobs.py) ---------------------------------------
LOGPROBS_MARK = '</div><div class="jupyter-chat-logprobs">'  # right after the answer's section
LOGPROBS_OPEN = '<div class="jupyter-chat-logprobs"><details><summary>Token probabilities'
LOGPROBS_TOKENS = '<p class="jupyter-chat-tokens">'
OUTSIDE = " (outside the signature)</summary>"
_BLOCK_TAGS = frozenset(
    {"div", "details", "summary", "p", "br", "u", "mark", "strong", "sub", "code"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
_BLOCK_ATTRIBUTES = {
    ("div", "class"): "jupyter-chat-logprobs",
    ("p", "class"): "jupyter-chat-tokens",
    ("u", "title"): None,  # any value: a figure and alternatives, outside the signature
    ("mark", "title"): None,
}


def logprobs_block_problem(block: str, answer: str) -> str | None:
    """The static rendering of a signed turn's token probabilities: its summary says they are
    outside the signature, it holds only the markup the kernel makes there, and its tokens,
    where it shows them, show the signed answer."""
    if not block.startswith(LOGPROBS_OPEN) or block.count("</summary>") != 1:
        return "the token probabilities are not shown as outside the signature"
    summary = block[: block.index("</summary>") + len("</summary>")]
    if not summary.endswith(OUTSIDE) or _TAG.search(summary[len(LOGPROBS_OPEN) : -10]):
        return "the token probabilities are not shown as outside the signature"
    for tag in _TAG.findall(block):
        m = _TAG_PARTS.fullmatch(tag)
        if m is None or m.group(2) not in _BLOCK_TAGS or (m.group(1) and m.group(3)):
            return "the Markdown output holds markup the kernel never makes"
        for attr, value in _ATTR.findall(m.group(3)):
            key = (m.group(2), attr)
            if key not in _BLOCK_ATTRIBUTES or _BLOCK_ATTRIBUTES[key] not in (None, value):
                return "the Markdown output holds markup the kernel never makes"
    if block.count(LOGPROBS_TOKENS) > 1:
        return "the token probabilities shown are not of the signed answer"
    if LOGPROBS_TOKENS in block:
        start = block.index(LOGPROBS_TOKENS) + len(LOGPROBS_TOKENS)
        end = block.find("</p>", start)
        if end < 0 or not same_text(visible(block[start:end]), answer):
            return "the token probabilities shown are not of the signed answer"
    return None


def plain_expected(answer: str, reasoning: str) -> str:
    """``text/plain`` of a turn without a parsed value, up to its footer (bundle.turn_plain)."""
    parts = []
    if reasoning:
        parts.append(f"[reasoning: {len(reasoning)} characters, hidden]")
    if answer:
        head = answer[:PLAIN_HEAD]
        more = len(answer) - len(head)
        parts.append(f"{head}… [{more:,} more characters]" if more else answer)
    return plain("\n\n".join(parts))


def plain_differs(plain_text: Any, answer: str, reasoning: str, parsed: Any) -> str | None:
    """``text/plain``: the reasoning's size, the answer (its start) or the parsed value, the
    footer; no more."""
    text = _text(plain_text)
    if text is None:
        return None
    foot = _FOOT_PLAIN.search(text)
    body = text[: foot.start()] if foot else None
    if body is not None and parsed is None and same_text(body, plain_expected(answer, reasoning)):
        return None
    if body is not None and parsed is not None:
        head = plain_expected("", reasoning)
        head += ("\n\n" if head else "") + f"{parsed['schema']}:\n"
        if body.startswith(head) and parsed_shown(body[len(head) :], parsed["value"]):
            return None
    return "the plain-text output shows another answer"

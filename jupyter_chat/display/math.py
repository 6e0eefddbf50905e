"""Math in an answer kept away from the Markdown parser, as JupyterLab's renderer does
(``removeMath`` / ``replaceMath`` of @jupyterlab/rendermime, ported step for step), so the
TeX reaches the page whole for MathJax: nbconvert's HTML typesets it, JupyterLab's extension
typesets its own rendering. The math comes back HTML-escaped (quotes too), as text."""

from __future__ import annotations

import re

from .markup import html_text

_SPLIT = re.compile(
    r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|\\\\[()[\]])",
    re.IGNORECASE,
)
_FENCED = re.compile(r"^(`{3,}|(?:~T){3,})[^`\n]*\n[\s\S]*?^\1`*$", re.M)
_SPAN = re.compile(r"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)", re.M)
_PLACEHOLDER = re.compile(r"@@(\d+)@@")


def remove_math(text: str) -> tuple[str, list[str]]:
    """``text`` with each math span (``$..$``, ``$$..$$``, ``\\\\(..\\\\)``, ``\\\\[..\\\\]``,
    ``\\begin{..}..\\end{..}``) replaced by ``@@n@@``, and the spans, in order. Dollars in
    code spans and fenced blocks stay where they are."""
    math: list[str] = []
    coded = "`" in text or "~~~" in text
    if coded:
        text = text.replace("~", "~T")
        text = _FENCED.sub(lambda m: m.group(0).replace("$", "~D"), text)
        text = _SPAN.sub(lambda m: m.group(0).replace("$", "~D"), text)

    def detilde(s: str) -> str:
        if not coded:
            return s
        return re.sub(r"~([TD])", lambda m: "~" if m.group(1) == "T" else "$", s)

    blocks = _SPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    start: int | None = None
    end: str | None = None
    last: int | None = None
    braces = 0

    def process(i: int, j: int) -> None:
        block = "".join(blocks[i : j + 1])
        for k in range(j, i, -1):
            blocks[k] = ""
        blocks[i] = f"@@{len(math)}@@"
        math.append(detilde(block))

    i = 1
    while i < len(blocks):
        block = blocks[i]
        if block.startswith("@"):
            blocks[i] = f"@@{len(math)}@@"
            math.append(block)
        elif start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    process(start, i)
                    start = end = last = None
            elif re.search(r"\n.*\n", block):
                if last is not None:
                    i = last
                    process(start, i)
                start = end = last = None
                braces = 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        elif block in ("$", "$$"):
            start, end, braces = i, block, 0
        elif block in ("\\\\(", "\\\\["):
            start, end, braces = i, "\\\\)" if block.endswith("(") else "\\\\]", 0
        elif block[1:6] == "begin":
            start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        process(start, last)
    return detilde("".join(blocks)), math


def replace_math(html: str, math: list[str]) -> str:
    """Each ``@@n@@`` of ``html`` back to its math, escaped as HTML text (``\\\\(`` as ``\\(``
    for MathJax); a number with no math stays as it is."""

    def put(m: re.Match) -> str:
        n = int(m.group(1))
        if n >= len(math):
            return m.group(0)
        group = math[n]
        if group.startswith("\\\\(") and group.endswith("\\\\)"):
            group = "\\(" + group[3:-3] + "\\)"
        elif group.startswith("\\\\[") and group.endswith("\\\\]"):
            group = "\\[" + group[3:-3] + "\\]"
        return str(html_text(group))

    return _PLACEHOLDER.sub(put, html)

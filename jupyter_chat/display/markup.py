"""The one way to build the Markdown and HTML that outputs carry: every value is escaped.

``Md`` and ``Html`` are ``str`` subclasses that mark text as safe to render in their context
(JupyterLab renders a kernel's outputs as trusted, so nothing else stands between a model's
text and the page). They are made only from literals (``tests/test_markup.py`` holds the
package to that) and by the functions here. ``+``, ``.join()`` and ``.format()`` escape every
value that is not already markup of the same kind, as a template engine autoescapes; any other
``str`` method returns a plain ``str``, which the output sinks refuse.

Markdown escaping backslash-escapes every ASCII punctuation character (CommonMark 2.4; marked,
JupyterLab's parser, does the same) and writes ``<``, ``>``, ``&`` and ``"`` as entities, so no
emphasis, link, image, autolink, HTML or table cell can start inside a value. Inline values
are one line: line breaks and control characters become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .._text import BIDI, CONTROLS, one_line, plain

__all__ = [
    "Html",
    "Md",
    "bullets",
    "code",
    "data_image",
    "fence",
    "html_block",
    "html_pre",
    "link",
    "plain",
    "plain_table",
    "table",
    "text",
]

_CONTROLS, _BIDI = CONTROLS, BIDI
_ENTITIES = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord('"'): "&quot;"}
_PUNCT = "!#$%'()*+,-./:;=?@[\\]^_`{|}~"
_MD_TABLE = str.maketrans({**_CONTROLS, **_BIDI, **{ord(c): "\\" + c for c in _PUNCT}, **_ENTITIES})
# "$" as a reference too: JupyterLab's Markdown renderer (no extension) reads any two dollars
# in an output's source as math and takes everything between them, tags and all (a cost in
# one footer and a dollar in the next column); the page still shows "$", and MathJax reads it
_HTML_TABLE = str.maketrans({**_ENTITIES, ord("'"): "&#x27;", ord("$"): "&#36;", **_BIDI})
_HTML_LINE_TABLE = str.maketrans(
    {**_CONTROLS, **_BIDI, **_ENTITIES, ord("'"): "&#x27;", ord("$"): "&#36;"}
)
_LANG = re.compile(r"[A-Za-z0-9_+-]{0,32}")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
_SAFE_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`\\]+", re.IGNORECASE)


class _Markup(str):
    __slots__ = ()

    @classmethod
    def escape(cls, value: Any) -> Any:
        raise NotImplementedError

    def __add__(self, other: Any) -> Any:
        return type(self)(str.__add__(self, self.escape(other)))

    def __radd__(self, other: Any) -> Any:
        return type(self)(str.__add__(self.escape(other), self))

    def join(self, items: Iterable[Any]) -> Any:  # type: ignore[override]
        return type(self)(str.join(self, [self.escape(i) for i in items]))

    def format(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        esc = self.escape
        return type(self)(
            str.format(self, *(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()})
        )

    def __mod__(self, other: Any) -> Any:
        raise TypeError("use .format() on markup: % does not escape")


class Md(_Markup):
    """Markdown that is safe to render: literals, and values escaped by this module."""

    __slots__ = ()

    @classmethod
    def escape(cls, value: Any) -> Md:
        if isinstance(value, Md):
            return value
        if isinstance(value, Html):
            raise TypeError("HTML goes into Markdown only through html_block()")
        return Md(str(value).translate(_MD_TABLE))


class Html(_Markup):
    """HTML that is safe to render: literals, and values escaped (or sanitized) here."""

    __slots__ = ()

    @classmethod
    def escape(cls, value: Any) -> Html:
        if isinstance(value, Html):
            return value
        if isinstance(value, Md):
            raise TypeError("Markdown goes into HTML only once rendered (answer_html)")
        return Html(str(value).translate(_HTML_TABLE))


# -- Markdown ------------------------------------------------------------------------------
def text(value: Any) -> Md:
    """One line of text, every Markdown and HTML character escaped."""
    return Md.escape(value)


def code(value: Any) -> Md:
    """An inline code span holding ``value`` on one line (CommonMark 6.1)."""
    s = str(value).translate({**_CONTROLS, **_BIDI})
    if not s:
        return Md("")
    ticks = "`" * (_longest_run(s, "`") + 1)
    pad = " " if s[:1] in ("`", " ") or s[-1:] in ("`", " ") else ""
    return Md(f"{ticks}{pad}{s}{pad}{ticks}")


def fence(value: Any, lang: str = "") -> Md:
    """A fenced code block longer than any backtick run inside it, so nothing closes it early
    (CommonMark 4.5); ``lang`` must be a plain word."""
    if not _LANG.fullmatch(lang):
        raise ValueError(f"not a code language: {lang!r}")
    s = str(value).translate({**_BIDI, 0x0D: None})
    ticks = "`" * max(3, _longest_run(s, "`") + 1)
    return Md(f"{ticks}{lang}\n{s}\n{ticks}")


def link(label: Any, url: str) -> Md:
    """A link when ``url`` is http(s) or mailto; otherwise just the label, escaped."""
    if not _SAFE_URL.fullmatch(url or ""):
        return text(label)
    return Md(f"[{text(label)}](<{url}>)")


def table(header: list[Any], rows: Iterable[list[Any]]) -> Md:
    """A GFM table; every cell is escaped text (or one-line markup without a pipe)."""
    head = Md("| ") + Md(" | ").join(_cell(h) for h in header) + Md(" |")
    rule = Md("|" + " --- |" * len(header))
    lines = [head, rule]
    lines += [Md("| ") + Md(" | ").join(_cell(v) for v in row) + Md(" |") for row in rows]
    return Md("\n").join(lines)


def _cell(value: Any) -> Md:
    if isinstance(value, Md):
        if "|" in value.replace("\\|", "") or "\n" in value:
            raise ValueError("a table cell is one line without a pipe")
        return value
    return text(value)


def bullets(items: Iterable[Any]) -> Md:
    return Md("\n").join(Md("- ") + Md.escape(i) for i in items)


def html_block(block: Html) -> Md:
    """HTML as one Markdown HTML block (CommonMark 4.6, type 6): one line, starting with a
    ``<div>``, so a Markdown parser passes it through whole and reads nothing in it as
    Markdown. Line breaks become character references (a line break inside ``<pre>``, a space
    elsewhere): a blank line would end the block and hand the rest to the Markdown parser."""
    if not isinstance(block, Html) or not block.startswith("<div"):
        raise TypeError("html_block() takes an Html <div>")
    return Md(str(block).replace("\r", "&#13;").replace("\n", "&#10;"))


# columns side by side while each gets 18em, else stacked (the widget grid uses it too)
GRID_COLUMNS = "repeat(auto-fit,minmax(min(100%,18em),1fr))"
GRID = f"display:grid;grid-template-columns:{GRID_COLUMNS};gap:8px;width:100%"


def grid_block(
    columns: Iterable[tuple[Any, Md]], head: Html | None = None, notes: list[Any] | None = None
) -> Md:
    """Blocks made by ``html_block`` side by side in one HTML block (columns that wrap at
    narrow widths), each under its label (escaped) and its note (``same as column 1``, in
    ``notes`` by column); ``head`` above them."""
    cells = []
    for i, (label, block) in enumerate(columns):
        if not isinstance(block, Md) or not block.startswith("<div"):
            raise TypeError("grid_block() takes blocks made by html_block()")
        note = notes[i] if notes and i < len(notes) else ""
        shown = Html(' <em class="jupyter-chat-diffnote">{}</em>').format(html_text(note, True))
        cells.append(
            Html(
                '<div class="jupyter-chat-column" style="min-width:0"><p><strong>{}</strong>{}</p>'
            ).format(html_text(label, True), shown if note else "")
            + Html(str(block))  # already one line of safe HTML (html_block)
            + Html("</div>")
        )
    grid = Html('<div class="jupyter-chat-grid" style="{}">{}</div>').format(
        Html(GRID), Html("").join(cells)
    )
    return html_block(Html('<div class="jupyter-chat-compare">{}{}</div>').format(head or "", grid))


# -- HTML ------------------------------------------------------------------------------------
def html_text(value: Any, one_line: bool = False) -> Html:
    return Html(str(value).translate(_HTML_LINE_TABLE if one_line else _HTML_TABLE))


def html_pre(value: Any, lang: str = "") -> Html:
    """A code block; ``lang`` a plain word."""
    if not _LANG.fullmatch(lang):
        raise ValueError(f"not a code language: {lang!r}")
    cls = Html(' class="language-{}"').format(lang) if lang else Html("")
    return Html("<pre><code{}>{}</code></pre>").format(cls, html_text(value))


def data_image(url: str, alt: str, height: int = 64) -> Html:
    """An inline image, only from a base64 ``data:`` URL of a raster type (made here, never a
    remote address)."""
    if not _DATA_IMAGE.fullmatch(url or ""):
        raise ValueError("only base64 data: images are embedded")
    return Html('<img src="{}" alt="{}" height="{}">').format(
        Html(url), html_text(alt, True), int(height)
    )


def _longest_run(s: str, ch: str) -> int:
    runs = re.findall(re.escape(ch) + "+", s)
    return max(map(len, runs), default=0)


def plain_table(header: list[Any], rows: Iterable[list[Any]]) -> str:
    """The same table as aligned plain text (terminals, ``text/plain``)."""
    cells = [[one_line(c) for c in header], *([one_line(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)

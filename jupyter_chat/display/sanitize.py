"""A model's answer (untrusted Markdown) as safe HTML: markdown-it-py parses, nh3 sanitizes.

Math is kept away from the parser, as JupyterLab does (math.py), so MathJax gets it whole.
Code blocks are highlighted by Pygments (which IPython brings) into the classes nbconvert's
HTML styles (``.highlight .k``...); no style attribute is made (none passes the sanitizer).
The answer is parsed as CommonMark (with GFM tables and strikethrough) with raw HTML off, so
HTML in an answer is shown as text. Images are never loaded: each becomes a marker naming it.
Links keep only http(s) and mailto targets and open in a new tab. Headings are demoted two
levels (an answer's ``#`` is an ``h3``, never the size of the notebook's title) and marked
``jp-toc-ignore``, so JupyterLab's table of contents, which reads the output's
``text/markdown``, lists none of them. The HTML then goes through
nh3 (the Rust ``ammonia`` sanitizer) with a short allow-list, so what reaches the page holds no
script, handler, style, frame, form, remote load or relative link, whatever the parser made.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .markup import Html, html_text
from .math import remove_math, replace_math

# Larger answers are shown as escaped text: markdown-it-py parses about 1 MB/s.
MARKDOWN_LIMIT = 256 * 1024

_TAGS = {
    "a", "abbr", "div", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_HEADINGS = {f"h{level}" for level in range(1, 7)}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "code": {"class"},
    "div": {"class"},
    "span": {"class", "title"},
    **{tag: {"class"} for tag in _HEADINGS},
}
# Pygments' token classes are short (k, nf, s1, cpf...): only our fence renderer makes spans
# with them, since raw HTML in an answer is text
_CLASS = re.compile(
    r"language-[A-Za-z0-9_+-]{1,32}|jupyter-chat-blocked|jp-toc-ignore|[a-z]{1,3}[0-9]?"
)

HEADING_OFFSET = 2  # an answer's h1 is shown as h3, h2 as h4, ...; h6 stays h6


def _keep(tag: str, attr: str, value: str) -> str | None:
    if tag == "div" and attr == "class":
        return value if value == "highlight jupyter-chat-code" else None
    if attr == "class":
        if tag in _HEADINGS and value != "jp-toc-ignore":
            return None
        return value if _CLASS.fullmatch(value) else None
    return value


def _demote_headings(state: Any) -> None:
    """Headings two levels down, each marked for JupyterLab's table of contents to skip."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_OFFSET)}"
            if token.type == "heading_open":
                token.attrSet("class", "jp-toc-ignore")


@lru_cache(maxsize=1)
def _tools() -> tuple[Any, Any]:
    import nh3
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _fence)
    md.core.ruler.push("demote_headings", _demote_headings)
    cleaner = nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep,
        url_schemes={"http", "https", "mailto"},
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return md, cleaner


def _image(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    """An image in an answer is named, never loaded (no remote requests from a reply)."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return (
        f'<span class="jupyter-chat-blocked" title="Image not loaded: '
        f'{html_text(src[:200], True)}">[{html_text(alt, True)}]</span>'
    )


def _fence(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    """A code block highlighted into Pygments' classes, in a ``highlight`` div (nbconvert's
    HTML gives it the editor's background and colours)."""
    token = tokens[idx]
    lang = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    lang = lang if re.fullmatch(r"[A-Za-z0-9_+-]{1,32}", lang) else ""
    cls = f' class="language-{lang}"' if lang else ""
    return (
        f'<div class="highlight jupyter-chat-code"><pre><code{cls}>'
        f"{highlight(token.content, lang)}</code></pre></div>\n"
    )


def highlight(code: str, lang: str) -> str:
    """``code`` as HTML: Pygments' token spans when ``lang`` names a lexer, else escaped."""
    lexer = _lexer(lang.lower()) if lang else None
    if lexer is None:
        return str(html_text(code))
    from pygments import format as pyg
    from pygments.formatters import HtmlFormatter
    from pygments.token import Name, Text, Whitespace

    # names and blanks take the block's own colour: no span (the HTML stays small)
    plain = [(Text if t in Name or t in Whitespace else t, v) for t, v in lexer.get_tokens(code)]
    return pyg(plain, HtmlFormatter(nowrap=True))


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Any:
    try:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound
    except ImportError:  # pragma: no cover - IPython brings Pygments
        return None
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def answer_html(markdown: str, limit: int = MARKDOWN_LIMIT, mark: Any = None) -> Html:
    """The answer rendered and sanitized; over ``limit`` characters, escaped text. ``mark``:
    a function of the sanitized HTML (math still out of it) that only wraps text in
    ``<mark>`` elements and escapes it again (worddiff.marker: a comparison's changed words)."""
    if not markdown:
        return Html("")
    if len(markdown) > limit:
        return Html('<pre class="jupyter-chat-long">{}</pre>').format(html_text(markdown))
    md, cleaner = _tools()
    text, math = remove_math(markdown)
    clean = cleaner.clean(md.render(text))
    clean = mark(clean) if mark is not None else clean
    clean = replace_math(clean, math) if math else clean
    # every "$" as a reference (see markup._HTML_TABLE): the page shows the same text
    return _trusted(clean.replace("$", "&#36;"))


def _trusted(html: str) -> Html:
    """nh3's output: the one place dynamic HTML becomes ``Html`` without escaping."""
    return Html.__new__(Html, html)

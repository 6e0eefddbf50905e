"""A corpus of hostile Markdown and HTML, as a model steered by a prompt injection might write.

Each payload tries to run script, fire a handler or load something from ``{url}`` (the browser
tests point it at a loopback tracker that records every request); ``{tag}`` tells them apart.
Among them are the bypasses of the old hand-written code-span and fence rules.
"""

from __future__ import annotations

import html.parser
from typing import Any

PAYLOADS = [
    "<script>window.__pwned='{tag}-script'</script>",
    '<img src="{url}/{tag}-img.png" onerror="window.__pwned=\'{tag}-img\'">',
    "![tracked]({url}/{tag}-md.png)",
    "[click me](javascript:window.__pwned='{tag}-js')",
    "<a href=\"javascript:window.__pwned='{tag}-a'\">raw link</a>",
    '<iframe src="{url}/{tag}-frame"></iframe>',
    "<svg onload=\"window.__pwned='{tag}-svg'\"><circle r='4'/></svg>",
    '<div style="background-image: url({url}/{tag}-style.png)">styled</div>',
    "<style>body {{ background: url({url}/{tag}-css.png) }}</style>",
    "<details open ontoggle=\"window.__pwned='{tag}-toggle'\"><summary>s</summary></details>",
    '<span data-commandlinker-command="notebook:run-all-cells">command link</span>',
    '<video src="{url}/{tag}-video" autoplay></video>',
    '<object data="{url}/{tag}-object"></object>',
    '<form action="{url}/{tag}-form"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url={url}/{tag}-meta">',
    '<link rel="stylesheet" href="{url}/{tag}-link.css">',
    '<base href="{url}/{tag}-base/">',
    # the bypasses of hand-written code rules: text taken for code that renders as HTML
    '``a` <img src="{url}/{tag}-run.png" onerror="window.__pwned=\'{tag}-run\'"> ``',
    '\\`<img src="{url}/{tag}-esc.png" onerror="window.__pwned=\'{tag}-esc\'">`',
    '`opened on the line before\n\n<img src="{url}/{tag}-line.png" '
    "onerror=\"window.__pwned='{tag}-line'\">`",
    '```a`b\n<img src="{url}/{tag}-info.png" onerror="window.__pwned=\'{tag}-info\'">\n```',
    '\t```\n<img src="{url}/{tag}-tab.png" onerror="window.__pwned=\'{tag}-tab\'">\n```',
    # mutation and parser-confusion classics
    '<math><mtext><table><mglyph><style><img src="{url}/{tag}-mxss.png" '
    "onerror=\"window.__pwned='{tag}-mxss'\"></style></mglyph></table></mtext></math>",
    "<noscript><p title=\"</noscript><img src='{url}/{tag}-nos.png' "
    "onerror=window.__pwned='{tag}-nos'>\"></p></noscript>",
    "<scr<script>ipt>window.__pwned='{tag}-split'</scr</script>ipt>",
    "[angle](<javascript:window.__pwned='{tag}-angle'>) [case](JaVaScRiPt:window.__pwned=1) "
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [vb](vbscript:x)",
    "![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+)",
    '[relative](/api/contents/pwned.txt) [title](https://example.org "t" onmouseover=x)',
    '<a href="https://example.org/fine">fine link</a> [fine link](https://example.org/fine)',
]

# control sequences a terminal would obey: window title, clipboard write, a fake prompt
TERMINAL = "\x1b]0;pwned-title\x07\x1b]52;c;cHduZWQ=\x07\x1b[2K\rIn [9]: \x9b31m"


def corpus(url: str, tag: str) -> str:
    """Every payload, filled in, as one answer."""
    return "\n\n".join(p.format(url=url, tag=tag) for p in PAYLOADS)


ALLOWED_TAGS = {
    "div", "p", "details", "summary", "sub", "strong", "em", "b", "i", "code", "pre", "ul",
    "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "a", "span",
    "table", "thead", "tbody", "tr", "th", "td", "s", "del", "img", "kbd", "abbr", "sup",
}  # fmt: skip


class Inspector(html.parser.HTMLParser):
    """Every element of an HTML fragment, to check that none is live."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, Any]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def live_parts(page_html: str) -> list[str]:
    """What in ``page_html`` could run, fire or load: [] when it is inert."""
    p = Inspector()
    p.feed(page_html)
    p.close()
    bad = []
    for tag, attrs in p.elements:
        if tag not in ALLOWED_TAGS:
            bad.append(f"<{tag}>")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on") or name in ("style", "srcset", "formaction", "action"):
                bad.append(f"{tag}[{name}]")
            if name.startswith("data-commandlinker"):
                bad.append(f"{tag}[{name}]")
            if name == "src" and not value.startswith("data:image/"):
                bad.append(f"{tag}[src={value[:40]}]")
            if name == "href" and not value.lower().startswith(("http://", "https://", "mailto:")):
                bad.append(f"{tag}[href={value[:40]}]")
            if name == "src" and value.startswith("data:image/svg"):
                bad.append(f"{tag}[svg src]")
        if tag == "img" and not attrs.get("src", "").startswith("data:image/"):
            bad.append("img without an inline source")
    return bad

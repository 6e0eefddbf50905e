"""How a turn is shown: the output bundle (``text/markdown`` as one sanitized HTML block,
``text/plain``, the structured turn for the JupyterLab renderer) with the run record in its
metadata; the one place an output's ``text/markdown`` is set."""

from __future__ import annotations

from typing import Any

from .._secrets import clip
from .._text import one_line, plain
from .draws import choices_agreement, group_name, head_html, head_plain
from .footer import footer
from .logprobs import footer_text, logprobs_html, pack, shown_logprobs, unpack
from .markup import Html, Md, data_image, html_block, html_pre, html_text
from .sanitize import MARKDOWN_LIMIT, answer_html
from .structured import parsed_html, parsed_plain

MIME = "application/vnd.jupyter-chat+json"
STREAM_MARKDOWN_LIMIT = 64 * 1024  # a longer answer streams as escaped text, then renders


def show(markdown: Md, plain_text: str, **more: Any) -> None:
    """Display one Markdown output (built with markup.py) and its plain-text form."""
    from IPython.display import display

    display(markdown_bundle(markdown, plain_text, **more), raw=True)


def markdown_bundle(markdown: Md, plain_text: str, **more: Any) -> dict[str, Any]:
    """The one place an output's ``text/markdown`` is set: it must be ``Md``."""
    if not isinstance(markdown, Md):
        raise TypeError("text/markdown takes Md (markup.py), not " + type(markdown).__name__)
    return {"text/markdown": str(markdown), "text/plain": plain(plain_text), **more}


def turn_markdown(
    answer: str,
    reasoning: str,
    tool_calls: list[dict],
    foot: str,
    fmt: str = "markdown",
    images: list[dict[str, Any]] | None = None,
    streaming: bool = False,
    parsed: tuple[str, Any] | None = None,
    refusal: str | None = None,
    choices: list[dict[str, Any]] | None = None,
    mark: Any = None,
    probabilities: Html | None = None,
) -> Md:
    """A turn as one HTML block: the model's Markdown rendered and sanitized (sanitize.py),
    everything else escaped. The answer sits in its own ``jupyter-chat-answer`` div, so a
    verifier can compare it with what was signed; a refusal is shown as plain text, and the
    choices after the first (``n`` > 1) each in a ``jupyter-chat-choice`` div. ``mark``: the
    answer's changed words in a comparison (``answer_html``)."""
    limit = STREAM_MARKDOWN_LIMIT if streaming else MARKDOWN_LIMIT
    parts: list[Html] = []
    thumbs = [
        data_image(i["thumbnail"], "image")
        for i in images or ()
        if isinstance(i.get("thumbnail"), str) and i["thumbnail"].startswith("data:image/")
    ]
    if thumbs:
        parts.append(Html("<p>{}</p>").format(Html(" ").join(thumbs)))
    if reasoning:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(
                answer_html(reasoning, limit)
            )
        )
    if fmt in ("text", "html", "json"):  # html: the source, shown, never rendered from a model
        body = html_pre(answer, "" if fmt == "text" else fmt) if answer else Html("")
    else:
        body = answer_html(answer, limit, mark)
    if parsed is not None:  # the validated value, the answer it came from folded below it
        parts.append(parsed_html(parsed[1], parsed[0]))
        body = Html("<details><summary>Raw answer</summary>{}</details>").format(
            html_pre(answer, "json")
        )
    parts.append(ANSWER_OPEN + body + ANSWER_CLOSE)
    if probabilities:  # the static rendering of the answer's tokens (logprobs.py)
        parts.append(probabilities)
    if refusal:
        parts.append(refusal_html(refusal))
    parts.extend(tool_calls_html(tool_calls))
    agreement = choices_agreement(answer, choices) if choices else None
    if agreement:  # n > 1: how far the choices agree, then each choice one click away
        parts.append(head_html(agreement, "choice"))
    for n, c in enumerate(choices or (), 1):
        parts.append(choice_html(c, limit, group_name(agreement, n) if agreement else ""))
    parts.append(Html("<p><sub>{}</sub></p>").format(html_text(foot, True)))
    return html_block(Html('<div class="jupyter-chat-turn">{}</div>').format(Html("").join(parts)))


def refusal_html(refusal: str) -> Html:
    """The model's refusal, as plain text (never rendered)."""
    return Html(
        '<div class="jupyter-chat-refusal"><p><strong>Refused:</strong> {}</p></div>'
    ).format(html_text(refusal, True))


def tool_calls_html(tool_calls: list[dict]) -> list[Html]:
    parts = []
    for call in tool_calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        parts.append(
            Html("<p><strong>Tool call</strong> <code>{}</code></p>{}").format(
                html_text(fn.get("name", "?"), True), html_pre(fn.get("arguments", ""), "json")
            )
        )
    return parts


def choice_html(c: dict[str, Any], limit: int, group: str = "") -> Html:
    """One more choice (``n`` > 1), folded under its number and answer group: its reasoning
    folded, its answer rendered and sanitized like the first, its refusal and tool calls."""
    index = c.get("index") if isinstance(c.get("index"), int) else 0
    finish = c.get("finish_reason")
    head = f"Choice {index + 1}" + (f" · answer {group}" if group else "")
    head += f" (finish: {finish})" if finish not in (None, "stop") else ""
    parts = [Html("<summary>{}</summary>").format(html_text(head, True))]
    if isinstance(c.get("reasoning"), str) and c["reasoning"]:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(
                answer_html(c["reasoning"], limit)
            )
        )
    parts.append(answer_html(c["answer"] if isinstance(c.get("answer"), str) else "", limit))
    if isinstance(c.get("refusal"), str) and c["refusal"]:
        parts.append(refusal_html(c["refusal"]))
    if isinstance(c.get("tool_calls"), list):
        parts.extend(tool_calls_html([t for t in c["tool_calls"] if isinstance(t, dict)]))
    return Html('<details class="jupyter-chat-choice" data-choice="{}">{}</details>').format(
        str(index), Html("").join(parts)
    )


_BOX = (
    "border:1px solid var(--jp-border-color2);border-radius:4px;padding:6px 8px;"
    "margin:4px 0;color:var(--jp-content-font-color1);overflow-wrap:anywhere;"
)


def message_html(
    role: str,
    text: str,
    reasoning: str = "",
    foot: str = "",
    parsed: tuple[str, Any] | None = None,
) -> str:
    """One message as HTML for an ``ipywidgets.HTML`` (which sets innerHTML: no sanitizer
    stands behind it): the text rendered and sanitized like an answer, the rest escaped; with
    ``parsed`` (schema name, value), the validated value, the raw answer folded."""
    bg = "var(--jp-layout-color2)" if role == "user" else "var(--jp-layout-color1)"
    parts = [
        Html('<div class="jupyter-chat-box" style="{}background:{}"><b>{}</b>').format(
            _BOX, bg, html_text(role)
        )
    ]
    if reasoning:
        parts.append(
            Html("<details><summary>Reasoning</summary>{}</details>").format(answer_html(reasoning))
        )
    if parsed is not None:
        parts.append(parsed_html(parsed[1], parsed[0]))
        parts.append(
            Html("<details><summary>Raw answer</summary>{}</details>").format(
                html_pre(text, "json")
            )
        )
    else:
        parts.append(answer_html(text))
    if foot:
        parts.append(
            Html(
                '<div class="jupyter-chat-note" style="color:var(--jp-ui-font-color2);'
                'font-size:smaller">{}</div>'
            ).format(html_text(foot, True))
        )
    return str(Html("").join(parts) + Html("</div>"))


def answer_markdown(answer: str) -> Md:
    """An answer alone, rendered and sanitized (a ``Turn`` shown as an expression's value)."""
    return html_block(Html('<div class="jupyter-chat-answer">{}</div>').format(answer_html(answer)))


ANSWER_OPEN = Html('<div class="jupyter-chat-answer">')
ANSWER_CLOSE = Html("</div>")


PLAIN_HEAD = 200  # characters of a longer answer in text/plain (the Markdown has it all)


def plain_head(answer: str) -> str:
    """The start of an answer as a turn's ``text/plain`` shows it: all of it up to
    ``PLAIN_HEAD`` characters, else that many (saved notebooks keep the answer twice, not
    three times; terminals print the stream, not this)."""
    return answer if len(answer) <= PLAIN_HEAD else answer[:PLAIN_HEAD]


def turn_plain(
    answer: str,
    reasoning: str,
    tool_calls: list[dict],
    foot: str,
    parsed: tuple[str, Any] | None = None,
    refusal: str | None = None,
    choices: list[dict[str, Any]] | None = None,
) -> str:
    parts = []
    if reasoning:
        parts.append(f"[reasoning: {len(reasoning)} characters, hidden]")
    if parsed is not None:
        parts.append(parsed_plain(parsed[1], parsed[0]))
    elif answer:
        parts.append(_head(answer))
    if refusal:
        parts.append(f"[refused] {refusal}")
    parts.extend(_calls_plain(tool_calls))
    if choices:
        parts.append(head_plain(choices_agreement(answer, choices), "choice"))
    for c in choices or ():
        index = c.get("index") if isinstance(c.get("index"), int) else 0
        parts.append(f"[choice {index + 1}]")
        if isinstance(c.get("answer"), str) and c["answer"]:
            parts.append(_head(c["answer"]))
        if isinstance(c.get("refusal"), str) and c["refusal"]:
            parts.append(f"[refused] {c['refusal']}")
        if isinstance(c.get("tool_calls"), list):
            parts.extend(_calls_plain([t for t in c["tool_calls"] if isinstance(t, dict)]))
    parts.append(f"[{one_line(foot)}]")
    return plain("\n\n".join(parts))


def _head(answer: str) -> str:
    head = plain_head(answer)
    more = len(answer) - len(head)
    return f"{head}… [{more:,} more characters]" if more else answer


def _calls_plain(tool_calls: list[dict]) -> list[str]:
    out = []
    for call in tool_calls:
        fn = call.get("function") if isinstance(call.get("function"), dict) else {}
        out.append(f"[tool call] {one_line(fn.get('name', '?'))}({fn.get('arguments', '')})")
    return out


def turn_footer(
    record: dict[str, Any], status: str, error: str | None = None, elapsed: float | None = None
) -> str:
    """The footer a turn shows: the record's, then the error (one line, clipped)."""
    foot = footer(record, status, elapsed)
    return foot + " · " + clip(one_line(error), 500) if error else foot


def note_html(text: str, error: bool = False) -> str:
    """A short note for an ``ipywidgets.HTML`` (status lines, errors, totals), escaped."""
    color = "var(--jp-error-color1)" if error else "var(--jp-ui-font-color2)"
    return str(
        Html('<span class="jupyter-chat-note" style="color:{}">{}</span>').format(
            color, html_text(clip(text, 500), True)
        )
    )


def bundle(
    *,
    answer: str,
    reasoning: str,
    tool_calls: list[dict],
    record: dict[str, Any],
    messages: list[dict],
    status: str,
    fmt: str = "markdown",
    error: str | None = None,
    elapsed: float | None = None,
    structured: bool = True,
    signed: dict[str, Any] | None = None,
    images: list[dict[str, Any]] | None = None,
    parsed: tuple[str, Any] | None = None,
    logprobs: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The MIME bundle and metadata of a turn. ``status``: streaming, complete, incomplete,
    interrupted or error. ``parsed``: (schema name, the validated value as JSON data). The
    record's ``refusal`` and ``choices`` (after the first, ``n`` > 1) are shown too, and its
    token log-probabilities (``logprobs``: already in the structured turn's form, packed or
    not) once the answer is whole: in the structured turn, packed, not in the metadata."""
    foot = turn_footer(record, status, error, elapsed)
    lp = None
    if status != "streaming":
        lp = unpack(logprobs) or shown_logprobs(record.get("logprobs"))
        lp = lp if isinstance(lp, dict) and isinstance(lp.get("tokens"), list) else None
    if lp:
        foot = " · ".join(filter(None, (foot, footer_text(lp))))
    refusal = record.get("refusal") if isinstance(record.get("refusal"), str) else None
    choices = record.get("choices") if isinstance(record.get("choices"), list) else []
    choices = [c for c in choices if isinstance(c, dict)]
    md = turn_markdown(
        answer,
        reasoning,
        tool_calls,
        foot,
        fmt,
        images,
        status == "streaming",
        parsed,
        refusal,
        choices,
        probabilities=logprobs_html(lp, answer, bool(signed)) if lp and answer else None,
    )
    text = turn_plain(answer, reasoning, tool_calls, foot, parsed, refusal, choices)
    if images:
        text = ", ".join(f"[image {one_line(i.get('label', ''))}]" for i in images) + "\n\n" + text
    data = markdown_bundle(md, text)
    if structured:
        data[MIME] = {
            "version": 1,
            "status": status,
            "messages": messages,
            "answer": answer,
            "reasoning": reasoning,
            "tool_calls": tool_calls,
            "usage": record.get("usage"),
            "error": error,
        }  # the run record is in the metadata, once (it used to be here as well)
        if images:
            data[MIME]["images"] = images
        if parsed is not None:
            data[MIME]["parsed"] = {"schema": parsed[0], "value": parsed[1]}
        if signed:  # EigenCloud: exactly what was signed, so a saved notebook can be verified
            data[MIME]["signed"] = signed
        if lp:
            data[MIME]["logprobs"] = pack(lp)
            record = {k: v for k, v in record.items() if k != "logprobs"}  # kept once
    return data, {"jupyter_chat": record} if structured else {}


_THUMB_MAX = 64 * 1024  # larger images are named, not embedded, in the output


def thumbnails(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The images a turn sent: small ones embedded as they are, every one named by its hash;
    messages shown in outputs carry the hash instead of the data."""
    import base64
    import hashlib

    found = []
    for m in messages:
        for part in m.get("content") if isinstance(m.get("content"), list) else ():
            url = (part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else ""
            if not url:
                continue
            if url.startswith("data:"):
                head, _, b64 = url.partition(",")
                size = len(b64) * 3 // 4
                digest = hashlib.sha256(base64.b64decode(b64)).hexdigest()
                label = f"{head[5:].split(';')[0]} {size // 1024} KB sha256:{digest[:12]}"
                found.append(
                    {
                        "thumbnail": url if len(url) <= _THUMB_MAX else None,
                        "sha256": digest,
                        "label": label,
                    }
                )
            else:
                found.append({"thumbnail": None, "url": url, "label": url})
    return found

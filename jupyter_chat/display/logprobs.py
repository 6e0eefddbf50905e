"""Token log-probabilities as a turn shows them: the structured turn's compact form, the
tokens placed on the answer, the summary the footer gives (perplexity, the least likely
tokens), and the static rendering every frontend without the extension shows (marks and
titles, a table of the least likely tokens with their alternatives: no style, nothing live).
labextension/src/logprobs.ts reads the same form and places the tokens the same way.

The form: ``{"scale": 1000, "tokens": [...], "logprobs": [...], "top": [[token, logprob,
...], ...]}``: log-probabilities in thousandths of a nat as integers (exact in JSON and in
JavaScript, about three times shorter than the floats; a probability to 0.05 %), each token's
alternatives flat and without the token itself; the first choice's content only. The
structured turn holds it packed, as one string of compact JSON (``pack``): nbformat saves
each item of a list on a line of its own, which would take about three times the bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .markup import Html, html_text

SCALE = 1000
# the shading's steps, as log-probabilities in thousandths (ln 0.9, 0.7, 0.5, 0.25, 0.1):
# compared as integers, so the kernel and the browser put every token in the same step
STEPS = (-105, -357, -693, -1386, -2303)
LEAST = 3  # the least likely tokens the footer names
TABLE = 10  # ... and the static rendering's table lists, with their alternatives
LABEL = 24  # characters of a token shown in a label


def shown_logprobs(compact: Any) -> dict[str, Any] | None:
    """The structured turn's form of the record's columns (session/record.py), or None."""
    content = compact.get("content") if isinstance(compact, dict) else None
    if not isinstance(content, dict) or not isinstance(content.get("tokens"), list):
        return None
    tokens = [t if isinstance(t, str) else "" for t in content["tokens"]]
    values = content.get("logprobs") if isinstance(content.get("logprobs"), list) else []
    out: dict[str, Any] = {
        "scale": SCALE,
        "tokens": tokens,
        "logprobs": [_milli(v) for v in values[: len(tokens)]]
        + [None] * (len(tokens) - len(values)),
    }
    tops = content.get("top")
    if isinstance(tops, list):
        out["top"] = [
            _alternatives(tokens[i], tops[i] if i < len(tops) else []) for i in range(len(tokens))
        ]
    return out


def pack(lp: dict[str, Any]) -> str:
    """The form as the structured turn holds it: one string of compact JSON."""
    return json.dumps(lp, ensure_ascii=False, separators=(",", ":"))


def unpack(value: Any) -> Any:
    """The form from a structured turn (packed, or a dict as it is); None when unreadable."""
    if not isinstance(value, str):
        return value

    def no_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(value, parse_constant=no_constant)
    except (ValueError, RecursionError):
        return None


def _milli(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return min(0, round(value * SCALE))


def _alternatives(token: str, top: Any) -> list[Any]:
    flat: list[Any] = []
    chosen = False
    for pair in top if isinstance(top, list) else ():
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            continue
        if pair[0] == token and not chosen:
            chosen = True  # the token itself: its value is the token's
            continue
        milli = _milli(pair[1])
        if milli is not None:
            flat += [pair[0], milli]
    return flat


# -- reading the form (the same for every checker and renderer) ----------------------------------
def step(milli: Any) -> int:
    """0 (90 % or more likely) to 5 (under 10 %); -1 when unknown."""
    if isinstance(milli, bool) or not isinstance(milli, (int, float)) or not math.isfinite(milli):
        return -1
    return sum(milli < s for s in STEPS)


def percent(milli: int) -> str:
    p = math.exp(milli / SCALE) * 100
    if p >= 9.95:
        return f"{p:.0f}%"
    return f"{p:.1f}%" if p >= 0.05 else "<0.1%"


def label(token: str) -> str:
    """A token as labels show it: in curly quotes, line breaks and tabs as escapes."""
    chars = list(token)
    text = "".join(chars[:LABEL]) + ("…" if len(chars) > LABEL else "")
    for raw, shown in (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(raw, shown)
    return "“" + "".join(c if c >= " " and c != "\x7f" else "�" for c in text) + "”"


def alternatives(lp: dict[str, Any], i: int) -> list[tuple[str, int]]:
    top = lp.get("top")
    flat = top[i] if isinstance(top, list) and i < len(top) and isinstance(top[i], list) else []
    return [
        (flat[n], flat[n + 1])
        for n in range(0, len(flat) - 1, 2)
        if isinstance(flat[n], str) and step(flat[n + 1]) >= 0
    ]


def placed(lp: dict[str, Any], answer: str) -> list[tuple[int, int, int]] | None:
    """Where each token falls on the answer: ``(start, end, token)``, the answer's own
    characters; None when the tokens, joined, do not hold the answer (the last place they
    do: a reasoning model's tokens spell its reasoning first)."""
    tokens = lp["tokens"]
    at = "".join(tokens).rfind(answer) if answer else -1
    if at < 0:
        return None
    out, pos, end = [], 0, at + len(answer)
    for i, t in enumerate(tokens):
        lo, hi = max(pos, at), min(pos + len(t), end)
        pos += len(t)
        if lo < hi:
            out.append((lo - at, hi - at, i))
    return out


def summary(lp: dict[str, Any]) -> dict[str, Any] | None:
    """``n`` tokens with a value, their ``mean`` log-probability (nats), ``perplexity``, and
    the ``least`` likely tokens' indices (least first)."""
    values = [(v, i) for i, v in enumerate(lp["logprobs"]) if step(v) >= 0]
    if not values:
        return None
    mean = sum(v for v, _ in values) / len(values) / SCALE
    return {
        "n": len(values),
        "mean": mean,
        "perplexity": math.exp(-mean),
        "least": [i for _, i in sorted(values)],
    }


def footer_text(lp: dict[str, Any] | None) -> str:
    """The footer's part: ``perplexity 1.42 · least likely “ the” 12%, ...``."""
    s = summary(lp) if lp else None
    if s is None:
        return ""
    least = ", ".join(
        f"{label(lp['tokens'][i])} {percent(lp['logprobs'][i])}" for i in s["least"][:LEAST]
    )
    return f"perplexity {s['perplexity']:.2f} · least likely {least}"


# -- the static rendering --------------------------------------------------------------------------
OPEN = '<div class="jupyter-chat-logprobs"><details><summary>Token probabilities'
TOKENS_OPEN = '<p class="jupyter-chat-tokens">'
UNSIGNED = " (outside the signature)"


def token_title(lp: dict[str, Any], i: int) -> str:
    """``12% (or “ the” 80%, “ a” 5.1%)``: the token's probability, then its alternatives'
    (none named when none were asked; "(no other sent)" when asked and none came)."""
    alts = alternatives(lp, i)
    if "top" not in lp:
        return percent(lp["logprobs"][i])
    said = ", ".join(f"{label(t)} {percent(v)}" for t, v in alts) if alts else "no other sent"
    return f"{percent(lp['logprobs'][i])} (or {said})"


def logprobs_html(lp: dict[str, Any], answer: str, signed: bool = False) -> Html:
    """The static rendering: folded under its summary, the answer's tokens (their shading a
    mark, their alternatives in a title), a legend, and the least likely tokens' table; in a
    signed turn, the summary says the probabilities are outside the signature."""
    s = summary(lp)
    head = f": {s['n']} tokens, perplexity {s['perplexity']:.2f}" if s else ": none has a value"
    parts = [
        Html('<div class="jupyter-chat-logprobs"><details><summary>Token probabilities{}{}').format(
            head, UNSIGNED if signed else ""
        )
        + Html("</summary>")
    ]
    where = placed(lp, answer)
    if where is None:
        parts.append(Html("<p>The tokens do not spell the answer shown.</p>"))
    else:
        parts.append(Html('<p class="jupyter-chat-tokens">'))
        parts.extend(_segment(lp, answer, w) for w in where)
        parts.append(
            Html(
                "</p><p><sub>Shading: plain 90 % likely or more, <u>underlined</u> 50 to 90 %, "
                "<mark>marked</mark> 10 to 50 %, <mark><strong>marked bold</strong></mark> under "
                "10 %; a shaded token's title holds its alternatives.</sub></p>"
            )
        )
    if s is not None:
        parts.append(_table(lp, s["least"][:TABLE]))
    parts.append(Html("</details></div>"))
    return Html("").join(parts)


def _segment(lp: dict[str, Any], answer: str, where: tuple[int, int, int]) -> Html:
    start, end, i = where
    text = Html("<br>").join(html_text(line) for line in answer[start:end].split("\n"))
    level = step(lp["logprobs"][i])
    if level <= 0:
        return text
    title = token_title(lp, i)
    if level <= 2:
        return Html('<u title="{}">{}</u>').format(title, text)
    if level <= 4:
        return Html('<mark title="{}">{}</mark>').format(title, text)
    return Html('<mark title="{}"><strong>{}</strong></mark>').format(title, text)


def _table(lp: dict[str, Any], least: list[int]) -> Html:
    asked = "top" in lp  # alternatives were asked for: a column of them
    rows = Html("").join(
        Html("<tr><td><code>{}</code></td><td>{}</td>{}</tr>").format(
            label(lp["tokens"][i]),
            percent(lp["logprobs"][i]),
            Html("<td>{}</td>").format(
                ", ".join(f"{label(t)} {percent(v)}" for t, v in alternatives(lp, i)) or "none sent"
            )
            if asked
            else Html(""),
        )
        for i in least
    )
    return Html(
        "<table><thead><tr><th>least likely</th><th>probability</th>{}</tr></thead>"
        "<tbody>{}</tbody></table>"
    ).format(Html("<th>alternatives</th>") if asked else Html(""), rows)

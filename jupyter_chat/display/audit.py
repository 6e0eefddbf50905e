"""Re-verify what a saved notebook or replay store holds: each signed turn's signature, and
that what its output shows (answer, reasoning, prompt, model, the Markdown) is what was signed.

A record's own ``signature`` field is never trusted: an output that claims ``verified`` with
nothing signed in it is reported as invalid. Files from strangers are read with bounds: regular
files only, a size limit, nesting depth errors and wrong shapes reported in one line.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
from pathlib import Path
from typing import Any

from .._secrets import clip
from ..errors import ConfigError
from ..providers.eigencloud import verify
from ..providers.hooks import Verdict
from ..session.record import bind

MIME = "application/vnd.jupyter-chat+json"
MAX_NOTEBOOK_BYTES = 256 * 1024 * 1024
_CLAIM = "signature verified"


def audit(path: str | os.PathLike) -> list[tuple[str, Verdict]]:
    """``(where, verdict)`` for every signed turn, and every false claim of one, in a notebook
    (``.ipynb``) or a replay store."""
    path = Path(path)
    regular_file(path)
    if path.suffix == ".ipynb":
        return _notebook(path)
    return _store(path)


def regular_file(path: Path) -> None:
    try:
        if not path.is_file():
            raise ConfigError(
                f"no such file: {path}" if not path.exists() else f"not a file: {path}"
            )
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_json(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> Any:
    size = path.stat().st_size
    if size > limit:
        raise ConfigError(f"{path.name} is {size / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB")
    try:
        with path.open("rb") as f:
            return json.loads(f.read(limit + 1))
    except RecursionError:
        raise ConfigError(f"{path.name} is nested too deeply to be a notebook") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path.name}: {clip(str(exc), 200)}") from None


# -- notebooks -------------------------------------------------------------------------------
def _notebook(path: Path) -> list[tuple[str, Verdict]]:
    from ..providers.config import CONFIG

    nb = load_json(path)
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ConfigError(f"{path.name} is not a notebook (no list of cells)")
    signers = CONFIG.signers()
    found = []
    for n, cell in enumerate(cells, 1):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for out in outputs if isinstance(outputs, list) else ():
            data = out.get("data") if isinstance(out, dict) else None
            if not isinstance(data, dict):
                continue
            turn = data.get(MIME) if isinstance(data.get(MIME), dict) else {}
            signed = turn.get("signed")
            if signed is not None:
                found.append((f"cell {n}", _check_output(signed, turn, data, out, signers)))
            elif _claims_verified(out, data, turn):
                found.append(
                    (f"cell {n}", Verdict("invalid", "claims a verified signature; nothing signed"))
                )
    return found


def _check_output(
    signed: Any, turn: dict, data: dict, out: dict, signers: dict[int, str]
) -> Verdict:
    kw = signed_kwargs(signed)
    if isinstance(kw, Verdict):
        return kw
    answer, reasoning = turn.get("answer"), turn.get("reasoning") or ""
    if not isinstance(answer, str) or not isinstance(reasoning, str):
        return Verdict("invalid", "the output's answer is not text")
    v = bind(verify(**kw, signers=signers), kw["response_contents"], [(answer, reasoning)])
    if v.state != "verified":
        return v
    meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    # the record is in the metadata; older saved outputs have it in the data as well
    for record in (meta.get("jupyter_chat"), turn.get("record")):
        if isinstance(record, dict):
            shown = record.get("served_model") or record.get("model")
            if shown not in (None, kw["model"]):
                return Verdict("invalid", "the model shown differs from the signed model")
    asked = [m.get("content") for m in turn.get("messages") or () if isinstance(m, dict)]
    if not _in_order([c for c in asked if isinstance(c, str)], kw["request_messages"]):
        return Verdict("invalid", "the prompt shown differs from the signed request")
    why = _markdown_differs(data.get("text/markdown"), answer) or _plain_differs(
        data.get("text/plain"), answer
    )
    return Verdict("invalid", why) if why else v


def signed_kwargs(signed: Any) -> dict[str, Any] | Verdict:
    """The keywords of ``verify`` from an output's signed block, or why it is malformed."""
    if not isinstance(signed, dict):
        return Verdict("invalid", "the signed block is not an object")
    chain, model, sig = signed.get("chain_id"), signed.get("model"), signed.get("signature")
    prompts, outputs = signed.get("request_contents"), signed.get("response_contents")
    if not (
        isinstance(chain, int)
        and isinstance(model, str)
        and isinstance(sig, str)
        and isinstance(prompts, list)
        and isinstance(outputs, list)
    ):
        return Verdict("invalid", "the signed block is malformed")
    return {
        "chain_id": chain,
        "model": model,
        "request_messages": [{"content": c} for c in prompts],
        "response_contents": outputs,
        "signature": sig,
    }


def _claims_verified(out: dict, data: dict, turn: dict) -> bool:
    meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    for record in (meta.get("jupyter_chat"), turn.get("record")):
        if isinstance(record, dict) and record.get("signature") == "verified":
            return True
    for mime in ("text/plain", "text/markdown"):
        text = _text(data.get(mime))
        if text and _CLAIM in html.unescape(text):
            return True
    return False


def _in_order(shown: list[str], signed_messages: list[dict]) -> bool:
    """Every shown prompt is among the signed request's contents, in order."""
    signed = iter(m.get("content") for m in signed_messages)
    return all(any(s == c for c in signed) for s in shown)


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # nbformat may store text as a list of lines
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


_SECTION = '<div class="jupyter-chat-answer">'
_TAG = re.compile(r"<[^>]*>")


def _words(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def _markdown_differs(markdown: Any, answer: str) -> str | None:
    """The Markdown output must show the signed answer, once, and nothing else as answer."""
    from .formats import pretty_json
    from .sanitize import answer_html

    text = _text(markdown)
    if text is None:
        return None
    if text.count(_SECTION) != 1:
        return "the Markdown output does not show exactly one answer"
    section = text.split(_SECTION, 1)[1].split("</div>", 1)[0]
    shown = _words(section)
    expected = {_words(answer_html(answer)), " ".join(answer.split())}
    with contextlib.suppress(ValueError):
        expected.add(" ".join(pretty_json(answer).split()))
    return None if shown in expected else "the Markdown output shows another answer"


def _plain_differs(plain_text: Any, answer: str) -> str | None:
    from .._text import plain
    from .bundle import plain_head

    text = _text(plain_text)
    if text is None or not answer or plain(plain_head(answer)) in text:
        return None
    return "the plain-text output shows another answer"


# -- stores ----------------------------------------------------------------------------------
def _store(path: Path) -> list[tuple[str, Verdict]]:
    from ..providers.config import CONFIG
    from ..replay.store import Store

    signers = CONFIG.signers()
    found = []
    for n, rec in enumerate(Store(path).records().values(), 1):
        if rec.get("chain_id") is None:
            continue
        found.append((f"record {n}", _check_recording(rec, signers)))
    return found


def _check_recording(rec: dict, signers: dict[int, str]) -> Verdict:
    resp, request = rec.get("response"), rec.get("request")
    choices = resp.get("choices") if isinstance(resp, dict) else None
    messages = request.get("messages") if isinstance(request, dict) else None
    if not isinstance(choices, list) or not isinstance(messages, list):
        return Verdict("invalid", "the recording is malformed")
    if not all(isinstance(c, dict) for c in choices) or not isinstance(rec["chain_id"], int):
        return Verdict("invalid", "the recording is malformed")
    contents = [c.get("raw_content") for c in choices]
    extras = resp.get("extras") if isinstance(resp.get("extras"), dict) else {}
    v = verify(
        chain_id=rec["chain_id"],
        model=resp.get("model") if isinstance(resp.get("model"), str) else None,
        request_messages=[m if isinstance(m, dict) else {} for m in messages],
        response_contents=contents,
        signature=extras.get("signature"),
        signers=signers,
    )
    shown = [(c.get("answer"), c.get("reasoning") or "") for c in choices]
    if not all(isinstance(a, str) and isinstance(r, str) for a, r in shown):
        return Verdict("invalid", "the recording's answer is not text")
    return bind(v, contents, shown)


__all__ = ["audit"]

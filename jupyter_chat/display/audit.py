"""Re-verify what a saved notebook or replay store holds: each signed turn's signature, and
that everything its output shows is what was signed (the one rule, shown.py).

A record's own ``signature`` field is never trusted: an output that claims ``verified`` with
nothing signed in it is reported as invalid. Files from strangers are read with bounds: regular
files only, a size limit, nesting depth errors and wrong shapes reported in one line.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from .._secrets import clip
from ..errors import ConfigError
from ..providers.eigencloud import verify
from ..providers.hooks import Verdict
from ..session.record import bind
from .shown import check_output

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
            meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
            verdict = check_output(data, meta, signers)
            if verdict is not None:
                found.append((f"cell {n}", verdict))
            elif _claims_verified(out, data, turn):
                found.append(
                    (f"cell {n}", Verdict("invalid", "claims a verified signature; nothing signed"))
                )
    return found


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


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # nbformat may store text as a list of lines
        value = "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else None


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
    shown = [(c.get("answer"), c.get("reasoning") or "", c.get("tool_calls")) for c in choices]
    if not all(isinstance(a, str) and isinstance(r, str) for a, r, _ in shown):
        return Verdict("invalid", "the recording's answer is not text")
    return bind(v, contents, shown)


__all__ = ["audit"]

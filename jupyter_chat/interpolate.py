"""Variable interpolation of ``%%chat`` cell bodies: ``{name}`` becomes ``str(value)``.

A small one-pass scanner, not ``str.format``, so prompts holding JSON, dicts or code never crash.

- Placeholders: ``{name}``, ``{name.attr}``, ``{name[key]}``, a method called without
  arguments (``{df.describe()}``) and chains of them, such as ``{df.shape[0]}``,
  ``{cfg["model"].name}``, ``{df.head().to_string()}``, ``{In[3]}``, ``{Out[-1]}``, ``{Err[3]}``. Spaces
  just inside the braces are allowed. A key is an integer (negative allowed, as in Python) or a
  quoted string without escapes. The value is inserted as ``str(value)``.
- Attributes starting with ``_`` (``{x._secret}``, ``{x.__class__}``) are refused.
- ``{{`` and ``}}`` write a literal ``{`` and ``}``.
- Anything else in braces is copied byte for byte, with everything nested in it: JSON, dict and
  set literals, ``{}``, ``{x:.2f}``, ``{a: 1}``. So is a lone brace. A placeholder nested in
  such a group (``{"user": {name}}``) is copied too, not filled.
- Code is copied byte for byte, ``{{`` included: fenced blocks (from a line whose first non-blank
  characters are three or more backticks or tildes to a line of at least as many of the same
  character, or to the end of the cell) and inline code spans (a run of backticks up to the next
  run of the same length in the same paragraph). To keep an f-string such as ``f"{x}"`` in a
  prompt, write it as code.
- An unknown name, a failing attribute, key or index, or a refused attribute raises
  ``InterpolationError`` naming the placeholder, its line and the Python error type, without a
  traceback. Write ``{{x}}`` for literal braces, or use ``--no-interpolate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ConfigError

__all__ = ["InterpolationError", "interpolate"]

_BRACE = re.compile(r"[{}]")  # a single character class: no backtracking
_BLANK = " \t"
_DIGITS = "0123456789"
_HINT = "Fix the placeholder, write {{%s}} for literal braces, or use --no-interpolate."
_HINT_UNKNOWN = "Define it, write {{%s}} for literal braces, or use --no-interpolate."

Step = tuple[str, str | int]  # (".", attribute), ("[", key) or ("(", "") for a call


class InterpolationError(ConfigError):
    """A placeholder could not be filled: unknown name, failing lookup or refused attribute."""


def interpolate(text: str, lookup: Callable[[str], Any]) -> str:
    """Fill the placeholders of ``text``; ``lookup(name)`` returns a value or raises KeyError."""
    segments = _segments(text)
    match = _match_braces(text, segments)
    out: list[str] = []
    pos = 0
    for start, end, is_code in segments:
        if end <= pos:  # swallowed by a brace group that spans code
            continue
        start = max(start, pos)
        if is_code:
            out.append(text[start:end])
            pos = end
        else:
            pos = _prose(text, start, end, match, lookup, out)
    return "".join(out)


# --- code: fenced blocks and inline spans -----------------------------------------------


def _segments(text: str) -> list[tuple[int, int, bool]]:
    """Split ``text`` into (start, end, is_code) pieces covering it in order."""
    code: list[tuple[int, int]] = []
    n = len(text)
    i = para = 0  # para: start of the current paragraph, where inline spans may run
    while i < n:
        eol = text.find("\n", i)
        eol = n if eol < 0 else eol
        nxt = min(eol + 1, n)
        fence = _fence(text, i, eol)
        if fence:
            _inline(text, para, i, code)
            close = _closing_fence(text, nxt, fence)
            code.append((i, close))
            i = para = close
            continue
        if not text[i:eol].strip():
            _inline(text, para, i, code)
            para = nxt
        i = nxt
    _inline(text, para, n, code)
    segments: list[tuple[int, int, bool]] = []
    pos = 0
    for start, end in code:
        if pos < start:
            segments.append((pos, start, False))
        segments.append((start, end, True))
        pos = end
    if pos < n:
        segments.append((pos, n, False))
    return segments


def _run_end(text: str, i: int, end: int, ch: str) -> int:
    while i < end and text[i] == ch:
        i += 1
    return i


def _skip_blank(text: str, i: int, end: int) -> int:
    while i < end and text[i] in _BLANK:
        i += 1
    return i


def _fence(text: str, i: int, eol: int) -> str:
    """The opening fence (e.g. ```` ``` ````) if the line text[i:eol] opens a code block."""
    j = _skip_blank(text, i, eol)
    if j == eol or text[j] not in "`~":
        return ""
    k = _run_end(text, j, eol, text[j])
    if k - j < 3 or (text[j] == "`" and "`" in text[k:eol]):
        return ""
    return text[j:k]


def _closing_fence(text: str, i: int, fence: str) -> int:
    """End of the line that closes ``fence`` (searching from ``i``), or the end of the text."""
    n = len(text)
    while i < n:
        eol = text.find("\n", i)
        eol = n if eol < 0 else eol
        j = _skip_blank(text, i, eol)
        k = _run_end(text, j, eol, fence[0])
        if k - j >= len(fence) and not text[k:eol].strip():
            return min(eol + 1, n)
        i = eol + 1
    return n


def _inline(text: str, i: int, end: int, code: list[tuple[int, int]]) -> None:
    """Append the inline code spans of the paragraph text[i:end]: a run of N backticks up to
    the next run of exactly N; a run without one is a literal backtick run."""
    runs: list[tuple[int, int]] = []
    while (j := text.find("`", i, end)) >= 0:
        i = _run_end(text, j, end, "`")
        runs.append((j, i - j))
    ahead: dict[int, list[int]] = {}  # run length -> starts of the runs not yet passed, last first
    for start, size in reversed(runs):
        ahead.setdefault(size, []).append(start)
    pos = 0  # end of the last span
    for start, size in runs:
        ahead[size].pop()  # passing this run
        if start >= pos and ahead[size]:
            pos = ahead[size][-1] + size
            code.append((start, pos))


# --- braces -------------------------------------------------------------------------------


def _match_braces(text: str, segments: list[tuple[int, int, bool]]) -> dict[int, int]:
    """Map each ``{`` outside code to its balancing ``}``, counting every brace."""
    match: dict[int, int] = {}
    stack: list[int] = []
    for start, end, is_code in segments:
        if not is_code:
            for m in _BRACE.finditer(text, start, end):
                if text[m.start()] == "{":
                    stack.append(m.start())
                elif stack:
                    match[stack.pop()] = m.start()
    return match


def _prose(
    text: str,
    i: int,
    end: int,
    match: dict[int, int],
    lookup: Callable[[str], Any],
    out: list[str],
) -> int:
    """Copy text[i:end] to ``out`` filling placeholders; return where scanning stopped."""
    while i < end:
        m = _BRACE.search(text, i, end)
        if m is None:
            out.append(text[i:end])
            return end
        j = m.start()
        out.append(text[i:j])
        double = j + 1 < end and text[j + 1] == text[j]
        if text[j] == "}" or double:
            out.append(text[j])
            i = j + 1 + double
        elif parsed := _parse(text, j, end):
            name, steps, i = parsed
            out.append(_fill(text, j, i, name, steps, lookup))
        elif j in match:
            i = match[j] + 1
            out.append(text[j:i])
        else:
            out.append("{")
            i = j + 1
    return i


def _ident(text: str, i: int, end: int) -> tuple[str, int]:
    j = i
    while j < end and (text[j].isalnum() or text[j] == "_"):
        j += 1
    word = text[i:j]
    return (word, j) if word.isidentifier() else ("", i)


def _key(text: str, i: int, end: int) -> tuple[str | int | None, int]:
    """Parse ``key]`` from text[i]: an integer or a quoted string, blanks around it allowed."""
    i = _skip_blank(text, i, end)
    if i < end and text[i] in "'\"":
        j = text.find(text[i], i + 1, end)
        if j < 0 or "\n" in text[i + 1 : j]:
            return None, i
        key: str | int = text[i + 1 : j]
        j += 1
    else:
        j = i + (i < end and text[i] == "-")
        k = j
        while j < end and text[j] in _DIGITS:
            j += 1
        if not 0 < j - k <= 18:
            return None, i
        key = int(text[i:j])
    j = _skip_blank(text, j, end)
    return (key, j + 1) if j < end and text[j] == "]" else (None, i)


def _parse(text: str, i: int, end: int) -> tuple[str, list[Step], int] | None:
    """Parse the placeholder at text[i] == "{": (name, steps, end) or None if it is not one."""
    name, j = _ident(text, _skip_blank(text, i + 1, end), end)
    if not name:
        return None
    steps: list[Step] = []
    while j < end and text[j] in ".[(":
        if text[j] == ".":
            attr, j = _ident(text, j + 1, end)
            if not attr:
                return None
            steps.append((".", attr))
        elif text[j] == "(":
            if not (steps and steps[-1][0] == "." and text.startswith("()", j)):
                return None  # only a method call without arguments: {df.describe()}
            steps.append(("(", ""))
            j += 2
        else:
            key, j = _key(text, j + 1, end)
            if key is None:
                return None
            steps.append(("[", key))
    j = _skip_blank(text, j, end)
    return (name, steps, j + 1) if j < end and text[j] == "}" else None


def _short(s: str, limit: int = 80) -> str:
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _describe(exc: Exception) -> str:
    try:
        detail = _short(str(exc))
    except Exception:
        detail = ""
    return f"{type(exc).__name__} {detail}".rstrip()


def _fill(
    text: str, i: int, end: int, name: str, steps: list[Step], lookup: Callable[[str], Any]
) -> str:
    """The value of the placeholder text[i:end], as a string."""
    src = text[i:end]

    def error(message: str, hint: str = _HINT) -> InterpolationError:
        line = text.count("\n", 0, i) + 1
        return InterpolationError(f"{message} (line {line})", hint=hint % _short(src[1:-1]))

    for kind, step in steps:
        if kind == "." and str(step).startswith("_"):
            raise error(f"{_short(src)}: attribute {step!r} is private and refused")
    try:
        value = lookup(name)
    except KeyError:
        raise error(f"unknown name {name!r} in {_short(src)}", _HINT_UNKNOWN) from None
    except Exception as exc:
        raise error(f"{_short(src)}: {_describe(exc)}") from None
    try:
        for kind, step in steps:
            if kind == "(":
                value = value()
            else:
                value = getattr(value, str(step)) if kind == "." else value[step]
        return str(value)
    except Exception as exc:
        raise error(f"{_short(src)}: {_describe(exc)}") from None

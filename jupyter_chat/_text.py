"""Characters that must not reach a screen as they are: control sequences (a terminal obeys
them: window titles, clipboard writes, cursor moves) and bidirectional overrides (they reorder
what is shown). Shared by the errors and the display."""

from __future__ import annotations

# C0/C1 controls, DEL, line and paragraph separators: a space in one-line text
CONTROLS = {c: " " for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)}
BIDI = {c: None for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
_PLAIN = str.maketrans({**{c: " " for c in CONTROLS if c not in (0x09, 0x0A)}, 0x0D: None, **BIDI})
_ONE_LINE = str.maketrans({**CONTROLS, **BIDI})


def plain(value: object) -> str:
    """Text for terminals and ``text/plain``: line breaks and tabs stay, no other control."""
    return str(value).translate(_PLAIN)


def one_line(value: object) -> str:
    """Plain text on one line (footers, labels, table cells)."""
    return str(value).translate(_ONE_LINE)

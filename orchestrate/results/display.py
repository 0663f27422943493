"""Text from the data made safe to show: control, bidirectional and invisible characters made
visible as escapes, long names shortened, and numbers without rounding noise.

A user name is data from the events table: it may hold an ANSI escape that recolours a
terminal, a right-to-left override that makes `rtl\\u202egnp.exe` read as `rtlexe.png`, or
100,000 characters. Whatever shows it to a person (the report, the printed table, Dagster's
metadata) passes it through `visible`, so the page and the terminal stay honest and small;
the exports keep the exact names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# shown names are cut to this many characters; the exports hold them whole
NAME_LIMIT = 80
# C0 and C1 controls and DEL; bidirectional embeddings, overrides, isolates and marks; the
# zero-width and invisible characters; line and paragraph separators
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\u3164\ufeff\uffa0]"
)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_parts(text: str, limit: int = NAME_LIMIT) -> Iterator[tuple[str, bool]]:
    """The text as (piece, is_escape) pieces: each hidden character as its escape (\\x1b,
    \\u202e), cut after `limit` characters with a note of the full length."""
    shown = text[:limit]
    position = 0
    for match in _HIDDEN.finditer(shown):
        if match.start() > position:
            yield shown[position : match.start()], False
        yield _escape(match.group()), True
        position = match.end()
    if position < len(shown):
        yield shown[position:], False
    if len(text) > limit:
        yield f"… ({len(text):,} characters)", True


def visible(text: str, limit: int = NAME_LIMIT) -> str:
    """The text with hidden characters as escapes and cut after `limit` characters."""
    return "".join(piece for piece, _ in visible_parts(text, limit))


def clean_number(value: float) -> float:
    """The value without float noise around zero (-5.551e-17 is 0), and never -0."""
    return 0.0 if abs(value) < 1e-9 else value


def number_text(value: float) -> str:
    """Four significant digits, whole numbers from 10,000 on (never an exponent for those)."""
    value = clean_number(value)
    return f"{value:.0f}" if abs(value) >= 10_000 else f"{value:.4g}"

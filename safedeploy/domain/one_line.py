"""Names and reasons that stay on one line wherever they are written.

A person's name and the reason they give end up in commit messages, whose trailers
`history` reads back, and in one-line records. A line break in either would let the text
write a trailer of its own (a forged `Safedeploy-Service:` line files the commit under
another service), and other control characters rewrite what a terminal shows. Every C0
and C1 control character (tab, CR, LF, NUL and DEL among them) and the Unicode line and
paragraph separators are refused.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from safedeploy.errors import BadInputError

# Cc: C0, DEL and C1 (NEL, U+0085, included); Zl, Zp: U+2028 and U+2029.
_REFUSED: Final = frozenset({"Cc", "Zl", "Zp"})


def control_character(text: str) -> str | None:
    """The first character of `text` that breaks or hides a line, None when there is none."""
    return next((c for c in text if unicodedata.category(c) in _REFUSED), None)


def one_line(value: str, what: str) -> str:
    """`value` when it holds no control character; BadInputError naming `what` otherwise."""
    found = control_character(value)
    if found is not None:
        raise BadInputError(
            f"{what}: control character U+{ord(found):04X} is not allowed "
            "(names and reasons are one line of printable text)"
        )
    return value

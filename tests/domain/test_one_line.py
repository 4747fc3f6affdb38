import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.one_line import control_character, one_line
from safedeploy.errors import BadInputError

REFUSED = ["\n", "\r", "\0", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029"]
KEPT = ["alice", "Ünïcödé reason", "rolled back — 1.4.2 → 1.4.1", "emoji 👩‍💻", "a:b @org/team"]


@pytest.mark.parametrize("character", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_every_line_breaking_or_control_character_is_refused(character: str) -> None:
    with pytest.raises(BadInputError, match=rf"^--by: control character U\+{ord(character):04X}"):
        one_line(f"alice{character}Safedeploy-Service: payments", "--by")


@pytest.mark.parametrize("text", KEPT)
def test_printable_text_is_kept_as_it_is(text: str) -> None:
    assert one_line(text, "--reason") == text


@given(st.text())
def test_refused_exactly_when_a_character_is_a_control_or_a_separator(text: str) -> None:
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    assert control_character(text) == (bad[0] if bad else None)
    # Whatever is kept is one line to every reader: Python's, git's and a terminal's.
    if not bad:
        assert len(one_line(text, "x").splitlines()) <= 1

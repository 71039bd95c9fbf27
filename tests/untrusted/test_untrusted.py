"""plain_text: the one neutraliser for text from outside."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.untrusted import plain_text


def test_lone_surrogate_is_dropped_and_encodes() -> None:
    out = plain_text("Dr \ud800Who")
    assert out == "Dr Who"
    out.encode("utf-8")


def test_escape_sequences_and_floods_become_one_line() -> None:
    hostile = "Dr A\x1b[2J\x1b]0;pwned\x07" + "\n" * 3000 + "line\u202eevil\r\n\tend"
    out = plain_text(hostile)
    assert "\x1b" not in out and "\n" not in out and "\u202e" not in out and "\x07" not in out
    assert out == "Dr A[2J]0;pwned lineevil end"


def test_length_is_bounded_with_a_visible_cut() -> None:
    assert plain_text("x" * 10_000, limit=50) == "x" * 49 + "…"
    assert plain_text("short", limit=50) == "short"


def test_non_strings_and_accents() -> None:
    assert plain_text(None) == "None"
    assert plain_text(42) == "42"
    assert plain_text("  Élodie   Müller  ") == "Élodie Müller"


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_always_printable_bounded_and_encodable(text: str, limit: int) -> None:
    out = plain_text(text, limit=limit)
    assert len(out) <= limit
    assert out == out.strip()
    assert all(ch == " " or ch.isprintable() for ch in out)
    out.encode("utf-8")

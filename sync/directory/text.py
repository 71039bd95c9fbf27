"""Folding text for search: case- and accent-insensitive words, so "Hôpital St-Éloi" is found by "hopital eloi"."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "haystack"]

_APOSTROPHES = re.compile(r"['’`´]")
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """Lower-case words without accents, joined by single spaces ("St. Mary's" -> "st marys")."""
    if text.isascii():  # nearly every name in US lists; skips the per-character work below
        bare = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if "'" in bare or not text.isascii():
        # An apostrophe joins rather than splits, so "marys" finds "Mary's".
        bare = _APOSTROPHES.sub("", bare)
    return _NOT_WORD.sub(" ", bare).strip()


def haystack(*parts: str) -> str:
    """The folded words of `parts`, with a space before and after each, so " word" finds word starts."""
    return f" {fold(' '.join(p for p in parts if p))} "

"""Advice while a patient chooses a passphrase: how strong it looks, and whether the two entries match."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.record import MIN_PASSPHRASE

__all__ = ["Strength", "new_passphrase_problem", "strength"]

_COMMON = {"password", "passphrase", "12345678", "123456789", "qwertyui", "iloveyou", "letmein1", "carry123"}


@dataclass(frozen=True)
class Strength:
    score: int  # 0 (too short) .. 4 (strong)
    label: str
    hint: str


def strength(passphrase: str) -> Strength:
    if len(passphrase) < MIN_PASSPHRASE:
        return Strength(0, "Too short", f"Use at least {MIN_PASSPHRASE} characters; four unrelated words work well.")
    if passphrase.lower() in _COMMON or len(set(passphrase)) <= 3:
        return Strength(1, "Weak", "This is easy to guess. Try a few unrelated words.")
    words = len(re.findall(r"[A-Za-z]{3,}", passphrase))
    classes = sum(bool(re.search(p, passphrase)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    points = len(passphrase) / 4 + classes + (2 if words >= 3 else 0)
    if points >= 9:
        return Strength(4, "Strong", "Good. Write it down somewhere safe at home.")
    if points >= 6.5:
        return Strength(3, "Good", "Good. A longer passphrase is stronger still.")
    return Strength(2, "Fair", "Longer is stronger: add another word or two.")


def new_passphrase_problem(first: str, second: str) -> str | None:
    """The sentence to show when the new passphrase cannot be used, or None when it can."""
    if len(first) < MIN_PASSPHRASE:
        return f"Choose a passphrase of at least {MIN_PASSPHRASE} characters."
    if first != second:
        return "The two passphrases are not the same."
    return None

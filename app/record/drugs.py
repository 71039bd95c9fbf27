"""What a medication's name says: ingredients, strengths and dose form, read from RxNorm-style names.

RxNorm clinical drug names (SCD/SBD) follow a fixed pattern -- "Acetaminophen 325 MG / oxyCODONE Hydrochloride
5 MG Oral Tablet", "1 ML Epinephrine 1 MG/ML Injection", "... [Vicodin]" -- so ingredient, strength and form can be
read from the text. Anything read from text is only ever used for *possible* matches: two medications are the same
for certain only when they carry the same code in the same system.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["Drug", "RXNORM", "normalise_text", "parse_drug"]

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Longest first: the regex takes the first alternative that fits, and "MG" must not win over "MG/ML".
_UNIT = r"(?:MCG/ACTUAT|MG/ACTUAT|MCG/HR|MEQ/ML|UNT/ML|MG/ML|MG/HR|ACTUAT|UNITS?|MMOL|MCG|MEQ|UNT|MG|ML|IU|HR|G|L|%)"
_COMPONENT = re.compile(rf"^(?P<name>.*?[A-Za-z].*?)\s+(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT})(?![A-Za-z/])(?P<rest>.*)$", re.I)
_LEADING_AMOUNT = re.compile(rf"^(?:NDA\d+\s+)?(?:\d+(?:\.\d+)?\s+{_UNIT}\s+)?", re.I)
_BRAND = re.compile(r"\[(?P<brand>[^\]]+)\]\s*$")
_WORDS = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_SUFFIX = re.compile(r"\((?:disorder|finding|procedure|substance|situation|product|medicinal product|qualifier value)\)")


@dataclass(frozen=True)
class Drug:
    """A medication as its name describes it. `ingredients` and `strengths` are in the same order."""

    ingredients: tuple[str, ...]  # lower case, as written ("naproxen sodium")
    strengths: tuple[str, ...]  # "325 mg", "1 mg/ml"
    form: str  # "oral tablet", "" when the name has none
    brand: str | None

    @property
    def key(self) -> str:
        """Ingredients with their strengths and the form, in a stable order (for possible matches)."""
        pairs = sorted(zip(self.ingredients, self.strengths, strict=True))
        return " / ".join(f"{i} {s}" for i, s in pairs) + (f" | {self.form}" if self.form else "")

    @property
    def ingredient_set(self) -> frozenset[str]:
        return frozenset(self.ingredients)

    def strength_of(self, ingredient: str) -> str | None:
        for name, strength in zip(self.ingredients, self.strengths, strict=True):
            if name == ingredient:
                return strength
        return None


@functools.lru_cache(maxsize=65536)  # the same few names come back thousands of times in a large record
def normalise_text(text: str | None) -> str:
    """Lower case words only, with SNOMED's "(disorder)"-style suffixes removed: for possible text matches."""
    if not text:
        return ""
    return " ".join(_WORDS.findall(_SUFFIX.sub(" ", text.lower())))


def parse_drug(text: str | None) -> Drug | None:
    """The ingredients, strengths and form of an RxNorm-style name; None when the name does not follow it."""
    if not text or not text.strip():
        return None
    name = text.strip()
    brand = None
    found = _BRAND.search(name)
    if found:
        brand = found.group("brand").strip()
        name = name[: found.start()].strip()
    name = _LEADING_AMOUNT.sub("", name, count=1)
    parts = [p.strip() for p in name.split(" / ")]
    ingredients: list[str] = []
    strengths: list[str] = []
    form = ""
    for index, part in enumerate(parts):
        match = _COMPONENT.match(part)
        if match is None:
            return None
        rest = match.group("rest").strip()
        if rest and index != len(parts) - 1:
            return None  # only the last component may be followed by the dose form
        ingredients.append(" ".join(match.group("name").lower().split()))
        strengths.append(f"{_number(match.group('num'))} {match.group('unit').lower()}")
        form = " ".join(rest.lower().split())
    return Drug(tuple(ingredients), tuple(strengths), form, brand)


def _number(text: str) -> str:
    # "0.50" and "0.5" are the same strength; keep integers without a decimal point.
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"

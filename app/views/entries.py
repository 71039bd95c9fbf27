"""The patient's own entries as the add and edit forms need them: the kinds, the readings with their units, the
items an entry may be "the same as", and saving or deleting one for the person on screen."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record, facts
from app.record.entries import (
    ADDED_BY_YOU,
    CRITICALITIES,
    SEVERITIES,
    Allergy,
    Draft,
    Entry,
    Medicine,
    Note,
    Reading,
    Symptom,
    delete_entry,
    describe,
    draft_of,
    is_own,
    entry_history,
    save_entry,
)
from sync.share.summary.writeback import READINGS

from .format import format_unit, tidy_name
from .people import Scope

__all__ = [
    "ADDED_BY_YOU",
    "CRITICALITIES",
    "ENTRY_KINDS",
    "READING_CHOICES",
    "SEVERITIES",
    "Allergy",
    "Draft",
    "Entry",
    "Medicine",
    "Note",
    "Reading",
    "ReadingChoice",
    "Symptom",
    "current_draft",
    "entry_text",
    "remove_entry",
    "same_as_choices",
    "store_entry",
]

# The kinds the form offers, in the order a patient reaches for them, with their names.
ENTRY_KINDS: tuple[tuple[str, str], ...] = (
    ("reading", "Reading"), ("symptom", "Symptom"), ("note", "Diary note"), ("medicine", "Medicine"),
    ("allergy", "Allergy or intolerance"),
)  # fmt: skip


@dataclass(frozen=True)
class ReadingChoice:
    key: str
    name: str
    units: tuple[tuple[str, str], ...]  # (UCUM code, as a patient reads it)
    hint: str


def _choices() -> tuple[ReadingChoice, ...]:
    out = [ReadingChoice("blood-pressure", "Blood pressure", (("mm[Hg]", "mmHg"),), "systolic/diastolic, e.g. 120/80")]
    names = {"glucose": "Blood glucose", "oxygen-saturation": "Oxygen saturation", "heart-rate": "Heart rate",
             "respiratory-rate": "Breathing rate", "temperature": "Temperature"}  # fmt: skip
    for key, sign in READINGS.items():
        out.append(ReadingChoice(key, names.get(key, sign.display.replace("Body ", "").capitalize()),
                                 tuple((u, format_unit(u)) for u in sign.units), f"{sign.low:g} to {sign.high:g} "
                                 f"{format_unit(sign.unit)}"))  # fmt: skip
    return tuple(out)


READING_CHOICES = _choices()


def entry_text(draft: Draft) -> str:
    """One line for an entry as the app shows it: a reading's UCUM unit as a patient reads it (mm[Hg] -> mmHg)."""
    text = describe(draft)
    if isinstance(draft, Reading):
        words, _, unit = text.rpartition(" ")
        text = f"{words} {format_unit(unit)}"
    return text


def store_entry(record: Record, scope: Scope, draft: Draft, ref: str | None = None) -> Entry:
    """Save a new entry in the record of the person on screen, or the next version of entry `ref`."""
    person = scope.person.key if scope.person is not None and ref is None else None
    return save_entry(record, draft, person=person, entry=ref)


def remove_entry(record: Record, ref: str) -> Entry:
    return delete_entry(record, ref)


def current_draft(record: Record, ref: str) -> Draft:
    """The entry's latest version as the form shows it."""
    return draft_of(entry_history(record, ref)[-1].resource)


def same_as_choices(record: Record, scope: Scope, kind: str) -> list[tuple[str, str]]:
    """(fact id, what it is and where from) of the items of this person an entry of `kind` may be the same as:
    problems for a symptom, medications for a medicine, allergies for an allergy; none for the rest."""
    types = {"symptom": ["Condition"], "medicine": ["MedicationRequest", "MedicationStatement"],
             "allergy": ["AllergyIntolerance"]}.get(kind)  # fmt: skip
    if types is None:
        return []
    found = facts(record, types, subjects=scope.subjects)
    return [(f.fact_id, f"{tidy_name(f.display)} ({', '.join(f.sources)})") for f in found
            if not all(is_own(s) for s in f.sources)][:200]  # fmt: skip

"""The patient's own entries as the add and edit forms need them: the kinds, the readings with their units, the
items an entry may be "the same as", and saving or deleting one for the person on screen."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record, facts, people
from app.record.entries import (
    ADDED_BY_YOU,
    CRITICALITIES,
    PATIENT_NOTE,
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
    own_entries,
    restore_entry as _restore_entry,
    save_entry,
)
from sync.share.summary.writeback import BLOOD_PRESSURE, READINGS

from .format import format_date, format_timestamp, format_unit, tidy_name
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
    "DeletedEntry",
    "Symptom",
    "VersionLine",
    "current_draft",
    "deleted_entries",
    "entry_kind",
    "entry_text",
    "entry_versions",
    "remove_entry",
    "restore_entry",
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
# The LOINC code of each reading (in every unit it may be stored in) -> its name as the form says it.
_READING_NAMES: dict[str, str] = {
    code: choice.name
    for choice in READING_CHOICES
    for code in ((BLOOD_PRESSURE["panel"][0],) if choice.key == "blood-pressure" else
                 (READINGS[choice.key].code, *(o[3] for o in READINGS[choice.key].others if o[3])))
}  # fmt: skip
# The resource types of the other kinds of entry, named as the form names the kind.
_KIND_OF_TYPE = {"Condition": "symptom", "MedicationStatement": "medicine", "AllergyIntolerance": "allergy"}


def entry_kind(resource_type: str, code: str | None = None) -> str | None:
    """What the patient calls one of their own entries, from its type and main code: "Diary note", "Symptom",
    "Medicine", "Allergy or intolerance", "Blood pressure reading", "Weight reading"; None for a type no entry has."""
    if resource_type == "Observation":
        if code == PATIENT_NOTE[0]:
            return dict(ENTRY_KINDS)["note"]
        name = _READING_NAMES.get(code or "")
        return f"{name} reading" if name else dict(ENTRY_KINDS)["reading"]
    kind = _KIND_OF_TYPE.get(resource_type)
    return dict(ENTRY_KINDS)[kind] if kind else None


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


# --- history: every version, and the deleted entries ----------------------------------------------------------------

@dataclass(frozen=True)
class VersionLine:
    """One version of an entry as its history lists it."""

    version: int
    action: str  # "added", "edited", "deleted" or "restored"
    saved: str  # when, for reading: "14 Mar 2026, 08:30"
    text: str  # the entry as it was in this version: "Blood pressure 141/92 mmHg"

    @property
    def label(self) -> str:
        return f"Version {self.version}, {self.action}"


@dataclass(frozen=True)
class DeletedEntry:
    """One of the patient's entries they deleted: what it was, when it was deleted, and every version of it."""

    ref: str  # "Type/id": what restore_entry and entry_versions take
    kind: str  # "Diary note", "Blood pressure reading", as the lists name it
    text: str  # the entry as it was when deleted
    date: str  # its own date (when measured, started, written), for reading
    deleted: str  # when it was deleted, for reading
    versions: tuple[VersionLine, ...]  # newest first: the deletion, then the versions before it


def entry_versions(record: Record, ref: str) -> list[VersionLine]:
    """Every version of one of the patient's entries (a deleted one too), newest first. Refused with one sentence
    (EntryRefused) for something that is not one of their entries."""
    return [
        VersionLine(v.version, v.action, format_timestamp(v.saved_at), entry_text(v.draft))
        for v in reversed(entry_history(record, ref))
    ]


def deleted_entries(record: Record, scope: Scope) -> list[DeletedEntry]:
    """The entries the person on screen had and deleted, each with its history, the latest deleted first: what a
    "Deleted entries" list shows, each with a Restore button (restore_entry)."""
    person = scope.person
    if person is not None:  # as the record holds them now: the first entry adds a stand-in Patient to the person
        person = next((p for p in people(record) if p.id == person.id), person)
    found = []
    for entry in sorted(own_entries(record, person, deleted=True), key=lambda e: e.saved_at, reverse=True):
        last = entry_history(record, entry.ref)[-1].resource
        found.append(DeletedEntry(entry.ref, _kind_of(last), entry_text(draft_of(last)), format_date(entry.date),
                                  format_timestamp(entry.saved_at), tuple(entry_versions(record, entry.ref))))  # fmt: skip
    return found


def restore_entry(record: Record, ref: str) -> Entry:
    """Bring back a deleted entry as it was; its history keeps every version, the deletion too."""
    return _restore_entry(record, ref)


def _kind_of(resource: dict[str, object]) -> str:
    concept = resource.get("code")
    codings = concept.get("coding", []) if isinstance(concept, dict) else []
    codes = [str(c.get("code")) for c in codings if isinstance(c, dict)]
    main = next((c for c in codes if c == PATIENT_NOTE[0] or c in _READING_NAMES), None)
    return entry_kind(str(resource.get("resourceType")), main) or "Entry"


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

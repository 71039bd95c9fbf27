"""The summary a patient sees first: what is going on now, in a handful of short lists.

Every list is built from facts (app.record.facts): a problem that two portals both sent is one line, "from 2
sources". Medications come from the reconciled list (app.record.reconcile_medications): current ones with their
status, last prescriber and last fill, stopped ones apart, conflicting doses and allergy matches said in words.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from app.record import MedicationEntry, Record, ResourceRow, Subjects, keep_summary, kept_summary, noted_items
from app.record.entries import is_own
from app.record.view_cache import KeptHead
from app.record.view_queries import has_resources, json_fields as _json_fields, rows_by_rowid

from .labs import OTHER, lab_tests
from .format import (
    code_word, day_of, format_date, format_value, kind_name, readable_measurements, source_label, tidy_name,
    years_since,
)  # fmt: skip
from .merged import Slot, cached_heads, cached_medications, caught_up, newest_recent_slots
from .people import Person, Scope
from .ranges import Flag, flag_for, range_for
from .short_names import RESULT_TYPES, short_test_name

__all__ = ["Dashboard", "Item", "Note", "build_dashboard", "result_item", "sources_text"]

_ACTIVE_CONDITION = ("active", "recurrence", "relapse")
_ORDERS = ("MedicationRequest", "MedicationStatement")
_OLD_ORDER_YEARS = 2


def sources_text(sources: tuple[str, ...]) -> str:
    """"from 2 sources" for a fact more than one source states; nothing for one; "Added by you" first for what
    the patient added themselves."""
    own = [s for s in sources if source_label(s) != s]
    if own:
        others = len(sources) - len(own)
        return source_label(own[0]) + (f" and from {others} other source{'s' if others > 1 else ''}" if others else "")
    return f"from {len(sources)} sources" if len(sources) > 1 else ""


@dataclass(frozen=True)
class Item:
    """One line of a list: what it is, when, and how to open it."""

    resource_type: str
    id: str
    source_id: int
    title: str
    date: str  # formatted for reading
    detail: str = ""
    flag: Flag | None = None
    range_text: str = ""
    sources: tuple[str, ...] = ()  # every source that states it (one fact, many copies)
    fact_id: str = ""
    notes: tuple[str, ...] = ()  # warnings in full sentences (conflicting doses, a matching allergy)
    name_source: bool = False  # the same title is on the list twice (copies kept apart): say whose each is
    noted: bool = False  # the patient wrote a note on it (a correction or context)
    entry_kind: str = ""  # what the patient calls it, when the row shown is one of their own entries ("Symptom")
    category: str | None = None  # an Observation's category: a vital sign is named as one

    @property
    def kind(self) -> str:
        return self.entry_kind or kind_name(self.resource_type, self.category)

    @property
    def sources_text(self) -> str:
        if self.name_source and len(self.sources) == 1 and source_label(self.sources[0]) == self.sources[0]:
            return f"from {self.sources[0]}"
        return sources_text(self.sources)


@dataclass(frozen=True)
class Note:
    """A medication warning for the whole list: what kind, and the sentence to show."""

    kind: str  # "conflict" | "allergy"
    title: str
    message: str


@dataclass(frozen=True)
class Dashboard:
    person: Person | None
    people: tuple[Person, ...]
    problems: tuple[Item, ...]
    medications: tuple[Item, ...]  # current
    allergies: tuple[Item, ...]
    immunizations: tuple[Item, ...]
    results: tuple[Item, ...]
    encounters: tuple[Item, ...]
    has_data: bool
    stopped_medications: tuple[Item, ...] = ()
    medication_notes: tuple[Note, ...] = ()
    treatment: tuple[Item, ...] = ()  # active care plans and the latest recorded regimens and plans
    devices: tuple[Item, ...] = ()  # devices (often undated, so on no timeline): their home is the summary


def _item(row: ResourceRow, detail: str = "", flag: Flag | None = None, range_text: str = "") -> Item:
    title = tidy_name(row.code_display or row.display) if row.resource_type not in RESULT_TYPES else short_test_name(
        row.code, row.code_display or row.display.split(":")[0]
    )
    own = kind_name(row.resource_type, row.category, code=row.code, own=True) if is_own(row.source) else ""
    return Item(row.resource_type, row.id, row.source_id, title, format_date(row.date), detail, flag, range_text,
                entry_kind=own, category=row.category)  # fmt: skip


def _with_fact(item: Item, fact: KeptHead) -> Item:
    return replace(item, date=format_date(fact.date), sources=fact.sources, fact_id=fact.fact_id)


def _dedupe(found: Iterable[KeptHead], limit: int) -> list[KeptHead]:
    """The newest fact per code (or name) and sources: an illness one portal recorded again years later is one line,
    while copies the patient said are not the same stay two."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept = []
    for fact in found:
        row = fact.row
        key = (f"{row.code_system}|{row.code}" if row.code else fact.display, fact.sources)
        if key in seen:
            continue
        seen.add(key)
        kept.append(fact)
        if len(kept) == limit:
            break
    return kept


def result_item(row: ResourceRow, extra: dict[str, Any] | None) -> Item:
    """A result with its value, its range and, when out of range, a flag in words."""
    resource: dict[str, Any] = {}
    if extra:
        for key in ("interpretation", "referenceRange"):
            if extra.get(key):
                resource[key] = json.loads(extra[key])
    ref = range_for(row.code, row.unit, resource)
    flag = flag_for(row.value, ref, resource)
    if row.value is not None:
        value = format_value(row.value, row.unit)
    else:
        value = readable_measurements(row.display.split(":", 1)[1].strip()) if ":" in row.display else ""
    return _item(row, value, flag, ref.text() if ref else "")


def _with_slot(item: Item, slot: Slot, names: dict[int, str]) -> Item:
    sources = tuple(names[sid] for sid in slot.source_ids if sid in names)
    return replace(item, date=format_date(slot.date), sources=sources, fact_id=slot.fact_id)


def _newest_rows(
    record: Record, resource_type: str, subjects: Subjects | None, limit: int, category: str | None = None
) -> list[tuple[Slot, ResourceRow]]:
    """The newest `limit` recent facts of a type whose shown row is of `category` (any, for None), read a few dozen
    at a time: the head of the recent list first (`newest_recent_slots`), more of it when too few match."""
    out: list[tuple[Slot, ResourceRow]] = []
    start, batch = 0, max(limit * 4, 20)
    while True:
        found = newest_recent_slots(record, resource_type, subjects, start + batch, category=category)
        chunk = found[start : start + batch]
        rows = rows_by_rowid(record, [s.rowid for s in chunk], category=category)
        for slot in chunk:
            row = rows.get(slot.rowid)
            if row is not None:
                out.append((slot, row))
                if len(out) == limit:
                    return out
        if len(found) < start + batch:  # the whole list was read
            return out
        start, batch = start + batch, min(batch * 2, 900)  # few matches (no labs lately): widen the net


def _named(items: Iterable[Item]) -> tuple[Item, ...]:
    """Items whose title is on the list more than once say which source each is from."""
    found = tuple(items)
    twice = {t for t, n in Counter(i.title for i in found).items() if n > 1}
    return tuple(replace(i, name_source=True) if i.title in twice else i for i in found)


def _medication_item(entry: MedicationEntry, orders: dict[str, KeptHead], notes: dict[str, list[Note]]) -> Item:
    fact = next((orders[f] for f in entry.fact_ids if f in orders), None)
    member = fact.row if fact is not None else None  # the newest member's row
    status = (entry.status or "status not recorded").replace("-", " ")
    parts = [status[:1].upper() + status[1:]]
    if entry.last_prescriber:
        parts.append(f"last prescribed by {tidy_name(entry.last_prescriber)}")
    if entry.last_fill:
        parts.append(f"last filled {format_date(entry.last_fill)}")
    # An order a portal still calls active although nobody wrote it for years: say how old it is.
    age = years_since(entry.last_ordered)
    if entry.current and age is not None and age >= _OLD_ORDER_YEARS:
        parts.append(f"last ordered {age} year{'s' if age != 1 else ''} ago")
    mine = [n for f in entry.fact_ids for n in notes.get(f, ())]
    flag = None
    if any(n.kind == "allergy" for n in mine):
        flag = Flag("Allergy match", "alert")
    elif mine:
        flag = Flag("Different doses", "warn")
    return Item(
        resource_type=member.resource_type if member else "MedicationRequest",
        id=member.id if member else "",
        source_id=member.source_id if member else 0,
        title=tidy_name(entry.display),
        date=format_date(entry.last_ordered),
        detail=" · ".join(parts),
        flag=flag,
        sources=entry.sources,
        fact_id=entry.fact_ids[0] if entry.fact_ids else "",
        notes=tuple(dict.fromkeys(n.message for n in mine)),
        entry_kind=kind_name(member.resource_type, own=True) if member and is_own(member.source) else "",
    )


def _medications(
    record: Record, subjects: Subjects | None
) -> tuple[tuple[Item, ...], tuple[Item, ...], tuple[Note, ...]]:
    meds = cached_medications(record, subjects)
    orders = {f.fact_id: f for t in _ORDERS for f in cached_heads(record, t, subjects)}
    found: list[Note] = []
    by_fact: dict[str, list[Note]] = {}
    for conflict in meds.conflicts:
        note = Note("conflict", "Different doses from two providers", conflict.message)
        found.append(note)
        for entry in conflict.entries:
            for fid in entry.fact_ids:
                by_fact.setdefault(fid, []).append(note)
    for flag in meds.allergy_flags:
        note = Note("allergy", "May match a recorded allergy", flag.message)
        found.append(note)
        for fid in flag.medication.fact_ids:
            by_fact.setdefault(fid, []).append(note)
    current = tuple(_medication_item(e, orders, by_fact) for e in meds.current)
    stopped = tuple(_medication_item(e, orders, by_fact) for e in meds.stopped)
    return current, stopped, tuple(found)


def build_dashboard(record: Record, scope: Scope, everyone: tuple[Person, ...] = ()) -> Dashboard:
    """The summary of `scope`: the one kept in the record when nothing was written since it was built (an unlock
    on a big record reads it back instead of building it again), else built and kept (app.record.summaries)."""
    caught_up(record)  # the kept facts catch up first (a write), and the count is read after it
    count = record.change_count()
    key = _summary_key(scope)
    today = date.today()
    kept = kept_summary(record, key, count)
    if kept is not None:
        board, until = _board_from_json(kept)
        if today.isoformat() < until:
            return replace(board, person=scope.person, people=everyone)
    board = _build_dashboard(record, scope, everyone)
    subjects = scope.person.subjects if scope.person is not None else None
    orders = [e.last_ordered for e in cached_medications(record, subjects).current]
    keep_summary(record, key, count, _board_json(board, _says_the_same_until(orders, today)))
    return board


def _says_the_same_until(dates: Iterable[str | None], today: date) -> str:
    """The first day a summary built today would word differently: the next birthday of a current medication's last
    order ("last ordered 3 years ago" is the only thing on it that depends on the day)."""
    changes = ["9999-12-31"]
    for value in dates:
        then = day_of(value)
        if then is None:
            continue
        for year in (today.year, today.year + 1):
            # The day years_since counts one more: the same month and day, or 1 March for a 29 February.
            day = date(year, then.month, then.day) if (then.month, then.day) != (2, 29) or _leap(year) else date(year, 3, 1)
            if day > today:
                changes.append(day.isoformat())
                break
    return min(changes)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _summary_key(scope: Scope) -> str:
    """Whose summary, and made by which code: a Carry whose views or record code changed builds its own."""
    return f"{scope.person.key if scope.person is not None else '*'}:{_CODE}"


def _code_hash() -> str:
    """A hash of the code a summary is made by (app.views and app.record), computed once per process. Where that
    code cannot be read as files (a packaged app), a value of this process alone: nothing kept is read back then."""
    digest = hashlib.sha256()
    files = [path for package in (Path(__file__).parent, Path(__file__).parent.parent / "record")
             for path in sorted(package.glob("*.py*"))]  # fmt: skip
    if not files:
        return os.urandom(8).hex()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


_CODE = _code_hash()


def _board_json(board: Dashboard, until: str) -> str:
    """A summary as text, without its people (they are the scope's, given again when it is read back), and the day
    from which it would be worded differently."""
    lists = {f.name: [asdict(i) for i in getattr(board, f.name)] for f in fields(board) if f.name in _ITEM_LISTS}
    notes = [asdict(n) for n in board.medication_notes]
    body = {"lists": lists, "notes": notes, "has_data": board.has_data, "until": until}
    return json.dumps(body, separators=(",", ":"))


def _board_from_json(text: str) -> tuple[Dashboard, str]:
    data = json.loads(text)

    def item(d: dict[str, Any]) -> Item:
        flag = Flag(**d["flag"]) if d.get("flag") else None
        return Item(**{**d, "flag": flag, "sources": tuple(d["sources"]), "notes": tuple(d["notes"])})

    lists = {name: tuple(item(d) for d in found) for name, found in data["lists"].items()}
    notes = tuple(Note(**n) for n in data["notes"])
    return Dashboard(person=None, people=(), has_data=data["has_data"], medication_notes=notes, **lists), data["until"]


_ITEM_LISTS = ("problems", "medications", "allergies", "immunizations", "results", "encounters",
               "stopped_medications", "treatment", "devices")  # fmt: skip


def _build_dashboard(record: Record, scope: Scope, everyone: tuple[Person, ...] = ()) -> Dashboard:
    subjects = scope.person.subjects if scope.person is not None else None

    def of(rtype: str) -> list[KeptHead]:  # what the lists show of each fact, not its every member
        return cached_heads(record, rtype, subjects)

    problems = _dedupe((f for f in of("Condition") if f.status in _ACTIVE_CONDITION), 12)
    current, stopped, notes = _medications(record, subjects)

    allergy_facts = _dedupe((f for f in of("AllergyIntolerance") if f.status is None or f.status == "active"), 20)
    allergy_extra = _json_fields(
        record,
        [f.row.rowid for f in allergy_facts],
        {"criticality": "$.criticality", "reaction": "$.reaction[0].manifestation[0].coding[0].display"},
    )
    allergies = []
    for fact in allergy_facts:
        extra = allergy_extra.get(fact.row.rowid, {})
        criticality = extra.get("criticality")
        flag = Flag("High risk", "alert") if criticality == "high" else None
        parts = [code_word(criticality, "criticality") if criticality else "Risk not recorded"]
        if extra.get("reaction"):
            parts.append(f"Reaction: {tidy_name(extra['reaction'])}")
        allergies.append(_with_fact(_item(fact.row, " · ".join(parts), flag), fact))

    immunizations = _dedupe(of("Immunization"), 8)

    names = {source.id: source.name for source in record.sources()}
    labs = "laboratory"
    lab = _newest_rows(record, "Observation", subjects, 10, labs)
    lab_extra = _json_fields(
        record, [row.rowid for _, row in lab], {"interpretation": "$.interpretation", "referenceRange": "$.referenceRange"}
    )
    results = [_with_slot(result_item(row, lab_extra.get(row.rowid)), slot, names) for slot, row in lab]

    visits = _newest_rows(record, "Encounter", subjects, 5)
    where_at = _json_fields(record, [row.rowid for _, row in visits], {"provider": "$.serviceProvider.display"})
    encounters = [
        _with_slot(_item(row, where_at.get(row.rowid, {}).get("provider") or ""), slot, names) for slot, row in visits
    ]

    treatment = _treatment(record, scope, [f for f in of("CarePlan") if f.status == "active"], of("Goal"))

    has_data = has_resources(record, scope.subjects)
    return _noted(record, Dashboard(
        person=scope.person,
        people=everyone,
        problems=_named(_with_fact(_item(f.row), f) for f in problems),
        medications=current,
        allergies=_named(allergies),
        immunizations=_named(_with_fact(_item(f.row), f) for f in immunizations),
        results=tuple(results),
        encounters=tuple(encounters),
        has_data=has_data,
        stopped_medications=stopped,
        medication_notes=notes,
        treatment=treatment,
        devices=_named(_with_fact(_item(f.row, code_word(f.row.status or "")), f) for f in _dedupe(of("Device"), 12)),
    ))


def _noted(record: Record, board: Dashboard) -> Dashboard:
    """Flag the items the patient wrote a note on."""
    noted = noted_items(record)
    if not noted:
        return board

    def mark(items: tuple[Item, ...]) -> tuple[Item, ...]:
        return tuple(replace(i, noted=True) if (i.source_id, i.resource_type, i.id) in noted else i for i in items)

    b = board
    return replace(b, problems=mark(b.problems), medications=mark(b.medications), allergies=mark(b.allergies),
                   immunizations=mark(b.immunizations), results=mark(b.results), encounters=mark(b.encounters),
                   stopped_medications=mark(b.stopped_medications), treatment=mark(b.treatment),
                   devices=mark(b.devices))  # fmt: skip


# Observations that record a treatment regimen or a plan, not a measurement (Synthea files HIV and TB regimens
# as surveys): their latest answer belongs on the summary beside the care plans, not only under Results.
_TREATMENT_WORDS = re.compile(r"\b(treatment|regimen|plan|antiretroviral|antiretrovirals|prophylaxis)\b", re.I)


def _treatment(record: Record, scope: Scope, plans: list[KeptHead], goals: list[KeptHead]) -> tuple[Item, ...]:
    items = [_with_fact(_item(f.row, "Care plan"), f) for f in _dedupe(plans, 12)]
    # Goals usually carry no date, so the timeline cannot hold them; they are part of the plans. One line per goal
    # as said (its words, status and sources): a portal that repeats a goal with every plan shows it once, not once
    # per plan (hundreds of lines on a large record).
    said: set[tuple[str, str | None, tuple[str, ...]]] = set()
    for f in goals:
        if (f.display, f.row.status, f.sources) not in said:
            said.add((f.display, f.row.status, f.sources))
            items.append(_with_fact(_item(f.row, f"Goal ({code_word(f.row.status).lower()})" if f.row.status else "Goal"), f))
    for test in lab_tests(record, scope, OTHER):
        if not _TREATMENT_WORDS.search(test.full_name or test.name) or test.newest is None:
            continue
        # The line opens the newest answer and says all of that day's (the list found both: no query per test).
        rtype, rid, source_id = test.newest
        items.append(Item(rtype, rid, source_id, test.name, test.latest_date or "No date", test.latest_value))
    return _named(items)

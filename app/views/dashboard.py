"""The summary a patient sees first: what is going on now, in a handful of short lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.record import Record, ResourceRow

from .format import format_date, format_value, kind_name, tidy_name
from .people import Person, Scope
from .ranges import Flag, flag_for, range_for

__all__ = ["Dashboard", "Item", "build_dashboard", "result_item"]

_ACTIVE_CONDITION = ("active", "recurrence", "relapse")
_ACTIVE_MEDICATION = ("active", "on-hold", "intended")


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

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type)


@dataclass(frozen=True)
class Dashboard:
    person: Person | None
    people: tuple[Person, ...]
    problems: tuple[Item, ...]
    medications: tuple[Item, ...]
    allergies: tuple[Item, ...]
    immunizations: tuple[Item, ...]
    results: tuple[Item, ...]
    encounters: tuple[Item, ...]
    has_data: bool


def _item(row: ResourceRow, detail: str = "", flag: Flag | None = None, range_text: str = "") -> Item:
    title = tidy_name(row.code_display or row.display) if row.resource_type != "Observation" else tidy_name(
        row.code_display or row.display.split(":")[0]
    )
    return Item(row.resource_type, row.id, row.source_id, title, format_date(row.date), detail, flag, range_text)


def _json_fields(record: Record, rowids: list[int], paths: dict[str, str]) -> dict[int, dict[str, Any]]:
    """A few JSON paths of a few resources, read in SQL so the whole JSON never crosses into Python."""
    if not rowids:
        return {}
    columns = ", ".join(f"json_extract(raw, '{path}')" for path in paths.values())
    marks = ", ".join("?" for _ in rowids)
    out: dict[int, dict[str, Any]] = {}
    for rowid, *values in record._query(f"SELECT rowid, {columns} FROM resource WHERE rowid IN ({marks})", rowids):
        out[rowid] = dict(zip(paths, values))
    return out


def _dedupe(rows: list[ResourceRow], limit: int) -> list[ResourceRow]:
    seen: set[str] = set()
    kept = []
    for row in rows:
        key = row.code or row.display
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
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
        value = row.display.split(":", 1)[1].strip() if ":" in row.display else ""
    return _item(row, value, flag, ref.text() if ref else "")


def build_dashboard(record: Record, scope: Scope, everyone: tuple[Person, ...] = ()) -> Dashboard:
    def rows(rtype: str, where: str = "", params: tuple[Any, ...] = (), limit: int = 20) -> list[ResourceRow]:
        clause, args = scope.where(where, params)
        return record.rows(rtype, where=clause, params=args, limit=limit)

    marks = ", ".join("?" for _ in _ACTIVE_CONDITION)
    problems = _dedupe(rows("Condition", f"r.status IN ({marks})", _ACTIVE_CONDITION, 100), 12)

    meds = []
    for rtype in ("MedicationRequest", "MedicationStatement"):
        marks = ", ".join("?" for _ in _ACTIVE_MEDICATION)
        meds.extend(rows(rtype, f"r.status IN ({marks})", _ACTIVE_MEDICATION, 100))
    meds.sort(key=lambda r: r.date or "", reverse=True)
    medications = _dedupe(meds, 12)

    allergy_rows = _dedupe(rows("AllergyIntolerance", "r.status IS NULL OR r.status = 'active'", (), 100), 20)
    allergy_extra = _json_fields(
        record,
        [r.rowid for r in allergy_rows],
        {"criticality": "$.criticality", "reaction": "$.reaction[0].manifestation[0].coding[0].display"},
    )
    allergies = []
    for row in allergy_rows:
        extra = allergy_extra.get(row.rowid, {})
        criticality = extra.get("criticality")
        flag = Flag("High risk", "alert") if criticality == "high" else None
        parts = [f"Criticality: {criticality}" if criticality else "Criticality not recorded"]
        if extra.get("reaction"):
            parts.append(f"Reaction: {tidy_name(extra['reaction'])}")
        allergies.append(_item(row, " · ".join(parts), flag))

    immunizations = _dedupe(rows("Immunization", limit=200), 8)

    lab_rows = rows("Observation", "r.category = 'laboratory'", (), 10)
    lab_extra = _json_fields(
        record, [r.rowid for r in lab_rows], {"interpretation": "$.interpretation", "referenceRange": "$.referenceRange"}
    )
    results = [result_item(row, lab_extra.get(row.rowid)) for row in lab_rows]

    encounter_rows = rows("Encounter", limit=5)
    where_at = _json_fields(record, [r.rowid for r in encounter_rows], {"provider": "$.serviceProvider.display"})
    encounters = [_item(r, where_at.get(r.rowid, {}).get("provider") or "") for r in encounter_rows]

    clause, args = scope.clause()
    has_data = bool(record._query(f"SELECT 1 FROM resource r {'WHERE ' + clause if clause else ''} LIMIT 1", args))
    return Dashboard(
        person=scope.person,
        people=everyone,
        problems=tuple(_item(r) for r in problems),
        medications=tuple(_item(r) for r in medications),
        allergies=tuple(allergies),
        immunizations=tuple(_item(r) for r in immunizations),
        results=tuple(results),
        encounters=tuple(encounters),
        has_data=has_data,
    )

"""Lab results and vital signs as series over time, for the trend charts and their tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from app.record import Record
from app.record.entries import ADDED_BY_YOU, own_source_id
from app.record.view_labs import OTHER_SHOWN_APART, PANELS_WITHOUT_VALUE
from app.record.view_queries import lab_test_rows, other_result_rows, other_test_rows, series_means, series_rows, series_span

from .format import format_blood_pressure, format_date, format_value, kind_name, readable_measurements, tidy_name, units_in_use
from .merged import cached_list
from .people import Scope
from .ranges import Flag, RefRange, flag_for, range_for, range_from_resource
from .short_names import short_test_name

__all__ = [
    "BLOOD_PRESSURE", "OTHER", "LabTest", "Line", "Point", "Series", "Value", "lab_series", "lab_tests", "values_of",
]  # fmt: skip

# Blood pressure panels keep their two numbers in components; they are charted as two lines.
BLOOD_PRESSURE = PANELS_WITHOUT_VALUE
_SYSTOLIC, _DIASTOLIC = "8480-6", "8462-4"
_MAX_POINTS = 500
# Results shows lab tests, vital signs, and OTHER: every Observation of any other category (or none), so that no
# stored result is invisible: surveys and assessments (Synthea files HIV and TB treatment regimens as `survey`),
# social history, examinations.
OTHER = "other"
_SHOWN_APART = OTHER_SHOWN_APART


@dataclass(frozen=True)
class LabTest:
    code_system: str | None
    code: str
    name: str
    unit: str | None
    count: int
    latest_date: str
    latest_value: str
    flag: Flag | None
    newest: tuple[str, str, int] | None = None  # OTHER results: the newest value's (type, id, source id), to open it
    full_name: str = ""  # the name as the source gave it ("Hemoglobin A1c/Hemoglobin.total in Blood"); `name` is short


@dataclass(frozen=True)
class Point:
    effective: str
    value: float
    resource_type: str
    id: str
    source_id: int
    flag: Flag | None
    own: bool = False  # the patient added it: shown as "Added by you"

    @property
    def date(self) -> str:
        return format_date(self.effective)


@dataclass(frozen=True)
class Line:
    name: str
    points: tuple[Point, ...]
    range: RefRange | None


@dataclass(frozen=True)
class Series:
    code: str
    name: str
    unit: str | None
    lines: tuple[Line, ...]
    full_name: str = ""  # the name as the source gave it; `name` is the short one a chart is titled with

    @property
    def count(self) -> int:
        return max((len(line.points) for line in self.lines), default=0)

    def describe(self) -> str:
        """One sentence for screen readers, in place of the chart."""
        if not self.count:
            return f"{self.name}: no values recorded."
        parts = []
        for line in self.lines:
            first, last = line.points[0], line.points[-1]
            mine = sum(1 for p in line.points if p.own)
            parts.append(
                f"{line.name}: {len(line.points)} values from {first.date} to {last.date}, "
                f"latest {format_value(last.value, self.unit)}" + (f" ({last.flag.word})" if last.flag else "")
                + (f", {mine} of them {ADDED_BY_YOU.lower()}" if mine else "")
            )
        called = f"{self.name} ({self.full_name})" if self.full_name and self.full_name != self.name else self.name
        return f"Chart of {called}. " + "; ".join(parts) + "."


def lab_tests(record: Record, scope: Scope, category: str = "laboratory") -> list[LabTest]:
    """Each test that has numeric values (or is a blood pressure), alphabetically, with its latest value. For
    OTHER, each kind of other result, whatever its value (a word, a date, a number, none). Kept until the record
    changes (the list groups every result of the record)."""
    found: list[LabTest] = cached_list(
        record, ("lab tests", scope.subjects, category, units_in_use()), lambda: _lab_tests(record, scope, category),
        ("Observation",),
    )
    return list(found)  # a copy: the kept list is shared by every caller


def _lab_tests(record: Record, scope: Scope, category: str) -> list[LabTest]:
    if category == OTHER:
        return _other_tests(record, scope)
    tests = []
    rows = lab_test_rows(record, scope.subjects, category, BLOOD_PRESSURE)
    pressures = [r for r in rows if r.code in BLOOD_PRESSURE]
    if len(pressures) > 1:  # a portal's panel code and the patient's own (US Core's): one test, one chart
        latest = max((r.latest or "") for r in pressures) or None
        rows = [r for r in rows if r.code not in BLOOD_PRESSURE] + [
            replace(pressures[0], count=sum(r.count for r in pressures), latest=latest)
        ]
    for system, code, display, count, latest, value, unit in (
        (r.code_system, r.code, r.code_display, r.count, r.latest, r.value, r.unit) for r in rows
    ):
        if code in BLOOD_PRESSURE:
            latest_bp = lab_series(record, scope, code, system)
            ends = [line.points[-1] for line in latest_bp.lines if line.points]
            shown = format_blood_pressure(ends[0].value, ends[1].value, latest_bp.unit) if len(ends) == 2 else ""
            flag = next((p.flag for p in ends if p.flag), None)
        else:
            ref = range_for(code, unit)
            flag = flag_for(value, ref)
            shown = format_value(value, unit)
        full = tidy_name(display or code)
        tests.append(LabTest(system, code, short_test_name(code, full), unit, int(count), format_date(latest), shown,
                             flag, full_name=full))  # fmt: skip
    tests.sort(key=lambda t: t.name.lower())
    return tests


def _shown_value(value: float | None, unit: str | None, display: str) -> str:
    if value is not None:
        return format_value(value, unit)
    return readable_measurements(display.split(":", 1)[1].strip()) if ":" in display else ""


def _other_tests(record: Record, scope: Scope) -> list[LabTest]:
    tests = []
    own = own_source_id(record)
    for row in other_test_rows(record, scope.subjects, _SHOWN_APART):
        # A regimen is several answers on one day (one drug each): the latest value is all of that day's. Copies of
        # one answer (many on a large record) are worded once.
        shown = ", ".join(dict.fromkeys(a for a in (_shown_value(*answer) for answer in dict.fromkeys(row.answers)) if a))
        full = tidy_name(str(row.name).split(":", 1)[0])
        name = short_test_name(row.code, full)
        if own is not None and row.newest[2] == own:  # the patient's diary notes, as they call them
            name = kind_name(row.newest[0], code=row.code, own=True)
        tests.append(LabTest(row.code_system, row.code or "", name, row.unit, row.count, format_date(row.latest),
                             shown, None, row.newest, full))  # fmt: skip
    tests.sort(key=lambda t: t.name.lower())
    return tests


@dataclass(frozen=True)
class Value:
    """One recorded value of a result, as a line of its list."""

    effective: str | None
    text: str
    resource_type: str
    id: str
    source_id: int

    @property
    def date(self) -> str:
        return format_date(self.effective) or "No date"


def values_of(record: Record, scope: Scope, test: LabTest) -> list[Value]:
    """Every value of one of the OTHER results, newest first (each opens to the item itself)."""
    rows = other_result_rows(record, scope.subjects, _SHOWN_APART, code=test.code, code_system=test.code_system)
    return [Value(r.effective, _shown_value(r.value, r.unit, r.display) or "Recorded", r.resource_type, r.id,
                  r.source_id) for r in rows]  # fmt: skip


def lab_series(record: Record, scope: Scope, code: str, code_system: str | None = None) -> Series:
    """Every value of one test, oldest first, with the reference range and a flag per value."""
    if code in BLOOD_PRESSURE:  # every blood pressure panel, whichever of the two codes it carries
        found = series_rows(record, scope.subjects, code, None, limit=_MAX_POINTS, any_of=BLOOD_PRESSURE)
    else:
        count, first, last = series_span(record, scope.subjects, code, code_system)
        if count > _MAX_POINTS and first and last:
            return _over_time(record, scope, code, code_system, first, last)
        found = series_rows(record, scope.subjects, code, code_system, limit=_MAX_POINTS)
    rows = [
        (r.resource_type, r.id, r.source_id, r.effective, r.value, r.unit, r.code_display, r.reference_range,
         r.interpretation, r.components)
        for r in found
    ]  # fmt: skip
    full = tidy_name(next((r[6] for r in rows if r[6]), code))
    name = short_test_name(code, full)
    unit = next((r[5] for r in rows if r[5]), None)
    own = own_source_id(record)
    if code in BLOOD_PRESSURE:
        return _blood_pressure(code, name, rows, own, full)
    points = []
    lab_range: RefRange | None = None
    for rtype, rid, source_id, effective, value, value_unit, _, ref_json, interp_json, _ in rows:
        if value is None:
            continue
        resource: dict[str, Any] = {}
        if ref_json:
            resource["referenceRange"] = json.loads(ref_json)
        if interp_json:
            resource["interpretation"] = json.loads(interp_json)
        stated = range_from_resource(resource)
        lab_range = stated or lab_range
        ref = stated or range_for(code, value_unit)
        points.append(Point(effective, float(value), rtype, rid, source_id, flag_for(value, ref, resource),
                            source_id == own))  # fmt: skip
    return Series(code, name, unit, (Line(name, tuple(points), lab_range or range_for(code, unit)),), full)


def _over_time(record: Record, scope: Scope, code: str, code_system: str | None, first: str, last: str) -> Series:
    """A series of more values than a chart shows (years of a watch's daily heart rates): the mean per day, week
    or month, whichever gives at most _MAX_POINTS, computed by the record, not by drawing every value. Each point
    opens the last item of its period."""
    days = (_ordinal(last) - _ordinal(first)) or 1
    period = "day" if days <= _MAX_POINTS else "week" if days <= _MAX_POINTS * 7 else "month"
    rows = series_means(record, scope.subjects, code, code_system, period, limit=_MAX_POINTS)
    full = tidy_name(next((r.code_display for r in rows if r.code_display), code))
    name = short_test_name(code, full)
    unit = next((r.unit for r in rows if r.unit), None)
    ref = range_for(code, unit)
    points = [Point(r.effective, r.mean, "Observation", r.id, r.source_id, flag_for(r.mean, ref)) for r in rows]
    return Series(code, name, unit, (Line(name, tuple(points), ref),), full)


def _ordinal(effective: str) -> int:
    try:
        return date.fromisoformat(effective[:10]).toordinal()
    except ValueError:
        return 0


def _blood_pressure(code: str, name: str, rows: list[Any], own: int | None, full: str = "") -> Series:
    lines: dict[str, list[Point]] = {_SYSTOLIC: [], _DIASTOLIC: []}
    unit = None
    for rtype, rid, source_id, effective, _, _, _, _, _, components in rows:
        for component in json.loads(components or "[]"):
            codes = [c.get("code") for c in component.get("code", {}).get("coding", []) if isinstance(c, dict)]
            quantity = component.get("valueQuantity") or {}
            value = quantity.get("value")
            for wanted in lines:
                if wanted in codes and isinstance(value, (int, float)):
                    unit = unit or quantity.get("unit")
                    ref = range_for(wanted, quantity.get("unit"))
                    lines[wanted].append(Point(effective, float(value), rtype, rid, source_id, flag_for(value, ref),
                                               source_id == own))  # fmt: skip
    return Series(
        code,
        name,
        unit,
        (
            Line("Systolic", tuple(lines[_SYSTOLIC]), range_for(_SYSTOLIC, unit)),
            Line("Diastolic", tuple(lines[_DIASTOLIC]), range_for(_DIASTOLIC, unit)),
        ),
        full,
    )

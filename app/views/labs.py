"""Lab results and vital signs as series over time, for the trend charts and their tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.record import Record

from .format import format_blood_pressure, format_date, format_value, readable_measurements, tidy_name
from .merged import cached_list
from .people import Scope
from .ranges import Flag, RefRange, flag_for, range_for, range_from_resource

__all__ = [
    "BLOOD_PRESSURE", "OTHER", "LabTest", "Line", "Point", "Series", "Value", "lab_series", "lab_tests", "values_of",
]  # fmt: skip

# Blood pressure panels keep their two numbers in components; they are charted as two lines.
BLOOD_PRESSURE = ("55284-4", "85354-9")
_SYSTOLIC, _DIASTOLIC = "8480-6", "8462-4"
_MAX_POINTS = 500
# Results shows lab tests, vital signs, and OTHER: every Observation of any other category (or none), so that no
# stored result is invisible: surveys and assessments (Synthea files HIV and TB treatment regimens as `survey`),
# social history, examinations.
OTHER = "other"
_SHOWN_APART = ("laboratory", "vital-signs")


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


@dataclass(frozen=True)
class Point:
    effective: str
    value: float
    resource_type: str
    id: str
    source_id: int
    flag: Flag | None

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
            parts.append(
                f"{line.name}: {len(line.points)} values from {first.date} to {last.date}, "
                f"latest {format_value(last.value, self.unit)}" + (f" ({last.flag.word})" if last.flag else "")
            )
        return f"Chart of {self.name}. " + "; ".join(parts) + "."


def lab_tests(record: Record, scope: Scope, category: str = "laboratory") -> list[LabTest]:
    """Each test that has numeric values (or is a blood pressure), alphabetically, with its latest value. For
    OTHER, each kind of other result, whatever its value (a word, a date, a number, none). Kept until the record
    changes (the list groups every result of the record)."""
    found: list[LabTest] = cached_list(
        record, ("lab tests", scope.subjects, category), lambda: _lab_tests(record, scope, category)
    )
    return list(found)  # a copy: the kept list is shared by every caller


def _lab_tests(record: Record, scope: Scope, category: str) -> list[LabTest]:
    if category == OTHER:
        return _other_tests(record, scope)
    clause, params = scope.where(
        "r.type = 'Observation' AND r.category = ? AND r.code IS NOT NULL "
        f"AND (r.value_num IS NOT NULL OR r.code IN ({', '.join('?' for _ in BLOOD_PRESSURE)}))",
        (category, *BLOOD_PRESSURE),
    )
    # SQLite returns the other bare columns from the row that holds max(effective): the latest value.
    rows = record._query(
        "SELECT r.code_system, r.code, r.code_display, count(*), max(r.effective), r.value_num, r.value_unit, "
        f"r.display FROM resource r WHERE {clause} GROUP BY r.code_system, r.code",
        params,
    )
    tests = []
    for system, code, display, count, latest, value, unit, _ in rows:
        if code in BLOOD_PRESSURE:
            latest_bp = lab_series(record, scope, code, system)
            ends = [line.points[-1] for line in latest_bp.lines if line.points]
            shown = format_blood_pressure(ends[0].value, ends[1].value, latest_bp.unit) if len(ends) == 2 else ""
            flag = next((p.flag for p in ends if p.flag), None)
        else:
            ref = range_for(code, unit)
            flag = flag_for(value, ref)
            shown = format_value(value, unit)
        tests.append(
            LabTest(system, code, tidy_name(display or code), unit, int(count), format_date(latest), shown, flag)
        )
    tests.sort(key=lambda t: t.name.lower())
    return tests


def _other_where(scope: Scope, extra: str = "", params: tuple[Any, ...] = ()) -> tuple[str, list[Any]]:
    marks = ", ".join("?" for _ in _SHOWN_APART)
    clause, args = scope.where(
        f"r.type = 'Observation' AND (r.category IS NULL OR r.category NOT IN ({marks})){extra}",
        (*_SHOWN_APART, *params),
    )
    return clause, list(args)


def _shown_value(value: float | None, unit: str | None, display: str) -> str:
    if value is not None:
        return format_value(value, unit)
    return readable_measurements(display.split(":", 1)[1].strip()) if ":" in display else ""


def _other_tests(record: Record, scope: Scope) -> list[LabTest]:
    clause, params = _other_where(scope)
    rows = record._query(
        "SELECT r.code_system, coalesce(r.code, r.display), coalesce(r.code_display, r.display), r.effective, "
        f"r.value_num, r.value_unit, r.display FROM resource r WHERE {clause} ORDER BY r.effective DESC, r.rowid DESC",
        params,
    )
    grouped: dict[tuple[str | None, str], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    tests = []
    for (system, code), found in grouped.items():
        latest = found[0][3]
        # A regimen is several answers on one day (one drug each): the latest value is all of that day's.
        answers = [_shown_value(r[4], r[5], r[6]) for r in found if r[3] == latest]
        shown = ", ".join(dict.fromkeys(a for a in answers if a))
        name = tidy_name(str(found[0][2]).split(":", 1)[0])
        tests.append(LabTest(system, code, name, found[0][5], len(found), format_date(latest), shown, None))
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
    extra = " AND coalesce(r.code, r.display) = ?" + (" AND r.code_system = ?" if test.code_system else "")
    params = (test.code, test.code_system) if test.code_system else (test.code,)
    clause, args = _other_where(scope, extra, params)
    rows = record._query(
        "SELECT r.effective, r.value_num, r.value_unit, r.display, r.type, r.id, r.source_id FROM resource r "
        f"WHERE {clause} ORDER BY r.effective DESC, r.rowid DESC",
        args,
    )
    return [Value(effective, _shown_value(value, unit, display) or "Recorded", rtype, rid, int(source_id))
            for effective, value, unit, display, rtype, rid, source_id in rows]  # fmt: skip


def lab_series(record: Record, scope: Scope, code: str, code_system: str | None = None) -> Series:
    """Every value of one test, oldest first, with the reference range and a flag per value."""
    where = "r.type = 'Observation' AND r.code = ?"
    params: tuple[Any, ...] = (code,)
    if code_system:
        where += " AND r.code_system = ?"
        params = (*params, code_system)
    clause, args = scope.where(where, params)
    if code not in BLOOD_PRESSURE:
        span = record._query(
            f"SELECT count(*), min(r.effective), max(r.effective) FROM resource r WHERE {clause} "
            "AND r.effective IS NOT NULL AND r.value_num IS NOT NULL",
            args,
        )[0]
        if span[0] > _MAX_POINTS:
            return _over_time(record, clause, args, code, span[1], span[2])
    rows = record._query(
        "SELECT r.type, r.id, r.source_id, r.effective, r.value_num, r.value_unit, r.code_display, "
        "json_extract(r.raw, '$.referenceRange'), json_extract(r.raw, '$.interpretation'), "
        "CASE WHEN r.value_num IS NULL THEN json_extract(r.raw, '$.component') END "
        f"FROM resource r WHERE {clause} AND r.effective IS NOT NULL ORDER BY r.effective DESC LIMIT {_MAX_POINTS}",
        args,
    )
    rows.reverse()
    name = tidy_name(next((r[6] for r in rows if r[6]), code))
    unit = next((r[5] for r in rows if r[5]), None)
    if code in BLOOD_PRESSURE:
        return _blood_pressure(code, name, rows)
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
        own = range_from_resource(resource)
        lab_range = own or lab_range
        ref = own or range_for(code, value_unit)
        points.append(Point(effective, float(value), rtype, rid, source_id, flag_for(value, ref, resource)))
    return Series(code, name, unit, (Line(name, tuple(points), lab_range or range_for(code, unit)),))


def _over_time(record: Record, clause: str, args: tuple[Any, ...], code: str, first: str, last: str) -> Series:
    """A series of more values than a chart shows (years of a watch's daily heart rates): the mean per day, week
    or month, whichever gives at most _MAX_POINTS, computed by the record, not by drawing every value. Each point
    opens the last item of its period."""
    days = (_ordinal(last) - _ordinal(first)) or 1
    if days <= _MAX_POINTS:
        period = "substr(r.effective, 1, 10)"
    elif days <= _MAX_POINTS * 7:
        period = "strftime('%Y-%W', substr(r.effective, 1, 10))"
    else:
        period = "substr(r.effective, 1, 7)"
    rows = record._query(
        f"SELECT {period} AS period, min(r.effective), avg(r.value_num), max(r.value_unit), max(r.code_display), "
        "max(printf('%020d', r.rowid) || '|' || r.source_id || '|' || r.id) "
        f"FROM resource r WHERE {clause} AND r.effective IS NOT NULL AND r.value_num IS NOT NULL "
        f"GROUP BY period ORDER BY period DESC LIMIT {_MAX_POINTS}",
        args,
    )
    rows.reverse()
    name = tidy_name(next((r[4] for r in rows if r[4]), code))
    unit = next((r[3] for r in rows if r[3]), None)
    ref = range_for(code, unit)
    points = []
    for _, effective, mean, _, _, latest in rows:
        _, source_id, rid = latest.split("|", 2)
        points.append(Point(effective, float(mean), "Observation", rid, int(source_id), flag_for(mean, ref)))
    return Series(code, name, unit, (Line(name, tuple(points), ref),))


def _ordinal(effective: str) -> int:
    try:
        return date.fromisoformat(effective[:10]).toordinal()
    except ValueError:
        return 0


def _blood_pressure(code: str, name: str, rows: list[Any]) -> Series:
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
                    lines[wanted].append(Point(effective, float(value), rtype, rid, source_id, flag_for(value, ref)))
    return Series(
        code,
        name,
        unit,
        (
            Line("Systolic", tuple(lines[_SYSTOLIC]), range_for(_SYSTOLIC, unit)),
            Line("Diastolic", tuple(lines[_DIASTOLIC]), range_for(_DIASTOLIC, unit)),
        ),
    )

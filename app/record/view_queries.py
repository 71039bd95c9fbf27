"""The SQL the screens and the sharing service read, as named functions over the record.

Everything outside app/record reads the record through functions like these (and Record's own public methods):
no view or service holds SQL text or calls the record's private methods (tests/house/test_imports.py checks it).
Each function takes the Record and plain values (a person's (source, subject) pairs, a type, a code) and
returns rows as tuples or dataclasses; the SQL over `resource r` is built here, values always as parameters.

Grouped by who reads them: every view (scope, generic lookups), then merged, dashboard, documents, sources,
labs, timeline, detail, and the sharing service.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .people import Subjects, subject_clause
from .store import Record, ResourceRow
from .view_labs import (
    LATEST_KEY, OTHER_SHOWN_APART, kept_lab_rows, kept_other_rows, labs_current, latest_of, others_current, panels,
)

__all__ = [
    "DocumentExtra",
    "LabTestRow",
    "MeanRow",
    "OtherResultRow",
    "OtherTestRow",
    "SeriesRow",
    "SourceRow",
    "all_of",
    "document_extras",
    "document_types",
    "has_resources",
    "invalid_where",
    "json_fields",
    "lab_test_rows",
    "newest_date",
    "newest_first",
    "other_result_rows",
    "other_test_rows",
    "provenance_of",
    "raw_by_rowid",
    "rows_by_rowid",
    "rowids_where",
    "same_source_raw",
    "scope_where",
    "series_means",
    "series_rows",
    "series_span",
    "source_rows",
    "told_as_documents",
]

_CHUNK = 500  # rowids per statement: far below SQLite's 32766 parameters


# --- every view ------------------------------------------------------------------------------------------------


def scope_where(subjects: Subjects | None, extra: str = "", params: Iterable[Any] = ()) -> tuple[str, tuple[Any, ...]]:
    """A where-clause over `r` (for Record.rows and the functions here): `extra` (SQL from app/record) AND the
    resources still current (what a portal no longer serves is not shown as current) AND, when `subjects` is
    given, about one person's (source, subject) pairs."""
    mine, mine_params = "r.removed_at IS NULL", ()
    if subjects is not None:
        about, mine_params = subject_clause(subjects)
        mine = f"{mine} AND {about}"
    return all_of((extra, params), (mine, mine_params))


def all_of(*clauses: tuple[str, Iterable[Any]]) -> tuple[str, tuple[Any, ...]]:
    """Where-clauses (each with its parameters) that must all hold; empty ones are left out (none: no clause)."""
    kept = [(clause, tuple(params)) for clause, params in clauses if clause]
    return " AND ".join(f"({clause})" for clause, _ in kept), tuple(v for _, params in kept for v in params)


def rowids_where(rowids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
    """A where-clause over `r` for exactly these resources (none: nothing)."""
    return (f"r.rowid IN ({_marks(rowids)})", tuple(rowids)) if rowids else ("0", ())


def invalid_where() -> tuple[str, tuple[Any, ...]]:
    """A where-clause over `r` for the resources that failed validation (kept and flagged)."""
    return "r.valid = 0", ()


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


def json_fields(record: Record, rowids: Sequence[int], paths: dict[str, str]) -> dict[int, dict[str, Any]]:
    """A few JSON paths (`name -> '$.path'`, written by our own views) of a few resources, read in SQL so the whole
    JSON never crosses into Python. A path that is absent reads as None; objects and arrays come as JSON text."""
    for path in paths.values():
        if not path.startswith("$") or "'" in path:
            raise ValueError(f"not a JSON path: {path!r}")
    out: dict[int, dict[str, Any]] = {}
    if not rowids or not paths:
        return out
    columns = ", ".join(f"json_extract(resource_json(raw, type, id), '{path}')" for path in paths.values())
    for chunk in _chunks(rowids):
        for rowid, *values in record.read(f"SELECT rowid, {columns} FROM resource WHERE rowid IN ({_marks(chunk)})", chunk):
            out[int(rowid)] = dict(zip(paths, values))
    return out


def rows_by_rowid(record: Record, rowids: Sequence[int], *, category: str | None = None) -> dict[int, ResourceRow]:
    """These resources as list rows (those of `category` only, when given), by rowid; removed ones left out."""
    out: dict[int, ResourceRow] = {}
    for chunk in _chunks(rowids):
        where = f"r.rowid IN ({_marks(chunk)})" + (" AND r.category = ?" if category is not None else "")
        params = [*chunk, *([category] if category is not None else [])]
        out.update((row.rowid, row) for row in record.rows(where=where, params=params))
    return out


def has_resources(record: Record, subjects: Subjects | None) -> bool:
    """Whether anything current is stored about these subjects (about anyone, for None)."""
    clause, args = scope_where(subjects)
    return bool(record.read(f"SELECT 1 FROM resource r WHERE {clause} LIMIT 1", args))


# --- merged (the facts kept for the screens) -------------------------------------------------------------------


def newest_date(
    record: Record, resource_type: str, subjects: Subjects | None, *, category: str | None = None
) -> str | None:
    """The newest date among the resources of a type (about these subjects; of `category`, when given), removed
    ones included (the facts are grouped over them too)."""
    clause, args = "r.type = ?", [resource_type]
    if subjects is not None:
        mine, params = subject_clause(subjects)
        clause += f" AND {mine}"
        args.extend(params)
    if category is not None:
        clause += " AND r.category = ?"
        args.append(category)
    newest = record.read(f"SELECT max(r.effective) FROM resource r WHERE {clause}", args)[0][0]
    return str(newest) if newest else None


# --- documents -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentExtra:
    """What a document's line needs beyond its list row, read out of its JSON in SQL."""

    author: str | None
    custodian: str | None
    content_types: str | None  # every attachment's content type, joined by "|"
    first_data: str | None  # the first attachment's inline data (base64), when it has any
    first_type: str | None  # the first attachment's content type


def document_extras(record: Record, rowids: Sequence[int]) -> dict[int, DocumentExtra]:
    out: dict[int, DocumentExtra] = {}
    for chunk in _chunks(rowids):
        for rowid, author, custodian, types, data, first_type in record.read(
            "WITH r AS MATERIALIZED ("
            f"SELECT rowid, resource_json(raw, type, id) AS json FROM resource WHERE rowid IN ({_marks(chunk)})) "
            "SELECT rowid, json_extract(json, '$.author[0].display'), json_extract(json, '$.custodian.display'), "
            "(SELECT group_concat(json_extract(c.value, '$.attachment.contentType'), '|') "
            "FROM json_each(r.json, '$.content') c), json_extract(json, '$.content[0].attachment.data'), "
            "json_extract(json, '$.content[0].attachment.contentType') FROM r",
            chunk,
        ):
            out[int(rowid)] = DocumentExtra(author, custodian, types, data, first_type)
    return out


def document_types(record: Record, subjects: Subjects | None) -> list[str | None]:
    """The distinct types (code display) of the current documents about these subjects."""
    clause, params = scope_where(subjects, "r.type = 'DocumentReference'")
    return [name for (name,) in record.read(f"SELECT DISTINCT r.code_display FROM resource r WHERE {clause}", params)]


# --- sources ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    """A source with its size and its last finished run (None when it never finished one)."""

    id: int
    name: str
    kind: str
    base_url: str | None
    resources: int
    finished_at: str | None
    imported: int | None
    updated: int | None
    unchanged: int | None
    invalid: int | None


def source_rows(record: Record) -> list[SourceRow]:
    rows = record.read(
        "SELECT s.id, s.name, s.kind, s.base_url, "
        "(SELECT count(*) FROM resource r WHERE r.source_id = s.id), "
        "run.finished_at, run.imported, run.updated, run.unchanged, run.invalid "
        "FROM source s LEFT JOIN run ON run.id = (SELECT max(id) FROM run WHERE run.source_id = s.id "
        "AND run.finished_at IS NOT NULL) ORDER BY s.id"
    )
    return [SourceRow(int(sid), name, kind, base_url, int(count), *rest) for sid, name, kind, base_url, count, *rest in rows]


# --- labs ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabTestRow:
    """One test of a category: how many values it has and its latest (the row that holds the newest date)."""

    code_system: str | None
    code: str
    code_display: str | None
    count: int
    latest: str | None
    value: float | None
    unit: str | None


def lab_test_rows(
    record: Record, subjects: Subjects | None, category: str, also_without_value: Sequence[str] = (), *,
    kept: bool = True,
) -> list[LabTestRow]:
    """The coded Observations of `category` that have a number (or one of the codes `also_without_value`: panels
    whose numbers are in components), one row per (system, code): read from the rows kept in the record
    (app.record.view_labs) when they are up to date and count the same panels, computed from scratch otherwise
    (or when `kept` is False)."""
    if kept and panels(also_without_value) and labs_current(record):
        return [LabTestRow(*row) for row in kept_lab_rows(record, subjects, category)]
    clause, params = scope_where(
        subjects,
        "r.type = 'Observation' AND r.category = ? AND r.code IS NOT NULL "
        f"AND (r.value_num IS NOT NULL OR r.code IN ({_marks(also_without_value) or 'NULL'}))",
        (category, *also_without_value),
    )
    # SQLite returns the other bare columns from the row that holds the max(): the latest value (of the greatest
    # date, then rowid, as the kept rows choose it).
    rows = record.read(
        f"SELECT r.code_system, r.code, r.code_display, count(*), {LATEST_KEY}, r.value_num, r.value_unit "
        f"FROM resource r WHERE {clause} GROUP BY r.code_system, r.code",
        params,
    )
    return [LabTestRow(system, code, display, int(n), latest_of(latest), value, unit)
            for system, code, display, n, latest, value, unit in rows]  # fmt: skip


def _of_code(expression: str, code: str, code_system: str | None) -> tuple[str, list[Any]]:
    """`expression` (the code column, or what stands for it) is `code`, of `code_system` when one is given."""
    if code_system:
        return f"{expression} = ? AND r.code_system = ?", [code, code_system]
    return f"{expression} = ?", [code]


@dataclass(frozen=True)
class OtherResultRow:
    """A value of a result outside the categories shown apart: its test is (code_system, code)."""

    code_system: str | None
    code: str | None  # the code, or the display when it has none
    name: str | None  # the code's display, or the display
    effective: str | None
    value: float | None
    unit: str | None
    display: str
    resource_type: str
    id: str
    source_id: int


def other_result_rows(
    record: Record,
    subjects: Subjects | None,
    shown_apart: Sequence[str],
    *,
    code: str | None = None,
    code_system: str | None = None,
) -> list[OtherResultRow]:
    """Current Observations of no category or of none of `shown_apart` (of one test, when `code` is given; code
    is the code, or the display for uncoded ones), newest first."""
    extra = f"r.type = 'Observation' AND (r.category IS NULL OR r.category NOT IN ({_marks(shown_apart) or 'NULL'}))"
    params: list[Any] = list(shown_apart)
    if code is not None:
        one, one_params = _of_code("coalesce(r.code, r.display)", code, code_system)
        extra += f" AND {one}"
        params.extend(one_params)
    clause, args = scope_where(subjects, extra, params)
    rows = record.read(
        "SELECT r.code_system, coalesce(r.code, r.display), coalesce(r.code_display, r.display), r.effective, "
        "r.value_num, r.value_unit, r.display, r.type, r.id, r.source_id "
        f"FROM resource r WHERE {clause} ORDER BY r.effective DESC, r.rowid DESC",
        args,
    )
    return [OtherResultRow(system, c, name, effective, value, unit, display or "", rtype, rid, int(sid))
            for system, c, name, effective, value, unit, display, rtype, rid, sid in rows]  # fmt: skip


Answer = tuple[float | None, str | None, str]  # an OTHER result's value, unit and display


@dataclass(frozen=True)
class OtherTestRow:
    """One kind of OTHER result: how many there are, its newest (its name, date, unit, and (type, id, source id) to
    open it) and every answer of the newest one's date (value, unit, display), newest first, each once (copies of
    one answer, however many, are one)."""

    code_system: str | None
    code: str | None  # the code, or the display when it has none
    name: str | None
    latest: str | None
    unit: str | None
    count: int
    answers: tuple[Answer, ...]
    newest: tuple[str, str, int]


def other_test_rows(
    record: Record, subjects: Subjects | None, shown_apart: Sequence[str], *, kept: bool = True
) -> list[OtherTestRow]:
    """Each kind of OTHER result (`other_result_rows` grouped by test): read from the groups kept in the record
    (app.record.view_labs) when they are up to date and set the same categories apart, computed from every
    result otherwise (or when `kept` is False)."""
    if kept and sorted(shown_apart) == sorted(OTHER_SHOWN_APART) and others_current(record):
        return _kept_other_tests(record, subjects)
    grouped: dict[tuple[str | None, str | None], list[OtherResultRow]] = {}
    for row in other_result_rows(record, subjects, shown_apart):
        grouped.setdefault((row.code_system, row.code), []).append(row)
    tests = []
    for (system, code), found in grouped.items():
        newest = found[0]
        answers = tuple(dict.fromkeys((r.value, r.unit, r.display) for r in found if r.effective == newest.effective))
        tests.append(OtherTestRow(system, code, newest.name, newest.effective, newest.unit, len(found), answers,
                                  (newest.resource_type, newest.id, newest.source_id)))  # fmt: skip
    return tests


def _kept_other_tests(record: Record, subjects: Subjects | None) -> list[OtherTestRow]:
    # A test about several (source, subject) pairs: its count is their sum, its newest the newest of theirs, its
    # answers those of every pair on that date, newest (the greatest rowid) first, as `other_result_rows` orders.
    grouped: dict[tuple[str | None, str | None], list[tuple[Any, ...]]] = {}
    for row in kept_other_rows(record, subjects):
        grouped.setdefault((row[0], row[1]), []).append(row)
    tests = []
    for (system, code), groups in grouped.items():
        _, _, _, _, effective, name, unit, rid, sid, _ = max(groups, key=lambda g: str(g[3]))
        answers = sorted(
            (answer for g in groups if g[4] == effective for answer in json.loads(g[9] or "[]")),
            key=lambda a: -int(a[0]),
        )
        tests.append(OtherTestRow(system, code, name, effective, unit, sum(int(g[2]) for g in groups),
                                  tuple(dict.fromkeys((value, unit_, display or "")
                                                      for _, value, unit_, display in answers)),
                                  ("Observation", rid, int(sid))))  # fmt: skip
    return tests


@dataclass(frozen=True)
class SeriesRow:
    """One dated value of a test, with what its flag needs from the JSON (as JSON text)."""

    resource_type: str
    id: str
    source_id: int
    effective: str
    value: float | None
    unit: str | None
    code_display: str | None
    reference_range: str | None
    interpretation: str | None
    components: str | None  # only when it has no value of its own (a blood pressure panel)


def series_rows(
    record: Record, subjects: Subjects | None, code: str, code_system: str | None, *, limit: int,
    any_of: Sequence[str] = (),
) -> list[SeriesRow]:
    """The newest `limit` dated Observations of one code (and system, when given), oldest first; with `any_of`,
    of any of those codes (one test filed under several codes, such as the two blood pressure panels)."""
    if any_of:
        one, params = f"r.code IN ({_marks(any_of)})", list(any_of)
    else:
        one, params = _of_code("r.code", code, code_system)
    clause, args = scope_where(subjects, f"r.type = 'Observation' AND {one}", params)
    rows = record.read(
        "SELECT r.type, r.id, r.source_id, r.effective, r.value_num, r.value_unit, r.code_display, "
        "json_extract(resource_json(r.raw, r.type, r.id), '$.referenceRange'), json_extract(resource_json(r.raw, r.type, r.id), '$.interpretation'), "
        "CASE WHEN r.value_num IS NULL THEN json_extract(resource_json(r.raw, r.type, r.id), '$.component') END "
        f"FROM resource r WHERE {clause} AND r.effective IS NOT NULL ORDER BY r.effective DESC LIMIT ?",
        [*args, int(limit)],
    )
    rows.reverse()
    return [SeriesRow(rtype, rid, int(sid), *rest) for rtype, rid, sid, *rest in rows]


@dataclass(frozen=True)
class MeanRow:
    """The mean of one test's values over a period (a day, a week, a month), and the last item of that period."""

    effective: str
    mean: float
    unit: str | None
    code_display: str | None
    id: str
    source_id: int


_PERIODS = {
    "day": "substr(r.effective, 1, 10)",
    "week": "strftime('%Y-%W', substr(r.effective, 1, 10))",
    "month": "substr(r.effective, 1, 7)",
}


def _numbers_of(subjects: Subjects | None, code: str, code_system: str | None) -> tuple[str, list[Any]]:
    one, params = _of_code("r.code", code, code_system)
    clause, args = scope_where(subjects, f"r.type = 'Observation' AND {one}", params)
    return f"{clause} AND r.effective IS NOT NULL AND r.value_num IS NOT NULL", list(args)


def series_span(record: Record, subjects: Subjects | None, code: str, code_system: str | None) -> tuple[int, str | None, str | None]:
    """How many dated numbers one test has, and its first and last date."""
    clause, args = _numbers_of(subjects, code, code_system)
    count, first, last = record.read(
        f"SELECT count(*), min(r.effective), max(r.effective) FROM resource r WHERE {clause}", args
    )[0]
    return int(count), first, last


def series_means(
    record: Record, subjects: Subjects | None, code: str, code_system: str | None, period: str, *, limit: int
) -> list[MeanRow]:
    """The newest `limit` periods ("day", "week" or "month") of one test's numbers, oldest first, as means."""
    clause, args = _numbers_of(subjects, code, code_system)
    rows = record.read(
        f"SELECT {_PERIODS[period]} AS period, min(r.effective), avg(r.value_num), max(r.value_unit), "
        "max(r.code_display), max(printf('%020d', r.rowid) || '|' || r.source_id || '|' || r.id) "
        f"FROM resource r WHERE {clause} GROUP BY period ORDER BY period DESC LIMIT ?",
        [*args, int(limit)],
    )
    rows.reverse()
    out = []
    for _, effective, mean, unit, display, latest in rows:
        _, source_id, rid = str(latest).split("|", 2)
        out.append(MeanRow(effective, float(mean), unit, display, rid, int(source_id)))
    return out


# --- timeline --------------------------------------------------------------------------------------------------


def told_as_documents(record: Record, reports: Sequence[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    """Which of these (code, date, source id) a DocumentReference of the same source also has."""
    found: set[tuple[str, str, int]] = set()
    for start in range(0, len(reports), _CHUNK // 3):
        chunk = reports[start : start + _CHUNK // 3]
        where = " OR ".join("(r.code = ? AND r.effective = ? AND r.source_id = ?)" for _ in chunk)
        params = [value for report in chunk for value in report]
        found.update(
            (code, effective, int(sid))
            for code, effective, sid in record.read(
                f"SELECT r.code, r.effective, r.source_id FROM resource r WHERE r.type = 'DocumentReference' AND ({where})",
                params,
            )
        )
    return found


# --- detail ----------------------------------------------------------------------------------------------------


def provenance_of(record: Record, source_id: int, target: str, *, limit: int = 5) -> list[str]:
    """The JSON of up to `limit` Provenance resources of this source whose target is `target` ("Type/id")."""
    rows = record.read(
        "SELECT resource_json(r.raw, r.type, r.id) FROM resource r WHERE r.type = 'Provenance' AND r.source_id = ? "
        "AND EXISTS (SELECT 1 FROM json_each(resource_json(r.raw, r.type, r.id), '$.target') t WHERE json_extract(t.value, '$.reference') = ?) "
        "LIMIT ?",
        [source_id, target, int(limit)],
    )
    return [raw for (raw,) in rows]


# --- sharing (app/shares.py) -----------------------------------------------------------------------------------


def raw_by_rowid(record: Record, rowids: Sequence[int]) -> Iterable[tuple[int, str]]:
    """(rowid, the JSON as stored) of these resources, a few hundred at a time."""
    for chunk in _chunks(rowids):
        for rowid, raw in record.read(f"SELECT rowid, resource_json(raw, type, id) FROM resource WHERE rowid IN ({_marks(chunk)})", chunk):
            yield int(rowid), raw


def newest_first(record: Record, rowids: Sequence[int]) -> list[tuple[int, int]]:
    """(rowid, source id) of these resources, the most recently changed first."""
    found: list[tuple[str, int, int]] = []
    for chunk in _chunks(rowids):
        found.extend(
            (changed or "", int(rowid), int(sid))
            for rowid, sid, changed in record.read(
                f"SELECT rowid, source_id, changed_at FROM resource WHERE rowid IN ({_marks(chunk)})", chunk
            )
        )
    found.sort(reverse=True)
    return [(rowid, sid) for _changed, rowid, sid in found]


def same_source_raw(record: Record, resource_type: str, resource_id: str, source_id: int) -> str | None:
    """The JSON of the resource of this type and id that this source sent, if it sent one."""
    rows = record.read(
        "SELECT resource_json(raw, type, id) FROM resource WHERE type = ? AND id = ? AND source_id = ? LIMIT 1",
        [resource_type, resource_id, source_id],
    )
    return str(rows[0][0]) if rows else None

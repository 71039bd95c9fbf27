"""The lab-tests list kept in the record (schema 13): per (source, subject, category, system, code), how many coded
Observations with a number there are and which is the newest, brought up to date from what changed.

The list (app.views.labs.lab_tests) groups every Observation of a category: at 100,000 resources that is the
largest part of a first summary. Triggers note every group a change touches, before and after it (a resource that
moves from one test to another dirties both), in `view_lab_dirty`; `refresh_labs` recomputes only those groups
from the resources, and everything in one pass when most of them changed or an older record is filled. Reading a
scope sums its subjects' groups; the newest of a test is the row with the greatest (date, rowid), in the kept rows
and in a computation from scratch alike (tests/record/test_view_cache_properties.py checks they are equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import RecordBusy, RecordFull, RecordReadOnly
from .people import Subjects, subject_clause
from .store import Record, _Tx

__all__ = [
    "LAB_VERSION", "LATEST_KEY", "PANELS_WITHOUT_VALUE", "kept_lab_rows", "labs_current", "latest_of", "panels",
    "refresh_labs",
]  # fmt: skip

LAB_VERSION = 13
# Blood pressure panels keep their numbers in components: counted although they have no value of their own.
PANELS_WITHOUT_VALUE = ("55284-4", "85354-9")
# The newest row of a test: the greatest effective date (none sorts first), then the greatest rowid.
LATEST_KEY = "max(coalesce(r.effective, '') || printf('%020d', r.rowid))"
_COUNTED = (
    "r.type = 'Observation' AND r.removed_at IS NULL AND r.category IS NOT NULL AND r.code IS NOT NULL "
    f"AND (r.value_num IS NOT NULL OR r.code IN ({', '.join(repr(c) for c in PANELS_WITHOUT_VALUE)}))"
)
_GROUPED = (
    "SELECT r.source_id, r.subject, r.category, r.code_system, r.code, count(*), "
    f"{LATEST_KEY}, r.code_display, r.value_num, r.value_unit FROM resource r "
)
_GROUP_BY = " GROUP BY r.source_id, r.subject, r.category, r.code_system, r.code"
# Beyond this many changed groups one pass over every Observation beats a lookup per group.
_MANY_GROUPS = 200


def _dirty(record: Record) -> bool:
    return bool(record._query("SELECT EXISTS (SELECT 1 FROM view_lab_dirty)")[0][0])


def labs_current(record: Record) -> bool:
    """Whether the kept lab rows can be read: brought up to date now when the record is writable."""
    if record.schema_version < LAB_VERSION:
        return False
    if not record.read_only:
        refresh_labs(record)
    return not _dirty(record)


def refresh_labs(record: Record) -> None:
    """Recompute the kept groups that changed since the last time (nothing, when nothing did)."""
    if record.read_only or record.schema_version < LAB_VERSION or not _dirty(record):
        return
    try:
        with record._transaction() as cur:
            _refresh(cur)
    except (RecordFull, RecordBusy, RecordReadOnly):
        return  # as app.record.view_cache.refresh: nothing half-written, the list is computed from scratch meanwhile


def _refresh(cur: _Tx) -> None:
    everything = cur.execute("SELECT EXISTS (SELECT 1 FROM view_lab_dirty WHERE category IS NULL)").fetchone()[0]
    groups = cur.execute(
        "SELECT count(*) FROM (SELECT DISTINCT source_id, subject, category, code_system, code FROM view_lab_dirty)"
    ).fetchone()[0]
    if everything or groups > _MANY_GROUPS:
        cur.execute("DELETE FROM view_lab")
        cur.execute(f"INSERT INTO view_lab {_GROUPED} WHERE {_COUNTED} {_GROUP_BY}")
    else:
        cur.execute(
            "DELETE FROM view_lab WHERE EXISTS (SELECT 1 FROM view_lab_dirty d WHERE d.source_id = view_lab.source_id "
            "AND d.subject IS view_lab.subject AND d.category = view_lab.category "
            "AND d.code_system IS view_lab.code_system AND d.code = view_lab.code)"
        )
        cur.execute(
            f"INSERT INTO view_lab {_GROUPED.replace('FROM resource r', '')}"
            "FROM (SELECT DISTINCT source_id, subject, category, code_system, code FROM view_lab_dirty) d "
            "CROSS JOIN resource r INDEXED BY resource_type_code ON r.type = 'Observation' "
            "AND r.code_system IS d.code_system AND r.code = d.code AND r.source_id = d.source_id "
            f"AND r.subject IS d.subject AND r.category = d.category WHERE {_COUNTED} {_GROUP_BY}"
        )
    cur.execute("DELETE FROM view_lab_dirty")


def kept_lab_rows(record: Record, subjects: Subjects | None, category: str) -> list[tuple[Any, ...]]:
    """(code_system, code, code_display, count, latest date, value_num, value_unit) per test of `category` about
    these subjects (everyone's, for None), the display, value and unit of its newest row. Call `labs_current`
    first."""
    where, args = "l.category = ?", [category]
    if subjects is not None:
        mine, params = subject_clause(subjects, "l")
        where += f" AND {mine}"
        args.extend(params)
    rows = record._query(
        "SELECT l.code_system, l.code, l.code_display, sum(l.count), max(l.latest), l.value_num, l.value_unit "
        f"FROM view_lab l WHERE {where} GROUP BY l.code_system, l.code",
        args,
    )
    return [(system, code, display, int(n), _latest(latest), value, unit)
            for system, code, display, n, latest, value, unit in rows]  # fmt: skip


def _latest(key: str) -> str | None:
    """The date of a `LATEST_KEY` (None when the newest row has none)."""
    return key[:-20] or None


def latest_of(key: str | None) -> str | None:
    return None if key is None else _latest(key)


def panels(codes: Sequence[str]) -> bool:
    """Whether `codes` are the panels the kept rows count without a value (so the kept rows answer for them)."""
    return sorted(codes) == sorted(PANELS_WITHOUT_VALUE)

"""The lab-tests list kept in the record (schema 13): per (source, subject, category, system, code), how many coded
Observations with a number there are and which is the newest, brought up to date from what changed.

The list (app.views.labs.lab_tests) groups every Observation of a category: at 100,000 resources that is the
largest part of a first summary. Triggers note every group a change touches, before and after it (a resource that
moves from one test to another dirties both), in `view_lab_dirty`; `refresh_labs` recomputes only those groups
from the resources, and everything in one pass when most of them changed or an older record is filled. Reading a
scope sums its subjects' groups; the newest of a test is the row with the greatest (date, rowid), in the kept rows
and in a computation from scratch alike (tests/record/test_view_cache_properties.py checks they are equal).

The OTHER results (schema 14) are a second kept list kept the same way (`_Kind` names each list's tables and SQL):
per (source, subject, system, code or else display), their count, newest row and every answer of its date, in
`view_other` and `view_other_dirty`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import RecordBusy, RecordFull, RecordReadOnly
from .people import Subjects, subject_clause
from .store import Record, _Tx

__all__ = [
    "LAB_VERSION", "LATEST_KEY", "OTHER_SHOWN_APART", "OTHER_VERSION", "PANELS_WITHOUT_VALUE", "kept_lab_rows",
    "kept_other_rows", "labs_current", "latest_of", "others_current", "panels", "refresh_labs",
]  # fmt: skip

LAB_VERSION = 13
OTHER_VERSION = 14
ADDED_VERSION = 16  # the dirty tables say which resource arrived (`added`)
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


@dataclass(frozen=True)
class _Kind:
    """One kept list: its table, the table its triggers note changed groups in (`everything` is NULL in a row that
    means "recompute all"), the columns that name a group there, and how a group is computed from the resources."""

    table: str
    dirty: str
    everything: str
    group: tuple[str, ...]  # the group's columns, in the kept and the dirty table alike
    grouped: str  # SELECT ... FROM resource r (its columns in the kept table's order)
    counted: str
    group_by: str
    of_dirty: str  # ON-clause of `resource r` INDEXED BY ... for the resources of one dirty group `d`
    then: str = ""  # an UPDATE run after the groups were inserted (what a group keeps beside its newest row)
    # The dirty groups as rows `d` for `of_dirty` (when empty: each distinct `group` of the dirty table).
    dirty_groups: str = ""


_LABS = _Kind(
    "view_lab", "view_lab_dirty", "category", ("source_id", "subject", "category", "code_system", "code"),
    _GROUPED, _COUNTED, _GROUP_BY,
    "resource_type_code ON r.type = 'Observation' AND r.code_system IS d.code_system AND r.code = d.code "
    "AND r.source_id = d.source_id AND r.subject IS d.subject AND r.category = d.category",
)
# The OTHER results (app.views.labs): every current Observation of no category or one not shown apart, per (source,
# subject, system, code or else display), with its newest row and, as JSON [[rowid, value, unit, display], ...],
# every answer of the newest row's date (a regimen is several answers on one day), each distinct answer once, by
# its newest row (a large record's copies of one answer would make it as long as the record).
OTHER_SHOWN_APART = ("laboratory", "vital-signs")
_OTHER_KEY = "coalesce(r.code, r.display)"
_OTHER_COUNTED = (
    "r.type = 'Observation' AND r.removed_at IS NULL AND (r.category IS NULL OR r.category NOT IN "
    f"({', '.join(repr(c) for c in OTHER_SHOWN_APART)}))"
)
_OTHERS = _Kind(
    "view_other", "view_other_dirty", "source_id", ("source_id", "subject", "code_system", "code"),
    f"SELECT r.source_id, r.subject, r.code_system, {_OTHER_KEY}, count(*), {LATEST_KEY}, r.effective, "
    "coalesce(r.code_display, r.display), r.value_unit, r.id, NULL FROM resource r ",
    _OTHER_COUNTED,
    f" GROUP BY r.source_id, r.subject, r.code_system, {_OTHER_KEY}",
    "resource_type_code ON r.type = 'Observation' AND r.code_system IS d.code_system AND r.code IS d.code "
    "AND (d.code IS NOT NULL OR r.display IS d.display) AND r.source_id = d.source_id AND r.subject IS d.subject",
    "UPDATE view_other SET answers = (SELECT json_group_array(json_array(rowid, value_num, value_unit, display)) "
    "FROM (SELECT max(r.rowid) AS rowid, r.value_num, r.value_unit, r.display "
    "FROM resource r INDEXED BY resource_type_effective WHERE r.type = 'Observation' "
    "AND r.effective IS view_other.effective AND r.source_id = view_other.source_id "
    "AND r.subject IS view_other.subject AND r.code_system IS view_other.code_system "
    f"AND {_OTHER_KEY} IS view_other.code AND {_OTHER_COUNTED} GROUP BY r.value_num, r.value_unit, r.display)) "
    "WHERE answers IS NULL",
    # A group's resources are those of its code and, when no code, those whose display is its name (each found by
    # index: a code and a display may be the same text).
    "SELECT source_id, subject, code_system, code, NULL AS display FROM view_other_dirty "
    "UNION SELECT source_id, subject, code_system, NULL, code FROM view_other_dirty",
)
_KINDS = (_LABS, _OTHERS)
_VERSIONS = {"view_lab": LAB_VERSION, "view_other": OTHER_VERSION}


def _kinds(record: Record) -> tuple[_Kind, ...]:
    """The kept lists this record's schema has."""
    return tuple(kind for kind in _KINDS if record.schema_version >= _VERSIONS[kind.table])


def _dirty(record: Record, kind: _Kind) -> bool:
    return bool(record._query(f"SELECT EXISTS (SELECT 1 FROM {kind.dirty})")[0][0])


def labs_current(record: Record) -> bool:
    """Whether the kept lab rows can be read: brought up to date now when the record is writable."""
    return _current(record, _LABS)


def others_current(record: Record) -> bool:
    """Whether the kept OTHER results can be read: brought up to date now when the record is writable."""
    return _current(record, _OTHERS)


def _current(record: Record, kind: _Kind) -> bool:
    if kind not in _kinds(record):
        return False
    if not record.read_only:
        refresh_labs(record)
    return not _dirty(record, kind)


def refresh_labs(record: Record) -> None:
    """Recompute the kept groups (of every kept list) that changed since the last time (nothing, when nothing did)."""
    if record.read_only:
        return
    for kind in _kinds(record):
        if not _dirty(record, kind):
            continue
        try:
            with record._transaction() as cur:
                _refresh(cur, kind, record.schema_version >= ADDED_VERSION)
        except (RecordFull, RecordBusy, RecordReadOnly):
            return  # as app.record.view_cache.refresh: nothing half-written, the list is computed from scratch meanwhile


def _refresh(cur: _Tx, kind: _Kind, arrivals: bool) -> None:
    everything = cur.execute(f"SELECT EXISTS (SELECT 1 FROM {kind.dirty} WHERE {kind.everything} IS NULL)").fetchone()[0]
    if arrivals and not everything:
        _add_arrivals(cur, kind)
    columns = ", ".join(kind.group)
    dirty_groups = kind.dirty_groups or f"SELECT DISTINCT {columns} FROM {kind.dirty}"
    groups = cur.execute(f"SELECT count(*) FROM ({dirty_groups})").fetchone()[0]
    if not everything and not groups:
        pass  # every change was an arrival, counted above
    elif everything or groups > _MANY_GROUPS:
        cur.execute(f"DELETE FROM {kind.table}")
        cur.execute(f"INSERT INTO {kind.table} {kind.grouped} WHERE {kind.counted} {kind.group_by}")
    else:
        same = " AND ".join(f"d.{c} IS {kind.table}.{c}" for c in kind.group)
        cur.execute(f"DELETE FROM {kind.table} WHERE EXISTS (SELECT 1 FROM {kind.dirty} d WHERE {same})")
        cur.execute(
            f"INSERT INTO {kind.table} {kind.grouped.replace('FROM resource r', '')}"
            f"FROM ({dirty_groups}) d "
            f"CROSS JOIN resource r INDEXED BY {kind.of_dirty} WHERE {kind.counted} {kind.group_by}"
        )
    if kind.then:
        cur.execute(kind.then)
    cur.execute(f"DELETE FROM {kind.dirty}")


def _add_arrivals(cur: _Tx, kind: _Kind) -> None:
    """Bring up to date the groups that only gained resources since the last time (a sync's new results), from the
    new resources alone: a group's count plus theirs, and the newer of its newest row and theirs (rowids only grow, so
    a new row of the newest date is the newest). Their dirty rows are then done; a group that anything else touched
    (a change, a removal) keeps its rows, to be recomputed from all of its resources."""
    width = len(kind.group)
    noted = cur.execute(f"SELECT rowid, {', '.join(kind.group)}, added FROM {kind.dirty}").fetchall()
    touched = {tuple(row[1 : 1 + width]) for row in noted if row[-1] is None}
    arrived = [row for row in noted if row[-1] is not None and tuple(row[1 : 1 + width]) not in touched]
    if not arrived:
        return
    # Looked up by rowid (NOT INDEXED: a type's index would scan every Observation for a few new ones).
    counted = cur.execute(
        f"{kind.grouped.replace('FROM resource r', 'FROM resource r NOT INDEXED')} WHERE {kind.counted} "
        f"AND r.rowid IN (SELECT value FROM json_each(?)) {kind.group_by}",
        (json.dumps(sorted({row[-1] for row in arrived})),),
    ).fetchall()
    same = " AND ".join(f"{c} IS ?" for c in kind.group)
    for new in counted:
        group = tuple(new[:width])
        kept = cur.execute(f"SELECT rowid, * FROM {kind.table} WHERE {same}", group).fetchall()
        if len(kept) > 1:
            touched.add(group)
            continue
        merged = list(new)
        if kept:
            old = kept[0][1:]
            if old[width + 1] > new[width + 1]:  # the kept newest stays the newest (and its day's answers stand)
                merged = list(old)
            elif kind.then and old[-1] is not None and old[width + 2] == new[width + 2]:
                # A new newest of the kept newest's date: that date's answers are the kept ones and the new ones
                # (not read again from every row of the date: copies of one answer can be thousands).
                mine = [row[-1] for row in arrived if tuple(row[1 : 1 + width]) == group]
                merged[-1] = _more_answers(cur, kind, old[-1], mine, new[width + 2])
            merged[width] = old[width] + new[width]
            cur.execute(f"DELETE FROM {kind.table} WHERE rowid = ?", (kept[0][0],))
        cur.execute(f"INSERT INTO {kind.table} VALUES ({', '.join('?' for _ in merged)})", merged)
    done = [row[0] for row in arrived if tuple(row[1 : 1 + width]) not in touched]
    if done:
        cur.execute_rows(f"DELETE FROM {kind.dirty} WHERE rowid IN ({{rows}})", done)


def _more_answers(cur: _Tx, kind: _Kind, kept: str, rowids: list[int], effective: str | None) -> str:
    """A kept group's answers of its newest date (JSON, as `then` makes them) with those of these new resources of
    that date: each distinct answer once, by its newest row."""
    answers = {(value, unit, display): rowid for rowid, value, unit, display in json.loads(kept)}
    for rowid, value, unit, display in cur.execute(
        "SELECT max(r.rowid), r.value_num, r.value_unit, r.display FROM resource r NOT INDEXED "
        f"WHERE r.rowid IN (SELECT value FROM json_each(?)) AND r.effective IS ? AND {kind.counted} "
        "GROUP BY r.value_num, r.value_unit, r.display",
        (json.dumps(rowids), effective),
    ).fetchall():
        answers[(value, unit, display)] = max(rowid, answers.get((value, unit, display), rowid))
    return json.dumps([[rowid, *answer] for answer, rowid in answers.items()])


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


def kept_other_rows(record: Record, subjects: Subjects | None) -> list[tuple[Any, ...]]:
    """(code_system, code or display, count, latest key, effective, name, unit, id, source_id, answers JSON) per
    kept OTHER group about these subjects (everyone's, for None). Call `others_current` first."""
    where, args = "1", tuple[Any, ...]()
    if subjects is not None:
        where, args = subject_clause(subjects, "o")
    return record._query(
        "SELECT o.code_system, o.code, o.count, o.latest, o.effective, o.name, o.value_unit, o.id, o.source_id, "
        f"o.answers FROM view_other o WHERE {where}",
        list(args),
    )

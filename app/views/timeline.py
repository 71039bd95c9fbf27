"""The timeline: everything with a date, newest first, by year and month, filtered by kind and source.

Pages are fetched with a keyset cursor (effective, rowid), so the hundredth page costs what the first does and
a 100,000-resource record scrolls as smoothly as a small one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.record import Record, ResourceRow

from .format import format_date, kind_name, tidy_name
from .people import Scope

__all__ = ["GROUPS", "DEFAULT_GROUPS", "TimelineEntry", "TimelineFilter", "TimelinePage", "month_counts", "timeline_page"]

# What the filter chips offer, and the resource types behind each.
GROUPS: dict[str, tuple[str, ...]] = {
    "Visits": ("Encounter",),
    "Conditions": ("Condition",),
    "Results": ("Observation", "DiagnosticReport"),
    "Medications": ("MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"),
    "Immunizations": ("Immunization",),
    "Procedures": ("Procedure",),
    "Allergies": ("AllergyIntolerance",),
    "Documents": ("DocumentReference",),
    "Care plans": ("CarePlan", "Goal", "CareTeam"),
    "Imaging": ("ImagingStudy",),
    "Devices": ("Device",),
    "Billing": ("Claim", "ExplanationOfBenefit", "Coverage"),
}
# Billing records outnumber the clinical ones in most exports and tell a patient little: off until asked for.
DEFAULT_GROUPS: frozenset[str] = frozenset(GROUPS) - {"Billing"}


@dataclass(frozen=True)
class TimelineFilter:
    groups: frozenset[str] = DEFAULT_GROUPS
    source_id: int | None = None

    def types(self) -> tuple[str, ...]:
        return tuple(t for g in GROUPS if g in self.groups for t in GROUPS[g])

    def where(self, scope: Scope, *, paging: bool = False) -> tuple[str, tuple[Any, ...]]:
        types = self.types() or ("",)
        # When results are included the filter admits most rows: walking the date index in order and skipping
        # the few others beats collecting and sorting every match (the unary + keeps SQLite off the type index).
        column = "+r.type" if paging and "Results" in self.groups else "r.type"
        clause = f"{column} IN ({', '.join('?' for _ in types)}) AND r.effective IS NOT NULL"
        params: tuple[Any, ...] = types
        if self.source_id is not None:
            clause += " AND r.source_id = ?"
            params = (*params, self.source_id)
        return scope.where(clause, params)


@dataclass(frozen=True)
class TimelineEntry:
    rowid: int
    resource_type: str
    id: str
    source_id: int
    source: str
    effective: str
    title: str
    detail: str

    @property
    def month(self) -> str:
        return self.effective[:7]

    @property
    def date(self) -> str:
        return format_date(self.effective)

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type)


@dataclass(frozen=True)
class TimelinePage:
    entries: tuple[TimelineEntry, ...]
    cursor: tuple[str, int] | None  # pass back to get the next page; None at the end
    extra: dict[str, Any] = field(default_factory=dict)


def _entry(row: ResourceRow) -> TimelineEntry:
    title, detail = row.display, ""
    if row.resource_type == "Observation" and ":" in row.display:
        title, detail = (part.strip() for part in row.display.split(":", 1))
        if row.value is not None:
            from .format import format_value

            detail = format_value(row.value, row.unit)
    return TimelineEntry(
        row.rowid, row.resource_type, row.id, row.source_id, row.source, row.date or "", tidy_name(title), detail
    )


def timeline_page(
    record: Record,
    scope: Scope,
    filt: TimelineFilter,
    *,
    after: tuple[str, int] | None = None,
    before_month: str | None = None,
    limit: int = 100,
) -> TimelinePage:
    """One page, newest first. `after` continues from a cursor; `before_month` ('2019-06') starts at that month."""
    clause, params = filt.where(scope, paging=True)
    if after is not None:
        clause += " AND (r.effective, r.rowid) < (?, ?)"
        params = (*params, after[0], after[1])
    elif before_month is not None:
        clause += " AND r.effective < ?"
        params = (*params, before_month + "-99")  # sorts after every day of that month
    rows = record.rows(where=clause, params=params, order="r.effective DESC, r.rowid DESC", limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    entries = tuple(_entry(r) for r in rows)
    cursor = (entries[-1].effective, entries[-1].rowid) if more and entries else None
    return TimelinePage(entries, cursor)


def month_counts(record: Record, scope: Scope, filt: TimelineFilter) -> list[tuple[str, int]]:
    """(YYYY-MM, entries) for every month that has any, newest first: the timeline's jump list."""
    clause, params = filt.where(scope)
    rows = record._query(
        f"SELECT substr(r.effective, 1, 7) AS m, count(*) FROM resource r WHERE {clause} GROUP BY m ORDER BY m DESC",
        params,
    )
    return [(m, int(n)) for m, n in rows]

"""The timeline: everything with a date, newest first, by year and month, filtered by kind and source.

One entry per fact (app.record.facts), not per copy: a visit two portals both sent is one entry "from 2 sources".
Each fact's place on the timeline (its date and newest copy) is kept in the record with the fact
(app.record.view_cache), so a page is a keyed read of its own 100-odd slots and one query for their rows: the
first page after an unlock and the hundredth cost the same, whatever the record's size. Where the kept facts do
not serve (a filter by source, a read-only record behind its changes), the facts are grouped once per change of
the record and kept as small sorted slots (app.views.merged), and a page is a binary search for its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.record import Record, ResourceRow, Subjects, noted_items
from app.record.entries import is_own
from app.record.view_queries import rows_by_rowid, told_as_documents

from .format import format_date, format_value, kind_name, readable_measurements, source_label, tidy_name
from .merged import Slot, months, slots_before, warm
from .people import Scope
from .short_names import RESULT_TYPES, short_test_name

__all__ = [
    "GROUPS", "DEFAULT_GROUPS", "TimelineEntry", "TimelineFilter", "TimelinePage", "month_counts", "timeline_page",
    "warm_timeline",
]  # fmt: skip

# What the filter chips offer, and the resource types behind each: named as the first kind is (kind_plural), but
# for the two chips that gather several kinds of record.
GROUPS: dict[str, tuple[str, ...]] = {
    "Visits": ("Encounter",),
    "Health problems": ("Condition",),
    "Results": ("Observation", "DiagnosticReport"),
    "Medicines": ("MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"),
    "Immunizations": ("Immunization",),
    "Procedures": ("Procedure",),
    "Allergies": ("AllergyIntolerance",),
    "Documents": ("DocumentReference",),
    "Care plans": ("CarePlan", "Goal", "CareTeam"),
    "Imaging": ("ImagingStudy",),
    "Devices": ("Device",),
    "Insurance": ("Claim", "ExplanationOfBenefit", "Coverage"),
}
# Insurance records outnumber the clinical ones in most exports and tell a patient little: off until asked for.
DEFAULT_GROUPS: frozenset[str] = frozenset(GROUPS) - {"Insurance"}


@dataclass(frozen=True)
class TimelineFilter:
    groups: frozenset[str] = DEFAULT_GROUPS
    source_id: int | None = None

    def types(self) -> tuple[str, ...]:
        return tuple(t for g in GROUPS if g in self.groups for t in GROUPS[g])


@dataclass(frozen=True)
class TimelineEntry:
    rowid: int
    resource_type: str
    id: str
    source_id: int
    source: str  # the newest source's name: its copy is the one shown
    effective: str
    title: str
    detail: str
    sources: int = 1  # how many sources state this fact
    fact_id: str = ""
    category: str | None = None  # an Observation's category: a vital sign is labelled as one
    noted: bool = False  # the patient wrote a note on it (a correction or context)
    code: str | None = None  # its main code: which of the patient's own entries it is (a diary note, a reading)

    @property
    def month(self) -> str:
        return self.effective[:7]

    @property
    def date(self) -> str:
        return format_date(self.effective)

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type, self.category, code=self.code, own=is_own(self.source))

    @property
    def sources_text(self) -> str:
        if self.sources > 1:
            own = source_label(self.source)
            return f"{own} · {self.sources} sources" if own != self.source else f"{self.sources} sources"
        return source_label(self.source)


@dataclass(frozen=True)
class TimelinePage:
    entries: tuple[TimelineEntry, ...]
    cursor: tuple[str, int] | None  # pass back to get the next page; None at the end
    extra: dict[str, Any] = field(default_factory=dict)


def _entry(row: ResourceRow, slot: Slot, noted: bool = False) -> TimelineEntry:
    title, detail = row.display, ""
    if row.resource_type == "Observation" and ":" in row.display:
        title, detail = (part.strip() for part in row.display.split(":", 1))
        detail = format_value(row.value, row.unit) if row.value is not None else readable_measurements(detail)
    if row.resource_type in RESULT_TYPES:  # a result or a panel: its test's short name
        title = short_test_name(row.code, title)
    return TimelineEntry(
        row.rowid, row.resource_type, row.id, row.source_id, row.source, slot.date, tidy_name(title), detail,
        len(slot.source_ids), slot.fact_id, row.category, noted, row.code,
    )  # fmt: skip


def _subjects(scope: Scope) -> Subjects | None:
    return scope.person.subjects if scope.person is not None else None


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
    if after is not None:
        key: tuple[str, int] | tuple[str] = (after[0], after[1])
    elif before_month is not None:
        key = (before_month + "-99",)  # sorts after every day of that month
    else:
        key = ("\uffff",)
    page = slots_before(record, filt.types(), _subjects(scope), filt.source_id, key, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    rows: dict[int, ResourceRow] = rows_by_rowid(record, [s.rowid for s in page])
    twice = _notes_told_twice(record, list(rows.values())) if "DocumentReference" in filt.types() else set()
    noted = noted_items(record) if rows else set()
    entries = tuple(_entry(rows[s.rowid], s, (rows[s.rowid].source_id, rows[s.rowid].resource_type,
                                              rows[s.rowid].id) in noted)
                    for s in page if s.rowid in rows and s.rowid not in twice)  # fmt: skip
    cursor = (page[-1].date, page[-1].rowid) if more and page else None
    return TimelinePage(entries, cursor)


def _notes_told_twice(record: Record, rows: list[ResourceRow]) -> set[int]:
    """Report rows that are a note the same source also sent as a document (Synthea, like many portals, sends
    each clinical note twice: a DiagnosticReport with the text and a DocumentReference with the same text, code
    and date). The document speaks for the note, so the timeline has one entry per note."""
    reports = [r for r in rows if r.resource_type == "DiagnosticReport" and r.code and r.date]
    if not reports:
        return set()
    found = told_as_documents(record, [(str(r.code), str(r.date), r.source_id) for r in reports])
    return {r.rowid for r in reports if (r.code, r.date, r.source_id) in found}


def month_counts(record: Record, scope: Scope, filt: TimelineFilter) -> list[tuple[str, int]]:
    """(YYYY-MM, entries) for every month that has any, newest first: the timeline's jump list."""
    return months(record, filt.types(), _subjects(scope), filt.source_id)


def warm_timeline(record: Record, scope: Scope, filt: TimelineFilter | None = None) -> None:
    """Group the timeline's facts ahead of time (the summary calls this in the background after it shows)."""
    warm(record, (filt or TimelineFilter()).types(), _subjects(scope))

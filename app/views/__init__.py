"""What the screens show, as plain Python over the record: no Flet here, so all of it is testable without a browser.

Every function takes an open Record and a Scope (whose record is shown) and returns frozen dataclasses that the
UI components render as they are.
"""

from __future__ import annotations

from .dashboard import Dashboard, Item, Note, build_dashboard
from .detail import (
    Copy,
    Detail,
    FactInfo,
    ItemNote,
    Suggestion,
    add_correction,
    change_correction,
    detail,
    forget_choices,
    not_the_same,
    remove_correction,
    same_thing,
)
from .entries import (
    ADDED_BY_YOU, ENTRY_KINDS, READING_CHOICES, DeletedEntry, ReadingChoice, VersionLine, current_draft, deleted_entries,
    entry_kind, entry_text, entry_versions, remove_entry, restore_entry, same_as_choices, store_entry,
)  # fmt: skip
from .documents import (
    Attachment, DocumentSummary, NoteBlock, attachments, document_kinds, documents, html_to_text, is_markdown,
    markdown_to_text, note_blocks,
)  # fmt: skip
from .format import (
    format_blood_pressure, format_date, format_month, format_number, format_score, format_timestamp, format_unit, format_value,
    is_scale, kind_name,
    readable_measurements, years_since,
)  # fmt: skip
from .labs import OTHER, LabTest, Line, Point, Series, Value, lab_series, lab_tests, values_of
from .passphrase import Strength, new_passphrase_problem, strength
from .people import Person, Scope, people
from .ranges import Flag, RefRange, flag_for, range_for
from .search import Hit, search
from .session import DEFAULT_AUTOLOCK_MINUTES, RecordSession
from .sources import SourceStatus, source_statuses
from .timeline import DEFAULT_GROUPS, GROUPS, TimelineEntry, TimelineFilter, TimelinePage, month_counts, timeline_page, warm_timeline

__all__ = [
    "ADDED_BY_YOU",
    "ENTRY_KINDS",
    "READING_CHOICES",
    "DeletedEntry",
    "ReadingChoice",
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
    "DEFAULT_AUTOLOCK_MINUTES",
    "DEFAULT_GROUPS",
    "GROUPS",
    "OTHER",
    "Attachment",
    "Copy",
    "Dashboard",
    "Detail",
    "DocumentSummary",
    "FactInfo",
    "Flag",
    "Hit",
    "Item",
    "LabTest",
    "Line",
    "Note",
    "Person",
    "Point",
    "RecordSession",
    "RefRange",
    "Scope",
    "Series",
    "SourceStatus",
    "Suggestion",
    "Strength",
    "TimelineEntry",
    "TimelineFilter",
    "TimelinePage",
    "Value",
    "attachments",
    "build_dashboard",
    "detail",
    "ItemNote",
    "add_correction",
    "change_correction",
    "remove_correction",
    "document_kinds",
    "documents",
    "flag_for",
    "forget_choices",
    "format_blood_pressure",
    "format_date",
    "format_month",
    "format_number",
    "format_score",
    "is_scale",
    "format_timestamp",
    "format_unit",
    "format_value",
    "html_to_text",
    "is_markdown",
    "markdown_to_text",
    "note_blocks",
    "NoteBlock",
    "kind_name",
    "lab_series",
    "lab_tests",
    "month_counts",
    "new_passphrase_problem",
    "not_the_same",
    "people",
    "range_for",
    "readable_measurements",
    "same_thing",
    "search",
    "source_statuses",
    "strength",
    "timeline_page",
    "values_of",
    "years_since",
    "warm_timeline",
]

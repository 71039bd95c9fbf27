"""A sync in progress as rows a patient reads: one per kind of record, in the patient's words ("Health problems",
"Lab results"), with how many arrived of how many the portal announced, and the share of the work done.

Fed with the puller's progress events (sync.pull.SyncProgress: each stored page's counts, each finished search)
and, at the end, its report, whose per-type figures are the final word. Plain Python, no Flet: the sync panel
(app/ui/syncing.py) paints what `rows()` and `work_done()` say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .format import OBSERVATION_KINDS, kind_plural, plural

__all__ = ["SyncRow", "SyncTally", "refused_text"]

# Kinds a patient does not read one by one share a row: reference data the sync fetches to name people and
# places, and insurance paperwork (shown only when the patient opens "Insurance").
_SHARED_ROWS = {
    "Organization": "Clinicians and places",
    "Location": "Clinicians and places",
    "Practitioner": "Clinicians and places",
    "PractitionerRole": "Clinicians and places",
    "Claim": "Insurance",
    "ExplanationOfBenefit": "Insurance",
    "Coverage": "Insurance",
}
# Results whose category the report does not keep apart (it counts per type) once the sync has ended.
_ALL_RESULTS = "Results and measurements"
# The rows of results, one per category searched: a category that brought nothing is left out once it is done
# (a portal searched for six kinds of result the patient never had), unless no result came at all.
_RESULT_ROWS = {plural(kind) for kind in OBSERVATION_KINDS.values()} | {_ALL_RESULTS}


@dataclass(frozen=True)
class SyncRow:
    """One row of the sync panel."""

    name: str  # "Health problems", "Lab results"
    received: int  # stored by this sync so far (new, updated or unchanged)
    expected: int | None  # what the portal said it holds, once every search of the row has said so
    finished: bool
    stopped: bool = False  # the sync ended before this kind was all in (it failed or was stopped)

    @property
    def fraction(self) -> float | None:
        """How full the row's bar is: None while the amount to come is unknown (a moving bar); a finished kind
        with nothing in it is empty, not full."""
        if self.finished:
            return 1.0 if self.received else 0.0
        if self.expected:
            return min(1.0, self.received / self.expected)
        return 0.0 if self.expected == 0 or self.stopped else None

    @property
    def count_text(self) -> str:
        """'107 of 712' while arriving; '12 received' or 'none found' once finished."""
        if self.finished or self.expected == 0:
            return f"{self.received:,} received" if self.received else "none found"
        if self.stopped:
            return f"{self.received:,} before it stopped"
        if self.expected is not None:
            return f"{self.received:,} of {self.expected:,}"
        return f"{self.received:,} so far" if self.received else "waiting"


@dataclass
class _Search:
    """One search task's figures, summed over its pages."""

    received: int = 0
    total: int | None = None
    finished: bool = False


@dataclass
class _Row:
    searches: dict[str, _Search] = field(default_factory=dict)
    final: int | None = None  # the report's figure, once the sync has ended

    def received(self) -> int:
        return self.final if self.final is not None else sum(s.received for s in self.searches.values())

    def expected(self) -> int | None:
        totals = [s.total for s in self.searches.values()]
        return sum(t for t in totals if t is not None) if totals and None not in totals else None

    def finished(self) -> bool:
        return self.final is not None or bool(self.searches) and all(s.finished for s in self.searches.values())


def _category(task: str) -> str | None:
    """An Observation search's category ('Observation?category=laboratory' -> 'laboratory')."""
    query = task.partition("?")[2]
    found = parse_qs(query).get("category") if query else None
    return found[0].rpartition("|")[2] if found else None


def _row_name(resource_type: str, task: str) -> str:
    if resource_type in _SHARED_ROWS:
        return _SHARED_ROWS[resource_type]
    if resource_type == "Observation":
        category = _category(task)
        return plural(OBSERVATION_KINDS[category]) if category in OBSERVATION_KINDS else _ALL_RESULTS
    return kind_plural(resource_type)


class SyncTally:
    """The figures of one sync, from its progress events and its report."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._types: dict[str, set[str]] = {}  # resource type -> the rows it feeds
        self.ended = False

    def add(self, event: Any) -> None:
        """One progress event (sync.pull.SyncProgress). Events after the end change nothing."""
        rtype = getattr(event, "resource_type", None)
        if self.ended or not rtype or rtype == "*":  # "$everything" counts per type only in the report
            return
        task = str(getattr(event, "task", None) or rtype)
        name = _row_name(rtype, task)
        self._types.setdefault(rtype, set()).add(name)
        search = self._rows.setdefault(name, _Row()).searches.setdefault(task, _Search())
        if getattr(event, "done", False):
            search.finished = True
            return
        # A page's event counts that page: the search's figure is their sum.
        search.received += sum(int(getattr(event, k, 0) or 0) for k in ("imported", "updated", "unchanged"))
        total = getattr(event, "total", None)
        if isinstance(total, int):
            search.total = total
        search.finished = False

    def finish(self, report: Any, *, failed: bool = False) -> None:
        """The sync has ended: every row is finished, with the report's per-type figures where it has them
        (they also count what a resumed sync fetched before, and the clinicians and places fetched by reference).
        When it `failed` (or was stopped), the rows not all in say so instead."""
        self.ended = True
        if failed:
            return
        counted: dict[str, int] = {}
        for rtype, figures in (getattr(report, "types", None) or {}).items():
            if rtype == "*":
                continue
            number = figures.imported + figures.updated + figures.unchanged
            names = self._types.get(rtype, set())
            if len(names) > 1:  # results the report does not split by category: kept apart only if they add up
                if sum(self._rows[n].received() for n in names) == number:
                    continue
                for gone in names:
                    self._rows.pop(gone, None)
                names = {_ALL_RESULTS}
            name = next(iter(names)) if names else _row_name(rtype, rtype)
            counted[name] = counted.get(name, 0) + number
        for name, number in counted.items():
            self._rows.setdefault(name, _Row()).final = number
        for row in self._rows.values():
            if row.final is None:
                row.final = row.received()

    def rows(self) -> list[SyncRow]:
        """The patient's kinds of record alphabetically, then the shared rows (clinicians and places, insurance)."""
        shared = set(_SHARED_ROWS.values())
        rows = [
            SyncRow(name, row.received(), None if row.finished() else row.expected(), row.finished(),
                    self.ended and not row.finished())
            for name, row in sorted(self._rows.items(), key=lambda r: (r[0] in shared, r[0]))
        ]
        empty = [r for r in rows if r.name in _RESULT_ROWS and r.finished and not r.received]
        kept = [r for r in rows if r not in empty]
        if empty and not [r for r in kept if r.name in _RESULT_ROWS]:  # no result at all: one row says so
            kept = sorted([*kept, SyncRow(_ALL_RESULTS, 0, None, True)], key=lambda r: (r.name in shared, r.name))
        return kept

    def work_done(self, tasks_done: int, tasks_total: int) -> float | None:
        """The share of the work done, never ahead of what is known: records fetched of those the portal said it
        has, and searches finished of those planned (a search that brings 700 results is not one step in 20)."""
        if self.ended:
            return 1.0
        shares = []
        if tasks_total:
            shares.append(tasks_done / tasks_total)
        searches = [s for row in self._rows.values() for s in row.searches.values()]
        still = [s for s in searches if not s.finished]
        if still and all(s.total is not None for s in still):
            done = sum(s.received for s in searches)
            expected = sum(s.received if s.finished else max(s.total or 0, s.received) for s in searches)
            shares.append(done / expected if expected else 1.0)
        return min(1.0, min(shares)) if shares else None


_ADDRESS = re.compile(r"^[A-Z][A-Za-z]+/[^\s:]+:\s*")  # "Practitioner/9633…: " before a reason


def refused_text(report: Any) -> str:
    """What the portal did not send, by kind in the patient's words: "The portal did not send everything: Devices
    (not granted by the portal); Clinicians and places (…)." Empty when it sent everything asked for."""
    kinds: dict[str, dict[str, None]] = {}
    for rtype, figures in sorted((getattr(report, "types", None) or {}).items()):
        for reason in figures.refused:
            kinds.setdefault(_row_name(rtype, rtype), {})[_ADDRESS.sub("", str(reason))] = None
    if not kinds:
        return ""
    parts = [f"{name} ({'; '.join(list(reasons)[:2])})" for name, reasons in kinds.items()]
    return "The portal did not send everything: " + "; ".join(parts[:4]) + (" and more" if len(parts) > 4 else "") + "."

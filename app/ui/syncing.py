"""A sync in progress, as the UI shows it: a live progress bar per resource type, off the UI loop.

The sync itself is app.portals (the same service the CLI uses); this object only listens to its progress
callback, keeps per-type counts, and repaints its panel at most a few times a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import flet as ft

from app.views import kind_name

from .theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE
from .widgets import banner, heading, labelled

__all__ = ["SyncRun"]

_REPAINT_SECONDS = 0.15
# Kinds a patient does not read one by one share a row: reference data the sync fetches to name people and
# places, and insurance paperwork (shown only when the patient opens "Insurance").
_ROW_NAMES = {
    "Organization": "Clinicians and places",
    "Location": "Clinicians and places",
    "Practitioner": "Clinicians and places",
    "PractitionerRole": "Clinicians and places",
    "Claim": "Insurance",
    "ExplanationOfBenefit": "Insurance",
    "Coverage": "Insurance",
}


@dataclass
class _TypeProgress:
    """One resource type: the sum over its search tasks (Observation has one per category)."""

    counts: dict[str, int]
    totals: dict[str, int]
    finished_tasks: set[str]
    finished: bool = False

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def total(self) -> int | None:
        return sum(self.totals.values()) if self.totals and len(self.totals) == len(self.counts) else None

    @staticmethod
    def merged(entries: list[_TypeProgress]) -> _TypeProgress:
        """Several types as one row: counts and totals side by side, finished when all are."""
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}
        for n, entry in enumerate(entries):
            counts.update({f"{n}:{k}": v for k, v in entry.counts.items()})
            totals.update({f"{n}:{k}": v for k, v in entry.totals.items()})
        return _TypeProgress(counts, totals, set(), all(e.finished for e in entries))


class SyncRun:
    """One sync of one source. `start()` schedules it on the running loop; the panel updates itself."""

    def __init__(self, source_id: int, name: str, page: ft.Page, message_for: Callable[[BaseException], str]) -> None:
        self.source_id = source_id
        self.name = name
        self.page = page
        self.message_for = message_for
        self.types: dict[str, _TypeProgress] = {}
        self.phase = "starting"
        self.finished = False
        self.error: str | None = None
        self.report: Any = None
        self.on_finish: list[Callable[[SyncRun], Awaitable[None]]] = []
        self._last_paint = 0.0
        self.overall = ft.ProgressBar(value=None, bar_height=6, border_radius=3, color=PRIMARY,
                                      semantics_label=f"Syncing {name}")  # fmt: skip
        self.status = ft.Text(f"Connecting to {name}…", size=14, color=INK)
        self.rows = ft.Column(spacing=6)
        self.outcome = ft.Container()
        self.panel = labelled(
            ft.Container(
                content=ft.Column([heading(f"Sync from {name}", 2), self.status, self.overall, self.rows, self.outcome],
                                  spacing=10),  # fmt: skip
                bgcolor=SURFACE,
                border_radius=14,
                padding=16,
                border=ft.Border.all(1, OUTLINE),
            ),
            "sync-panel",
        )
        self.task: asyncio.Task[None] | None = None

    def start(self, run: Callable[[Callable[[Any], None]], Awaitable[Any]]) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(run))

    async def _run(self, run: Callable[[Callable[[Any], None]], Awaitable[Any]]) -> None:
        try:
            self.report = await run(self.progress)
        except asyncio.CancelledError:
            self.error = "The sync was stopped. What arrived so far is kept; sync again to get the rest."
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the patient as a plain sentence
            self.error = self.message_for(exc)
        finally:
            self.finished = True
            self._paint_final()
            for callback in self.on_finish:
                try:
                    await callback(self)
                except Exception:  # noqa: BLE001, S110 - a listener failing must not hide the outcome
                    pass

    # --- progress ---------------------------------------------------------------------------------------------

    def progress(self, event: Any) -> None:
        """The portals' progress callback (SyncProgress): called on the UI loop, so it only counts and repaints."""
        if self.finished:
            return  # a late event must not paint "Fetching…" over the outcome
        self.phase = getattr(event, "phase", self.phase)
        rtype = getattr(event, "resource_type", None)
        if rtype:
            entry = self.types.setdefault(rtype, _TypeProgress({}, {}, set()))
            task = str(getattr(event, "task", None) or rtype)
            if getattr(event, "done", False):
                entry.finished_tasks.add(task)
                entry.counts.setdefault(task, 0)
                entry.finished = entry.finished_tasks >= set(entry.counts)
            else:
                entry.counts[task] = sum(int(getattr(event, k, 0) or 0) for k in ("imported", "updated", "unchanged"))
                total = getattr(event, "total", None)
                if isinstance(total, int):
                    entry.totals[task] = total
                entry.finished = False
        self.overall.value = self.work_done(getattr(event, "tasks_done", 0), getattr(event, "tasks_total", 0))
        now = time.monotonic()
        if now - self._last_paint >= _REPAINT_SECONDS:
            self._last_paint = now
            self._paint()

    def work_done(self, tasks_done: int, tasks_total: int) -> float | None:
        """The share of the work done, never ahead of what is known: records fetched of those the portal said it
        has, and searches finished of those planned (a search that brings 700 results is not one step in 20)."""
        shares = []
        if tasks_total:
            shares.append(tasks_done / tasks_total)
        open_types = [e for e in self.types.values() if not e.finished]
        if open_types and all(e.total for e in open_types):
            done = sum(e.done for e in self.types.values())
            expected = sum(e.done if e.finished else max(e.total or 0, e.done) for e in self.types.values())
            shares.append(done / expected if expected else 1.0)
        return min(1.0, min(shares)) if shares else None

    def _row_entries(self) -> list[tuple[str, _TypeProgress]]:
        rows: dict[str, list[_TypeProgress]] = {}
        for rtype, entry in sorted(self.types.items()):
            rows.setdefault(_ROW_NAMES.get(rtype, kind_name(rtype)), []).append(entry)
        return [(name, entries[0] if len(entries) == 1 else _TypeProgress.merged(entries))
                for name, entries in sorted(rows.items(), key=lambda r: (r[0] in _ROW_NAMES.values(), r[0]))]

    def _type_row(self, name: str, entry: _TypeProgress) -> ft.Control:
        if entry.finished:
            value: float | None = 1.0
        elif entry.total:
            value = min(1.0, entry.done / entry.total)
        else:
            value = None
        count = f"{entry.done:,}" + (f" of {entry.total:,}" if entry.total and not entry.finished else "")
        label = name + (" (done)" if entry.finished else "")
        return ft.Row(
            [
                ft.Text(label, size=13, color=INK, width=170),
                ft.Container(
                    content=ft.ProgressBar(value=value, bar_height=5, border_radius=3, color=PRIMARY,
                                           semantics_label=f"{name} progress"),  # fmt: skip
                    expand=True,
                ),
                ft.Text(count, size=12, color=MUTED, width=90, text_align=ft.TextAlign.RIGHT),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )

    def _paint(self) -> None:
        phases = {"search": "Fetching your records", "references": "Fetching clinicians and places",
                  "attachments": "Fetching documents", "done": "Finishing"}  # fmt: skip
        self.status.value = f"{phases.get(self.phase, 'Syncing')}…"
        self.rows.controls = [self._type_row(n, e) for n, e in self._row_entries()]
        try:
            self.page.update()
        except Exception:  # noqa: BLE001, S110 - the tab may be gone; the sync carries on regardless
            pass

    def _paint_final(self) -> None:
        self.overall.value = 1.0 if self.error is None else 0.0
        for rtype, counted in (getattr(self.report, "types", None) or {}).items():
            # The report's per-type figures are the final word (progress events are per search task).
            entry = self.types.setdefault(rtype, _TypeProgress({}, {}, set()))
            entry.counts = {"report": counted.imported + counted.updated + counted.unchanged}
            entry.totals = {}
        for entry in self.types.values():
            entry.finished = True
        self.rows.controls = [self._type_row(n, e) for n, e in self._row_entries()]
        if self.error is not None:
            self.status.value = "The sync did not finish."
            self.outcome.content = banner(self.error, "alert", identifier="sync-error")
        else:
            self.status.value = "Sync finished."
            self.outcome.content = banner(self._summary(), "ok", identifier="sync-done")
        try:
            self.page.update()
        except Exception:  # noqa: BLE001, S110
            pass

    def _summary(self) -> str:
        report = self.report
        if report is None:
            return f"{self.name} is up to date."
        totals = report.totals
        text = f"{totals.imported:,} new, {totals.updated:,} updated, {totals.unchanged:,} unchanged."
        if totals.refused:
            text += f" {len(totals.refused)} kind(s) of record were refused by the portal: " + "; ".join(totals.refused[:3])
        if getattr(report, "outcome", "complete") == "incomplete":
            text += " Some records are still to come: sync again to fetch the rest."
        if getattr(report, "message", None):
            text += f" {report.message}"
        return text



"""A sync in progress, as the UI shows it: a live progress bar per resource type, off the UI loop.

The sync itself is app.portals (the same service the CLI uses); this object only listens to its progress
callback, keeps per-type counts, and repaints its panel at most a few times a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from app.views.sync_progress import SyncRow, SyncTally, refused_text

from .theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE
from .widgets import banner, heading, labelled

__all__ = ["SyncRun"]

_REPAINT_SECONDS = 0.15


class SyncRun:
    """One sync of one source. `start()` schedules it on the running loop; the panel updates itself."""

    def __init__(self, source_id: int, name: str, page: ft.Page, message_for: Callable[[BaseException], str]) -> None:
        self.source_id = source_id
        self.name = name
        self.page = page
        self.message_for = message_for
        self.tally = SyncTally()  # the rows' figures, in the patient's words (app.views.sync_progress)
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
        self.tally.add(event)
        self.overall.value = self.tally.work_done(getattr(event, "tasks_done", 0), getattr(event, "tasks_total", 0))
        now = time.monotonic()
        if now - self._last_paint >= _REPAINT_SECONDS:
            self._last_paint = now
            self._paint()

    def _type_row(self, row: SyncRow) -> ft.Control:
        return ft.Row(
            [
                ft.Text(row.name, size=13, color=INK, width=170),
                ft.Container(
                    content=ft.ProgressBar(value=row.fraction, bar_height=5, border_radius=3, color=PRIMARY,
                                           semantics_label=f"{row.name} progress"),  # fmt: skip
                    expand=True,
                ),
                ft.Text(row.count_text, size=12, color=MUTED, width=90, text_align=ft.TextAlign.RIGHT),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )

    def _paint(self) -> None:
        phases = {"search": "Fetching your records", "references": "Fetching clinicians and places",
                  "attachments": "Fetching documents", "done": "Finishing"}  # fmt: skip
        self.status.value = f"{phases.get(self.phase, 'Syncing')}…"
        self.rows.controls = [self._type_row(row) for row in self.tally.rows()]
        try:
            self.page.update()
        except Exception:  # noqa: BLE001, S110 - the tab may be gone; the sync carries on regardless
            pass

    def _paint_final(self) -> None:
        self.overall.value = 1.0 if self.error is None else 0.0
        self.tally.finish(self.report, failed=self.error is not None)
        self.rows.controls = [self._type_row(row) for row in self.tally.rows()]
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
            text += " " + refused_text(report)
        if getattr(report, "outcome", "complete") == "incomplete":
            text += " Some records are still to come: sync again to fetch the rest."
        if getattr(report, "message", None):
            text += f" {report.message}"
        return text



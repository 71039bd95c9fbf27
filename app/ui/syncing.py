"""A sync in progress, as data: what the SyncPanel component (app/ui/screens/common.py) shows.

The sync itself is app.portals (the same service the CLI uses). A SyncRun listens to its progress callback, keeps
per-type counts and the share of the work done, and holds the outcome once it ended; it draws nothing. Its `tick`
is observable: it moves a few times a second at most while the sync makes progress, and once when it ends, so the
panels showing the run render again and nothing else does. The session keeps its runs in `session.syncs` (source
id → run) and says when one starts or ends (`session.syncs_changed`), so the screens listing syncs render again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import flet as ft

from app.portals import PortalError
from app.views import kind_name

from .session import UiSession

__all__ = ["SyncRow", "SyncRun", "SyncTick", "start_sync"]

_REPAINT_SECONDS = 0.25
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
_PHASES = {"search": "Fetching your records", "references": "Fetching clinicians and places",
           "attachments": "Fetching documents", "done": "Finishing"}  # fmt: skip


@dataclass(eq=False)
class SyncTick(ft.Observable):
    """Moves when a run has something new to show (observed by the panels showing it)."""

    n: int = 0


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


@dataclass(frozen=True)
class SyncRow:
    """One row of the panel: a kind of record, its bar (None: how much is unknown) and its count."""

    name: str
    value: float | None
    count: str
    finished: bool

    @property
    def label(self) -> str:
        return self.name + (" (done)" if self.finished else "")


class SyncRun:
    """One sync of one source. `start()` schedules it on the running loop."""

    def __init__(self, source_id: int, name: str, message_for: Callable[[BaseException], str]) -> None:
        self.source_id = source_id
        self.name = name
        self.message_for = message_for
        self.types: dict[str, _TypeProgress] = {}
        self.phase = "starting"
        self.finished = False
        self.error: str | None = None
        self.report: Any = None
        self.overall: float | None = None  # the share of the work done; None until it is known
        self.started = time.monotonic()
        self.on_finish: list[Callable[[SyncRun], Awaitable[None]]] = []
        self.tick = SyncTick()
        self.task: asyncio.Task[None] | None = None
        self._last_shown = 0.0
        self._later: asyncio.TimerHandle | None = None

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
            self._finish()
            for callback in self.on_finish:
                try:
                    await callback(self)
                except Exception:  # noqa: BLE001, S110 - a listener failing must not hide the outcome
                    pass

    # --- progress ---------------------------------------------------------------------------------------------

    def progress(self, event: Any) -> None:
        """The portals' progress callback (SyncProgress): called on the UI loop, so it only counts."""
        if self.finished:
            return  # a late event must not say "Fetching…" over the outcome
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
        self.overall = self.work_done(getattr(event, "tasks_done", 0), getattr(event, "tasks_total", 0))
        self._show_soon()

    def _show_soon(self) -> None:
        """Tell the panels, a few times a second at most; what was held back is shown when the pause is over."""
        now = time.monotonic()
        wait = self._last_shown + _REPAINT_SECONDS - now
        if wait <= 0:
            self._show()
        elif self._later is None:
            try:
                self._later = asyncio.get_running_loop().call_later(wait, self._show)
            except RuntimeError:  # no loop (a test counting events): the next event or the end shows it
                pass

    def _show(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None
        self._last_shown = time.monotonic()
        self.tick.n += 1

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

    def _finish(self) -> None:
        self.finished = True
        self.overall = 1.0 if self.error is None else 0.0
        for rtype, counted in (getattr(self.report, "types", None) or {}).items():
            # The report's per-type figures are the final word (progress events are per search task).
            entry = self.types.setdefault(rtype, _TypeProgress({}, {}, set()))
            entry.counts = {"report": counted.imported + counted.updated + counted.unchanged}
            entry.totals = {}
        for entry in self.types.values():
            entry.finished = True
        self._show()

    # --- what the panel shows ---------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        if self.finished:
            return "Sync finished." if self.error is None else "The sync did not finish."
        if self.phase == "starting":
            return f"Connecting to {self.name}…"
        return f"{_PHASES.get(self.phase, 'Syncing')}…"

    def rows(self) -> list[SyncRow]:
        grouped: dict[str, list[_TypeProgress]] = {}
        for rtype, entry in sorted(self.types.items()):
            grouped.setdefault(_ROW_NAMES.get(rtype, kind_name(rtype)), []).append(entry)
        rows = []
        for name, entries in sorted(grouped.items(), key=lambda r: (r[0] in _ROW_NAMES.values(), r[0])):
            entry = entries[0] if len(entries) == 1 else _TypeProgress.merged(entries)
            if entry.finished:
                value: float | None = 1.0
            elif entry.total:
                value = min(1.0, entry.done / entry.total)
            else:
                value = None
            count = f"{entry.done:,}" + (f" of {entry.total:,}" if entry.total and not entry.finished else "")
            rows.append(SyncRow(name, value, count, entry.finished))
        return rows

    def summary(self) -> str:
        """The outcome in a sentence (once finished without an error)."""
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


def start_sync(session: UiSession, source_id: int, name: str) -> SyncRun:
    """Start (or return the running) sync of one portal source, kept in `session.syncs`. When it ends, the
    record's screens load again and what it stored is validated in the background."""
    running: SyncRun | None = session.syncs.get(source_id)
    if running is not None and not running.finished:
        return running
    portals = session.require_portals()
    demo = session.context.demo
    run = SyncRun(source_id, name, session.message_for)

    async def finished(done: SyncRun) -> None:
        session.syncs_changed()
        await session.record_changed()
        session.check_new_records()

    run.on_finish.append(finished)

    async def sync(progress: Callable[[Any], None]) -> Any:
        conn = await asyncio.to_thread(portals.source, source_id)
        if conn.vendor == "sandbox" and conn.status == "connected":
            # The built-in demo hospital: running again after a restart, at the same address.
            await asyncio.to_thread(demo.serve, conn.base_url)
            if not demo.running:
                port = urlsplit(conn.base_url).port
                reason = (f"The demo hospital could not start again at its address (another program is using port "
                          f"{port}). Close that program and sync again, or try the demo hospital again to connect "
                          "it anew.")  # fmt: skip
                await asyncio.to_thread(portals.state.note_unreachable, source_id, reason)
                raise PortalError(reason)
        return await portals.sync(source_id, progress=progress)

    run.start(sync)
    session.syncs[source_id] = run
    session.syncs_changed()
    return run

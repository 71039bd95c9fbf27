"""A sync in progress, as data: what the SyncPanel component (app/ui/screens/common.py) shows.

The sync itself is app.portals (the same service the CLI uses). A SyncRun listens to its progress callback, keeps
per-kind counts in the patient's words (app.views.sync_progress.SyncTally) and the share of the work done, and holds the outcome once it ended; it draws nothing. Its `tick`
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
from app.views.sync_progress import SyncRow, SyncTally, refused_text

from .session import UiSession

__all__ = ["SyncRow", "SyncRun", "SyncTick", "start_sync"]

_REPAINT_SECONDS = 0.25
_PHASES = {"search": "Fetching your records", "references": "Fetching clinicians and places",
           "attachments": "Fetching documents", "done": "Finishing", "checking": "Checking what arrived"}  # fmt: skip


@dataclass(eq=False)
class SyncTick(ft.Observable):
    """Moves when a run has something new to show (observed by the panels showing it)."""

    n: int = 0


class SyncRun:
    """One sync of one source. `start()` schedules it on the running loop."""

    def __init__(self, source_id: int, name: str, message_for: Callable[[BaseException], str]) -> None:
        self.source_id = source_id
        self.name = name
        self.message_for = message_for
        self.tally = SyncTally()  # the rows' figures, in the patient's words
        self.phase = "starting"
        self.finished = False
        self.error: str | None = None
        self.report: Any = None
        self.overall: float | None = None  # the share of the work done; None until it is known
        self.started = time.monotonic()
        self.on_finish: list[Callable[[SyncRun], Awaitable[None]]] = []
        self.tick = SyncTick()
        self.task: asyncio.Task[None] | None = None
        self.invalid = 0  # what did not pass FHIR validation, once checked
        self.tidies = False  # the sync grew the record so much that the record file is rewritten after it
        self._last_shown = 0.0
        self._later: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, run: Callable[[Callable[[Any], None]], Awaitable[Any]]) -> None:
        self._loop = asyncio.get_running_loop()
        self.task = self._loop.create_task(self._run(run))

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
        self.tally.add(event)
        self.overall = self.tally.work_done(getattr(event, "tasks_done", 0), getattr(event, "tasks_total", 0))
        self._show_soon()

    def checking(self, done: int, total: int) -> None:
        """The validation of what arrived, after the fetch (Portals.sync_checked: called from its worker thread):
        the status says so until the sync ends."""
        if self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._checking)
            except RuntimeError:  # the loop is closed (the app is closing): nothing to show it on
                pass

    def _checking(self) -> None:
        if not self.finished:
            self.phase = "checking"
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

    def _finish(self) -> None:
        self.finished = True
        self.overall = 1.0 if self.error is None else 0.0
        self.tally.finish(self.report, failed=self.error is not None)
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
        return self.tally.rows()

    def summary(self) -> str:
        """The outcome in a sentence (once finished without an error)."""
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
        if self.invalid:
            text += (f" {self.invalid:,} did not pass FHIR validation; "
                     f"{'it is' if self.invalid == 1 else 'they are'} shown as received, with why.")  # fmt: skip
        return text


def start_sync(session: UiSession, source_id: int, name: str) -> SyncRun:
    """Start (or return the running) sync of one portal source, kept in `session.syncs`. What it stores is
    validated beside it and the rest when the fetch ends (Portals.sync_checked, as `carry sync` does), before it
    says it finished; then the record's screens load again."""
    running: SyncRun | None = session.syncs.get(source_id)
    if running is not None and not running.finished:
        return running
    portals = session.require_portals()
    demo = session.context.demo
    run = SyncRun(source_id, name, session.message_for)

    async def finished(done: SyncRun) -> None:
        session.syncs_changed()
        await session.record_changed()

    run.on_finish.append(finished)

    async def sync(progress: Callable[[Any], None]) -> Any:
        conn = await asyncio.to_thread(portals.source, source_id)
        if conn.vendor == "sandbox" and conn.status == "connected":
            # The built-in demo hospital: running again after a restart, at the same address.
            if not await asyncio.to_thread(demo.serve, conn.base_url):
                port = urlsplit(conn.base_url).port
                reason = (f"The demo hospital could not start again at its address (another program is using port "
                          f"{port}). Close that program and sync again, or try the demo hospital again to connect "
                          "it anew.")  # fmt: skip
                await asyncio.to_thread(portals.state.note_unreachable, source_id, reason)
                raise PortalError(reason)
        report, checked = await portals.sync_checked(source_id, progress=progress, checking=run.checking)
        run.invalid = checked.invalid_total
        run.tidies = session.require().rewriting() is not None
        session.follow_rewrite()
        return report

    run.start(sync)
    session.syncs[source_id] = run
    session.syncs_changed()
    return run

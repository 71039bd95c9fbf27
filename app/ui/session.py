"""One UI session's services: the unlocked record, its portals and syncs, and the actions that change AppState.

A UiSession belongs to one browser tab (or the desktop window). It owns the session's RecordSession (its own
unlocked Record), the OAuth states it waits for, the syncs it runs and the idle lock; components reach it through
the session context (app.ui.hooks.use_session) and never hold the record themselves. Every blocking call goes
through `run` (a worker thread, so the UI never freezes); every event handler goes through `act`, which marks
activity for the idle lock and turns an error into a plain sentence in a notice.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import flet as ft

from app.errors import ui_message
from app.record import RecordBusy
from app.views import RecordSession, Scope, people
from app.views.preferences import load_preferences, save_preference

from .appearance import apply_appearance
from .context import AppContext
from .state import AppState
from .theme import INK, PHONE_MAX, SURFACE
from .widgets import banner

__all__ = ["UiSession"]

log = logging.getLogger("carry.ui")
_IDLE_CHECK_SECONDS = 15.0
_TIDY_LOOK = 0.2  # seconds between two looks at the record file's rewrite


def _wants_event(handler: Callable[..., Any]) -> bool:
    """Whether a handler takes the event (a handler of no arguments is called without it)."""
    required = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(
        p.kind in required and p.default is inspect.Parameter.empty for p in inspect.signature(handler).parameters.values()
    )


class UiSession:
    def __init__(self, page: ft.Page, context: AppContext, state: AppState) -> None:
        self.page = page
        self.context = context
        self.state = state
        self.record_session = RecordSession(context.record_path)
        self.portals: Any = None  # app.portals.Portals for this session's record, while unlocked
        self.syncs: dict[int, Any] = {}  # source id → app.ui.syncing.SyncRun
        self._states: set[str] = set()  # OAuth states this session waits for
        self._directory: Any = None
        self._check: asyncio.Task[None] | None = None  # validating what syncs stored, in the background
        self._idle_task: asyncio.Task[None] | None = None
        self._tidy_task: asyncio.Task[None] | None = None  # follows the record file's rewrite (follow_rewrite)
        self._history: list[str] = []  # routes shown in this session, for Back
        self._root: Any = None  # the root component, rendered at once when the record locks (render_now)
        # What a screen keeps while the patient is elsewhere (the last search, shown again on Back); never on disk,
        # forgotten at lock.
        self.memory: dict[str, Any] = {}
        self.replacing = False  # a restore is replacing the record's file (Settings): unlocking waits for it

    # --- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Once, when the session's page is first shown: the page's look and events, and whether a record exists."""
        page = self.page
        page.title = "Carry"
        apply_appearance(page, self.state.prefs)
        page.padding = 0
        page.spacing = 0
        page.on_resize = self._on_resize
        page.on_close = self._on_close
        page.on_disconnect = self._on_disconnect
        self.state.phone = self._is_phone()
        self.state.has_record = await self.run(self.record_session.exists)
        self._idle_task = asyncio.create_task(self._idle_loop())

    async def unlock(self, passphrase: str) -> None:
        """Open the record. A record from an older Carry is updated first (a long one can take a while): meanwhile
        `state.updating` says how far that is, for the unlock screen."""
        if self.replacing:
            raise RecordBusy("Carry is still replacing your record with the backup; unlock when it says it is done.")
        loop = asyncio.get_running_loop()

        def updating(share: float) -> None:  # from the worker thread that opens the record
            try:
                loop.call_soon_threadsafe(self._updating, int(share * 100), bool(getattr(share, "tidying", False)))
            except RuntimeError:  # the loop is closed (the app is closing): nothing to show it on
                pass

        try:
            await self.run(self.record_session.unlock, passphrase, updating)
            await self._after_unlock()
        finally:
            self.state.updating = None
            self.state.update_tidying = False

    def _updating(self, percent: int, tidying: bool) -> None:
        if self.state.update_tidying != tidying:
            self.state.update_tidying = tidying
        if self.state.updating != percent:
            self.state.updating = percent

    def follow_rewrite(self) -> None:
        """After a big import or sync the record file is rewritten (on a thread of the record's, Record.rewriting):
        `state.tidying` says how far that is until it ends. Nothing happens when no rewrite is under way."""
        if self._tidy_task is None or self._tidy_task.done():
            self._tidy_task = asyncio.create_task(self._follow_rewrite())

    async def _follow_rewrite(self) -> None:
        try:
            while self.record_session.unlocked:
                share = self.record_session.require().rewriting()  # no I/O: read from the loop
                if share is None:
                    break
                if self.state.tidying != int(share * 100):
                    self.state.tidying = int(share * 100)
                await asyncio.sleep(_TIDY_LOOK)
        finally:
            self.state.tidying = None

    async def create(self, passphrase: str, repeated: str) -> None:
        await self.run(self.record_session.create, passphrase, repeated)
        self.state.first_run = True
        await self._after_unlock()

    async def restored(self) -> None:
        """A backup was restored into the data directory: the unlock screen is next."""
        self.state.has_record = await self.run(self.record_session.exists)

    async def _after_unlock(self) -> None:
        from app.portals import Portals

        record = self.record_session.require()
        self.portals = Portals(record)
        prefs = await self.run(load_preferences, record)
        found = tuple(await self.run(people, record))
        apply_appearance(self.page, prefs)
        state = self.state
        state.prefs = prefs
        state.people = found
        # Always one person on screen when the record holds anyone: the first is the one the record was made for.
        state.scope = Scope(found[0]) if found else Scope()
        state.has_record = True
        state.lock_notice = None
        state.unlocked = True
        await self._merge_share_access(record)
        self.check_new_records()  # a check the last session did not finish

    def check_new_records(self) -> None:
        """Validate what syncs stored, in the background (worker processes when there is much): the data shows at
        once, and what fails validation gets its flag when the check is done. One check at a time."""
        if self._check is not None and not self._check.done():
            return
        self._check = asyncio.get_running_loop().create_task(self._check_new_records())

    async def _check_new_records(self) -> None:
        from app.record.checking import check_pending

        try:
            result = await self.run(check_pending, self.record_session.require())
        except Exception:  # noqa: BLE001 - locked meanwhile, or the record is busy: the next sync or unlock goes on
            return
        if result.invalid_total:
            await self.record_changed()

    async def _merge_share_access(self, record: Any) -> None:
        """Who opened the patient's shared links since the last unlock: into the record's audit log, and said."""
        from app.shares import merge_access_quietly

        opened = await self.run(merge_access_quietly, record, self.context.share)
        if opened:
            self.notify("Your shared links: " + "; ".join(e.sentence() for e in opened[-3:])
                        + (f" (and {len(opened) - 3} more)" if len(opened) > 3 else "") + ".")  # fmt: skip

    def _stop_work(self) -> None:
        for run in self.syncs.values():
            if run.task is not None and not run.finished:
                run.task.cancel()
        self.syncs.clear()
        for state in self._states:
            self.context.callbacks.cancel(state)
        self._states.clear()

    async def lock(self, reason: str | None = None) -> None:
        self._stop_work()
        self.portals = None
        await self.run(self.record_session.lock)
        self.context.links.forget_all()
        self._history.clear()
        self.memory.clear()
        state = self.state
        state.people, state.scope, state.title, state.first_run = (), Scope(), "", False
        state.lock_notice = reason
        state.unlocked = False
        self.render_now()

    def bind_root(self, root: Any) -> None:
        """The root component (made by app.ui.root.Root), so a lock can take the record off the page at once."""
        self._root = root

    def render_now(self) -> None:
        """Render the whole tree now, not when the scheduler next runs. Flet drops a component's scheduled render
        while the tab is disconnected, and a tab that restores the session is sent the tree as it stands: locking
        on disconnect must change the tree itself, or the restored tab would be shown the record."""
        if self._root is None:
            return
        try:
            self._root.update()
        except Exception:  # noqa: BLE001 - the session may be closing; the state is locked whatever is drawn
            log.debug("the locked screen could not be rendered now", exc_info=True)

    async def set_preference(self, name: str, value: str) -> None:
        """Change units, light or dark, or the text size: saved in the record, and every screen shown in it."""
        prefs = await self.run(save_preference, self.record_session.require(), name, value)
        apply_appearance(self.page, prefs)
        self.state.prefs = prefs

    async def _on_disconnect(self, e: Any = None) -> None:
        # The tab was closed, reloaded or lost its connection. Flet keeps the session for a while and lets a tab
        # that restores its session storage (reopen closed tab, duplicate tab) take it over: lock now, so whoever
        # comes back finds the unlock screen and needs the passphrase.
        if self.record_session.unlocked:
            await self.lock("Carry locked your record when its tab was closed.")

    async def _on_close(self, e: Any = None) -> None:
        # The tab is gone for good: drop the key with it. Closing the record waits for a write in progress (a sync
        # batch that was cancelled finishes its transaction first) and checkpoints: on a worker thread, never on
        # the event loop that serves the other tabs.
        self._stop_work()
        if self._idle_task is not None:
            self._idle_task.cancel()
        await self.run(self.record_session.lock)

    async def _idle_loop(self) -> None:
        while True:
            await asyncio.sleep(_IDLE_CHECK_SECONDS)
            if self.record_session.idle_expired():
                minutes = self.record_session.autolock_minutes
                await self.lock(f"Carry locked your record after {minutes} minutes without activity.")

    # --- layout and navigation ------------------------------------------------------------------------------

    def _is_phone(self) -> bool:
        width = self.page.width
        return bool(width) and float(width or 0) < PHONE_MAX

    async def _on_resize(self, e: Any = None) -> None:
        phone = self._is_phone()
        if phone != self.state.phone:
            self.state.phone = phone

    def navigate(self, route: str) -> None:
        """Show another screen: the route goes into the browser's history, so its Back button works too."""
        self.record_session.touch()
        self.page.navigate(route)

    def visited(self, route: str) -> None:
        """The router showed `route` (from a click, a link typed or the browser's Back)."""
        if self._history and self._history[-1] == route:
            return
        if len(self._history) >= 2 and self._history[-2] == route:  # the browser's Back: one step down
            self._history.pop()
            return
        self._history.append(route)
        del self._history[:-50]

    def back(self, fallback: str = "/") -> None:
        """Back to the screen before this one in the session (an item opened from the timeline returns there)."""
        target = self._history[-2] if len(self._history) >= 2 else fallback
        if len(self._history) >= 2:
            self._history.pop()
        self.navigate(target)

    # --- the record -----------------------------------------------------------------------------------------

    def require(self) -> Any:
        """The unlocked Record (RecordError "locked" otherwise)."""
        return self.record_session.require()

    def require_portals(self) -> Any:
        if self.portals is None:
            from app.record import RecordError

            raise RecordError("The record is locked. Unlock it with your passphrase.")
        return self.portals

    def set_scope(self, person_key: str | None) -> None:
        """Show another person's record (by key); an unknown key changes nothing."""
        chosen = next((p for p in self.state.people if p.key == person_key), None)
        if chosen is not None:
            self.state.scope = Scope(chosen)

    def rescope(self) -> None:
        """Keep the person on screen (by number: their name or records may have changed), or the first person."""
        state = self.state
        shown = state.scope.person.id if state.scope.person is not None else None
        again = next((p for p in state.people if p.id == shown), None)
        state.scope = Scope(again or (state.people[0] if state.people else None))

    async def record_changed(self) -> None:
        """New data arrived or a decision changed the record: who is in it, and every screen loads again."""
        if not self.record_session.unlocked:
            return
        self.state.people = tuple(await self.run(people, self.record_session.require()))
        self.rescope()
        self.state.record_changed()

    # --- portals -------------------------------------------------------------------------------------------

    def expect_callback(self, state: str, handler: Callable[[dict[str, str]], Coroutine[Any, Any, str]]) -> None:
        """Route the portal's return (GET /oauth/callback?state=…) to this session."""

        async def in_page(params: dict[str, str]) -> tuple[str, BaseException | None]:
            try:
                return await handler(params), None
            except Exception as exc:  # noqa: BLE001 - raised again in the caller's task, not logged on the way
                return "", exc

        async def deliver(params: dict[str, str]) -> str:
            self._states.discard(state)
            self.record_session.touch()
            # The callback arrives on the server's HTTP route (or the desktop window's listener, on a loop of its
            # own): the handler runs on the session's loop with its page as the context, so the state it changes
            # re-renders this session's components.
            said, exc = await asyncio.wrap_future(self.page.run_task(in_page, params))
            if exc is not None:
                raise exc
            return said

        self._states.add(state)
        self.context.callbacks.expect(state, deliver)

    def directory(self) -> Any:
        """The provider directory (blocking: it loads from disk the first time)."""
        if self._directory is None:
            from sync.directory import Directory

            self._directory = Directory.load()
        return self._directory

    def forget_directory(self) -> None:
        """The provider list was updated: load it again at the next search."""
        self._directory = None

    def directory_search(self, text: str) -> list[Any]:
        """Providers matching `text` (blocking: the directory loads from disk the first time)."""
        return list(self.directory().search(text, limit=12))

    def syncs_changed(self) -> None:
        """A sync started, moved on or ended: the panels showing it render again."""
        self.state.syncs += 1

    # --- doing things ---------------------------------------------------------------------------------------

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A blocking call (SQLite, the sandbox, the network) on a worker thread, so the UI never freezes."""
        return await asyncio.to_thread(func, *args, **kwargs)

    def act(self, handler: Callable[..., Any]) -> Callable[[Any], Awaitable[None]]:
        """Wrap an event handler: activity for the idle lock, and errors as plain sentences."""

        async def wrapped(e: Any = None) -> None:
            self.record_session.touch()
            try:
                result = handler(e) if _wants_event(handler) else handler()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - the UI's one place errors become messages
                self.notify(self.message_for(exc), "alert")

        return wrapped

    @staticmethod
    def message_for(exc: BaseException) -> str:
        message = ui_message(exc)  # worded for the app: its action as something to press, never a command
        if message is None:
            log.exception("unexpected error in the UI", exc_info=exc)
            message = f"Something went wrong ({type(exc).__name__}). Your record is unchanged; please try again."
        return message

    def notify(self, text: str, tone: str = "info") -> None:
        # The close icon in the text colour: Flutter's default is the inverse surface's, nearly invisible on the
        # dark surface.
        snack = ft.SnackBar(content=banner(text, tone, identifier="notice"), bgcolor=SURFACE, duration=6000,
                            show_close_icon=True, close_icon_color=INK)  # fmt: skip
        self.page.show_dialog(snack)

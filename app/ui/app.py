"""One UI session: unlock or create the record, then the shell with its sections.

CarryApp owns the session's RecordSession (its own unlocked Record), whose record is shown (Scope), and which
screen is up. Every event handler goes through `act`, which marks activity for the idle lock and turns
CarryError into a plain message; every record call goes through `run`, off the UI loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import flet as ft

from app.errors import ui_message
from app.views import Person, RecordSession, Scope, people
from app.views.preferences import Preferences, load_preferences, save_preference

from .appearance import apply_appearance, scale_text
from .context import AppContext
from .syncing import SyncRun
from .theme import BACKGROUND, INK, PHONE_MAX, SURFACE
from .widgets import banner

__all__ = ["CarryApp"]

log = logging.getLogger("carry.ui")
_C = TypeVar("_C", bound=ft.BaseControl)
_IDLE_CHECK_SECONDS = 15.0


def _wants_event(handler: Callable[..., Any]) -> bool:
    """Whether a handler takes the event (lambdas that bind loop variables as defaults do not)."""
    required = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(
        p.kind in required and p.default is inspect.Parameter.empty for p in inspect.signature(handler).parameters.values()
    )


class CarryApp:
    def __init__(self, page: ft.Page, context: AppContext) -> None:
        self.page = page
        self.context = context
        self.session = RecordSession(context.record_path)
        self.people: tuple[Person, ...] = ()
        self.scope = Scope()
        self.root = ft.Container(expand=True)
        self.shell: Any = None  # the Shell while unlocked
        self._idle_task: asyncio.Task[None] | None = None
        self._phone = self._is_phone()
        self.portals: Any = None  # app.portals.Portals for this session's record, while unlocked
        self.syncs: dict[int, SyncRun] = {}
        self._states: set[str] = set()  # OAuth states this session waits for
        self._directory: Any = None
        self._check: asyncio.Task[None] | None = None  # validating what syncs stored, in the background
        self.prefs = Preferences()  # units, light or dark, text size: the record's, once unlocked

    # --- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        page = self.page
        page.title = "Carry"
        apply_appearance(page, self.prefs)
        page.bgcolor = BACKGROUND
        page.padding = 0
        page.spacing = 0
        page.on_resize = self._on_resize
        page.on_close = self._on_close
        page.on_disconnect = self._on_disconnect
        page.add(self.root)
        await self.show_entry()
        page.update()
        self._idle_task = asyncio.create_task(self._idle_loop())

    async def show_entry(self) -> None:
        from .screens.unlock import UnlockScreen
        from .screens.welcome import WelcomeScreen

        exists = await self.run(self.session.exists)
        self.shell = None
        self.page.navigation_bar = None
        self.set_root(UnlockScreen(self).build() if exists else WelcomeScreen(self).build())

    async def after_unlock(self, first_run: bool = False) -> None:
        from .screens.shell import Shell

        record = self.session.require()
        from app.portals import Portals

        self.portals = Portals(record)
        self.prefs = await self.run(load_preferences, record)
        apply_appearance(self.page, self.prefs)
        self.people = tuple(await self.run(people, record))
        # Always one person on screen when the record holds anyone: the first is the one the record was made for.
        self.scope = Scope(self.people[0]) if self.people else Scope()
        self.shell = Shell(self)
        self.set_root(self.shell.build())
        await self.shell.open("welcome" if first_run else "summary")
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
            result = await self.run(check_pending, self.session.require())
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

    async def lock(self, reason: str | None = None) -> None:
        for run in self.syncs.values():
            if run.task is not None and not run.finished:
                run.task.cancel()
        self.syncs.clear()
        for state in self._states:
            self.context.callbacks.cancel(state)
        self._states.clear()
        self.portals = None
        await self.run(self.session.lock)
        self.context.links.forget_all()
        self.people, self.scope, self.shell = (), Scope(), None
        self.page.navigation_bar = None
        from .screens.unlock import UnlockScreen

        self.set_root(UnlockScreen(self, notice=reason).build())
        self.page.update()

    def set_root(self, control: ft.Control) -> None:
        self.root.content = self.scaled(control)

    def scaled(self, control: _C) -> _C:
        """`control` with its text at the patient's text size."""
        scale_text(control, self.prefs.text_scale)
        return control

    async def set_preference(self, name: str, value: str) -> None:
        """Change units, light or dark, or the text size: saved in the record, and the screen shown again in it."""
        self.prefs = await self.run(save_preference, self.session.require(), name, value)
        apply_appearance(self.page, self.prefs)
        if self.shell is not None:
            self.set_root(self.shell.build())
            await self.shell.refresh()

    async def _on_disconnect(self, e: Any = None) -> None:
        # The tab was closed, reloaded or lost its connection. Flet keeps the session for a while and lets a tab
        # that restores its session storage (reopen closed tab, duplicate tab) take it over: lock now, so whoever
        # comes back finds the unlock screen and needs the passphrase.
        if self.session.unlocked:
            await self.lock("Carry locked your record when its tab was closed.")

    async def _on_close(self, e: Any = None) -> None:
        # The tab is gone for good: drop the key with it. Closing the record waits for a write in progress (a sync
        # batch that was cancelled finishes its transaction first) and checkpoints: on a worker thread, never on
        # the event loop that serves the other tabs.
        for run in self.syncs.values():
            if run.task is not None and not run.finished:
                run.task.cancel()
        for state in self._states:
            self.context.callbacks.cancel(state)
        if self._idle_task is not None:
            self._idle_task.cancel()
        await self.run(self.session.lock)

    async def _idle_loop(self) -> None:
        while True:
            await asyncio.sleep(_IDLE_CHECK_SECONDS)
            if self.session.idle_expired():
                minutes = self.session.autolock_minutes
                await self.lock(f"Carry locked your record after {minutes} minutes without activity.")

    # --- layout ---------------------------------------------------------------------------------------------

    def _is_phone(self) -> bool:
        width = self.page.width
        return bool(width) and float(width or 0) < PHONE_MAX

    @property
    def phone(self) -> bool:
        return self._phone

    async def _on_resize(self, e: Any = None) -> None:
        phone = self._is_phone()
        if phone != self._phone:
            self._phone = phone
            if self.shell is not None:
                self.set_root(self.shell.build())
                await self.shell.refresh()
            self.page.update()

    # --- portals -------------------------------------------------------------------------------------------

    def require_portals(self) -> Any:
        if self.portals is None:
            from app.record import RecordError

            raise RecordError("The record is locked. Unlock it with your passphrase.")
        return self.portals

    def expect_callback(self, state: str, handler: Callable[[dict[str, str]], Coroutine[Any, Any, str]]) -> None:
        """Route the portal's return (GET /oauth/callback?state=…) to this session."""

        loop = asyncio.get_running_loop()

        async def deliver(params: dict[str, str]) -> str:
            self._states.discard(state)
            self.session.touch()
            if asyncio.get_running_loop() is loop:
                return await handler(params)
            # The desktop window's callback listener runs its own loop: finish on the session's loop.
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(handler(params), loop))

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

    def rescope(self) -> None:
        """Keep the person on screen (by number: their name or records may have changed), or the first person."""
        shown = self.scope.person.id if self.scope.person is not None else None
        again = next((p for p in self.people if p.id == shown), None)
        self.scope = Scope(again or (self.people[0] if self.people else None))

    async def record_changed(self) -> None:
        """New data arrived (a sync finished): refresh who is in the record and the screen on show."""
        if not self.session.unlocked:
            return
        self.people = tuple(await self.run(people, self.session.require()))
        self.rescope()
        if self.shell is not None and not self.shell.back_stack and self.shell.current != "sources":
            await self.shell.refresh()

    # --- doing things ---------------------------------------------------------------------------------------

    async def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A blocking call (SQLite, the sandbox, the network) on a worker thread, so the UI never freezes."""
        return await asyncio.to_thread(func, *args, **kwargs)

    def act(self, handler: Callable[..., Any]) -> Callable[[Any], Awaitable[None]]:
        """Wrap an event handler: activity for the idle lock, and errors as plain sentences."""

        async def wrapped(e: Any = None) -> None:
            self.session.touch()
            try:
                result = handler(e) if _wants_event(handler) else handler()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - the UI's one place errors become messages
                self.notify(self.message_for(exc), "alert")
            self._update()

        return wrapped

    def _update(self) -> None:
        try:
            self.page.update()
        except Exception:  # noqa: BLE001, S110 - the session may be closing; nothing to repaint then
            pass

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

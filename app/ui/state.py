"""What one UI session shows, as observable state: components read it and re-render when it changes.

AppState holds data only (no record handle, no page): whether a record exists and is unlocked, whose record is on
screen, the patient's look (units, light or dark, text size), the screen width class, the title the screen on show
asked for, and a generation number that moves whenever the record changed, so every loaded screen loads again.
The services that change it (unlock, lock, sync, settings) are app.ui.session.UiSession's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft

from app.views import Person, Scope
from app.views.preferences import Preferences

__all__ = ["AppState"]


@ft.observable
@dataclass
class AppState:
    has_record: bool | None = None  # None until the data directory was looked at
    unlocked: bool = False
    people: tuple[Person, ...] = ()
    scope: Scope = field(default_factory=Scope)
    prefs: Preferences = field(default_factory=Preferences)
    phone: bool = False
    generation: int = 0  # moves whenever the record changed (a sync, an import, a decision): screens load again
    lock_notice: str | None = None  # why the record was locked, said on the unlock screen
    first_run: bool = False  # the record was just created: the summary greets and offers to connect
    title: str = ""  # the heading of the screen on show, set by the screen (a lab test's name, "Details")
    syncs: int = 0  # moves whenever a sync starts, progresses or ends: the panels showing syncs re-render
    updating: int | None = None  # while an unlock updates the record for this version of Carry: the percent done
    update_tidying: bool = False  # and that update is rewriting the record file (the words change)
    tidying: int | None = None  # while the record file is rewritten after a big import or sync: the percent done

    def record_changed(self) -> None:
        self.generation += 1

"""The frame around the record: navigation (a rail on desktop, a bottom bar on a phone), whose record is on
screen (always, in the top bar), and the lock button. Sections load their data off the UI loop and swap into the content area."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import flet as ft

from ..theme import INK, OUTLINE, PRIMARY, SURFACE
from ..widgets import icon_button, labelled

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["SECTIONS", "Shell"]

# The server's log-out page (app/server.py). Leaving the page closes this tab's session, which locks the record.
_LOGOUT = ft.Url("/logout", target=ft.UrlTarget.SELF)


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    icon: Any
    selected_icon: Any
    on_phone_bar: bool


SECTIONS = (
    Section("summary", "Summary", ft.Icons.DASHBOARD_OUTLINED, ft.Icons.DASHBOARD, True),
    Section("timeline", "Timeline", ft.Icons.TIMELINE_OUTLINED, ft.Icons.TIMELINE, True),
    Section("results", "Results", ft.Icons.SHOW_CHART_OUTLINED, ft.Icons.SHOW_CHART, True),
    Section("documents", "Documents", ft.Icons.DESCRIPTION_OUTLINED, ft.Icons.DESCRIPTION, True),
    Section("search", "Search", ft.Icons.SEARCH_OUTLINED, ft.Icons.SEARCH, True),
    Section("share", "Share", ft.Icons.SHARE_OUTLINED, ft.Icons.SHARE, True),
    Section("people", "Whose record", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE, False),
    Section("sources", "Sources", ft.Icons.SYNC_OUTLINED, ft.Icons.SYNC, False),
    Section("settings", "Settings", ft.Icons.SETTINGS_OUTLINED, ft.Icons.SETTINGS, False),
)


class Shell:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.current = "summary"
        self.content = ft.Container(expand=True, padding=0)
        # One line, cut with an ellipsis: a long title (a lab test's name) never pushes Lock off the bar.
        self.title = ft.Text("", size=20, weight=ft.FontWeight.W_600, color=INK, max_lines=1,
                             overflow=ft.TextOverflow.ELLIPSIS)  # fmt: skip
        self.back_stack: list[tuple[str, Any]] = []
        self._view: Any = None  # the section object on screen
        # Whose record is on screen, always in the top bar; it opens "Whose record".
        self.person = ft.TextButton(content=self._person_text(), icon=ft.Icons.PERSON_OUTLINE,
                                    on_click=self.app.act(lambda: self.open("people")))  # fmt: skip

    def _person_text(self) -> str:
        shown = self.app.scope.person
        return shown.name if shown is not None else "Whose record"

    def refresh_person(self) -> None:
        """Show the person now on screen in the top bar (after a switch, a rename, a merge)."""
        self.person.content = self._person_text()

    # --- frame ----------------------------------------------------------------------------------------------

    def _nav_sections(self) -> list[Section]:
        return [s for s in SECTIONS if s.on_phone_bar] if self.app.phone else list(SECTIONS)

    def build(self) -> ft.Control:
        sections = self._nav_sections()
        keys = [s.key for s in sections]
        index = keys.index(self.current) if self.current in keys else None
        top = self._top_bar()
        if self.app.phone:
            self.app.page.navigation_bar = ft.NavigationBar(
                destinations=[ft.NavigationBarDestination(icon=s.icon, selected_icon=s.selected_icon, label=s.label)
                              for s in sections],  # fmt: skip
                selected_index=index or 0,
                on_change=self.app.act(self._nav_changed),
                bgcolor=SURFACE,
            )
            return ft.Column([top, self.content], spacing=0, expand=True)
        self.app.page.navigation_bar = None
        rail = ft.NavigationRail(
            destinations=[ft.NavigationRailDestination(icon=s.icon, selected_icon=s.selected_icon, label=s.label)
                          for s in sections],  # fmt: skip
            selected_index=index,
            label_type=ft.NavigationRailLabelType.ALL,
            on_change=self.app.act(self._nav_changed),
            bgcolor=SURFACE,
            min_width=88,
            leading=ft.Container(ft.Icon(ft.Icons.FAVORITE_BORDER, color=PRIMARY, size=28), padding=ft.Padding.only(top=12)),
        )
        return ft.Row(
            [rail, ft.VerticalDivider(width=1, color=OUTLINE), ft.Column([top, self.content], spacing=0, expand=True)],
            spacing=0,
            expand=True,
        )

    def _top_bar(self) -> ft.Control:
        lock = labelled(ft.OutlinedButton(content="Lock", icon=ft.Icons.LOCK_OUTLINE, on_click=self.app.act(self._lock)),
                        "lock")  # fmt: skip
        actions: list[ft.Control] = [lock]
        if self.app.phone:
            # What the bottom bar has no room for goes in a menu, each entry with its icon and its name.
            entries = [
                ft.PopupMenuItem(content="Sources", icon=ft.Icons.SYNC, on_click=self.app.act(lambda: self.open("sources"))),
                ft.PopupMenuItem(content="Settings", icon=ft.Icons.SETTINGS_OUTLINED,
                                 on_click=self.app.act(lambda: self.open("settings"))),  # fmt: skip
            ]
            menu = ft.PopupMenuButton(icon=ft.Icons.MORE_VERT, tooltip="More", items=entries)
            # One name for the menu button (its tooltip would be read as a second "More").
            actions = [ft.Semantics(content=menu, label="More", button=True, exclude_semantics=True,
                                    identifier="nav-more"), lock]  # fmt: skip
            if self.app.context.login:  # a link, which a menu entry cannot be
                actions.insert(1, icon_button(ft.Icons.LOGOUT, "Log out", None, "logout", url=_LOGOUT))
        elif self.app.context.login:
            actions.append(labelled(ft.OutlinedButton(content="Log out", icon=ft.Icons.LOGOUT, url=_LOGOUT), "logout"))
        whose = ft.Semantics(content=self.person, identifier="whose-record", label="Whose record")
        title = ft.Container(ft.Semantics(content=self.title, header=True, heading_level=1), expand=True)
        # On a phone the name gets a line of its own: beside the title and the actions it would not fit.
        bar: ft.Control = (
            ft.Column([ft.Row([title, *actions], spacing=4), whose], spacing=0)
            if self.app.phone
            else ft.Row([title, whose, *actions], spacing=4)
        )
        return ft.Container(
            content=bar,
            padding=ft.Padding.only(left=20 if not self.app.phone else 14, right=8, top=10, bottom=6),
            bgcolor=SURFACE,
            border=ft.Border.only(bottom=ft.BorderSide(1, OUTLINE)),
        )

    async def _lock(self) -> None:
        await self.app.lock()

    async def _nav_changed(self, e: Any) -> None:
        sections = self._nav_sections()
        index = int(e.control.selected_index or 0)
        await self.open(sections[index].key)

    def _select_nav(self) -> None:
        keys = [s.key for s in self._nav_sections()]
        index = keys.index(self.current) if self.current in keys else None
        page = self.app.page
        if self.app.phone and page.navigation_bar is not None:
            page.navigation_bar.selected_index = index or 0
        elif not self.app.phone:
            row = self.app.root.content
            rail = row.controls[0] if isinstance(row, ft.Row) else None
            if isinstance(rail, ft.NavigationRail):
                rail.selected_index = index

    # --- sections -------------------------------------------------------------------------------------------

    def _make(self, key: str) -> Any:
        from .dashboard import DashboardView
        from .documents import DocumentsView
        from .people import PeopleView
        from .results import ResultsView
        from .search import SearchView
        from .settings import SettingsView
        from .share import ShareView
        from .sources import SourcesView
        from .timeline import TimelineView

        views: dict[str, Any] = {
            "summary": DashboardView,
            "welcome": DashboardView,
            "timeline": TimelineView,
            "results": ResultsView,
            "documents": DocumentsView,
            "search": SearchView,
            "sources": SourcesView,
            "share": ShareView,
            "people": PeopleView,
            "settings": SettingsView,
        }
        view = views[key](self.app)
        if key == "welcome":
            view.first_run = True
        return view

    async def open(self, key: str) -> None:
        """Show a section from the navigation (clears the back stack)."""
        self.back_stack.clear()
        self.current = "summary" if key == "welcome" else key
        label = next((s.label for s in SECTIONS if s.key == self.current), "")
        await self._show(self._make(key), label)

    async def push(self, view: Any, title: str) -> None:
        """Open something on top of the current section (an item's detail, a chart); Back returns."""
        self.back_stack.append((self.title.value, self._view))
        await self._show(view, title)

    async def back(self) -> None:
        if not self.back_stack:
            await self.open(self.current)
            return
        title, view = self.back_stack.pop()
        if getattr(view, "stale", False):  # the record changed under it (a merge or split): load it afresh
            view.stale = False
            await self._show(view, title)
            return
        self._view = view
        self.title.value = title
        self.content.content = view.control
        self.app.page.update()

    async def refresh(self) -> None:
        if self._view is not None:
            await self._show(self._view, self.title.value or "", rebuild=True)

    async def _show(self, view: Any, title: str, rebuild: bool = True) -> None:
        self._view = view
        self.title.value = title
        self.refresh_person()
        self._select_nav()
        self.content.content = ft.Container(
            content=ft.ProgressRing(width=32, height=32, semantics_label="Loading"), alignment=ft.Alignment.CENTER,
            expand=True,
        )  # fmt: skip
        self.app.page.update()
        control = self.app.scaled(await view.load())
        view.control = control
        if self._view is view:
            self.content.content = control
            self.app.page.update()

    def back_button(self) -> ft.Control:
        button = ft.TextButton(content="Back", icon=ft.Icons.ARROW_BACK, on_click=self.app.act(self.back))
        return ft.Row([labelled(button, "back")])

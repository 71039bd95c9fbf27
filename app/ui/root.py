"""The app's component tree: the session, the router, the lock gate and the frame around the record.

    Root(context)      one per tab: makes the UiSession and its AppState, provides them, renders the Router
    Gate               the layout route every screen sits under: no record → welcome, locked → unlock,
                       unlocked → the Shell with the screen the path names (a link opened while locked is shown
                       once the patient has unlocked)
    Shell              navigation (a rail on a desktop, a bottom bar on a phone), the title, whose record is on
                       screen, Lock; the screen itself is the router's outlet
"""

from __future__ import annotations

from typing import Any, cast

import flet as ft
from flet.components.utils import current_component

from .context import AppContext
from .hooks import SessionContext, TextScale, component, use_app_state, use_once, use_session
from .paths import CONNECT, CONNECT_DEMO, DELETED_ENTRIES, SECTIONS, Section, section_of
from .screens.add_entry import AddEntry, DeletedEntries
from .screens.connect import Connect, ConnectDemo
from .screens.dashboard import Summary
from .screens.detail import Detail
from .screens.documents import Documents
from .screens.people import People
from .screens.results import Result, Results
from .screens.search import Search
from .screens.settings import Settings
from .screens.share import Received, Share
from .screens.sources import Sources
from .screens.timeline import Timeline
from .screens.unlock import Unlock
from .screens.welcome import Welcome
from .session import UiSession
from .state import AppState
from .theme import BACKGROUND, INK, OUTLINE, PRIMARY, SURFACE
from .widgets import icon_button, labelled, loading

__all__ = ["ROUTES", "Root"]

# The server's log-out page (app/server.py). Leaving the page closes this tab's session, which locks the record.
_LOGOUT = ft.Url("/logout", target=ft.UrlTarget.SELF)


@component
def NotFound() -> ft.Control:
    session = use_session()
    return ft.Column(
        [ft.Text("There is nothing at this address in Carry.", color=INK),
         labelled(ft.TextButton(content="Go to the summary", on_click=lambda: session.navigate("/")), "not-found-home")],
        spacing=12,
    )  # fmt: skip


@component
def Shell(outlet: ft.Control | None) -> ft.Control:
    session = use_session()
    state = use_app_state()
    location = ft.use_route_location() or "/"
    ft.use_effect(lambda: session.visited(location), [location])
    phone = state.phone
    sections = [s for s in SECTIONS if s.on_phone_bar] if phone else list(SECTIONS)
    current = section_of(location)
    index = sections.index(current) if current in sections else None
    title = state.title or (current.label if current else "")

    def go(e: ft.Event[ft.NavigationBar] | ft.Event[ft.NavigationRail]) -> None:
        chosen: Section = sections[int(e.control.selected_index or 0)]
        session.navigate(chosen.path)

    top = _TopBar(title, phone)
    body = ft.Container(content=outlet, expand=True, bgcolor=BACKGROUND)
    if phone:
        # Flet's bar always selects one destination: on a screen that is not on it (Settings, Sources, an item)
        # the first one is drawn as if it were not chosen, so Summary is not highlighted on Settings.
        bar = ft.NavigationBar(
            destinations=[ft.NavigationBarDestination(icon=s.icon, label=s.label,
                                                      selected_icon=s.selected_icon if index is not None else s.icon)
                          for s in sections],  # fmt: skip
            selected_index=index if index is not None else 0,
            indicator_color=None if index is not None else ft.Colors.TRANSPARENT,
            on_change=session.act(go),
            bgcolor=SURFACE,
        )
        return ft.Column([top, body, bar], spacing=0, expand=True)
    rail = ft.NavigationRail(
        destinations=[ft.NavigationRailDestination(icon=s.icon, selected_icon=s.selected_icon, label=s.label)
                      for s in sections],  # fmt: skip
        selected_index=index,
        label_type=ft.NavigationRailLabelType.ALL,
        on_change=session.act(go),
        bgcolor=SURFACE,
        min_width=88,
        leading=ft.Container(ft.Icon(ft.Icons.FAVORITE_BORDER, color=PRIMARY, size=28), padding=ft.Padding.only(top=12)),
    )
    return ft.Row(
        [rail, ft.VerticalDivider(width=1, color=OUTLINE), ft.Column([top, body], spacing=0, expand=True)],
        spacing=0,
        expand=True,
    )


def _TopBar(title: str, phone: bool) -> ft.Control:  # noqa: N802 - reads as the control it makes
    session = use_session()
    state = session.state
    shown = state.scope.person
    person = ft.TextButton(content=shown.name if shown is not None else "Whose record", icon=ft.Icons.PERSON_OUTLINE,
                           on_click=lambda: session.navigate("/people"))  # fmt: skip
    lock = labelled(ft.OutlinedButton(content="Lock", icon=ft.Icons.LOCK_OUTLINE, on_click=session.act(session.lock)),
                    "lock")  # fmt: skip
    actions: list[ft.Control] = [lock]
    login = session.context.login
    if phone:
        # What the bottom bar has no room for goes in a menu, each entry with its icon and its name.
        entries = [
            ft.PopupMenuItem(content="Sources", icon=ft.Icons.SYNC, on_click=lambda: session.navigate("/sources")),
            ft.PopupMenuItem(content="Settings", icon=ft.Icons.SETTINGS_OUTLINED,
                             on_click=lambda: session.navigate("/settings")),  # fmt: skip
            ft.PopupMenuItem(content="Whose record", icon=ft.Icons.PEOPLE_OUTLINE,
                             on_click=lambda: session.navigate("/people")),  # fmt: skip
        ]
        menu = ft.PopupMenuButton(icon=ft.Icons.MORE_VERT, tooltip="More", items=entries)
        # One name for the menu button (its tooltip would be read as a second "More").
        actions = [ft.Semantics(content=menu, label="More", button=True, exclude_semantics=True,
                                identifier="nav-more"), lock]  # fmt: skip
        if login:  # a link, which a menu entry cannot be
            actions.insert(1, icon_button(ft.Icons.LOGOUT, "Log out", None, "logout", url=_LOGOUT))
    elif login:
        actions.append(labelled(ft.OutlinedButton(content="Log out", icon=ft.Icons.LOGOUT, url=_LOGOUT), "logout"))
    whose = ft.Semantics(content=person, identifier="whose-record", label="Whose record")
    # One line, cut with an ellipsis: a long title (a lab test's name) never pushes Lock off the bar.
    heading = ft.Text(title, size=20, weight=ft.FontWeight.W_600, color=INK, max_lines=1,
                      overflow=ft.TextOverflow.ELLIPSIS)  # fmt: skip
    title_box = ft.Container(ft.Semantics(content=heading, header=True, heading_level=1), expand=True)
    # On a phone the name gets a line of its own: beside the title and the actions it would not fit.
    bar: ft.Control = (
        ft.Column([ft.Row([title_box, *actions], spacing=4), whose], spacing=0)
        if phone
        else ft.Row([title_box, whose, *actions], spacing=4)
    )
    return ft.Container(
        content=bar,
        padding=ft.Padding.only(left=14 if phone else 20, right=8, top=10, bottom=6),
        bgcolor=SURFACE,
        border=ft.Border.only(bottom=ft.BorderSide(1, OUTLINE)),
    )


@component
def Gate() -> ft.Control:
    """Every screen's layout route: the record must be open before anything in it is shown."""
    state = use_app_state()
    outlet = ft.use_route_outlet()
    if state.has_record is None:
        return loading()
    if not state.unlocked:
        return Unlock() if state.has_record else Welcome()
    return Shell(outlet)


ROUTES = [
    ft.Route(
        component=Gate,
        children=[
            ft.Route(index=True, component=Summary),
            ft.Route(path="timeline", component=Timeline),
            ft.Route(path="results", component=Results),
            ft.Route(path="results/:key", component=Result),
            ft.Route(path="documents", component=Documents),
            ft.Route(path="search", component=Search),
            ft.Route(path="share", component=Share),
            ft.Route(path="share/open", component=Received),
            ft.Route(path="people", component=People),
            ft.Route(path="sources", component=Sources),
            ft.Route(path=CONNECT.lstrip("/"), component=Connect),
            ft.Route(path=CONNECT_DEMO.lstrip("/"), component=ConnectDemo),
            ft.Route(path="settings", component=Settings),
            ft.Route(path="item/:type/:id/:source?", component=Detail),
            ft.Route(path="add/:kind?", component=AddEntry),
            ft.Route(path="edit/:type/:id", component=AddEntry),
            ft.Route(path=DELETED_ENTRIES.lstrip("/"), component=DeletedEntries),
        ],
    )
]


@component
def Root(context: AppContext) -> ft.Control:
    page = ft.context.page
    made, _ = cast(Any, ft.use_state)(AppState)  # kept in use_state: Root renders on change
    state = cast(AppState, made)
    session = use_once(lambda: UiSession(page, context, state))  # one per tab, made at the first render
    session.bind_root(current_component())
    ft.use_effect(session.start, [])
    return ft.Container(
        content=SessionContext(
            session, lambda: TextScale(state.prefs.text_scale, lambda: ft.Router(ROUTES, not_found=NotFound))
        ),
        bgcolor=BACKGROUND,
        expand=True,
    )

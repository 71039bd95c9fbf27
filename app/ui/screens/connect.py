"""Connecting a portal: the demo hospital, a provider from the directory, or a FHIR address.

The portal's login opens in a new tab (a client action inside the click, so no popup blocker interferes); the
portal sends the browser back to this server's /oauth/callback, which hands the query to this session's
handler; that completes the connection with app.portals (in this session's record) and starts the sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import flet as ft

from app.portals import PortalError

from ..syncing import SyncRun
from ..theme import INK, MUTED
from ..widgets import banner, card, heading, labelled, muted, primary_button, row_tile, secondary_button
from .common import page_body
from .provider_list import ProviderListPanel

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["ConnectView", "start_sync"]

DEMO_NAME = "Demo hospital"


def _oauth_state(authorize_url: str) -> str:
    values = parse_qs(urlsplit(authorize_url).query).get("state") or [""]
    return values[0]


def start_sync(app: CarryApp, source_id: int, name: str) -> SyncRun:
    """Start (or return the running) sync of one portal source; its panel shows live progress."""
    running = app.syncs.get(source_id)
    if running is not None and not running.finished:
        return running
    portals = app.require_portals()
    run = SyncRun(source_id, name, app.page, app.message_for)

    async def finished(done: SyncRun) -> None:
        await app.record_changed()
        app.check_new_records()

    run.on_finish.append(finished)

    async def sync(progress: Callable[[Any], None]) -> Any:
        conn = await asyncio.to_thread(portals.source, source_id)
        if conn.vendor == "sandbox" and conn.status == "connected":
            # The built-in demo hospital: running again after a restart, at the same address.
            await asyncio.to_thread(app.context.demo.serve, conn.base_url)
            if not app.context.demo.running:
                port = urlsplit(conn.base_url).port
                reason = (f"The demo hospital could not start again at its address (another program is using port "
                          f"{port}). Close that program and sync again, or try the demo hospital again to connect "
                          "it anew.")  # fmt: skip
                await asyncio.to_thread(portals.state.note_unreachable, source_id, reason)
                raise PortalError(reason)
        return await portals.sync(source_id, progress=progress)

    run.start(sync)
    app.syncs[source_id] = run
    return run


class ConnectView:
    def __init__(self, app: CarryApp, *, demo: bool = False) -> None:
        self.app = app
        self.demo = demo
        self.control: ft.Control | None = None
        self.body = ft.Column(spacing=14)
        self.notice = ft.Container()

    async def load(self) -> ft.Control:
        back = self.app.shell.back_button() if self.app.shell else ft.Container()
        if self.demo:
            await self._demo()
        else:
            self._choose()
            await self.providers.show_status()
        return page_body(back, self.notice, self.body)

    # --- choosing a portal ------------------------------------------------------------------------------------

    def _choose(self) -> None:
        self.query = ft.TextField(label="Hospital or clinic name, city or state", prefix_icon=ft.Icons.SEARCH,
                                  on_submit=self.app.act(self._search), on_change=self.app.act(self._search),
                                  border_radius=10)  # fmt: skip
        self.found = ft.Column(spacing=2)
        self.providers = ProviderListPanel(self.app, self._search)
        self.url = ft.TextField(label="FHIR address (https://…)", on_submit=self.app.act(self._connect_url),
                                border_radius=10, keyboard_type=ft.KeyboardType.URL)  # fmt: skip
        self.body.controls = [
            card(ft.Column([heading("Find your provider", 2), labelled(self.query, "directory-search"), self.found,
                            self.providers.control], spacing=10)),  # fmt: skip
            card(
                ft.Column(
                    [heading("Or use its FHIR address", 2),
                     muted("Your portal's help pages call it the FHIR base URL or patient access API address."),
                     labelled(self.url, "fhir-url"),
                     primary_button("Connect", self.app.act(self._connect_url), "connect-url")],
                    spacing=10,
                )
            ),  # fmt: skip
            card(
                ft.Column(
                    [heading("No hospital account at hand?", 2),
                     secondary_button("Try the demo hospital", self.app.act(self._switch_to_demo), "try-demo",
                                      icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED)],
                    spacing=10,
                )
            ),  # fmt: skip
        ]

    async def _search(self) -> None:
        text = (self.query.value or "").strip()
        if len(text) < 2:
            self.found.controls = []
            return
        providers = await self.app.run(self.app.directory_search, text)
        self.found.controls = [
            row_tile(
                p.name,
                " · ".join(x for x in (", ".join(y for y in (p.city, p.state) if y), p.vendor) if x),
                on_click=self.app.act(lambda p=p: self._begin(p.fhir_base, p.name)),
                identifier=f"provider-{n}",
            )
            for n, p in enumerate(providers[:12])
        ] or [muted("No provider matches. Try fewer words, or use its FHIR address below.")]

    async def _connect_url(self) -> None:
        url = (self.url.value or "").strip()
        if not url.startswith(("https://", "http://")):
            self.notice.content = banner("Type the full address, starting with https://", "alert")
            return
        await self._begin(url, None)

    async def _switch_to_demo(self) -> None:
        self.demo = True
        await self._demo()

    # --- the demo hospital -------------------------------------------------------------------------------------

    async def _demo(self) -> None:
        self.body.controls = [muted("Starting the demo hospital…")]
        self.app.page.update()
        server = await self.app.run(self.app.context.demo.start)
        logins = [(login.full_name, login.username, login.password) for login in server.logins]
        self.demo_logins = card(
            ft.Column(
                [
                    heading("Demo hospital logins", 2),
                    muted("The demo hospital has made-up patients. Sign in at its page as any of them:"),
                    *[
                        labelled(
                            ft.Text(spans=[ft.TextSpan(f"{name}: ", ft.TextStyle(color=INK)),
                                           ft.TextSpan("user name ", ft.TextStyle(color=MUTED)),
                                           ft.TextSpan(user, ft.TextStyle(weight=ft.FontWeight.W_600, color=INK)),
                                           ft.TextSpan(", password ", ft.TextStyle(color=MUTED)),
                                           ft.TextSpan(password, ft.TextStyle(weight=ft.FontWeight.W_600, color=INK))],
                                    size=14),
                            f"demo-login-{n}",
                            f"{name}: user name {user}, password {password}",
                        )
                        for n, (name, user, password) in enumerate(logins)
                    ],
                ],
                spacing=8,
            )
        )  # fmt: skip
        await self._begin(server.base_url, DEMO_NAME)

    # --- signing in ----------------------------------------------------------------------------------------------

    async def _begin(self, base_url: str, name: str | None) -> None:
        portals = self.app.require_portals()
        self.notice.content = None
        try:
            pending = await portals.begin_connect(base_url, self.app.context.redirect_uri, name=name)
        except Exception as exc:  # noqa: BLE001 - a plain sentence with what to do next
            self.notice.content = banner(self.app.message_for(exc), "alert", identifier="connect-error")
            return
        state = _oauth_state(pending.authorize_url)
        self.app.expect_callback(state, lambda params: self._completed(pending, params, name or base_url))
        open_button = ft.FilledButton(
            content="Open the sign-in page",
            icon=ft.Icons.OPEN_IN_NEW,
            action=ft.OpenUrl(pending.authorize_url, target=ft.UrlTarget.BLANK),
            on_click=self.app.act(self._opened),
        )
        self.waiting = muted("After you sign in and allow access, come back to this tab.")
        steps: list[ft.Control] = [
            card(
                ft.Column(
                    [
                        heading(f"Sign in at {name or 'your portal'}", 2),
                        ft.Text("Carry opens the portal's own sign-in page in a new tab. Carry never sees your portal "
                                "password; the portal asks you what Carry may read.", size=14),  # fmt: skip
                        labelled(open_button, "open-signin"),
                        self.waiting,
                    ],
                    spacing=10,
                )
            )
        ]
        if self.demo:
            steps.append(self.demo_logins)
        self.body.controls = steps

    def _opened(self) -> None:
        self.waiting.value = "Waiting for you to sign in at the portal… (this tab updates by itself)"

    async def _completed(self, pending: Any, params: dict[str, str], name: str) -> str:
        """Runs when the portal sends the browser back: finish the connection here, then sync."""
        if "error" in params:
            reason = params.get("error_description") or params["error"]
            message = ("You did not allow Carry to read your records, so nothing was connected."
                       if params["error"] == "access_denied" else f"The portal did not sign you in ({reason}).")  # fmt: skip
            self.notice.content = banner(message + " You can try again.", "warn", identifier="connect-error")
            self.app.page.update()
            return message
        portals = self.app.require_portals()
        try:
            connection = await portals.complete_connect(pending, params)
        except Exception as exc:  # noqa: BLE001 - tell both tabs, plainly
            message = self.app.message_for(exc)
            self.notice.content = banner(message, "alert", identifier="connect-error")
            self.app.page.update()
            raise
        run = start_sync(self.app, connection.id, connection.name)

        async def see_record() -> None:
            if self.app.shell is not None:
                await self.app.shell.open("summary")

        self.body.controls = [
            banner(f"Connected to {connection.name}. Your records come in below.", "ok",
                   identifier="connected"),  # fmt: skip
            run.panel,
            primary_button("See your summary", self.app.act(see_record), "see-summary", icon=ft.Icons.DASHBOARD),
        ]
        self.app.page.update()
        return f"Carry is connected to {connection.name} and is fetching your records. Return to the Carry tab."

"""Connecting a portal: a provider from the directory or a FHIR address (/connect), or the demo hospital with its
logins (/connect/demo).

The portal's login opens in a new tab (a client action inside the click, so no popup blocker interferes); the
portal sends the browser back to this server's /oauth/callback, which hands the query to the handler this screen
gave `session.expect_callback`; that completes the connection with app.portals (in this session's record) and
starts the sync, whose live panel this screen then shows.

The provider list (what the directory holds, and "Update the provider list", which downloads each vendor's public
list with progress and says what was fetched, from where and when) is ProviderList. Out of the box Carry knows
only state Medicaid APIs and test portals; hospitals such as Kaiser Permanente come from the vendors' lists
(sync.directory.refresh). The wording here is the app's own: no CLI syntax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import flet as ft

from app.portals import PendingConnect
from sync.directory import DirectoryError, RefreshFailed, load_sources, refresh
from sync.directory.refresh import ListResult

from ..hooks import component, use_load, use_session, use_title, use_value
from ..paths import CONNECT_DEMO
from ..session import UiSession
from ..syncing import SyncRun, start_sync
from ..theme import INK, MUTED, PRIMARY
from ..widgets import banner, card, heading, labelled, muted, primary_button, row_tile, secondary_button
from .common import BackButton, SyncPanel, page_body

__all__ = ["Connect", "ConnectDemo"]

DEMO_NAME = "Demo hospital"
BUILT_IN_ONLY = (
    "Only Carry's built-in list is here: state Medicaid plans and test portals, not hospitals. Update the provider "
    "list to find hospitals and clinics (Kaiser Permanente, for example): Carry downloads each vendor's public list "
    "of patient-access addresses."
)


def _oauth_state(authorize_url: str) -> str:
    values = parse_qs(urlsplit(authorize_url).query).get("state") or [""]
    return values[0]


def _when(stamp: str) -> str:
    """An ISO date-time as "2026-12-02 11:30 UTC" (or as given when it does not read)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


@dataclass(frozen=True)
class _SignIn:
    pending: PendingConnect
    name: str | None


@dataclass(frozen=True)
class _Notice:
    text: str
    tone: str


@component
def Connect() -> ft.Control:
    use_title("Connect your provider")
    return Connecting(False)


@component
def ConnectDemo() -> ft.Control:
    use_title("Demo hospital")
    return Connecting(True)


@component
def Connecting(demo: bool) -> ft.Control:
    session = use_session()
    signin, set_signin = ft.use_state(cast(_SignIn | None, None))
    notice, set_notice = ft.use_state(cast(_Notice | None, None))
    opened, set_opened = ft.use_state(False)
    connected, set_connected = ft.use_state(cast(SyncRun | None, None))
    logins, set_logins = ft.use_state(cast(tuple[tuple[str, str, str], ...], ()))

    async def completed(pending: PendingConnect, params: dict[str, str]) -> str:
        """Runs when the portal sends the browser back: finish the connection here, then sync."""
        if "error" in params:
            reason = params.get("error_description") or params["error"]
            message = ("You did not allow Carry to read your records, so nothing was connected."
                       if params["error"] == "access_denied" else f"The portal did not sign you in ({reason}).")  # fmt: skip
            set_notice(_Notice(message + " You can try again.", "warn"))
            return message
        try:
            connection = await session.require_portals().complete_connect(pending, params)
        except Exception as exc:  # noqa: BLE001 - tell both tabs, plainly
            set_notice(_Notice(session.message_for(exc), "alert"))
            raise
        set_connected(start_sync(session, connection.id, connection.name))
        return f"Carry is connected to {connection.name} and is fetching your records. Return to the Carry tab."

    async def begin(base_url: str, name: str | None) -> None:
        portals = session.require_portals()
        set_notice(None)
        try:
            pending = await portals.begin_connect(base_url, session.context.redirect_uri, name=name)
        except Exception as exc:  # noqa: BLE001 - a plain sentence with what to do next
            set_notice(_Notice(session.message_for(exc), "alert"))
            return
        session.expect_callback(_oauth_state(pending.authorize_url), lambda params: completed(pending, params))
        set_opened(False)
        set_signin(_SignIn(pending, name))

    async def start_demo() -> None:
        if not demo:
            return
        try:
            server = await session.run(session.context.demo.start)
        except Exception as exc:  # noqa: BLE001 - said in place
            set_notice(_Notice(session.message_for(exc), "alert"))
            return
        set_logins(tuple((login.full_name, login.username, login.password) for login in server.logins))
        await begin(server.base_url, DEMO_NAME)

    ft.use_effect(start_demo, [])

    shown_notice = banner(notice.text, notice.tone, identifier="connect-error") if notice is not None else None
    if connected is not None:
        body: list[ft.Control] = [
            banner(f"Connected to {connected.name}. Your records come in below.", "ok", identifier="connected"),
            SyncPanel(connected),
            primary_button("See your summary", session.act(lambda: session.navigate("/")), "see-summary",
                           icon=ft.Icons.DASHBOARD),  # fmt: skip
        ]
    elif signin is not None:
        body = [_signin_card(session, signin, opened, lambda: set_opened(True))]
        if demo:
            body.append(_demo_logins(logins))
    elif demo:
        body = [muted("Starting the demo hospital…")]
    else:
        body = [Choose(begin)]
    return page_body(BackButton("/sources"), shown_notice, *body)


def _signin_card(session: UiSession, signin: _SignIn, opened: bool, on_open: Callable[[], None]) -> ft.Control:
    open_button = ft.FilledButton(
        content="Open the sign-in page",
        icon=ft.Icons.OPEN_IN_NEW,
        action=ft.OpenUrl(signin.pending.authorize_url, target=ft.UrlTarget.BLANK),
        on_click=session.act(on_open),
    )
    waiting = ("Waiting for you to sign in at the portal… (this tab updates by itself)" if opened
               else "After you sign in and allow access, come back to this tab.")  # fmt: skip
    return card(
        ft.Column(
            [
                heading(f"Sign in at {signin.name or 'your portal'}", 2),
                ft.Text("Carry opens the portal's own sign-in page in a new tab. Carry never sees your portal "
                        "password; the portal asks you what Carry may read.", size=14),  # fmt: skip
                labelled(open_button, "open-signin"),
                muted(waiting),
            ],
            spacing=10,
        )
    )


def _demo_logins(logins: tuple[tuple[str, str, str], ...]) -> ft.Control:
    return card(
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
                                               ft.TextSpan(password, ft.TextStyle(weight=ft.FontWeight.W_600,
                                                                                  color=INK))],
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


@component
def Choose(begin: Callable[[str, str | None], Any]) -> ft.Control:
    """Find the provider in the directory, or give its FHIR address; or try the demo hospital."""
    session = use_session()
    query, set_query = ft.use_state("")
    url = use_value("")
    refused, set_refused = ft.use_state(False)
    lists, set_lists = ft.use_state(0)  # moves when the provider list was updated: search again
    text = query.strip()
    found = use_load(lambda: session.directory_search(text) if len(text) >= 2 else None, [text, lists])

    def typed(e: ft.Event[ft.TextField]) -> None:
        set_query(str(e.control.value or ""))

    def url_typed(e: ft.Event[ft.TextField]) -> None:
        url.current = str(e.control.value or "")

    async def connect_url() -> None:
        address = url.current.strip()
        if not address.startswith(("https://", "http://")):
            set_refused(True)
            return
        set_refused(False)
        await begin(address, None)

    providers: list[Any] | None = found.data if found.ready else None
    rows: list[ft.Control] = []
    if providers is not None and len(text) >= 2:
        rows = [
            row_tile(
                p.name,
                " · ".join(x for x in (", ".join(y for y in (p.city, p.state) if y), p.vendor) if x),
                on_click=session.act(lambda p=p: begin(p.fhir_base, p.name)),
                identifier=f"provider-{n}",
            )
            for n, p in enumerate(providers[:12])
        ] or [muted("No provider matches. Try fewer words, or use its FHIR address below.")]
    # The field holds what was typed (`value`): each key renders this again to search as one types, and a field
    # drawn without its text was emptied by the render that showed the search's answer.
    search = ft.TextField(label="Hospital or clinic name, city or state", prefix_icon=ft.Icons.SEARCH, value=query,
                          on_change=session.act(typed), on_submit=session.act(typed), border_radius=10)  # fmt: skip
    address = ft.TextField(label="FHIR address (https://…)", value=url.current, on_change=url_typed,
                           on_submit=session.act(connect_url), border_radius=10,
                           keyboard_type=ft.KeyboardType.URL)  # fmt: skip
    return ft.Column(
        [
            card(ft.Column([heading("Find your provider", 2), labelled(search, "directory-search"),
                            ft.Column(rows, spacing=2), ProviderList(lambda: set_lists(lists + 1))],
                           spacing=10)),  # fmt: skip
            card(
                ft.Column(
                    [heading("Or use its FHIR address", 2),
                     muted("Your portal's help pages call it the FHIR base URL or patient access API address."),
                     labelled(address, "fhir-url"),
                     *([banner("Type the full address, starting with https://", "alert")] if refused else []),
                     primary_button("Connect", session.act(connect_url), "connect-url")],
                    spacing=10,
                )
            ),  # fmt: skip
            card(
                ft.Column(
                    [heading("No hospital account at hand?", 2),
                     secondary_button("Try the demo hospital", session.act(lambda: session.navigate(CONNECT_DEMO)),
                                      "try-demo", icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED)],
                    spacing=10,
                )
            ),  # fmt: skip
        ],
        spacing=14,
    )


@dataclass(frozen=True)
class _Downloading:
    done: int
    total: int


@component
def ProviderList(on_updated: Callable[[], None]) -> ft.Control:
    """What the provider list holds, and updating it from the vendors' lists; `on_updated` runs after a successful
    update (to search again with the new list)."""
    session = use_session()
    updates, set_updates = ft.use_state(0)
    downloading, set_downloading = ft.use_state(cast(_Downloading | None, None))
    result, set_result = ft.use_state(cast(tuple[_Notice, tuple[str, ...]] | None, None))
    status = use_load(lambda: _list_status(session), [updates])

    async def update() -> None:
        downloaded_before = bool(status.data and status.data[1])
        sources = await session.run(load_sources)
        done: list[ListResult] = []
        set_result(None)
        set_downloading(_Downloading(0, len(sources)))

        def heard(one: ListResult) -> None:
            done.append(one)
            set_downloading(_Downloading(len(done), len(sources)))

        try:
            report = await refresh(sources, on_result=heard)
        except RefreshFailed as exc:
            set_result((_Notice(_offline(str(exc), downloaded_before), "warn"), ()))
            return
        except DirectoryError as exc:
            set_result((_Notice(str(exc), "alert"), ()))
            return
        finally:
            set_downloading(None)
        session.forget_directory()
        at = _when(datetime.now(timezone.utc).isoformat(timespec="seconds"))
        lines = []
        for one in report.results:
            who = one.source.vendor or one.source.id
            if one.ok:
                lines.append(f"{who}: {one.entries} from {_host(one.source.url)}"
                             + (" (unchanged)" if one.status == "unchanged" else ""))  # fmt: skip
            else:
                kept = f"; its previous copy of {one.entries} is kept" if one.entries else ""
                lines.append(f"{who}: not updated, {one.reason}{kept}")
        set_result((_Notice(f"Updated {at}: {report.providers} hospitals and clinics from the vendors' lists are now "
                            "searchable.", "ok"), tuple(lines)))  # fmt: skip
        set_updates(updates + 1)
        on_updated()

    said = status.data[0] if status.data else ""
    parts: list[ft.Control] = [
        labelled(muted(said), "providers-status"),
        secondary_button("Update the provider list", session.act(update), "update-providers", icon=ft.Icons.REFRESH,
                         disabled=downloading is not None),  # fmt: skip
    ]
    if downloading is not None:
        counter = f"Downloading the vendors' lists: {downloading.done} of {downloading.total}…"
        parts += [labelled(ft.Text(counter, size=14), "providers-progress"),
                  ft.ProgressBar(value=downloading.done / max(1, downloading.total), bar_height=6, border_radius=3,
                                 color=PRIMARY, semantics_label="Provider list progress")]  # fmt: skip
    if result is not None:
        notice, lines = result
        parts.append(banner(notice.text, notice.tone, identifier="providers-result"))
        parts += [labelled(muted(line), f"providers-list-{n}", line) for n, line in enumerate(lines)]
    return ft.Column(parts, spacing=8)


def _list_status(session: UiSession) -> tuple[str, bool]:
    """What the provider list holds, in a sentence; and whether a vendor list was ever downloaded."""
    directory = session.directory()
    downloaded = [info for info in directory.lists if not info.shipped]
    if not downloaded:
        return BUILT_IN_ONLY, False
    latest = max((info.fetched for info in downloaded if info.fetched), default="")
    providers = sum(info.entries for info in downloaded)
    return (
        f"The provider list was last updated {_when(latest) if latest else 'earlier'} from "
        f"{len(downloaded)} vendor {'list' if len(downloaded) == 1 else 'lists'} ({providers} hospitals and "
        "clinics).",
        True,
    )


def _offline(reasons: str, downloaded: bool) -> str:
    kept = (
        "so the list you updated earlier is kept"
        if downloaded
        else "so only Carry's built-in list is present (state Medicaid plans and test portals)"
    )
    return (
        f"Carry could not download any vendor list (is this device offline?), {kept}. When you are online, "
        f"choose Update the provider list again. {reasons}"
    )

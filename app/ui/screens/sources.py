"""Sources: each connected portal with its status, last sync, sync now, disconnect and remove (keeping or deleting
its records); imported files and the patient's own entries too; a sync in progress with its live panel."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import flet as ft

from app.portals import REGISTERED_REDIRECT
from app.record.entries import is_own
from app.record.imports import Whose
from app.record.portal_state import remove_source
from app.views import SourceStatus, format_timestamp, source_statuses

from ..hooks import component, use_app_state, use_load, use_once, use_session, use_title
from ..paths import CONNECT, CONNECT_DEMO, DELETED_ENTRIES
from ..session import UiSession
from ..syncing import start_sync
from ..theme import INK
from ..widgets import banner, card, empty, heading, labelled, muted, primary_button, secondary_button
from .common import ImportFileButton, SyncPanel, loaded_or, page_body, use_modal

__all__ = ["Sources"]

_STATUS_WORDS = {
    "connected": ("Connected", "ok"),
    "needs-reconnect": ("Needs reconnecting", "warn"),
    "disconnected": ("Disconnected", "info"),
}


@dataclass(frozen=True)
class _Listed:
    statuses: list[SourceStatus]
    connections: dict[int, Any]  # source id → app.portals Connection


@dataclass(frozen=True)
class _Asking:
    """The dialog open: removing a source (its status and connection), or disconnecting a portal."""

    remove: bool
    status: SourceStatus | None
    conn: Any


def _listed(session: UiSession) -> _Listed:
    record = session.require()
    portals = session.portals
    connections = portals.sources() if portals is not None else []
    return _Listed(source_statuses(record), {c.id: c for c in connections})


@component
def Sources() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Sources")
    opened = use_once(time.monotonic)  # a sync that ended since the screen opened keeps its panel (its outcome)
    changed, set_changed = ft.use_state(0)  # a portal's state changed (disconnected): list again
    listed = use_load(lambda: _listed(session), [changed])
    asking, set_asking = ft.use_state(cast(_Asking | None, None))

    def connect(demo: bool) -> None:
        session.navigate(CONNECT_DEMO if demo else CONNECT)

    def sync(conn: Any) -> None:
        start_sync(session, conn.id, conn.name)

    async def remove(status: SourceStatus, conn: Any, keep: bool) -> None:
        set_asking(None)
        if conn is not None:
            done = await session.require_portals().disconnect(conn.id, forget=not keep)
            said = done.sentence() + (" Its records stay in your record." if keep else
                                      f" {status.name} and its records are removed from your record.")  # fmt: skip
        else:
            name = await session.run(remove_source, session.require(), status.id)
            said = f"{name} and its {status.resources:,} records are removed from your record."
        session.notify(said, "ok")
        set_changed(changed + 1)
        await session.record_changed()

    async def disconnect(conn: Any) -> None:
        set_asking(None)
        done = await session.require_portals().disconnect(conn.id)
        session.notify(f"{done.sentence()} The records it sent stay in your record.", "ok" if done.revoked else "info")
        set_changed(changed + 1)

    use_modal(_dialog(session, asking, set_asking, remove, disconnect) if asking is not None else None)

    def source_card(n: int, status: SourceStatus, conn: Any) -> ft.Control:
        lines: list[ft.Control] = [heading(status.name, 2)]
        if conn is not None:
            word, tone = _STATUS_WORDS.get(conn.status, (conn.status, "info"))
            if conn.status == "connected" and not conn.reached:  # never "Connected" over a server that did not answer
                word, tone = "Not reached last time", "warn"
            lines.append(banner(word + (f": {conn.status_reason}" if conn.status_reason else ""), tone,
                                identifier=f"source-status-{n}"))  # fmt: skip
            lines.append(muted(conn.base_url, size=13))
            last = format_timestamp(conn.last_sync) if conn.last_sync else "never"
            lines.append(ft.Text(f"Last sync: {last}" + (f" ({conn.last_outcome})" if conn.last_outcome else ""),
                                 size=14, color=INK))  # fmt: skip
            if not conn.reached:
                lines.append(labelled(ft.Text(f"Last reached: {last}", size=14, color=INK), f"source-reached-{n}"))
            if conn.sync_pending:
                lines.append(muted("The last sync was interrupted; the next one picks up where it stopped."))
        elif is_own(status.name):
            lines.append(muted(status.kind_text))  # what the own-entries source holds, in words
            lines.append(ft.Text(status.last_run_text, size=14, color=INK))
        else:
            kind = status.kind_text if status.kind_text != status.name else ""
            about = " · ".join(p for p in (kind, status.base_url or "") if p)
            if about:
                lines.append(muted(about))
            lines.append(ft.Text(status.last_run_text, size=14, color=INK))
        lines.append(ft.Text(f"{status.resources:,} items in your record", size=14, color=INK))
        if status.last_result:
            lines.append(muted(f"Last time: {status.last_result}", size=13))
        actions: list[ft.Control] = []
        if conn is not None:
            if conn.status == "connected":
                actions.append(primary_button("Sync now", session.act(lambda: sync(conn)), f"sync-now-{n}",
                                              icon=ft.Icons.SYNC))  # fmt: skip
            else:
                # The demo hospital reconnects through its own panel (its logins shown), as trying it again does.
                demo = conn.vendor == "sandbox"
                actions.append(primary_button("Reconnect", session.act(lambda: connect(demo)), f"reconnect-{n}",
                                              icon=ft.Icons.LINK))  # fmt: skip
            if conn.status != "disconnected":
                actions.append(secondary_button("Disconnect", session.act(lambda: set_asking(_Asking(False, None, conn))),
                                                f"disconnect-{n}", icon=ft.Icons.LINK_OFF))  # fmt: skip
        actions.append(secondary_button("Remove", session.act(lambda: set_asking(_Asking(True, status, conn))),
                                        f"remove-source-{n}", icon=ft.Icons.DELETE_OUTLINE))  # fmt: skip
        if conn is None and is_own(status.name):  # beside Remove, below the counts (not between them)
            actions.append(labelled(ft.TextButton(content="Deleted entries", icon=ft.Icons.HISTORY,
                                                  on_click=session.act(lambda: session.navigate(DELETED_ENTRIES))),
                                    "deleted-entries"))  # fmt: skip
        lines.append(ft.Row(actions, wrap=True, spacing=10))
        return labelled(card(ft.Column(lines, spacing=8)), f"source-{n}")

    def render(found: _Listed) -> ft.Control:
        if not found.statuses:
            return card(empty("No sources yet. Connect a portal, or try the demo hospital."))
        return ft.Column([source_card(n, s, found.connections.get(s.id)) for n, s in enumerate(found.statuses)],
                         spacing=14, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)  # fmt: skip

    person = state.scope.person
    whose = Whose(person=str(person.id)) if person is not None else Whose()
    buttons = ft.Row(
        [primary_button("Connect a provider", session.act(lambda: connect(False)), "connect-provider",
                        icon=ft.Icons.ADD_LINK),
         secondary_button("Try the demo hospital", session.act(lambda: connect(True)), "try-demo",
                          icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED),
         ImportFileButton("Import a file", "import-file", whose)],
        wrap=True, spacing=10, run_spacing=10,
    )  # fmt: skip
    # What to register at a portal's developer site (many portals match it exactly): this app's own callback
    # route in web mode, the stable loopback address on the desktop.
    redirect = session.context.redirect_uri if session.context.web else REGISTERED_REDIRECT
    shown = [run for run in session.syncs.values() if not run.finished or run.started >= opened]
    return page_body(
        buttons,
        muted(f"Registering Carry at a portal yourself? Its redirect URI is {redirect}", size=13),
        muted("A file that names no patient (an Apple Health export, a PDF, a photo) goes into the record of "
              f"{person.name if person is not None else 'the person it is imported for'}.", size=13),  # fmt: skip
        *(SyncPanel(run) for run in shown),
        loaded_or(listed, render),
    )


def _dialog(session: UiSession, asking: _Asking, set_asking: Any, remove: Any, disconnect: Any) -> ft.AlertDialog:
    cancel = ft.TextButton(content="Cancel", on_click=lambda: set_asking(None))
    conn = asking.conn
    if not asking.remove:
        return ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Disconnect {conn.name}?"),
            content=ft.Text("Carry will stop syncing from it and delete its access tokens. The records already in "
                            "your record stay."),  # fmt: skip
            actions=[cancel, ft.FilledButton(content="Disconnect", on_click=session.act(lambda: disconnect(conn)))],
        )
    status = asking.status
    assert status is not None
    records = f"{status.resources:,} record{'s' if status.resources != 1 else ''}"
    actions: list[ft.Control] = [cancel]
    if conn is not None and conn.status != "disconnected":
        actions.append(ft.OutlinedButton(content="Disconnect, keep its records",
                                         on_click=session.act(lambda: remove(status, conn, True))))  # fmt: skip
    actions.append(ft.FilledButton(content=f"Remove it and its {records}",
                                   on_click=session.act(lambda: remove(status, conn, False))))  # fmt: skip
    # Removing a portal's source: it may keep its records (disconnected) or lose them; imported files, a kept shared
    # summary and the patient's own entries go with their records.
    text = (f"Removing {status.name} deletes the {records} it brought from your record; this cannot be undone "
            "(a backup you made before still has them).")  # fmt: skip
    if conn is not None and conn.status != "disconnected":
        text = "Carry can stop syncing from it and keep what it sent, or remove it with its records. " + text
    return ft.AlertDialog(modal=True, title=ft.Text(f"Remove {status.name}?"), content=ft.Text(text), actions=actions)

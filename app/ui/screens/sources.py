"""Sources: each connected portal with its status, last sync, sync now and disconnect; imported files too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.portals import REGISTERED_REDIRECT
from app.record.portal_state import remove_source
from app.views import SourceStatus, format_timestamp, source_statuses

from ..theme import INK
from ..widgets import banner, card, empty, heading, labelled, muted, primary_button, secondary_button
from .common import page_body
from .connect import ConnectView, start_sync

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["SourcesView"]

_STATUS_WORDS = {
    "connected": ("Connected", "ok"),
    "needs-reconnect": ("Needs reconnecting", "warn"),
    "disconnected": ("Disconnected", "info"),
}


class SourcesView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        statuses: list[SourceStatus] = await self.app.run(source_statuses, record)
        portals = self.app.portals
        connections = await self.app.run(portals.sources) if portals is not None else []
        by_id = {c.id: c for c in connections}
        blocks: list[ft.Control] = [
            ft.Row(
                [primary_button("Connect a provider", self.app.act(self._connect), "connect-provider", icon=ft.Icons.ADD_LINK),
                 secondary_button("Try the demo hospital", self.app.act(self._demo), "try-demo",
                                  icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED)],
                wrap=True, spacing=10, run_spacing=10,
            )
        ]  # fmt: skip
        # What to register at a portal's developer site (many portals match it exactly): this app's own callback
        # route in web mode, the stable loopback address on the desktop.
        redirect = self.app.context.redirect_uri if self.app.context.web else REGISTERED_REDIRECT
        blocks.append(muted(f"Registering Carry at a portal yourself? Its redirect URI is {redirect}", size=13))
        for run in self.app.syncs.values():
            if not run.finished:
                blocks.append(run.panel)
        if not statuses:
            blocks.append(card(empty("No sources yet. Connect a portal, or try the demo hospital.")))
        for n, status in enumerate(statuses):
            blocks.append(self._source_card(n, status, by_id.get(status.id)))
        return page_body(*blocks)

    def _source_card(self, n: int, status: SourceStatus, conn: Any) -> ft.Control:
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
        else:
            lines.append(muted(status.kind_text + (f" · {status.base_url}" if status.base_url else "")))
            lines.append(ft.Text(f"Last import: {status.last_run}", size=14, color=INK))
        lines.append(ft.Text(f"{status.resources:,} items in your record", size=14, color=INK))
        if status.last_result:
            lines.append(muted(f"Last time: {status.last_result}", size=13))
        actions: list[ft.Control] = []
        if conn is not None:
            if conn.status == "connected":
                actions.append(primary_button("Sync now", self.app.act(lambda: self._sync(conn)), f"sync-now-{n}",
                                              icon=ft.Icons.SYNC))  # fmt: skip
            else:
                # The demo hospital reconnects through its own panel (its logins shown), as trying it again does.
                again = self._demo if conn.vendor == "sandbox" else self._connect
                actions.append(primary_button("Reconnect", self.app.act(again), f"reconnect-{n}",
                                              icon=ft.Icons.LINK))  # fmt: skip
            if conn.status != "disconnected":
                actions.append(secondary_button("Disconnect", self.app.act(lambda: self._confirm_disconnect(conn)),
                                                f"disconnect-{n}", icon=ft.Icons.LINK_OFF))  # fmt: skip
        actions.append(secondary_button("Remove", self.app.act(lambda: self._confirm_remove(status, conn)),
                                        f"remove-source-{n}", icon=ft.Icons.DELETE_OUTLINE))  # fmt: skip
        lines.append(ft.Row(actions, wrap=True, spacing=10))
        return labelled(card(ft.Column(lines, spacing=8)), f"source-{n}")

    async def _connect(self) -> None:
        if self.app.shell is not None:
            await self.app.shell.push(ConnectView(self.app), "Connect your provider")

    async def _demo(self) -> None:
        if self.app.shell is not None:
            await self.app.shell.push(ConnectView(self.app, demo=True), "Demo hospital")

    async def _sync(self, conn: Any) -> None:
        start_sync(self.app, conn.id, conn.name)
        if self.app.shell is not None:
            await self.app.shell.refresh()

    def _confirm_remove(self, status: SourceStatus, conn: Any) -> None:
        """Remove a source: a portal may keep its records (disconnected) or lose them; imported files and a kept
        shared summary go with their records."""

        async def remove(keep: bool) -> None:
            self.app.page.pop_dialog()
            if conn is not None:
                done = await self.app.require_portals().disconnect(conn.id, forget=not keep)
                said = done.sentence() + (" Its records stay in your record." if keep else
                                          f" {status.name} and its records are removed from your record.")  # fmt: skip
            else:
                name = await self.app.run(remove_source, self.app.session.require(), status.id)
                said = f"{name} and its {status.resources:,} records are removed from your record."
            self.app.notify(said, "ok")
            await self.app.record_changed()
            if self.app.shell is not None:
                await self.app.shell.refresh()

        records = f"{status.resources:,} record{'s' if status.resources != 1 else ''}"
        actions: list[ft.Control] = [ft.TextButton(content="Cancel", on_click=lambda e: self.app.page.pop_dialog())]
        if conn is not None and conn.status != "disconnected":
            actions.append(ft.OutlinedButton(content="Disconnect, keep its records",
                                             on_click=self.app.act(lambda: remove(True))))  # fmt: skip
        actions.append(ft.FilledButton(content=f"Remove it and its {records}", on_click=self.app.act(lambda: remove(False))))
        text = (f"Removing {status.name} deletes the {records} it brought from your record; this cannot be undone "
                "(a backup you made before still has them).")  # fmt: skip
        if conn is not None and conn.status != "disconnected":
            text = "Carry can stop syncing from it and keep what it sent, or remove it with its records. " + text
        dialog = ft.AlertDialog(modal=True, title=ft.Text(f"Remove {status.name}?"), content=ft.Text(text),
                                actions=actions)  # fmt: skip
        self.app.page.show_dialog(self.app.scaled(dialog))

    def _confirm_disconnect(self, conn: Any) -> None:
        async def go() -> None:
            self.app.page.pop_dialog()
            portals = self.app.require_portals()
            done = await portals.disconnect(conn.id)
            self.app.notify(f"{done.sentence()} The records it sent stay in your record.", "ok" if done.revoked else "info")
            if self.app.shell is not None:
                await self.app.shell.refresh()

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Disconnect {conn.name}?"),
            content=ft.Text("Carry will stop syncing from it and delete its access tokens. The records already in "
                            "your record stay."),  # fmt: skip
            actions=[
                ft.TextButton(content="Cancel", on_click=lambda e: self.app.page.pop_dialog()),
                ft.FilledButton(content="Disconnect", on_click=self.app.act(go)),
            ],
        )
        self.app.page.show_dialog(dialog)

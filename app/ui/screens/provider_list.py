"""The provider list on the connect screen: what it holds (built in only, or updated when and from how many vendor
lists) and "Update the provider list", which downloads each vendor's public list with progress and then says what
was fetched, from where and when.

Out of the box Carry knows only state Medicaid APIs and test portals; hospitals such as Kaiser Permanente come from
the vendors' lists (sync.directory.refresh). The wording here is the app's own: no CLI syntax.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import flet as ft

from ..theme import PRIMARY
from ..widgets import banner, labelled, muted, secondary_button

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["ProviderListPanel"]

BUILT_IN_ONLY = (
    "Only Carry's built-in list is here: state Medicaid plans and test portals, not hospitals. Update the provider "
    "list to find hospitals and clinics (Kaiser Permanente, for example): Carry downloads each vendor's public list "
    "of patient-access addresses."
)


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


class ProviderListPanel:
    """`control` goes into the "Find your provider" card; `on_updated` runs after a successful update (to search
    again with the new list)."""

    def __init__(self, app: CarryApp, on_updated: Callable[[], Awaitable[None]]) -> None:
        self.app = app
        self.on_updated = on_updated
        self.status = muted("")
        self.downloaded = False  # a vendor list was downloaded before (known once show_status ran)
        self.progress = ft.Column(spacing=6)
        self.result = ft.Column(spacing=4)
        self.button = secondary_button("Update the provider list", app.act(self.update), "update-providers",
                                       icon=ft.Icons.REFRESH)  # fmt: skip
        self.control = ft.Column(
            [labelled(self.status, "providers-status"), self.button, self.progress, self.result], spacing=8
        )

    async def show_status(self) -> None:
        directory = await self.app.run(self.app.directory)
        downloaded = [info for info in directory.lists if not info.shipped]
        self.downloaded = bool(downloaded)
        if not downloaded:
            self.status.value = BUILT_IN_ONLY
            return
        latest = max((info.fetched for info in downloaded if info.fetched), default="")
        providers = sum(info.entries for info in downloaded)
        self.status.value = (
            f"The provider list was last updated {_when(latest) if latest else 'earlier'} from "
            f"{len(downloaded)} vendor {'list' if len(downloaded) == 1 else 'lists'} ({providers} hospitals and "
            "clinics)."
        )

    async def update(self) -> None:
        from sync.directory import DirectoryError, RefreshFailed, load_sources, refresh
        from sync.directory.refresh import ListResult

        sources = await self.app.run(load_sources)
        done: list[ListResult] = []
        bar = ft.ProgressBar(value=0, bar_height=6, border_radius=3, color=PRIMARY,
                             semantics_label="Provider list progress")  # fmt: skip
        counter = ft.Text(f"Downloading the vendors' lists: 0 of {len(sources)}…", size=14)
        self.progress.controls = [labelled(counter, "providers-progress"), bar]
        self.result.controls = []
        self.button.disabled = True
        self.app.page.update()

        def heard(result: ListResult) -> None:
            done.append(result)
            counter.value = f"Downloading the vendors' lists: {len(done)} of {len(sources)}…"
            bar.value = len(done) / max(1, len(sources))
            self.app.page.update()

        try:
            report = await refresh(sources, on_result=heard)
        except RefreshFailed as exc:
            self.result.controls = [banner(self._offline(str(exc)), "warn", identifier="providers-result")]
            return
        except DirectoryError as exc:
            self.result.controls = [banner(str(exc), "alert", identifier="providers-result")]
            return
        finally:
            self.progress.controls = []
            self.button.disabled = False
        self.app.forget_directory()
        at = _when(datetime.now(timezone.utc).isoformat(timespec="seconds"))
        lines: list[ft.Control] = [
            banner(f"Updated {at}: {report.providers} hospitals and clinics from the vendors' lists are now "
                   "searchable.", "ok", identifier="providers-result")  # fmt: skip
        ]
        for n, result in enumerate(report.results):
            who = result.source.vendor or result.source.id
            if result.ok:
                text = f"{who}: {result.entries} from {_host(result.source.url)}" + (
                    " (unchanged)" if result.status == "unchanged" else ""
                )
            else:
                kept = f"; its previous copy of {result.entries} is kept" if result.entries else ""
                text = f"{who}: not updated, {result.reason}{kept}"
            lines.append(labelled(muted(text), f"providers-list-{n}", text))
        self.result.controls = lines
        await self.show_status()
        await self.on_updated()

    def _offline(self, reasons: str) -> str:
        kept = (
            "so the list you updated earlier is kept"
            if self.downloaded
            else "so only Carry's built-in list is present (state Medicaid plans and test portals)"
        )
        return (
            f"Carry could not download any vendor list (is this device offline?), {kept}. When you are online, "
            f"choose Update the provider list again. {reasons}"
        )

"""Any item in full: the readable view, its source and provenance, and the FHIR JSON exactly as stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import Attachment, Detail, attachments, detail

from ..theme import INK, MUTED
from ..widgets import banner, card, heading, labelled, muted, secondary_button
from .common import page_body

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["DetailView", "attachment_controls"]


def _table(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]], narrow: bool) -> ft.Control:
    lines: list[ft.Control] = []
    for label, value in rows:
        name = ft.Text(label, size=13, color=MUTED, weight=ft.FontWeight.W_500, width=None if narrow else 170)
        text = ft.Text(value, size=14, color=INK, expand=not narrow)
        lines.append(ft.Column([name, text], spacing=0) if narrow else ft.Row([name, text],
                     vertical_alignment=ft.CrossAxisAlignment.START))  # fmt: skip
    return ft.Column(lines, spacing=8)


def attachment_controls(app: CarryApp, parts: list[Attachment]) -> list[ft.Control]:
    out: list[ft.Control] = []
    for n, part in enumerate(parts):
        if part.kind in ("text", "html"):
            out.append(
                ft.Semantics(
                    identifier=f"note-text-{n}",
                    content=ft.Text(part.text or "(empty)", size=15, color=INK),
                )
            )
        elif part.kind == "image" and part.data:
            out.append(ft.Image(src=part.data, semantics_label=f"{part.title} (image)", fit=ft.BoxFit.CONTAIN,
                                width=640))  # fmt: skip
        elif part.kind == "pdf" and part.data:
            if app.context.web:
                url = app.context.links.offer(part.data, "application/pdf")
                button = ft.OutlinedButton(
                    content=f"Open the PDF ({part.size_text})",
                    icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                    action=ft.OpenUrl(url, target=ft.UrlTarget.BLANK),
                )
                out.append(labelled(button, f"open-pdf-{n}"))
                out.append(muted("Opens in a new tab, from this computer only; the link works for five minutes.",
                                 size=12))  # fmt: skip
            else:
                out.append(muted(f"PDF ({part.size_text}): open it from Carry in a browser.", size=13))
        elif part.url:
            out.append(muted(f"{part.title}: kept at {part.url} (not downloaded).", size=13))
        else:
            out.append(muted(f"{part.title}: a {part.content_type} attachment Carry cannot show.", size=13))
    return out


class DetailView:
    def __init__(self, app: CarryApp, resource_type: str, resource_id: str, source_id: int | None) -> None:
        self.app = app
        self.key = (resource_type, resource_id, source_id)
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        info: Detail | None = await self.app.run(detail, record, *self.key)
        back = self.app.shell.back_button() if self.app.shell else ft.Container()
        if info is None:
            return page_body(back, banner("This item is no longer in your record.", "warn"))
        parts: list[Attachment] = []
        if self.key[0] in ("DocumentReference", "DiagnosticReport"):
            stored = await self.app.run(record.get, self.key[0], self.key[1], self.key[2])
            parts = await self.app.run(attachments, record, stored) if stored else []
        narrow = self.app.phone
        blocks: list[ft.Control] = [
            back,
            ft.Column([muted(f"{info.kind} · {info.date}" if info.date else info.kind),
                       heading(info.title, 1, identifier="detail-title")], spacing=2),  # fmt: skip
        ]
        if not info.valid:
            blocks.append(banner(f"This item did not pass FHIR validation and is shown as received: "
                                 f"{info.invalid_reason}", "warn"))  # fmt: skip
        if parts:
            blocks.append(card(ft.Column([heading("Note", 2), *attachment_controls(self.app, parts)], spacing=10)))
        blocks.append(card(ft.Column([heading("Details", 2), _table(info.fields, narrow)], spacing=10)))
        blocks.append(card(ft.Column([heading("Where this came from", 2), _table(info.provenance, narrow)],
                                     spacing=10)))  # fmt: skip
        self.raw = ft.Container(visible=False)
        self.raw_text = info.raw_json
        self.toggle = secondary_button("Show the FHIR JSON", self.app.act(self._toggle_raw), "toggle-json",
                                       icon=ft.Icons.DATA_OBJECT)  # fmt: skip
        blocks.append(card(ft.Column([heading("FHIR JSON", 2), muted("Exactly as received from the source."),
                                      self.toggle, self.raw], spacing=10)))  # fmt: skip
        return page_body(*blocks)

    def _toggle_raw(self) -> None:
        showing = not self.raw.visible
        if showing and self.raw.content is None:
            self.raw.content = ft.Semantics(
                identifier="raw-json",
                content=ft.Text(self.raw_text, font_family="monospace", size=12, color=INK),
            )
        self.raw.visible = showing
        button: Any = self.toggle.content  # type: ignore[attr-defined]
        button.content = "Hide the FHIR JSON" if showing else "Show the FHIR JSON"
        self.app.page.update()



"""Share: pick what goes into the summary, make a link (QR code, link, PDF, FHIR file), see who opened the links
made before and revoke them; and open a link someone else shared (ReceivedView)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.shares import (
    REACH_APP_HINT,
    CHECK_IN,
    CHECK_IN_PRINT_EXPIRY,
    CHECK_IN_SCREEN_EXPIRY,
    IPS,
    MadeShare,
    ShareHost,
    create_share,
    keep_received,
    merge_access_quietly,
    open_shared,
    parse_expiry,
    received_person,
    WritebackTarget,
    revoke,
    send_summary,
    writeback_targets,
)
from app.views.share import (
    EXPIRY_CHOICES,
    LinkSummary,
    ShareChoices,
    link_summaries,
    picked_counts,
    received_summary,
    share_choices,
)

from ..theme import INK
from ..widgets import banner, card, empty, heading, labelled, muted, primary_button, secondary_button
from .common import page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["ReceivedView", "ShareView"]


def _host(app: CarryApp) -> ShareHost:
    """Where new links go: the Carry host App Settings name, else the share host of this server."""
    return ShareHost.chosen(app.session.require(), local=app.context.share)


class ShareView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.choices: ShareChoices | None = None
        self.picked: set[str] = set()
        self.made: MadeShare | None = None
        self.section_boxes: dict[str, ft.Checkbox] = {}
        self.item_boxes: dict[str, ft.Checkbox] = {}
        self.label = ft.TextField(label="Label (the doctor sees it)", max_length=80, width=360)
        self.passcode = passcode_field("Passcode (optional)", self.app.act(self._create))
        self.expiry = ft.Dropdown(label="Link works for", value="7d", width=200,
                                  options=[ft.DropdownOption(key=k, text=t) for k, t in EXPIRY_CHOICES])  # fmt: skip
        self.kind = ft.Dropdown(label="Who opens it", value=IPS, width=320 if app.phone else 480, options=[
            ft.DropdownOption(key=IPS, text="For a doctor"),
            ft.DropdownOption(key=CHECK_IN_SCREEN_EXPIRY, text="For a clinic's check-in scanner, on screen (15 minutes)"),
            ft.DropdownOption(key=CHECK_IN_PRINT_EXPIRY, text="For a clinic's check-in scanner, printed (48 hours)"),
        ])  # fmt: skip

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        host = _host(self.app)
        if self.choices is None:
            self.choices = await self.app.run(share_choices, record, self.app.scope)
            self.picked = self.choices.default_keys()
        opened = await self.app.run(merge_access_quietly, record, host)
        if opened:
            said = "; ".join(e.sentence() for e in opened[-3:])
            self.app.notify(said[:1].upper() + said[1:] + ".")
        links: list[LinkSummary] = await self.app.run(link_summaries, record, host)
        picker = person_picker(self.app)
        blocks: list[ft.Control] = [*([picker] if picker else [])]
        blocks.append(ft.Row([
            secondary_button("Open a shared link", self.app.act(self._open_received), "open-shared-link",
                             icon=ft.Icons.LINK),
        ], wrap=True))  # fmt: skip
        if self.made is not None:
            blocks.append(self._made_card(self.made))
            if self.app.portals is not None and await self.app.run(self.app.portals.sources):
                targets = await writeback_targets(self.app.portals)
                blocks.append(self._writeback_card(targets))
        if links:
            blocks.append(self._links_card(links))
        # The link's options and its button come before the (long) list of items, so they never scroll away.
        if self.choices.selection is not None:
            who = self.choices.selection.person  # named before the link is made: a summary is one person's
            if who is not None:
                blocks.append(heading(f"Summary of {who.name}", 2, identifier="share-person"))
            blocks.append(self._options_card(host))
        blocks.append(self._picker_card())
        return page_body(*blocks)

    # --- picking -----------------------------------------------------------------------------------------------

    def _picker_card(self) -> ft.Control:
        assert self.choices is not None
        self.section_boxes.clear()
        self.item_boxes.clear()
        rows: list[ft.Control] = [heading("What to share", 2),
                                  muted("Carry starts with your active problems, current medications, allergies, "
                                        "immunizations, the last 12 months of results and procedures. Untick what "
                                        "you would rather not share; tick more if you like. Older results and "
                                        "vital signs are grouped by year.")]  # fmt: skip
        counts = picked_counts(self.choices, self.picked)
        for section in self.choices.sections:
            box = ft.Checkbox(label=self._section_label(section.title, counts[section.name], len(section.items)),
                              value=counts[section.name] == len(section.items) and bool(section.items),
                              tristate=False, on_change=self.app.act(lambda e, s=section: self._toggle_section(s, e)))  # fmt: skip
            self.section_boxes[section.name] = box
            items: list[ft.Control] = []
            for item in section.items:
                item_box = ft.Checkbox(label=item.text, value=item.key in self.picked,
                                       on_change=self.app.act(lambda e, k=item.key, s=section: self._toggle_item(k, s, e)))  # fmt: skip
                self.item_boxes[item.key] = item_box
                items.append(item_box)
            listed: ft.Control = ft.Column(items, spacing=0)
            if section.older:  # folded: a patient with years of labs sees one line per year
                listed = ft.ExpansionTile(title=ft.Text(f"Show the {_items(len(items))}", size=14), controls=items,
                                          maintain_state=False, dense=True)  # fmt: skip
            rows.append(ft.Column([ft.Semantics(content=box, identifier=f"section-{section.name}"),
                                   ft.Container(listed, padding=ft.Padding.only(left=28))],
                                  spacing=0))  # fmt: skip
        if not self.choices.sections:
            rows.append(empty(self.choices.problem or "Your record has nothing to share yet."))
        return card(ft.Column(rows, spacing=6))

    @staticmethod
    def _section_label(title: str, picked: int, total: int) -> str:
        return f"{title} ({picked} of {total})"

    def _toggle_section(self, section: Any, e: Any) -> None:
        on = bool(e.control.value)
        for item in section.items:
            (self.picked.add if on else self.picked.discard)(item.key)
            self.item_boxes[item.key].value = on
        self._relabel(section)

    def _toggle_item(self, key: str, section: Any, e: Any) -> None:
        (self.picked.add if e.control.value else self.picked.discard)(key)
        self._relabel(section)

    def _relabel(self, section: Any) -> None:
        picked = sum(1 for i in section.items if i.key in self.picked)
        box = self.section_boxes[section.name]
        box.label = self._section_label(section.title, picked, len(section.items))
        box.value = picked == len(section.items)

    # --- making the link ---------------------------------------------------------------------------------------

    def _options_card(self, host: ShareHost) -> ft.Control:
        where = muted(f"The link points at {host.public_base}. The summary is encrypted on this device; the server "
                      "keeps only ciphertext it cannot read.", size=13)  # fmt: skip
        warning = host.reach_warning()
        return card(ft.Column([
            heading("Make a link", 2),
            *([banner(f"{warning} {REACH_APP_HINT}", "warn", identifier="share-reach")] if warning else []),
            labelled(self.kind, "share-kind", "Who opens it"),
            muted("The check-in kind is the CMS \"Kill the Clipboard\" link: no passcode, your records and a PDF "
                  "of them in one file, for the clinic's chart.", size=13),
            ft.Row([labelled(self.label, "share-label", "Label (the doctor sees it)"),
                    labelled(self.expiry, "share-expiry", "Link works for"),
                    labelled(self.passcode, "share-passcode", "Passcode (optional)")], wrap=True, spacing=12),
            where,
            primary_button("Create link", self.app.act(self._create), "create-link", icon=ft.Icons.QR_CODE_2),
            muted("It holds the items ticked below.", size=13),
        ], spacing=10))  # fmt: skip

    async def _create(self) -> None:
        assert self.choices is not None and self.choices.selection is not None
        record = self.app.session.require()
        selection = self.choices.selection.with_items(self.picked)
        check_in = (self.kind.value or IPS) != IPS
        expires = parse_expiry(self.kind.value if check_in else self.expiry.value or "7d")
        passcode = (self.passcode.value or "") or None
        if check_in and passcode:
            self.app.notify("A link for a clinic's check-in scanner cannot have a passcode; clear it, or make a "
                            "link for a doctor.", "alert")  # fmt: skip
            return
        label = (self.label.value or "").strip() or None
        self.made = await self.app.run(create_share, record, _host(self.app), selection, label=label,
                                       passcode=passcode, expires=expires, kind=CHECK_IN if check_in else IPS)  # fmt: skip
        self.passcode.value = ""
        self.app.notify("Your link is ready." if self.made.reach_warning else
                        "Your link is ready: show the QR code, or send the link.", "ok")  # fmt: skip
        if self.app.shell is not None:
            await self.app.shell.refresh()

    def _made_card(self, made: MadeShare) -> ft.Control:
        links = self.app.context.links
        pdf_url = links.offer(made.pdf, "application/pdf", made.file_name("pdf"))
        json_url = links.offer(made.fhir_json, "application/fhir+json", made.file_name("json"))
        # Both are attachments (Content-Disposition), so opening them in this tab saves them and Carry stays open.
        qr = ft.Image(src=made.qr_png, width=220, height=220, semantics_label="QR code of the link")
        text = ft.TextField(value=made.uri, label="The link", read_only=True, multiline=True, max_lines=4,
                            text_size=12)  # select it to copy
        who = "the clinic's check-in scanner" if made.kind == CHECK_IN else "the doctor"
        if made.reach_warning:  # never promise a QR code that cannot work
            how = banner(f"{made.reach_warning} {REACH_APP_HINT}", "warn", identifier="made-reach")
        else:
            how = muted(f"Show the QR code to {who}, or send the link. " + (
                "They need the passcode you chose too." if "P" in made.flag else "Anyone with the link can open it "
                "until it expires or you revoke it."))  # fmt: skip
        details = [
            heading("Your link is ready", 2, identifier="made-heading"),
            how,
            labelled(text, "share-link"),
            ft.Row([
                labelled(ft.OutlinedButton(content="Download the PDF", icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                                           action=ft.OpenUrl(pdf_url, target=ft.UrlTarget.SELF)), "download-pdf"),
                labelled(ft.OutlinedButton(content="Download the FHIR file", icon=ft.Icons.DATA_OBJECT,
                                           action=ft.OpenUrl(json_url, target=ft.UrlTarget.SELF)), "download-fhir"),
            ], wrap=True, spacing=10),
            muted("The downloads work for five minutes, from this computer only; they are not encrypted.", size=12),
        ]  # fmt: skip
        qr_block = labelled(qr, "share-qr", "QR code of the link")
        if self.app.phone:  # one column: an expanding column inside a wrapping row has no width to expand into
            return card(ft.Column([qr_block, *details], spacing=8))
        return card(ft.Row([qr_block, ft.Column(details, spacing=8, expand=True)],
                           vertical_alignment=ft.CrossAxisAlignment.START))  # fmt: skip

    def _writeback_card(self, targets: list[WritebackTarget]) -> ft.Control:
        rows: list[ft.Control] = [heading("Send it to a portal", 2)]
        if not targets:
            rows.append(empty("No portal is connected right now."))
        for n, target in enumerate(targets):
            if target.summary:
                rows.append(secondary_button(f"Send this summary to {target.name}",
                                             self.app.act(lambda t=target: self._send(t)), f"send-summary-{n}",
                                             icon=ft.Icons.SEND))  # fmt: skip
            else:
                rows.append(muted(f"{target.name} does not accept a summary from Carry. {target.summary_reason}",
                                  size=13))  # fmt: skip
        return card(ft.Column(rows, spacing=8))

    async def _send(self, target: WritebackTarget) -> None:
        if self.made is None:
            return
        whose = self.choices.selection.person if self.choices is not None and self.choices.selection else None
        await send_summary(self.app.require_portals(), target.source_id, self.made.bundle, person=whose)
        self.app.notify(f"Sent the summary to {target.name}.", "ok")

    # --- links made before ---------------------------------------------------------------------------------------

    def _links_card(self, links: list[LinkSummary]) -> ft.Control:
        rows: list[ft.Control] = [heading("Your shared links", 2)]
        if not links:
            rows.append(empty("You have not shared anything yet."))
        for n, link in enumerate(links):
            lines: list[ft.Control] = [
                ft.Text(f"{link.title} · {link.status}", size=15, color=INK, weight=ft.FontWeight.W_500),
                muted(f"Made {link.made}; expires {link.expires}. {link.contents}", size=13),
            ]
            lines += [ft.Text(a, size=14, color=INK) for a in link.accesses] or [muted("Not opened yet.", size=13)]
            if link.active:
                lines.append(secondary_button("Revoke", self.app.act(lambda lk=link: self._revoke(lk)), f"revoke-{n}",
                                              icon=ft.Icons.LINK_OFF))  # fmt: skip
            rows.append(labelled(ft.Container(ft.Column(lines, spacing=4), padding=ft.Padding.symmetric(vertical=6)),
                                 f"link-{n}"))  # fmt: skip
        return card(ft.Column(rows, spacing=6))

    async def _revoke(self, link: LinkSummary) -> None:
        record = self.app.session.require()
        await self.app.run(revoke, record, _host(self.app), link.link_id)
        self.app.notify(f"Revoked {link.title}: it no longer opens.", "ok")
        if self.app.shell is not None:
            await self.app.shell.refresh()

    async def _open_received(self) -> None:
        if self.app.shell is not None:
            await self.app.shell.push(ReceivedView(self.app), "Open a shared link")


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def passcode_field(label: str, on_submit: Any) -> ft.TextField:
    """A passcode box: hidden as typed, Enter submits, and a show/hide button with a name a screen reader says.
    Every keystroke is sent at once (on_change), so a passcode typed just before a click is never behind it."""
    field = ft.TextField(label=label, password=True, width=260, on_submit=on_submit)

    def toggle(_: Any) -> None:
        field.password = not field.password
        name = "Show the passcode" if field.password else "Hide the passcode"
        button.icon = ft.Icons.VISIBILITY if field.password else ft.Icons.VISIBILITY_OFF
        button.tooltip = reveal.label = name
        field.update()

    def keep(_: Any) -> None:  # the handler makes the client report each change as it happens
        pass

    button = ft.IconButton(icon=ft.Icons.VISIBILITY, tooltip="Show the passcode", on_click=toggle)
    # A tooltip alone gives an icon button no accessible name in Flutter web; the Semantics label does.
    reveal = ft.Semantics(content=button, label="Show the passcode", button=True, exclude_semantics=True)
    field.suffix_icon = reveal  # always shown (a `suffix` shows only while the field has the focus)
    field.on_change = keep
    return field


class ReceivedView:
    """Paste a link someone shared, say who you are, give the passcode if it has one: see the summary, keep it."""

    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        submit = self.app.act(self._open)
        self.link = ft.TextField(label="Shared link", hint_text="shlink:/… or a viewer address", multiline=False,
                                 on_submit=submit)  # fmt: skip
        self.recipient = ft.TextField(label="Your name (the sharer sees it)", value="Carry user", width=320,
                                      on_submit=submit)  # fmt: skip
        self.passcode = passcode_field("Passcode, if it has one", submit)
        self.result = ft.Column(spacing=10)
        self.received: Any = None

    async def load(self) -> ft.Control:
        shell = self.app.shell
        return page_body(
            *([shell.back_button()] if shell is not None else []),
            card(ft.Column([
                heading("Paste the link you were given", 2),
                muted("Carry fetches the summary, decrypts it on this device and shows it. Nothing is kept unless "
                      "you ask."),
                labelled(self.link, "received-link", "Shared link"),
                ft.Row([labelled(self.recipient, "received-recipient", "Your name (the sharer sees it)"),
                        labelled(self.passcode, "received-passcode", "Passcode, if it has one")], wrap=True),
                primary_button("Open", self.app.act(self._open), "open-link", icon=ft.Icons.LOCK_OPEN),
            ], spacing=10)),
            self.result,
        )  # fmt: skip

    async def _open(self) -> None:
        self.received = await open_shared(self.link.value or "", recipient=self.recipient.value or "",
                                          passcode=self.passcode.value or None)  # fmt: skip
        title, sections = received_summary(self.received)
        blocks: list[ft.Control] = [heading(received_person(self.received), 2, identifier="received-person"),
                                    muted(title, size=14)]  # fmt: skip
        for n, section in enumerate(sections):
            lines: list[ft.Control] = [heading(section.title, 3)]
            for item, details in section.rows:
                lines.append(ft.Column([ft.Text(item, size=15, color=INK), muted(details, size=13)], spacing=0))
            if not section.rows:
                lines.append(empty(section.empty or "No information."))
            blocks.append(labelled(ft.Column(lines, spacing=4), f"received-section-{n}"))
        blocks.append(primary_button("Keep in my record", self.app.act(self._keep), "keep-received",
                                     icon=ft.Icons.SAVE_ALT))  # fmt: skip
        self.result.controls = [card(ft.Column(blocks, spacing=10))]

    async def _keep(self) -> None:
        if self.received is None:
            return
        record = self.app.session.require()
        name, counts = await self.app.run(keep_received, record, self.received)
        self.result.controls.append(banner(f"Kept as the read-only source “{name}”: {counts.imported} new, "
                                           f"{counts.updated} updated, {counts.unchanged} unchanged.", "ok",
                                           identifier="kept"))  # fmt: skip
        await self.app.record_changed()

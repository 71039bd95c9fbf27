"""Share: pick what goes into the summary, make a link (QR code, link, PDF, FHIR file), see who opened the links
made before and revoke them (Share, at /share); and open a link someone else shared (Received, at /share/open)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flet as ft

from app.shares import (
    CHECK_IN,
    CHECK_IN_PRINT_EXPIRY,
    CHECK_IN_SCREEN_EXPIRY,
    IPS,
    REACH_APP_HINT,
    MadeShare,
    ShareHost,
    WritebackTarget,
    create_share,
    keep_received,
    merge_access_quietly,
    open_shared,
    parse_expiry,
    received_person,
    revoke,
    send_summary,
    writeback_targets,
)
from app.views.share import (
    EXPIRY_CHOICES,
    LinkSummary,
    ShareChoices,
    link_summaries,
    notes_carried,
    picked_counts,
    received_summary,
    share_choices,
)
from sync.share import ReceivedShare

from ..hooks import (
    component,
    use_app_state,
    use_load,
    use_optional,
    use_session,
    use_state,
    use_title,
    use_value,
)
from ..paths import SHARE_OPEN
from ..session import UiSession
from ..theme import INK
from ..widgets import banner, card, empty, heading, labelled, muted, present, primary_button, secondary_button
from .common import BackButton, PassphraseField, PersonPicker, loaded_or, page_body

__all__ = ["Received", "Share"]


def _host(session: UiSession) -> ShareHost:
    """Where new links go: the Carry host App Settings name, else the share host of this server."""
    return ShareHost.chosen(session.require(), local=session.context.share)


@dataclass(frozen=True)
class _Made:
    """A link just made, with its two downloads offered through Carry's own short-lived links."""

    share: MadeShare
    pdf_url: str
    json_url: str


@component
def Share() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Share")
    scope = state.scope
    choices = use_load(lambda: share_choices(session.require(), scope), [scope])
    revision, set_revision = use_state(0)  # moves when a link is made or revoked: the list loads again
    # Who opened the links since the last look goes into the record first, so the list below says it.
    links = use_load(lambda: _links_with_access(session), [revision])
    picked, set_picked = use_optional(frozenset)  # None: what Carry proposes
    made, set_made = use_optional(_Made)
    targets, set_targets = use_optional(list)  # the portals a made summary can be sent to
    kind, set_kind = use_state(IPS)
    expiry, set_expiry = use_state("7d")
    label = use_value("")
    passcode = use_value("")
    made_count, set_made_count = use_state(0)

    def said_who_opened() -> None:
        opened = links.data[1] if links.data is not None else []
        if opened:
            said = "; ".join(opened[-3:])
            session.notify(said[:1].upper() + said[1:] + ".")

    ft.use_effect(said_who_opened, [links.data])
    ft.use_effect(lambda: set_picked(None), [scope])

    found: ShareChoices | None = choices.data
    chosen: frozenset[str] = (
        picked if picked is not None else frozenset(found.default_keys()) if found is not None else frozenset()
    )

    async def find_targets() -> None:
        portals = session.portals
        if portals is not None and await session.run(portals.sources):
            set_targets(list(await writeback_targets(portals)))
        else:
            set_targets(None)

    async def create() -> None:
        if found is None or found.selection is None:
            return
        record = session.require()
        selection = found.selection.with_items(set(chosen))
        check_in = kind != IPS
        expires = parse_expiry(kind if check_in else expiry or "7d")
        code = None if check_in else passcode.current or None  # a scanner cannot type one: not asked for then
        text = label.current.strip() or None
        share = await session.run(create_share, record, _host(session), selection, label=text, passcode=code,
                                  expires=expires, kind=CHECK_IN if check_in else IPS)  # fmt: skip
        passcode.current = ""
        set_made_count(made_count + 1)  # the passcode field is emptied
        links_ = session.context.links
        # Both are attachments (Content-Disposition), so opening them in this tab saves them and Carry stays open.
        made_now = _Made(share, links_.offer(share.pdf, "application/pdf", share.file_name("pdf")),
                         links_.offer(share.fhir_json, "application/fhir+json", share.file_name("json")))  # fmt: skip
        set_made(made_now)
        set_revision(revision + 1)
        session.notify("Your link is ready." if share.reach_warning else
                       "Your link is ready: show the QR code, or send the link.", "ok")  # fmt: skip
        await find_targets()

    async def send(target: WritebackTarget) -> None:
        if made is None:
            return
        whose = found.selection.person if found is not None and found.selection else None
        await send_summary(session.require_portals(), target.source_id, made.share.bundle, person=whose)
        session.notify(f"Sent the summary to {target.name}.", "ok")

    async def revoke_link(link: LinkSummary) -> None:
        await session.run(revoke, session.require(), _host(session), link.link_id)
        set_revision(revision + 1)
        session.notify(f"Revoked {link.title}: it no longer opens.", "ok")

    def render(found_: ShareChoices) -> ft.Control:
        host = _host(session)
        blocks: list[ft.Control | None] = [
            PersonPicker(),
            ft.Row([secondary_button("Open a shared link", session.act(lambda: session.navigate(SHARE_OPEN)),
                                     "open-shared-link", icon=ft.Icons.LINK)], wrap=True),  # fmt: skip
        ]
        if made is not None:
            blocks.append(_made_card(made, state.phone))
            if targets is not None:
                blocks.append(_writeback_card(session, targets, send))
        if links.data is not None and links.data[0]:
            blocks.append(_links_card(session, links.data[0], revoke_link))
        # The link's options and its button come before the (long) list of items, so they never scroll away.
        if found_.selection is not None:
            who = found_.selection.person  # named before the link is made: a summary is one person's
            if who is not None:
                blocks.append(heading(f"Summary of {who.name}", 2, identifier="share-person"))
            carried = notes_carried(found_, set(chosen))
            blocks.append(_options_card(session, host, state.phone, kind, set_kind, expiry, set_expiry, label, passcode,
                                        create, made_count, carried.sentence if carried else ""))  # fmt: skip
        blocks.append(_picker_card(session, found_, chosen, set_picked))
        return page_body(*blocks)

    return loaded_or(choices, render)


def _links_with_access(session: UiSession) -> tuple[list[LinkSummary], list[str]]:
    """The links made before, after merging who opened them since the last look (blocking: a worker thread); and
    those openings, in words."""
    record, host = session.require(), _host(session)
    opened = merge_access_quietly(record, host)
    return link_summaries(record, host), [e.sentence() for e in opened]


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def _item_label(item: Any) -> str:
    """An item to tick (its text already says "Added by you" for the patient's own), and whether their note goes
    with it."""
    if not item.notes:
        return str(item.text)
    return f"{item.text} · your note{'s go' if item.notes > 1 else ' goes'} along"


def _section_label(title: str, picked: int, total: int) -> str:
    return f"{title} ({picked} of {total})"


def _picker_card(session: UiSession, choices: ShareChoices, picked: frozenset[str],
                 set_picked: Callable[[frozenset[str] | None], None]) -> ft.Control:  # fmt: skip
    rows: list[ft.Control] = [heading("What to share", 2),
                              muted("Carry starts with your active problems, current medications, allergies, "
                                    "immunizations, the last 12 months of results and procedures. Untick what "
                                    "you would rather not share; tick more if you like. Older results and "
                                    "vital signs are grouped by year.")]  # fmt: skip
    counts = picked_counts(choices, set(picked))

    def toggle_section(section: Any, on: bool) -> None:
        keys = {item.key for item in section.items}
        set_picked(picked | keys if on else picked - keys)

    def toggle_item(key: str, on: bool) -> None:
        set_picked(picked | {key} if on else picked - {key})

    for section in choices.sections:
        box = ft.Checkbox(label=_section_label(section.title, counts[section.name], len(section.items)),
                          value=counts[section.name] == len(section.items) and bool(section.items), tristate=False,
                          on_change=session.act(lambda e, s=section: toggle_section(s, bool(e.control.value))))  # fmt: skip
        items: list[ft.Control] = [
            ft.Checkbox(label=_item_label(item), value=item.key in picked,
                        on_change=session.act(lambda e, k=item.key: toggle_item(k, bool(e.control.value))))
            for item in section.items
        ]  # fmt: skip
        listed: ft.Control = ft.Column(items, spacing=0)
        if section.older:  # folded: a patient with years of labs sees one line per year
            listed = ft.ExpansionTile(title=ft.Text(f"Show the {_items(len(items))}", size=14), controls=items,
                                      maintain_state=False, dense=True)  # fmt: skip
        rows.append(ft.Column([ft.Semantics(content=box, identifier=f"section-{section.name}"),
                               ft.Container(listed, padding=ft.Padding.only(left=28))], spacing=0))  # fmt: skip
    if not choices.sections:
        rows.append(empty(choices.problem or "Your record has nothing to share yet."))
    return card(ft.Column(rows, spacing=6))


# What the chosen kind of link is, said under the choice.
KIND_TEXT = {
    IPS: "The doctor opens the link in a browser, on a phone or a computer, and sees the items ticked below. If you "
         "add a passcode, tell it to them another way.",
    CHECK_IN: "A clinic's check-in scanner reads this link: it has no passcode, and it holds your records and a PDF "
              "of them in one file, for the clinic's chart.",
}


def _options_card(session: UiSession, host: ShareHost, phone: bool, kind: str, set_kind: Callable[[str], None],
                  expiry: str, set_expiry: Callable[[str], None], label: Any, passcode: Any, create: Any,
                  made_count: int, carried: str) -> ft.Control:  # fmt: skip
    where = muted(f"The link points at {host.public_base}. The summary is encrypted on this device; the server "
                  "keeps only an encrypted copy it cannot read.", size=13)  # fmt: skip
    warning = host.reach_warning()
    kinds = ft.Dropdown(label="Who opens it", value=kind, width=320 if phone else 480, options=[
        ft.DropdownOption(key=IPS, text="For a doctor"),
        ft.DropdownOption(key=CHECK_IN_SCREEN_EXPIRY, text="For a clinic's check-in scanner, on screen (15 minutes)"),
        ft.DropdownOption(key=CHECK_IN_PRINT_EXPIRY, text="For a clinic's check-in scanner, printed (48 hours)"),
    ], on_select=lambda e: set_kind(str(e.control.value or IPS)))  # fmt: skip
    expiries = ft.Dropdown(label="Link works for", value=expiry, width=200,
                           options=[ft.DropdownOption(key=k, text=t) for k, t in EXPIRY_CHOICES],
                           on_select=lambda e: set_expiry(str(e.control.value or "7d")))  # fmt: skip
    # Each field is drawn with what was typed into it (a render for another reason, a box ticked, drew it empty).
    label_field = ft.TextField(label="Label (the doctor sees it)", max_length=80, width=360, value=label.current,
                               on_change=label.typed)  # fmt: skip
    return card(ft.Column(present(
        heading("Make a link", 2),
        banner(f"{warning} {REACH_APP_HINT}", "warn", identifier="share-reach") if warning else None,
        labelled(kinds, "share-kind", "Who opens it"),
        muted(KIND_TEXT[IPS] if kind == IPS else KIND_TEXT[CHECK_IN], size=13),
        ft.Row(present(
            labelled(label_field, "share-label", "Label (the doctor sees it)"),
            # A check-in link lasts as long as its kind says, and has no passcode: neither is asked for then.
            labelled(expiries, "share-expiry", "Link works for") if kind == IPS else None,
            PassphraseField("Passcode (optional)", "share-passcode", passcode.set, word="passcode",
                            on_submit=session.act(create), clear=made_count, width=260,
                            button_always_shown=True) if kind == IPS else None,
        ), wrap=True, spacing=12, vertical_alignment=ft.CrossAxisAlignment.START),  # the label's counter below
        where,
        # The patient's own words go along with the items they are on: said before the link is made.
        banner(carried, "info", identifier="share-notes") if carried else None,
        primary_button("Create link", session.act(create), "create-link", icon=ft.Icons.QR_CODE_2),
        muted("It holds the items ticked below.", size=13),
    ), spacing=10))  # fmt: skip


def _made_card(made: _Made, phone: bool) -> ft.Control:
    share = made.share
    qr = ft.Image(src=share.qr_png, width=220, height=220, semantics_label="QR code of the link")
    text = ft.TextField(value=share.uri, label="The link", read_only=True, multiline=True, max_lines=4,
                        text_size=12)  # select it to copy
    who = "the clinic's check-in scanner" if share.kind == CHECK_IN else "the doctor"
    how: ft.Control
    if share.reach_warning:  # never promise a QR code that cannot work
        how = banner(f"{share.reach_warning} {REACH_APP_HINT}", "warn", identifier="made-reach")
    else:
        how = muted(f"Show the QR code to {who}, or send the link. " + (
            "They need the passcode you chose too." if "P" in share.flag else "Anyone with the link can open it "
            "until it expires or you revoke it."))  # fmt: skip
    details: list[ft.Control] = [
        heading("Your link is ready", 2, identifier="made-heading"),
        how,
        labelled(text, "share-link"),
        ft.Row([
            labelled(ft.OutlinedButton(content="Download the PDF", icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                                       action=ft.OpenUrl(made.pdf_url, target=ft.UrlTarget.SELF)), "download-pdf"),
            labelled(ft.OutlinedButton(content="Download the FHIR file", icon=ft.Icons.DATA_OBJECT,
                                       action=ft.OpenUrl(made.json_url, target=ft.UrlTarget.SELF)), "download-fhir"),
        ], wrap=True, spacing=10),
        muted("The downloads work for five minutes, from this computer only; they are not encrypted.", size=12),
    ]  # fmt: skip
    qr_block = labelled(qr, "share-qr", "QR code of the link")
    if phone:  # one column: an expanding column inside a wrapping row has no width to expand into
        return card(ft.Column([qr_block, *details], spacing=8))
    return card(ft.Row([qr_block, ft.Column(details, spacing=8, expand=True)],
                       vertical_alignment=ft.CrossAxisAlignment.START))  # fmt: skip


def _writeback_card(session: UiSession, targets: list[WritebackTarget], send: Any) -> ft.Control:
    rows: list[ft.Control] = [heading("Send it to a portal", 2)]
    if not targets:
        rows.append(empty("No portal is connected right now."))
    for n, target in enumerate(targets):
        if target.summary:
            rows.append(secondary_button(f"Send this summary to {target.name}", session.act(lambda t=target: send(t)),
                                         f"send-summary-{n}", icon=ft.Icons.SEND))  # fmt: skip
        else:
            rows.append(muted(f"{target.name} does not accept a summary from Carry. {target.summary_reason}", size=13))
    return card(ft.Column(rows, spacing=8))


def _links_card(session: UiSession, links: list[LinkSummary], revoke_link: Any) -> ft.Control:
    rows: list[ft.Control] = [heading("Your shared links", 2)]
    for n, link in enumerate(links):
        lines: list[ft.Control] = [
            ft.Text(f"{link.title} · {link.status}", size=15, color=INK, weight=ft.FontWeight.W_500),
            muted(f"Made {link.made}; expires {link.expires}. {link.contents}", size=13),
        ]
        lines += [ft.Text(a, size=14, color=INK) for a in link.accesses] or [muted("Not opened yet.", size=13)]
        if link.active:
            lines.append(secondary_button("Revoke", session.act(lambda lk=link: revoke_link(lk)), f"revoke-{n}",
                                          icon=ft.Icons.LINK_OFF))  # fmt: skip
        rows.append(labelled(ft.Container(ft.Column(lines, spacing=4), padding=ft.Padding.symmetric(vertical=6)),
                             f"link-{n}"))  # fmt: skip
    return card(ft.Column(rows, spacing=6))


@component
def Received() -> ft.Control:
    """Paste a link someone shared, say who you are, give the passcode if it has one: see the summary, keep it."""
    session = use_session()
    use_title("Open a shared link")
    link = use_value("")
    recipient = use_value("Carry user")
    passcode = use_value("")
    received, set_received = use_optional(ReceivedShare)
    kept, set_kept = use_state("")

    async def open_link() -> None:
        opened = await open_shared(link.current, recipient=recipient.current, passcode=passcode.current or None)
        set_kept("")
        set_received(opened)

    async def keep() -> None:
        if received is None:
            return
        name, counts = await session.run(keep_received, session.require(), received)
        set_kept(f"Kept as the read-only source “{name}”: {counts.imported:,} new, {counts.updated:,} updated, "
                 f"{counts.unchanged:,} unchanged.")  # fmt: skip
        await session.record_changed()

    submit = session.act(open_link)
    result: ft.Control | None = None
    if received is not None:
        title, sections = received_summary(received)
        blocks: list[ft.Control] = [heading(received_person(received), 2, identifier="received-person"),
                                    muted(title, size=14)]  # fmt: skip
        for n, section in enumerate(sections):
            lines: list[ft.Control] = [heading(section.title, 3)]
            for item, details in section.rows:
                lines.append(ft.Column([ft.Text(item, size=15, color=INK), muted(details, size=13)], spacing=0))
            if not section.rows:
                lines.append(empty(section.empty or "No information."))
            blocks.append(labelled(ft.Column(lines, spacing=4), f"received-section-{n}"))
        blocks.append(primary_button("Keep in my record", session.act(keep), "keep-received", icon=ft.Icons.SAVE_ALT))
        if kept:
            blocks.append(banner(kept, "ok", identifier="kept"))
        result = card(ft.Column(blocks, spacing=10))
    return page_body(
        BackButton("/share"),
        card(ft.Column([
            heading("Paste the link you were given", 2),
            muted("Carry fetches the summary, decrypts it on this device and shows it. Nothing is kept unless "
                  "you ask."),
            labelled(ft.TextField(label="Shared link", hint_text="shlink:/… or a viewer address", multiline=False,
                                  value=link.current, on_submit=submit, on_change=link.typed),
                     "received-link", "Shared link"),
            ft.Row([labelled(ft.TextField(label="Your name (the sharer sees it)", value=recipient.current, width=320,
                                          on_submit=submit, on_change=recipient.typed),
                             "received-recipient", "Your name (the sharer sees it)"),
                    PassphraseField("Passcode, if it has one", "received-passcode", passcode.set, word="passcode",
                                    on_submit=submit, width=260, button_always_shown=True)], wrap=True),
            primary_button("Open", submit, "open-link", icon=ft.Icons.LOCK_OPEN),
        ], spacing=10)),
        result,
    )  # fmt: skip

"""Whose record: every person the record holds (name, birth date, the sources that hold them), which one is on
screen, and the patient's decisions about them: show, rename, merge two (a proposed pair, or any two the patient
names), split one apart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import format_date
from app.views.people import PeopleChoices, Scope, people_choices

from ..theme import ALERT_TEXT
from ..widgets import banner, card, heading, labelled, muted, primary_button, secondary_button
from .common import page_body

if TYPE_CHECKING:
    from app.record import Member, Person

    from ..app import CarryApp

__all__ = ["PeopleView"]


class PeopleView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.renaming: int | None = None  # the person whose name field is open
        self.picker: ft.FilePicker | None = None  # made at first use, inside the page it serves

    async def load(self) -> ft.Control:
        choices: PeopleChoices = await self.app.run(people_choices, self.app.session.require())
        blocks: list[ft.Control] = [
            muted("A record can hold more than one person: a child's records beside your own. Add a person by "
                  "connecting their portal (Sources) or importing a file for them."),  # fmt: skip
            labelled(card(ft.Column([
                muted("A file from a clinic (FHIR, C-CDA, a health card) names its patient and joins that person, or "
                      "becomes a new one. A file that names nobody, such as an Apple Health export, a PDF or a photo, "
                      "goes into the record of the person you import it for."),
                ft.Row([secondary_button("Import a file for a new person", self.app.act(lambda: self._import(None)),
                                         "import-new", icon=ft.Icons.UPLOAD_FILE)], wrap=True),
            ], spacing=8)), "import-card"),
        ]  # fmt: skip
        if not choices.people:
            blocks.append(card(muted("Nobody yet: connect a portal or import a file first.", italic=True)))
        for n, pair in enumerate(choices.proposals):
            text = (f"{pair.a.name} ({', '.join(pair.a.sources)}) and {pair.b.name} ({', '.join(pair.b.sources)}) have "
                    "the same name and birth date. Are they one person?")  # fmt: skip
            blocks.append(labelled(card(ft.Column([
                banner(text, "warn", identifier=f"proposal-{n}"),
                ft.Row([primary_button("Same person", self.app.act(lambda p=pair: self._merge(p.a, p.b)),
                                       f"same-person-{n}", icon=ft.Icons.MERGE),
                        secondary_button("Keep apart", self.app.act(lambda p=pair: self._keep_apart(p.a, p.b)),
                                         f"keep-apart-{n}")], wrap=True, spacing=10),
            ], spacing=8)), f"proposal-card-{n}"))  # fmt: skip
        for n, person in enumerate(choices.people):
            blocks.append(self._person_card(n, person, choices))
        if choices.unassigned:
            blocks.append(card(muted(f"{choices.unassigned} items name a patient Carry cannot place; they stay in your "
                                     "record and are shown as nobody's.")))  # fmt: skip
        return page_body(*blocks)

    def _person_card(self, n: int, person: Person, choices: PeopleChoices) -> ft.Control:
        shown = self.app.scope.person is not None and self.app.scope.person.id == person.id
        born = f"Born {format_date(person.birth_date)}" if person.birth_date else "Birth date not recorded"
        lines: list[ft.Control] = [
            heading(person.name, 2, identifier=f"person-name-{n}"),
            labelled(muted(f"{born} · From {', '.join(person.sources)}"), f"person-about-{n}"),
        ]
        if shown:
            lines.append(banner("On screen now", "ok", identifier=f"person-shown-{n}"))
        actions: list[ft.Control] = []
        if not shown:
            actions.append(primary_button("Show their record", self.app.act(lambda: self._show(person)),
                                          f"show-person-{n}", icon=ft.Icons.VISIBILITY_OUTLINED))  # fmt: skip
        actions.append(secondary_button("Rename", self.app.act(lambda: self._open_rename(person)), f"rename-person-{n}",
                                        icon=ft.Icons.EDIT_OUTLINED))  # fmt: skip
        actions.append(secondary_button("Import a file for them", self.app.act(lambda: self._import(person)),
                                        f"import-for-{n}", icon=ft.Icons.UPLOAD_FILE))  # fmt: skip
        if len(choices.people) > 1:
            actions.append(secondary_button("Merge…", self.app.act(lambda: self._ask_merge(person, choices)),
                                            f"merge-person-{n}", icon=ft.Icons.MERGE))  # fmt: skip
        if len(person.members) > 1:
            actions.append(secondary_button("Split…", self.app.act(lambda: self._ask_split(person)), f"split-person-{n}",
                                            icon=ft.Icons.CALL_SPLIT))  # fmt: skip
        lines.append(ft.Row(actions, wrap=True, spacing=10, run_spacing=10))
        if self.renaming == person.id:
            field = ft.TextField(label="Name", value=person.name, max_length=80, dense=True, width=320)
            lines.append(ft.Row([
                labelled(field, f"rename-field-{n}"),
                primary_button("Save", self.app.act(lambda: self._rename(person, str(field.value or ""))),
                               f"rename-save-{n}"),
            ], wrap=True, spacing=10))  # fmt: skip
        return labelled(card(ft.Column(lines, spacing=6)), f"person-{n}")

    async def _import(self, person: Person | None) -> None:
        """Pick a file and import it for `person` (None: a new person). In the browser the file is uploaded to
        Carry's own server (app/ui/uploads.py), imported, and deleted at once; on the desktop it is read where it is."""
        from app.record.imports import Whose

        from ..uploads import UPLOAD_LIMIT, UploadFailed, discard, too_large

        if self.picker is None:
            self.picker = ft.FilePicker()
        picked = await self.picker.pick_files(dialog_title="Import a file", allow_multiple=False)
        if not picked:
            return
        chosen = picked[0]
        if chosen.size > UPLOAD_LIMIT:
            raise UploadFailed(too_large(UPLOAD_LIMIT))
        whose = Whose(new=True) if person is None else Whose(person=str(person.id))
        record = self.app.session.require()
        if chosen.path:
            await self._import_file(record, Path(chosen.path), chosen.name, whose)
        else:
            uploads = self.app.context.uploads
            token = uploads.expect(chosen.name)
            await self.picker.upload([ft.FilePickerUploadFile(upload_url=f"/upload/{token}", method="PUT", id=chosen.id)])
            path = await uploads.wait(token, timeout=600)
            try:
                await self._import_file(record, path, chosen.name, whose)
            finally:
                discard(path)

    async def _import_file(self, record: Any, path: Path, name: str, whose: Any) -> None:
        """Import one file; a PDF or a photo first has its title and date confirmed by the patient."""
        from app.record.imports import document_proposal, import_path

        title: str | None = None
        day: str | None = None
        proposal = await self.app.run(document_proposal, path, name)
        if proposal is not None:
            answer = await self._confirm_document(proposal.content_type, proposal.title, proposal.date)
            if answer is None:
                self.app.notify(f"{name}: nothing was imported.", "info")
                return
            title, day = answer[0] or proposal.title, answer[1]
        report = await self.app.run(import_path, record, path, whose=whose, title=title, date=day)
        c = report.counts
        notes = " ".join(getattr(report, "notes", ()))
        shown = title or report.origin
        await self._after_change(f"{shown}: {c.imported} new, {c.updated} updated, {c.unchanged} unchanged."
                                 + (f" {notes}" if notes else ""))  # fmt: skip

    async def _confirm_document(self, content_type: str, title: str, day: str | None) -> tuple[str, str | None] | None:
        """The patient's word on a document's title and date (pre-filled with what Carry proposes); None: cancelled."""
        answer: asyncio.Future[tuple[str, str | None] | None] = asyncio.get_running_loop().create_future()
        title_field = ft.TextField(label="Title", value=title, max_length=200)
        date_field = ft.TextField(label="Date (YYYY-MM-DD)", value=day or "", hint_text="e.g. 2024-03-18")

        def done(value: tuple[str, str | None] | None) -> None:
            if not answer.done():
                answer.set_result(value)
            self.app.page.pop_dialog()

        what = "a PDF" if content_type == "application/pdf" else "a photo"
        explain = ("Carry proposes the file's name and the date the file states; correct them as you like. The file is "
                   "kept whole inside your encrypted record.")  # fmt: skip
        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Import {what}"),
            content=ft.Column([muted(explain, size=13), labelled(title_field, "document-title"),
                               labelled(date_field, "document-date")], tight=True, spacing=10),
            actions=[
                ft.TextButton(content="Cancel", on_click=lambda e: done(None)),
                labelled(ft.FilledButton(content="Import", on_click=lambda e: done(
                    (str(title_field.value or "").strip(), str(date_field.value or "").strip() or None))),
                    "document-import"),
            ],
        )  # fmt: skip
        self.app.page.show_dialog(dialog)
        return await answer

    async def _after_change(self, note: str) -> None:
        await self.app.record_changed()
        self.app.notify(note, "ok")
        if self.app.shell is not None:
            await self.app.shell.open("people")
            self.app.shell.refresh_person()

    async def _show(self, person: Person) -> None:
        self.app.scope = Scope(person)
        if self.app.shell is not None:
            self.app.shell.refresh_person()
            await self.app.shell.open("summary")

    def _open_rename(self, person: Person) -> Any:
        self.renaming = person.id
        if self.app.shell is not None:
            return self.app.shell.refresh()
        return None

    async def _rename(self, person: Person, name: str) -> None:
        from app.record import rename_person

        renamed = await self.app.run(rename_person, self.app.session.require(), person, name)
        self.renaming = None
        await self._after_change(f"Renamed to {renamed.name}.")

    async def _merge(self, a: Person, b: Person) -> None:
        from app.record import merge_people

        merged = await self.app.run(merge_people, self.app.session.require(), a, b)
        await self._after_change(f"{merged.name} is now one person, from {', '.join(merged.sources)}.")

    def _ask_merge(self, person: Person, choices: PeopleChoices) -> None:
        """Which other person is the same as this one: the patient's word, asked in a dialog, never guessed."""

        async def merge(other: Person) -> None:
            self.app.page.pop_dialog()
            await self._merge(person, other)

        others = [p for p in choices.people if p.id != person.id]
        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Who else is {person.name}?"),
            content=ft.Column([
                muted("Their records become one person's: one summary, one timeline. Split undoes it."),
                *(labelled(ft.FilledButton(content=f"Merge with {o.name} ({', '.join(o.sources)})",
                                           on_click=self.app.act(lambda o=o: merge(o))), f"merge-with-{n}")
                  for n, o in enumerate(others)),
            ], tight=True, spacing=10),
            actions=[ft.TextButton(content="Cancel", on_click=lambda e: self.app.page.pop_dialog())],
        )  # fmt: skip
        self.app.page.show_dialog(dialog)

    async def _keep_apart(self, a: Person, b: Person) -> None:
        from app.views.people import keep_apart

        await self.app.run(keep_apart, self.app.session.require(), a, b)
        await self._after_change(f"{a.name} and {b.name} stay two persons.")

    def _ask_split(self, person: Person) -> None:
        """Which of this person's records are somebody else: the patient ticks them (one or more, never all)."""
        boxes = [ft.Checkbox(label=_member_label(m), value=False) for m in person.members]

        refusal = ft.Text("", color=ALERT_TEXT)  # in the dialog: a notice would sit behind it

        async def split() -> None:
            which = [str(n + 1) for n, box in enumerate(boxes) if box.value]
            if not which:
                refusal.value = "Tick the records that are somebody else; nothing was split."
                return
            self.app.page.pop_dialog()
            await self._split(person, which)

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Which records are not {person.name}?"),
            content=ft.Column([
                muted("The records you tick become a new person, kept apart from the rest: never proposed as one "
                      "again. Merge undoes it."),
                *(labelled(box, f"split-member-{n}") for n, box in enumerate(boxes)),
                labelled(refusal, "split-refusal"),
            ], tight=True, spacing=6, scroll=ft.ScrollMode.AUTO),
            actions=[labelled(ft.FilledButton(content="Split off", on_click=self.app.act(split)), "split-confirm"),
                     ft.TextButton(content="Cancel", on_click=lambda e: self.app.page.pop_dialog())],
        )  # fmt: skip
        self.app.page.show_dialog(dialog)

    async def _split(self, person: Person, which: list[str]) -> None:
        from app.record import split_person

        _, new = await self.app.run(split_person, self.app.session.require(), person, which)
        await self._after_change(f"{', '.join(new.sources)} is now a person of its own.")


def _member_label(member: Member) -> str:
    """One record of a person as the patient recognises it: where it comes from, and whom it names (two short
    lines: a checkbox's label does not wrap on a phone)."""
    who = member.name or "no name"
    born = f", born {format_date(member.birth_date)}" if member.birth_date else ""
    return f"{member.source}\n{who}{born}"

"""Whose record: every person the record holds (name, birth date, the sources that hold them), which one is on
screen, and the patient's decisions about them: show, rename, merge two (a proposed pair, or any two the patient
names), split one apart; and importing a file for one of them (or for a new person)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flet as ft

from app.record import Member, Person, merge_people, rename_person, split_person
from app.record.imports import Whose
from app.views import format_date
from app.views.people import PeopleChoices, keep_apart, people_choices

from ..hooks import component, use_app_state, use_load, use_optional, use_session, use_state, use_title, use_value
from ..session import UiSession
from ..theme import ALERT_TEXT
from ..widgets import banner, card, heading, labelled, muted, primary_button, secondary_button
from .common import ImportFileButton, loaded_or, page_body, use_modal

__all__ = ["People"]


@dataclass(frozen=True)
class _Dialog:
    kind: str  # "merge" or "split"
    person: Person | None = None


@component
def People() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Whose record")
    choices = use_load(lambda: people_choices(session.require()), [])
    renaming, set_renaming = use_optional(int)  # the person whose name field is open
    new_name = use_value("")
    dialog, set_dialog = use_optional(_Dialog)
    ticked, set_ticked = use_state(frozenset[int]())  # the split dialog's ticks
    refusal, set_refusal = use_state("")  # the split dialog's refusal

    def open_dialog(opened: _Dialog) -> None:
        set_ticked(frozenset())
        set_refusal("")
        set_dialog(opened)

    async def after_change(note: str) -> None:
        set_dialog(None)
        await session.record_changed()
        session.notify(note, "ok")

    def show(person: Person) -> None:
        session.set_scope(person.key)
        session.navigate("/")

    def open_rename(person: Person) -> None:
        new_name.current = person.name
        set_renaming(person.id)

    async def rename(person: Person) -> None:
        renamed = await session.run(rename_person, session.require(), person, new_name.current)
        set_renaming(None)
        await after_change(f"Renamed to {renamed.name}.")

    async def merge(a: Person, b: Person) -> None:
        merged = await session.run(merge_people, session.require(), a, b)
        await after_change(f"{merged.name} is now one person, from {', '.join(merged.sources)}.")

    async def apart(a: Person, b: Person) -> None:
        await session.run(keep_apart, session.require(), a, b)
        await after_change(f"{a.name} and {b.name} stay two persons.")

    async def split(person: Person, which: list[str]) -> None:
        set_dialog(None)
        _, new = await session.run(split_person, session.require(), person, which)
        await after_change(f"{', '.join(new.sources)} is now a person of its own.")

    def render(found: PeopleChoices) -> ft.Control:
        blocks: list[ft.Control] = [
            muted("A record can hold more than one person: a child's records beside your own. Add a person by "
                  "connecting their portal (Sources) or importing a file for them."),
            labelled(card(ft.Column([
                muted("A file from a clinic (FHIR, C-CDA, a health card) names its patient and joins that person, or "
                      "becomes a new one. A file that names nobody, such as an Apple Health export, a PDF or a photo, "
                      "goes into the record of the person you import it for."),
                ft.Row([ImportFileButton("Import a file for a new person", "import-new", Whose(new=True))], wrap=True),
            ], spacing=8)), "import-card"),
        ]  # fmt: skip
        if not found.people:
            blocks.append(card(muted("Nobody yet: connect a portal or import a file first.", italic=True)))
        for n, pair in enumerate(found.proposals):
            text = (f"{pair.a.name} ({', '.join(pair.a.sources)}) and {pair.b.name} ({', '.join(pair.b.sources)}) have "
                    "the same name and birth date. Are they one person?")  # fmt: skip
            blocks.append(labelled(card(ft.Column([
                banner(text, "warn", identifier=f"proposal-{n}"),
                ft.Row([primary_button("Same person", session.act(lambda p=pair: merge(p.a, p.b)),
                                       f"same-person-{n}", icon=ft.Icons.MERGE),
                        secondary_button("Keep apart", session.act(lambda p=pair: apart(p.a, p.b)),
                                         f"keep-apart-{n}")], wrap=True, spacing=10),
            ], spacing=8)), f"proposal-card-{n}"))  # fmt: skip
        shown_id = state.scope.person.id if state.scope.person is not None else None
        for n, person in enumerate(found.people):
            blocks.append(_person_card(session, n, person, found, shown=person.id == shown_id,
                                       renaming=renaming == person.id, new_name=new_name,
                                       actions=_Actions(show, open_rename, rename,
                                                        lambda p: open_dialog(_Dialog("merge", p)),
                                                        lambda p: open_dialog(_Dialog("split", p)))))  # fmt: skip
        if found.unassigned:
            blocks.append(card(muted(f"{found.unassigned} items name a patient Carry cannot place; they stay in your "
                                     "record and are shown as nobody's.")))  # fmt: skip
        return page_body(*blocks)

    people_now: PeopleChoices | None = choices.data
    shown_dialog: ft.AlertDialog | None = None
    if dialog is not None and dialog.kind == "merge" and dialog.person is not None and people_now is not None:
        shown_dialog = _merge_dialog(session, dialog.person, people_now, merge, lambda: set_dialog(None))
    elif dialog is not None and dialog.kind == "split" and dialog.person is not None:
        person = dialog.person

        async def confirm_split() -> None:
            which = [str(n + 1) for n in sorted(ticked)]
            if not which:
                set_refusal("Tick the records that are somebody else; nothing was split.")
                return
            await split(person, which)

        def tick(n: int, on: bool) -> None:
            set_ticked(ticked | {n} if on else ticked - {n})

        shown_dialog = _split_dialog(session, person, ticked, refusal, tick, confirm_split, lambda: set_dialog(None))
    use_modal(shown_dialog)
    return loaded_or(choices, render)


@dataclass(frozen=True)
class _Actions:
    show: Any
    open_rename: Any
    rename: Any
    ask_merge: Any
    ask_split: Any


def _person_card(session: UiSession, n: int, person: Person, choices: PeopleChoices, *, shown: bool, renaming: bool,
                 new_name: Any, actions: _Actions) -> ft.Control:  # fmt: skip
    born = f"Born {format_date(person.birth_date)}" if person.birth_date else "Birth date not recorded"
    lines: list[ft.Control] = [
        heading(person.name, 2, identifier=f"person-name-{n}"),
        labelled(muted(f"{born} · From {', '.join(person.sources)}"), f"person-about-{n}"),
    ]
    if shown:
        lines.append(banner("On screen now", "ok", identifier=f"person-shown-{n}"))
    buttons: list[ft.Control] = []
    if not shown:
        buttons.append(primary_button("Show their record", session.act(lambda: actions.show(person)),
                                      f"show-person-{n}", icon=ft.Icons.VISIBILITY_OUTLINED))  # fmt: skip
    buttons.append(secondary_button("Rename", session.act(lambda: actions.open_rename(person)), f"rename-person-{n}",
                                    icon=ft.Icons.EDIT_OUTLINED))  # fmt: skip
    buttons.append(ImportFileButton("Import a file for them", f"import-for-{n}", Whose(person=str(person.id))))
    if len(choices.people) > 1:
        buttons.append(secondary_button("Merge…", session.act(lambda: actions.ask_merge(person)),
                                        f"merge-person-{n}", icon=ft.Icons.MERGE))  # fmt: skip
    if len(person.members) > 1:
        buttons.append(secondary_button("Split…", session.act(lambda: actions.ask_split(person)), f"split-person-{n}",
                                        icon=ft.Icons.CALL_SPLIT))  # fmt: skip
    lines.append(ft.Row(buttons, wrap=True, spacing=10, run_spacing=10))
    if renaming:
        field = ft.TextField(label="Name", value=person.name, max_length=80, dense=True, width=320,
                             on_change=new_name.typed)
        lines.append(ft.Row([
            labelled(field, f"rename-field-{n}"),
            primary_button("Save", session.act(lambda: actions.rename(person)), f"rename-save-{n}"),
        ], wrap=True, spacing=10))  # fmt: skip
    return labelled(card(ft.Column(lines, spacing=6)), f"person-{n}")


def _merge_dialog(session: UiSession, person: Person, choices: PeopleChoices, merge: Any, close: Any) -> ft.AlertDialog:
    """Which other person is the same as this one: the patient's word, asked in a dialog, never guessed."""
    others = [p for p in choices.people if p.id != person.id]
    return ft.AlertDialog(
        modal=True,
        title=ft.Text(f"Who else is {person.name}?"),
        content=ft.Column([
            muted("Their records become one person's: one summary, one timeline. Split undoes it."),
            *(labelled(ft.FilledButton(content=f"Merge with {o.name} ({', '.join(o.sources)})",
                                       on_click=session.act(lambda o=o: merge(person, o))), f"merge-with-{n}")
              for n, o in enumerate(others)),
        ], tight=True, spacing=10),
        actions=[ft.TextButton(content="Cancel", on_click=close)],
        on_dismiss=close,
    )  # fmt: skip


def _split_dialog(session: UiSession, person: Person, ticked: frozenset[int], refusal: str, tick: Any, confirm: Any,
                  close: Any) -> ft.AlertDialog:  # fmt: skip
    """Which of this person's records are somebody else: the patient ticks them (one or more, never all)."""
    boxes = [labelled(ft.Checkbox(label=_member_label(m), value=n in ticked,
                                  on_change=lambda e, n=n: tick(n, bool(e.control.value))), f"split-member-{n}")
             for n, m in enumerate(person.members)]  # fmt: skip
    return ft.AlertDialog(
        modal=True,
        title=ft.Text(f"Which records are not {person.name}?"),
        content=ft.Column([
            muted("The records you tick become a new person, kept apart from the rest: never proposed as one "
                  "again. Merge undoes it."),
            *boxes,
            # In the dialog: a notice would sit behind it. The theme's error colour, readable on the dialog, dark or light.
            labelled(ft.Text(refusal, color=ALERT_TEXT), "split-refusal"),
        ], tight=True, spacing=6, scroll=ft.ScrollMode.AUTO),
        actions=[labelled(ft.FilledButton(content="Split off", on_click=session.act(confirm)), "split-confirm"),
                 ft.TextButton(content="Cancel", on_click=close)],
        on_dismiss=close,
    )  # fmt: skip


def _member_label(member: Member) -> str:
    """One record of a person as the patient recognises it: where it comes from, and whom it names (two short
    lines: a checkbox's label does not wrap on a phone)."""
    who = member.name or "no name"
    born = f", born {format_date(member.birth_date)}" if member.birth_date else ""
    return f"{member.source}\n{who}{born}"

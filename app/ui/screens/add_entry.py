"""Add or edit an entry of the patient's own: a reading, a symptom, a diary note, a medicine, an allergy.

One form per kind; what the patient types is checked by the record (app.record.entries), which refuses a bad value
with one sentence and changes nothing. Saved entries show everywhere as "Added by you"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import ENTRY_KINDS, READING_CHOICES, current_draft, entry_text, same_as_choices, store_entry
from app.views.entries import CRITICALITIES, SEVERITIES, Allergy, Draft, Medicine, Note, Reading, Symptom

from ..widgets import card, heading, labelled, muted, primary_button
from .common import page_body

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["AddEntryView", "add_entry_button"]

_NONE = "none"


def add_entry_button(app: CarryApp, identifier: str, kind: str = "reading", label: str = "Add") -> ft.Control:
    """The entry point of the form, for a section's header: opens it on `kind`."""

    async def open_form() -> None:
        if app.shell is not None:
            await app.shell.push(AddEntryView(app, kind), "Add your own entry")

    button = ft.TextButton(content=label, icon=ft.Icons.ADD, on_click=app.act(open_form))
    return labelled(button, identifier)


class AddEntryView:
    def __init__(self, app: CarryApp, kind: str = "reading", ref: str | None = None) -> None:
        self.app = app
        self.kind = kind
        self.ref = ref  # editing this entry ("Type/id"), or adding a new one
        self.control: ft.Control | None = None
        self.stale = False
        self.fields: dict[str, ft.TextField] = {}
        self.choices: dict[str, ft.Dropdown] = {}
        self.form = ft.Column(spacing=12)
        self.draft: Draft | None = None
        self.same_as: list[tuple[str, str]] = []

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        if self.ref is not None:
            self.draft = await self.app.run(current_draft, record, self.ref)
            self.kind = {Reading: "reading", Symptom: "symptom", Note: "note", Medicine: "medicine",
                         Allergy: "allergy"}[type(self.draft)]  # fmt: skip
        await self._build_form()
        back = self.app.shell.back_button() if self.app.shell else ft.Container()
        kinds = ft.Dropdown(
            label="What you are adding",
            value=self.kind,
            options=[ft.DropdownOption(key=k, text=name) for k, name in ENTRY_KINDS],
            on_select=self.app.act(self._kind_changed),
            disabled=self.ref is not None,
            width=320,
        )
        title = "Edit your entry" if self.ref else "Add your own entry"
        return page_body(
            back,
            heading(title, 1, identifier="entry-title"),
            muted("What you add is kept in your record as yours, marked “Added by you”, and can be shared with the "
                  "rest. Editing keeps the earlier versions."),  # fmt: skip
            card(ft.Column([labelled(kinds, "entry-kind", "What you are adding"), self.form,
                            primary_button("Save", self.app.act(self._save), "save-entry", icon=ft.Icons.CHECK)],
                           spacing=14)),  # fmt: skip
        )

    async def _kind_changed(self, e: Any) -> None:
        self.kind = e.control.value or "reading"
        self.draft = None
        await self._build_form()

    async def _build_form(self) -> None:
        self.fields, self.choices = {}, {}
        d = self.draft
        if self.kind in ("symptom", "medicine", "allergy"):
            self.same_as = await self.app.run(same_as_choices, self.app.session.require(), self.app.scope, self.kind)
        controls: list[ft.Control]
        if self.kind == "reading":
            reading = d if isinstance(d, Reading) else None
            which = reading.kind if reading else "blood-pressure"
            choice = next(c for c in READING_CHOICES if c.key == which)
            controls = [
                self._choice("reading", "Reading", [(c.key, c.name) for c in READING_CHOICES], which, self._reading_changed),
                self._text("value", "Value", reading.value if reading else "", hint=choice.hint),
                self._choice("unit", "Unit", list(choice.units), (reading.unit if reading else None) or choice.units[0][0]),
                self._text("when", "When (optional)", (reading.when or "") if reading else "", hint="2026-03-14T08:30; now if empty"),
                self._text("note", "Note (optional)", reading.note if reading else ""),
            ]  # fmt: skip
        elif self.kind == "symptom":
            s = d if isinstance(d, Symptom) else None
            controls = [
                self._text("text", "Symptom", s.text if s else "", hint="in your words, e.g. headache"),
                self._text("onset", "Started on (optional)", (s.onset or "") if s else "", hint="2026-03-14; today if empty"),
                self._choice("severity", "How bad", [(_NONE, "Not said"), *((k, k.capitalize()) for k in SEVERITIES)],
                             (s.severity if s else None) or _NONE),
                self._text("ended", "Went away on (optional)", (s.ended or "") if s else ""),
                self._text("note", "Note (optional)", s.note if s else ""),
            ]  # fmt: skip
        elif self.kind == "note":
            n = d if isinstance(d, Note) else None
            controls = [self._text("text", "Note", n.text if n else "", multiline=True),
                        self._text("when", "When (optional)", (n.when or "") if n else "", hint="now if empty")]  # fmt: skip
        elif self.kind == "medicine":
            m = d if isinstance(d, Medicine) else None
            controls = [
                self._text("name", "Medicine", m.name if m else "", hint="e.g. Ibuprofen 200 mg"),
                self._text("dose", "How much and how often (optional)", m.dose if m else ""),
                self._text("since", "Started on (optional)", (m.since or "") if m else ""),
                self._text("until", "Stopped on (optional)", (m.until or "") if m else ""),
                self._text("note", "Note (optional)", m.note if m else ""),
            ]
        else:
            a = d if isinstance(d, Allergy) else None
            controls = [
                self._text("substance", "Allergic to", a.substance if a else "", hint="e.g. penicillin, peanuts"),
                self._text("reaction", "What happens (optional)", a.reaction if a else ""),
                self._choice("type", "Kind", [("allergy", "Allergy"), ("intolerance", "Intolerance")],
                             a.kind if a else "allergy"),
                self._choice("criticality", "How serious", [(_NONE, "Not said"), *((c, c.replace("-", " ").capitalize())
                             for c in CRITICALITIES)], (a.criticality if a else None) or _NONE),
                self._text("note", "Note (optional)", a.note if a else ""),
            ]  # fmt: skip
        if self.same_as and self.ref is None:
            controls.append(self._choice("same_as", "Already in your record as (optional)",
                                         [(_NONE, "Not in my record yet"), *self.same_as], _NONE))  # fmt: skip
            controls.append(muted("Say which item it is, and Carry shows them as one, from both sources.", size=13))
        self.form.controls = controls

    async def _reading_changed(self, e: Any) -> None:
        which = e.control.value or "blood-pressure"
        self.draft = Reading(which, self.fields["value"].value or "")
        await self._build_form()

    def _text(self, name: str, label: str, value: str, *, hint: str = "", multiline: bool = False) -> ft.Control:
        field = ft.TextField(label=label, value=value, hint_text=hint or None, multiline=multiline,
                             min_lines=3 if multiline else None, border_radius=10)  # fmt: skip
        self.fields[name] = field
        return labelled(field, f"entry-{name}")

    def _choice(self, name: str, label: str, options: list[tuple[str, str]], value: str, changed: Any = None) -> ft.Control:
        dropdown = ft.Dropdown(label=label, value=value, options=[ft.DropdownOption(key=k, text=t) for k, t in options],
                               on_select=self.app.act(changed) if changed else None, width=360)  # fmt: skip
        self.choices[name] = dropdown
        return labelled(dropdown, f"entry-{name}", label)

    def _value(self, name: str) -> str:
        field = self.fields.get(name)
        return (field.value or "").strip() if field is not None else ""

    def _picked(self, name: str) -> str | None:
        dropdown = self.choices.get(name)
        value = dropdown.value if dropdown is not None else None
        return None if value in (None, "", _NONE) else str(value)

    def _draft(self) -> Draft:
        v, picked = self._value, self._picked
        if self.kind == "reading":
            return Reading(picked("reading") or "blood-pressure", v("value"), picked("unit"), v("when") or None, v("note"))
        if self.kind == "symptom":
            return Symptom(v("text"), v("onset") or None, picked("severity"), v("ended") or None, v("note"),
                           picked("same_as"))  # fmt: skip
        if self.kind == "note":
            return Note(v("text"), v("when") or None)
        if self.kind == "medicine":
            return Medicine(v("name"), v("dose"), v("since") or None, v("until") or None, v("note"), picked("same_as"))
        return Allergy(v("substance"), v("reaction"), picked("type") or "allergy", picked("criticality"), v("note"),
                       picked("same_as"))  # fmt: skip

    async def _save(self) -> None:
        from app.views import people

        record = self.app.session.require()
        draft = self._draft()
        await self.app.run(store_entry, record, self.app.scope, draft, self.ref)
        # The first entry gives the person a Patient in "Your own entries": the person on screen must know it.
        self.app.people = tuple(await self.app.run(people, record))
        self.app.rescope()
        self.app.notify(f"Saved: {entry_text(draft)}. It shows as “Added by you”.", "ok")
        if self.app.shell is not None:
            for _, view in self.app.shell.back_stack:
                view.stale = True  # what they show changed: they load afresh when Back returns to them
            await self.app.shell.back()

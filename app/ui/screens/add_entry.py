"""Add or edit an entry of the patient's own: a reading, a symptom, a diary note, a medicine, an allergy.

    /add                 the form, on a reading
    /add/<kind>          the form on that kind (reading, symptom, note, medicine, allergy) or on that reading
                         (blood-pressure, glucose, weight, …: the keys of app.views.READING_CHOICES)
    /edit/<type>/<id>    the next version of one of the patient's own entries
    /entries/deleted     the entries the patient deleted, with their history and Restore

One form per kind; what the patient types is checked by the record (app.record.entries), which refuses a bad value
with one sentence, said beside Save, and changes nothing. Saved entries show everywhere as "Added by you"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote

import flet as ft

from app.views import (
    ENTRY_KINDS,
    READING_CHOICES,
    DeletedEntry,
    current_draft,
    deleted_entries,
    entry_text,
    restore_entry,
    same_as_choices,
    store_entry,
)
from app.views.entries import CRITICALITIES, SEVERITIES, Allergy, Draft, Medicine, Note, Reading, Symptom

from ..hooks import component, use_app_state, use_load, use_session, use_title, use_value
from ..theme import INK
from ..widgets import banner, card, empty, heading, labelled, muted, primary_button, secondary_button
from .common import BackButton, loaded_or, page_body

__all__ = ["AddEntry", "DeletedEntries", "draft_from", "fields_of", "form_for"]

_NONE = "none"  # a choice left unsaid ("Not said", "Not in my record yet")
_KINDS = {key for key, _ in ENTRY_KINDS}
_READINGS = {choice.key: choice for choice in READING_CHOICES}
_FIRST_READING = READING_CHOICES[0].key
_FIELD_WIDTH = 320  # every field and choice of the form lines up, and fits a 390 px phone inside its card

Fields = dict[str, str]  # what the form holds, by field name: text as typed, a choice by its key


def form_for(asked: str) -> tuple[str, Fields, str]:
    """The kind of form, its first values and, for a kind Carry has no form for, the sentence that says so, for
    the path's `/add/<asked>`: a kind of entry, or a reading (blood-pressure) on the reading form."""
    if not asked or asked in _KINDS:
        return asked or "reading", {}, ""
    if asked in _READINGS:
        return "reading", {"reading": asked}, ""
    return "reading", {}, f"Carry has no form for “{asked}”. Choose what you are adding below."


def fields_of(draft: Draft) -> tuple[str, Fields]:
    """The kind and the form's values of an entry's latest version (editing it)."""
    if isinstance(draft, Reading):
        return "reading", {"reading": draft.kind, "value": draft.value, "unit": draft.unit or "",
                           "when": draft.when or "", "note": draft.note}  # fmt: skip
    if isinstance(draft, Symptom):
        return "symptom", {"text": draft.text, "onset": draft.onset or "", "severity": draft.severity or _NONE,
                           "ended": draft.ended or "", "note": draft.note}  # fmt: skip
    if isinstance(draft, Note):
        return "note", {"text": draft.text, "when": draft.when or ""}
    if isinstance(draft, Medicine):
        return "medicine", {"name": draft.name, "dose": draft.dose, "since": draft.since or "",
                            "until": draft.until or "", "note": draft.note}  # fmt: skip
    return "allergy", {"substance": draft.substance, "reaction": draft.reaction, "type": draft.kind,
                       "criticality": draft.criticality or _NONE, "note": draft.note}  # fmt: skip


def draft_from(kind: str, fields: Fields) -> Draft:
    """What the form holds, as the record's draft of that kind (the record checks the values)."""

    def v(name: str) -> str:
        return fields.get(name, "").strip()

    def picked(name: str) -> str | None:
        value = fields.get(name, "")
        return None if value in ("", _NONE) else value

    if kind == "reading":
        return Reading(picked("reading") or _FIRST_READING, v("value"), picked("unit"), v("when") or None, v("note"))
    if kind == "symptom":
        return Symptom(v("text"), v("onset") or None, picked("severity"), v("ended") or None, v("note"),
                       picked("same_as"))  # fmt: skip
    if kind == "note":
        return Note(v("text"), v("when") or None)
    if kind == "medicine":
        return Medicine(v("name"), v("dose"), v("since") or None, v("until") or None, v("note"), picked("same_as"))
    return Allergy(v("substance"), v("reaction"), picked("type") or "allergy", picked("criticality"), v("note"),
                   picked("same_as"))  # fmt: skip


@component
def AddEntry() -> ft.Control:
    """The route's screen: a new entry (of the kind the path names), or the next version of an entry."""
    session = use_session()
    params = ft.use_route_params()
    ref = f"{unquote(params['type'])}/{unquote(params['id'])}" if params.get("type") and params.get("id") else None
    asked = unquote(params.get("kind") or "")
    use_title("Edit your entry" if ref else "Add your own entry")
    loaded = use_load(lambda: current_draft(session.require(), ref) if ref else None, [ref])
    if ref is None:
        kind, fields, notice = form_for(asked)
        return _keyed(f"add/{asked}", kind, fields, None, notice)

    def render(draft: Draft) -> ft.Control:
        kind, fields = fields_of(draft)
        return _keyed(f"edit/{ref}", kind, fields, ref, "")

    return loaded_or(loaded, render)


def _keyed(key: str, *args: Any) -> ft.Control:
    """The form under a key: another path (Back from /add/symptom to /add/reading) gets a fresh form."""
    form: Any = EntryForm  # Flet's component wrapper takes `key`, which the function's signature does not show
    return cast(ft.Control, form(*args, key=key))


@component
def EntryForm(first_kind: str, first_fields: Fields, ref: str | None, notice: str) -> ft.Control:
    session = use_session()
    state = use_app_state()
    kind, set_kind = ft.use_state(first_kind)
    values = use_value(dict(first_fields))
    reading, set_reading = ft.use_state(first_fields.get("reading") or _FIRST_READING)
    error, set_error = ft.use_state("")
    busy, set_busy = ft.use_state(False)
    scope = state.scope
    # The items of the record an entry may be "the same as" (only when adding: an edit keeps what it was).
    same_as = use_load(lambda: same_as_choices(session.require(), scope, kind) if ref is None else [], [scope, kind, ref])

    def kind_changed(e: Any) -> None:
        values.current = {}
        set_error("")
        set_reading(_FIRST_READING)
        set_kind(str(e.control.value or "reading"))

    def reading_changed(value: str) -> None:
        values.current.pop("unit", None)  # the new reading's own units; what was typed as the value stays
        set_reading(value or _FIRST_READING)

    def text(name: str, label: str, *, hint: str = "", multiline: bool = False) -> ft.Control:
        def changed(e: ft.Event[ft.TextField]) -> None:
            values.current[name] = e.control.value or ""

        # Keyed by kind: another kind's form gets fresh fields, never the text typed into the last one's.
        field = ft.TextField(label=label, value=values.current.get(name, ""), hint_text=hint or None,
                             multiline=multiline, min_lines=3 if multiline else None, border_radius=10,
                             width=_FIELD_WIDTH, on_change=changed, key=f"{kind}-{name}")  # fmt: skip
        return labelled(field, f"entry-{name}")

    def choice(name: str, label: str, options: list[tuple[str, str]], default: str,
               then: Callable[[str], None] | None = None) -> ft.Control:  # fmt: skip
        def picked(e: Any) -> None:
            values.current[name] = str(e.control.value or "")
            if then is not None:
                then(values.current[name])

        keys = [k for k, _ in options]
        current = values.current.get(name) or default
        values.current[name] = current if current in keys else default
        dropdown = ft.Dropdown(label=label, value=values.current[name], width=_FIELD_WIDTH, key=f"{kind}-{name}",
                               options=[ft.DropdownOption(key=k, text=t) for k, t in options],
                               on_select=session.act(picked))  # fmt: skip
        # Its name says what is chosen too: a screen reader hears "Reading: Blood pressure", not just "Reading".
        return labelled(dropdown, f"entry-{name}", f"{label}: {dict(options)[values.current[name]]}")

    controls: list[ft.Control]
    if kind == "reading":
        which = _READINGS.get(reading, READING_CHOICES[0])
        controls = [
            choice("reading", "Reading", [(c.key, c.name) for c in READING_CHOICES], which.key, reading_changed),
            text("value", "Value", hint=which.hint),
            choice("unit", "Unit", list(which.units), which.units[0][0]),
            text("when", "When (optional)", hint="2026-03-14T08:30; now if empty"),
            text("note", "Note (optional)"),
        ]
    elif kind == "symptom":
        controls = [
            text("text", "Symptom", hint="in your words, e.g. headache"),
            text("onset", "Started on (optional)", hint="2026-03-14; today if empty"),
            choice("severity", "How bad", [(_NONE, "Not said"), *((k, k.capitalize()) for k in SEVERITIES)], _NONE),
            text("ended", "Went away on (optional)"),
            text("note", "Note (optional)"),
        ]
    elif kind == "note":
        controls = [text("text", "Note", multiline=True), text("when", "When (optional)", hint="now if empty")]
    elif kind == "medicine":
        controls = [
            text("name", "Medicine", hint="e.g. Ibuprofen 200 mg"),
            text("dose", "How much and how often (optional)"),
            text("since", "Started on (optional)"),
            text("until", "Stopped on (optional)"),
            text("note", "Note (optional)"),
        ]
    else:
        controls = [
            text("substance", "Allergic to", hint="e.g. penicillin, peanuts"),
            text("reaction", "What happens (optional)"),
            choice("type", "Kind", [("allergy", "Allergy"), ("intolerance", "Intolerance")], "allergy"),
            choice("criticality", "How serious", [(_NONE, "Not said"), *((c, c.replace("-", " ").capitalize())
                   for c in CRITICALITIES)], _NONE),  # fmt: skip
            text("note", "Note (optional)"),
        ]
    others: list[tuple[str, str]] = same_as.data or []
    if others and ref is None:
        controls.append(choice("same_as", "Already in your record as (optional)",
                               [(_NONE, "Not in my record yet"), *others], _NONE))  # fmt: skip
        controls.append(muted("Say which item it is, and Carry shows them as one, from both sources.", size=13))

    async def save() -> None:
        if busy:
            return
        draft = draft_from(kind, values.current)
        set_busy(True)
        set_error("")
        try:
            await session.run(store_entry, session.require(), session.state.scope, draft, ref)
        except Exception as exc:  # noqa: BLE001 - a refused value is said beside Save; nothing was saved
            set_error(session.message_for(exc))
            set_busy(False)
            return
        # The first entry gives the person a Patient in "Your own entries": who is in the record is read again,
        # and every screen that shows the entry loads afresh.
        await session.record_changed()
        session.notify(f"Saved: {entry_text(draft)}. It shows as “Added by you”.", "ok")
        session.back()

    kind_names = dict(ENTRY_KINDS)
    kinds = ft.Dropdown(
        label="What you are adding",
        value=kind,
        options=[ft.DropdownOption(key=k, text=name) for k, name in ENTRY_KINDS],
        on_select=session.act(kind_changed),
        disabled=ref is not None,
        width=_FIELD_WIDTH,
    )
    title = "Edit your entry" if ref else "Add your own entry"
    return page_body(
        BackButton(),
        heading(title, 1, identifier="entry-title"),
        banner(notice, "warn", identifier="entry-notice") if notice else None,
        muted("What you add is kept in your record as yours, marked “Added by you”, and can be shared with the "
              "rest. Editing keeps the earlier versions."),  # fmt: skip
        card(ft.Column([
            labelled(kinds, "entry-kind", f"What you are adding: {kind_names.get(kind, kind)}"),
            ft.Column(controls, spacing=12),
            *([banner(error, "alert", identifier="entry-error")] if error else []),
            primary_button("Save", session.act(save), "save-entry", icon=ft.Icons.CHECK, disabled=busy),
        ], spacing=14)),  # fmt: skip
    )


@component
def DeletedEntries() -> ft.Control:
    """The entries the person on screen deleted, the latest first: what each was, when it was deleted, every version
    (folded), and Restore, which brings it back as it was with its history kept."""
    session = use_session()
    state = use_app_state()
    use_title("Deleted entries")
    scope = state.scope
    found = use_load(lambda: deleted_entries(session.require(), scope), [scope])

    async def restore(entry: DeletedEntry) -> None:
        await session.run(restore_entry, session.require(), entry.ref)
        await session.record_changed()
        session.notify(f"Restored your entry: {entry.text}", "ok")

    def render(entries: list[DeletedEntry]) -> ft.Control:
        rows: list[ft.Control] = []
        for n, entry in enumerate(entries):
            history: list[ft.Control] = [ft.Column([ft.Text(f"{line.label} · {line.saved}", size=13, color=INK),
                                  muted(line.text, size=13)], spacing=0) for line in entry.versions]  # fmt: skip
            rows.append(labelled(card(ft.Column([
                ft.Text(entry.text, size=15, color=INK, weight=ft.FontWeight.W_500),
                muted(" · ".join(p for p in (entry.kind, entry.date, f"Deleted {entry.deleted}") if p), size=13),
                ft.ExpansionTile(title=ft.Text(f"History ({len(entry.versions)} versions)", size=14), controls=history,
                                 dense=True, maintain_state=False),
                secondary_button("Restore", session.act(lambda e=entry: restore(e)), f"restore-entry-{n}",
                                 icon=ft.Icons.RESTORE),
            ], spacing=6)), f"deleted-entry-{n}"))  # fmt: skip
        return page_body(
            BackButton("/sources"),
            muted("Entries you deleted stay here with every version, so nothing you wrote is lost; Restore brings "
                  "one back as it was."),
            *(rows or [empty("You have not deleted any of your entries.")]),
        )

    return loaded_or(found, render)

"""One item in full: a readable version, the FHIR JSON exactly as stored, and where it came from.

An item is one resource of one source; the fact it belongs to (app.record.facts) lists every source that states
the same thing ("Also from"), which copy is newest, and facts that may be the same thing. The patient's answers
("Same thing", "Not the same", "Undo my choices") go through the facts API, which keeps them in the record.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from app.record import (
    Fact,
    FactNotFound,
    Record,
    add_note,
    confirm,
    decisions,
    delete_note,
    edit_note,
    note_history,
    notes_for,
    reset,
    split,
)
from app.record.entries import ADDED_BY_YOU, is_own
from app.record.view_queries import provenance_of

from .entries import entry_versions
from .merged import cached_facts
from .short_names import RESULT_TYPES, short_test_name

from .format import (
    code_word,
    format_date,
    format_number,
    format_timestamp,
    format_value,
    kind_name,
    source_label,
    tidy_name,
)

__all__ = [
    "Copy", "Detail", "FactInfo", "ItemNote", "Suggestion", "add_correction", "change_correction", "detail", "fact_info",
    "forget_choices", "item_notes", "not_the_same", "readable_fields", "remove_correction", "same_thing",
]  # fmt: skip

_SKIP = {"resourceType", "id", "meta", "text", "contained", "extension", "modifierExtension", "identifier",
         "implicitRules", "language"}  # fmt: skip
_MAX_LIST = 12
_MAX_TEXT = 600
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$")
# The fields a reader looks for first, per type; the rest follow in the order the resource has them.
_FIRST = {
    "Observation": ("code", "valueQuantity", "valueCodeableConcept", "valueString", "component", "effectiveDateTime",
                    "status", "category", "interpretation", "referenceRange"),
    "Condition": ("code", "clinicalStatus", "verificationStatus", "onsetDateTime", "abatementDateTime", "recordedDate"),
    "MedicationRequest": ("medicationCodeableConcept", "medicationReference", "status", "intent", "dosageInstruction",
                          "authoredOn", "requester"),
    "AllergyIntolerance": ("code", "clinicalStatus", "criticality", "reaction", "category", "onsetDateTime"),
    "Immunization": ("vaccineCode", "occurrenceDateTime", "status", "location", "performer"),
    "Encounter": ("type", "period", "class", "serviceProvider", "participant", "location", "reasonCode"),
    "Patient": ("name", "birthDate", "gender", "address", "telecom"),
}  # fmt: skip


@dataclass(frozen=True)
class Copy:
    """One source's copy of the fact."""

    source: str
    resource_type: str
    id: str
    source_id: int
    last_seen: str  # formatted
    newest: bool  # the copy Carry received most recently in a changed form: it speaks for the fact
    shown: bool  # the copy this page shows


@dataclass(frozen=True)
class Suggestion:
    """Another fact that may be the same thing, and why Carry thinks so."""

    fact_id: str
    title: str
    date: str
    reason: str
    resource_type: str
    id: str
    source_id: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class FactInfo:
    fact_id: str
    confidence: str  # "single" | "same" | "confirmed"
    reasons: tuple[str, ...]
    copies: tuple[Copy, ...]
    suggestions: tuple[Suggestion, ...]
    decided: bool  # the patient confirmed or split something here: "Undo my choices" applies

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.source for c in self.copies))


@dataclass(frozen=True)
class ItemNote:
    """The patient's note on the item, as its page shows it."""

    id: int
    text: str
    written: str  # formatted
    source: str  # the source of the copy it is on
    this_copy: bool  # on the copy this page shows (else on another source's copy of the same fact)
    changed: bool  # it has earlier versions
    portal: bool  # that copy came from a portal: the note may be sent to it


@dataclass(frozen=True)
class Detail:
    resource_type: str
    id: str
    kind: str
    title: str
    date: str
    fields: tuple[tuple[str, str], ...]
    raw_json: str
    source: str
    provenance: tuple[tuple[str, str], ...]
    valid: bool
    invalid_reason: str | None
    fact: FactInfo | None = None
    own: bool = False  # the patient added it: "Added by you", editable, with its history
    history: tuple[tuple[str, str], ...] = ()  # ("Version 1, added", "28 Mar 2021, 04:59: Blood pressure 120/80")
    notes: tuple[ItemNote, ...] = ()
    from_portal: bool = False  # the item's source is a portal: a note on it may be sent there


def _label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", key).lower()
    for prefix in ("value ", "effective ", "onset ", "occurrence ", "performed ", "abatement ", "medication ",
                   "deceased ", "multiple birth "):  # fmt: skip
        if words.startswith(prefix) and words[len(prefix):] in ("date time", "period", "quantity", "string",
                                                                  "codeable concept", "boolean", "integer",
                                                                  "reference"):  # fmt: skip
            return prefix.strip().capitalize()
    return words[:1].upper() + words[1:]


# Names a patient uses for FHIR elements whose own names say nothing to them.
_LABELS = {
    "authoredOn": "Written",
    "requester": "Ordered by",
    "recorder": "Recorded by",
    "asserter": "Stated by",
    "performer": "By",
    "serviceProvider": "Where",
    "dosageInstruction": "How to take it",
    "reasonCode": "Reason",
    "reasonReference": "Reason",
    "vaccineCode": "Vaccine",
    "clinicalStatus": "Status",
    "verificationStatus": "Diagnosis",
    "recordedDate": "Recorded",
    "issued": "Reported",
    "encounter": "Visit",
    "context": "Visit",
    "custodian": "Kept by",
    "author": "Written by",
    "code": "Name",
    "class": "Kind of visit",
    "participant": "With",
    "content": "Document",
    "criticality": "Risk",
    "telecom": "Phone or email",
    "maritalStatus": "Marital status",
}
_CONTACT_SYSTEMS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
# Elements that are FHIR bookkeeping, not part of what happened: left out of the readable view (they stay in
# "Exactly as received").
_BOOKKEEPING = {"intent", "subject", "patient", "beneficiary", "insurer", "provider", "priority", "use",
                "created", "insurance", "docStatus", "securityLabel", "masterIdentifier"}  # fmt: skip

Names = Callable[[str], "str | None"]


def _no_names(reference: str) -> str | None:
    return None


def _text(value: Any, names: Names, depth: int = 0, element: str | None = None) -> str:
    """`element`: the FHIR element the value is of (a status's code is said in words)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float, Decimal)):
        return str(value) if isinstance(value, int) else format_number(float(value))
    if isinstance(value, str):
        if _DATE.match(value):
            return format_date(value)
        return code_word(value, element)  # a code ('active', 'complete') in words; other text stays as it is
    if isinstance(value, list):
        shown = list(dict.fromkeys(t for t in (_text(v, names, depth, element) for v in value[:_MAX_LIST]) if t))
        more = f" (and {len(value) - _MAX_LIST} more)" if len(value) > _MAX_LIST else ""
        return "; ".join(shown) + more
    if isinstance(value, dict):
        return _dict_text(value, names, depth, element)
    return str(value)


def _coding_text(coding: dict[str, Any], element: str | None = None) -> str:
    """A coding by its display, or its code in words ('confirmed' -> 'Confirmed', never the bare code)."""
    display = coding.get("display")
    text = display.strip() if isinstance(display, str) and display.strip() else str(coding.get("code") or "")
    return code_word(tidy_name(text), element) if text else ""


def _reference_text(value: dict[str, Any], names: Names) -> str:
    """A reference by the name of what it points to, never by its address ('Practitioner/9633…')."""
    if isinstance(value.get("display"), str) and value["display"].strip():
        return tidy_name(value["display"])
    reference = value.get("reference")
    if isinstance(reference, str):
        named = names(reference)
        if named:
            return code_word(tidy_name(named))  # a claim named only by its type's code ('institutional')
        target = value.get("type") or reference.split("/", 1)[0].split("?", 1)[0]
        if re.fullmatch(r"[A-Z][A-Za-z]+", str(target)):
            return kind_name(str(target))
    return ""


def _attachment_text(value: dict[str, Any]) -> str:
    """An attachment described, never its bytes (base64 'data' means nothing to a reader)."""
    kind = str(value.get("contentType") or "").split(";")[0]
    words = {"text/plain": "a text", "text/html": "a web page", "application/pdf": "a PDF"}.get(
        kind, "an image" if kind.startswith("image/") else "a file"
    )
    title = value.get("title")
    shown = f"{title} ({words[2:] if words.startswith('a ') else words[3:]})" if isinstance(title, str) else \
        f"Attached: {words}"
    size = value.get("size")
    return shown + (f", {int(size) // 1024 or 1} KB" if isinstance(size, int) and size > 0 else "")


def _dict_text(value: dict[str, Any], names: Names, depth: int, element: str | None = None) -> str:
    if "coding" in value or ("text" in value and len(value) <= 2):  # CodeableConcept
        if isinstance(value.get("text"), str):
            return code_word(tidy_name(value["text"]), element)  # Synthea's marital status text is 'M'
        codings = [c for c in value.get("coding", []) if isinstance(c, dict)]
        return "; ".join(dict.fromkeys(_coding_text(c, element) for c in codings))
    if "reference" in value:  # Reference
        return _reference_text(value, names)
    if "contentType" in value or "data" in value:  # Attachment
        return _attachment_text(value)
    if "value" in value and value.get("system") in _CONTACT_SYSTEMS:  # ContactPoint: the number or address itself
        return str(value["value"])
    coding = "display" in value or isinstance(value.get("code"), str)  # (a CarePlan activity's `code` is a concept)
    if coding and "value" not in value and len(value) <= 4:  # Coding
        return _coding_text(value, element)
    if "value" in value and ("unit" in value or "code" in value or "system" in value or "currency" in value):
        number = value.get("value")  # a Quantity, or Money
        if isinstance(number, (int, float, Decimal)) and not isinstance(number, bool) and "currency" in value:
            return f"{float(number):,.2f} {value['currency']}"
        if isinstance(number, (int, float, Decimal)) and not isinstance(number, bool):
            return format_value(float(number), value.get("unit") or value.get("code") or value.get("currency"))
    if set(value) <= {"start", "end"}:  # Period
        start, end = format_date(value.get("start")), format_date(value.get("end"))
        return start if start == end or not end else f"{start} – {end}" if start else f"until {end}"
    if "family" in value or "given" in value:  # HumanName
        given = " ".join(value.get("given", []) or [])
        return " ".join(p for p in (value.get("prefix", [""]) or [""])[:1] + [given, value.get("family", "")] if p)
    if "line" in value or "city" in value:  # Address
        return ", ".join(str(p) for p in (*(value.get("line") or []), value.get("city"), value.get("state"),
                                           value.get("postalCode"), value.get("country")) if p)  # fmt: skip
    if depth >= 2:
        return ""
    if "attachment" in value and isinstance(value["attachment"], dict):  # a document's content: the attachment
        return _attachment_text(value["attachment"])
    parts = []
    for key, inner in value.items():
        if key in _SKIP or key in _BOOKKEEPING or key in ("system", "use", "format"):
            continue
        shown = _text(inner, names, depth + 1, key)
        if shown:
            parts.append(f"{_label(key)}: {shown}")
    return ", ".join(parts)


def readable_fields(resource: dict[str, Any], names: Names = _no_names) -> list[tuple[str, str]]:
    """The resource as label/text pairs a patient can read: references by name (`names` looks a reference up in
    the record), no FHIR element names, no codes-only bookkeeping, no attachment bytes."""
    rtype = str(resource.get("resourceType", ""))
    first = [k for k in _FIRST.get(rtype, ()) if k in resource]
    keys = first + [k for k in resource if k not in first]
    out = []
    for key in keys:
        if key in _SKIP or key in _BOOKKEEPING:
            continue
        shown = _text(resource[key], names, element=key)
        if shown:
            out.append((_label(key), shown[:_MAX_TEXT] + ("…" if len(shown) > _MAX_TEXT else "")))
    return out


def _names_in(record: Record, source_id: int) -> Names:
    """Look a relative reference ('Practitioner/9633') up among the same source's resources, by its name."""

    def name_of(reference: str) -> str | None:
        parts = reference.split("/")
        if len(parts) != 2 or not parts[0].isalpha():
            return None
        found = record.get(parts[0], parts[1], source_id)
        if found is None:
            return None
        display = found.row.display
        if parts[0] == "Encounter":
            return f"Visit on {format_date(found.row.date)}" if found.row.date else "Visit"
        return display or None

    return name_of


def _provenance(record: Record, rtype: str, rid: str, source_id: int) -> list[tuple[str, str]]:
    target = f"{rtype}/{rid}"
    out = []
    names = _names_in(record, source_id)
    for raw in provenance_of(record, source_id, target, limit=5):
        prov = json.loads(raw)
        agents = dict.fromkeys(
            _text(agent.get("who"), names)
            + (f" for {_text(agent.get('onBehalfOf'), names)}" if agent.get("onBehalfOf") else "")
            for agent in prov.get("agent", []) or []
            if isinstance(agent, dict)
        )
        who = "; ".join(a for a in agents if a)
        out.append(("Recorded", " by ".join(p for p in (format_timestamp(prov.get("recorded")), who) if p)))
    return out


def detail(record: Record, resource_type: str, resource_id: str, source_id: int | None = None) -> Detail | None:
    stored = record.get(resource_type, resource_id, source_id)
    if stored is None:
        return None
    resource = stored.json()
    row = stored.row
    raw_pretty = json.dumps(json.loads(stored.raw), indent=2, ensure_ascii=False)
    sources = {s.id: s for s in record.sources()}
    source = sources.get(row.source_id)
    own = is_own(row.source) and source is not None and source.kind == "file"
    provenance = [
        ("Source", (f"{ADDED_BY_YOU} (kept among {row.source.lower()})" if own else row.source)
         + (f" ({source.base_url})" if source and source.base_url else "")),
        ("Came in with", stored.run_origin or "unknown"),
        ("First seen", format_timestamp(row.first_seen)),
        ("Last checked", format_timestamp(row.last_seen)),
        ("Validation", "Not checked yet (it is checked in the background after a sync)" if not row.checked
         else "Passed FHIR R4 validation" if row.valid else f"Did not pass validation: {row.invalid_reason}"),
    ]
    provenance += _provenance(record, resource_type, resource_id, row.source_id)
    # A result or a panel is titled by its short name ("Hemoglobin A1c"); the source's full name is its "Name". A
    # document by its own title (its description: what the patient called a file they brought in), as the list of
    # documents names it, and by its type when it has none.
    title = (
        short_test_name(row.code, row.display.split(":")[0]) if resource_type in RESULT_TYPES
        else tidy_name(row.display) if resource_type == "DocumentReference"
        else tidy_name(row.code_display or row.display)
    )  # fmt: skip
    fact = fact_info(record, resource_type, resource_id, row.source_id)
    return Detail(
        resource_type=resource_type,
        id=resource_id,
        kind=kind_name(resource_type, row.category, code=row.code, own=own),
        title=title,
        date=format_date(row.date),
        fields=tuple(readable_fields(resource, _names_in(record, row.source_id))),
        raw_json=raw_pretty,
        source=row.source,
        provenance=tuple(provenance),
        valid=row.valid,
        invalid_reason=row.invalid_reason,
        fact=fact,
        own=own,
        history=tuple(_history(record, resource_type, resource_id)) if own else (),
        notes=item_notes(record, resource_type, resource_id, row.source_id, fact),
        from_portal=source is not None and source.kind == "portal",
    )


def _history(record: Record, resource_type: str, resource_id: str) -> list[tuple[str, str]]:
    """Every version of one of the patient's own entries, newest first, as label and text."""
    return [(v.label, f"{v.saved}: {v.text}") for v in entry_versions(record, f"{resource_type}/{resource_id}")]


# --- the patient's corrections and context -------------------------------------------------------------------------


def item_notes(
    record: Record, resource_type: str, resource_id: str, source_id: int, fact: FactInfo | None = None
) -> tuple[ItemNote, ...]:
    """The patient's current notes on this item: on the copy shown first, then on other sources' copies of it."""
    kinds = {s.id: s.kind for s in record.sources()}
    copies = [(resource_type, resource_id, source_id, True)] + [
        (c.resource_type, c.id, c.source_id, False) for c in (fact.copies if fact else ()) if not c.shown
    ]
    out = []
    for rtype, rid, sid, shown in copies:
        for note in notes_for(record, rtype, rid, sid):
            out.append(ItemNote(note.id, note.text, format_timestamp(note.created_at), note.source or "",
                                shown, len(note_history(record, note.id)) > 1, kinds.get(sid) == "portal"))  # fmt: skip
    return tuple(out)


def add_correction(record: Record, resource_type: str, resource_id: str, source_id: int, text: str) -> None:
    """The patient says this item is wrong or incomplete, in their words; the source's copy stays as it is."""
    add_note(record, resource_type, resource_id, source_id, text)


def change_correction(record: Record, note_id: int, text: str) -> None:
    """A new version of the note; the old one stays in the record's history."""
    edit_note(record, note_id, text)


def remove_correction(record: Record, note_id: int) -> None:
    """The note is no longer shown or shared; its history stays in the record."""
    delete_note(record, note_id)


# --- one record across providers ------------------------------------------------------------------------------------


def _fact_of(record: Record, resource_type: str, resource_id: str, source_id: int) -> tuple[Fact | None, list[Fact]]:
    pool = cached_facts(record, resource_type)
    for fact in pool:
        for member in fact.members:
            if member.id == resource_id and member.source_id == source_id:
                return fact, pool
    return None, pool


def fact_info(record: Record, resource_type: str, resource_id: str, source_id: int) -> FactInfo | None:
    """The fact this resource belongs to: every copy, the newest, and what may be the same thing."""
    fact, pool = _fact_of(record, resource_type, resource_id, source_id)
    if fact is None:
        return None
    copies = tuple(
        Copy(source_label(m.source), m.resource_type, m.id, m.source_id, format_timestamp(m.last_seen), m.newest,
             m.id == resource_id and m.source_id == source_id)  # fmt: skip
        for m in sorted(fact.members, key=lambda m: not m.newest)
    )
    suggestions = []
    if fact.possible_matches:
        by_id = {f.fact_id: f for f in pool}
        for match in fact.possible_matches:
            other = by_id.get(match.fact_id)
            if other is None:
                continue
            shown = other.newest
            suggestions.append(
                Suggestion(match.fact_id, tidy_name(match.display), format_date(match.date), match.reason,
                           shown.resource_type, shown.id, shown.source_id,
                           tuple(source_label(name) for name in other.sources))  # fmt: skip
            )
    keys = {m.key for m in fact.members}
    decided = any(d.a in keys or d.b in keys for d in decisions(record))
    return FactInfo(fact.fact_id, fact.confidence, fact.reasons, copies, tuple(suggestions), decided)


def _require(record: Record, resource_type: str, fact_id: str) -> Fact:
    for fact in cached_facts(record, resource_type):
        if fact.fact_id == fact_id:
            return fact
    raise FactNotFound("This item changed since the page was shown; Carry has reloaded it, please try again.")


def same_thing(record: Record, resource_type: str, fact_id: str, other_fact_id: str) -> FactInfo | None:
    """The patient says the suggested fact is the same thing as this one: merge them, for good."""
    merged = confirm(record, _require(record, resource_type, fact_id), _require(record, resource_type, other_fact_id))
    shown = merged.newest
    return fact_info(record, resource_type, shown.id, shown.source_id)


def not_the_same(record: Record, resource_type: str, fact_id: str, copy: Copy | None = None) -> None:
    """The patient says these copies are different things: all of them (`copy` None) or this one from the rest."""
    fact = _require(record, resource_type, fact_id)
    if copy is None:
        split(record, fact)
        return
    member = next((m for m in fact.members if m.id == copy.id and m.source_id == copy.source_id), None)
    if member is None:
        raise FactNotFound("That copy is no longer part of this item; Carry has reloaded it.")
    split(record, fact, [member])


def forget_choices(record: Record, resource_type: str, fact_id: str) -> None:
    """Forget what the patient decided about this fact's copies: Carry groups them on its own again."""
    reset(record, _require(record, resource_type, fact_id))

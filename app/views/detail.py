"""One item in full: a readable version, the FHIR JSON exactly as stored, and where it came from.

An item is one resource of one source; the fact it belongs to (app.record.facts) lists every source that states
the same thing ("Also from"), which copy is newest, and facts that may be the same thing. The patient's answers
("Same thing", "Not the same", "Undo my choices") go through the facts API, which keeps them in the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.record import Fact, FactNotFound, Record, confirm, decisions, reset, split

from .merged import cached_facts

from .format import format_date, format_timestamp, format_value, kind_name, tidy_name

__all__ = [
    "Copy", "Detail", "FactInfo", "Suggestion", "detail", "fact_info", "forget_choices", "not_the_same", "readable_fields",
    "same_thing",
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


def _label(key: str) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", key).lower()
    for prefix in ("value ", "effective ", "onset ", "occurrence ", "performed ", "abatement "):
        if words.startswith(prefix) and words.split(" ", 1)[1] in ("date time", "period", "quantity", "string",
                                                                  "codeable concept", "boolean", "integer"):
            return prefix.strip().capitalize()
    return words[:1].upper() + words[1:]


def _text(value: Any, depth: int = 0) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return format_value(float(value), None) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return format_date(value) if _DATE.match(value) else value
    if isinstance(value, list):
        shown = [t for t in (_text(v, depth) for v in value[:_MAX_LIST]) if t]
        more = f" (and {len(value) - _MAX_LIST} more)" if len(value) > _MAX_LIST else ""
        return "; ".join(shown) + more
    if isinstance(value, dict):
        return _dict_text(value, depth)
    return str(value)


def _dict_text(value: dict[str, Any], depth: int) -> str:
    if "coding" in value or ("text" in value and len(value) <= 2):  # CodeableConcept
        if isinstance(value.get("text"), str):
            return tidy_name(value["text"])
        codings = [c for c in value.get("coding", []) if isinstance(c, dict)]
        return "; ".join(tidy_name(str(c.get("display") or c.get("code") or "")) for c in codings)
    if "reference" in value or ("display" in value and len(value) <= 3):  # Reference / Coding
        return tidy_name(str(value.get("display") or value.get("reference") or value.get("code") or ""))
    if "value" in value and ("unit" in value or "code" in value or "system" in value):  # Quantity
        number = value.get("value")
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return format_value(float(number), value.get("unit") or value.get("code"))
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
    parts = []
    for key, inner in value.items():
        if key in _SKIP or key in ("system", "use"):
            continue
        shown = _text(inner, depth + 1)
        if shown:
            parts.append(f"{_label(key)}: {shown}")
    return ", ".join(parts)


def readable_fields(resource: dict[str, Any]) -> list[tuple[str, str]]:
    rtype = str(resource.get("resourceType", ""))
    first = [k for k in _FIRST.get(rtype, ()) if k in resource]
    keys = first + [k for k in resource if k not in first]
    out = []
    for key in keys:
        if key in _SKIP or key in ("subject", "patient"):
            continue
        shown = _text(resource[key])
        if shown:
            out.append((_label(key), shown[:_MAX_TEXT] + ("…" if len(shown) > _MAX_TEXT else "")))
    return out


def _provenance(record: Record, rtype: str, rid: str, source_id: int) -> list[tuple[str, str]]:
    target = f"{rtype}/{rid}"
    rows = record._query(
        "SELECT r.raw FROM resource r WHERE r.type = 'Provenance' AND r.source_id = ? "
        "AND EXISTS (SELECT 1 FROM json_each(r.raw, '$.target') t WHERE json_extract(t.value, '$.reference') = ?) "
        "LIMIT 5",
        [source_id, target],
    )
    out = []
    for (raw,) in rows:
        prov = json.loads(raw)
        agents = dict.fromkeys(
            _text(agent.get("who")) + (f" for {_text(agent.get('onBehalfOf'))}" if agent.get("onBehalfOf") else "")
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
    provenance = [
        ("Source", f"{row.source}" + (f" ({source.base_url})" if source and source.base_url else "")),
        ("Came in with", stored.run_origin or "unknown"),
        ("First seen", format_timestamp(row.first_seen)),
        ("Last checked", format_timestamp(row.last_seen)),
        ("Validation", "Not checked yet (it is checked in the background after a sync)" if not row.checked
         else "Passed FHIR R4 validation" if row.valid else f"Did not pass validation: {row.invalid_reason}"),
    ]
    provenance += _provenance(record, resource_type, resource_id, row.source_id)
    title = tidy_name(row.code_display or row.display) if resource_type != "Observation" else tidy_name(
        row.display.split(":")[0]
    )
    return Detail(
        resource_type=resource_type,
        id=resource_id,
        kind=kind_name(resource_type),
        title=title,
        date=format_date(row.date),
        fields=tuple(readable_fields(resource)),
        raw_json=raw_pretty,
        source=row.source,
        provenance=tuple(provenance),
        valid=row.valid,
        invalid_reason=row.invalid_reason,
        fact=fact_info(record, resource_type, resource_id, row.source_id),
    )


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
        Copy(m.source, m.resource_type, m.id, m.source_id, format_timestamp(m.last_seen), m.newest,
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
                           shown.resource_type, shown.id, shown.source_id, other.sources)  # fmt: skip
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

"""One item in full: a readable version, the FHIR JSON exactly as stored, and where it came from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.record import Record

from .format import format_date, format_timestamp, format_value, kind_name, tidy_name

__all__ = ["Detail", "detail", "readable_fields"]

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
        ("Validation", "Passed FHIR R4 validation" if row.valid else f"Did not pass validation: {row.invalid_reason}"),
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
    )

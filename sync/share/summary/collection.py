"""A FHIR `collection` Bundle (the CMS "Kill the Clipboard" PatientSharedBundle) as sections a person reads: the
same (title, item heading, rows, empty sentence) shape `section_rows` gives for an IPS document, so the PDF,
`carry open` and the app show both kinds the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dataclasses import replace

from .describe import Row, describe
from .provenance import sources_by_target

__all__ = ["collection_rows", "summary_rows"]

Section = tuple[str, str, list[Row], "str | None"]


def _categories(resource: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for concept in resource.get("category") or []:
        if isinstance(concept, Mapping):
            out |= {str(c.get("code")) for c in concept.get("coding") or [] if isinstance(c, Mapping)}
    return out


_MEDICATION_USE = ("MedicationRequest", "MedicationStatement", "MedicationAdministration", "MedicationDispense")
_INVOLVED = ("Practitioner", "PractitionerRole", "Organization", "Location")
# In reading order; the first group a resource fits takes it. Patient and DocumentReference are not rows here:
# the Patient heads every rendering, and a DocumentReference is the rendering (or the patient's own story).
_GROUPS: tuple[tuple[str, str, Callable[[Mapping[str, Any]], bool]], ...] = (
    ("Problems", "Problem", lambda r: r.get("resourceType") == "Condition"),
    ("Allergies and intolerances", "Substance", lambda r: r.get("resourceType") == "AllergyIntolerance"),
    ("Medications", "Medication", lambda r: r.get("resourceType") in _MEDICATION_USE),
    ("Immunizations", "Vaccine", lambda r: r.get("resourceType") == "Immunization"),
    ("Vital signs", "Measurement",
     lambda r: r.get("resourceType") == "Observation" and "vital-signs" in _categories(r)),
    ("Results", "Test", lambda r: r.get("resourceType") in ("Observation", "DiagnosticReport")),
    ("Procedures", "Procedure", lambda r: r.get("resourceType") == "Procedure"),
    ("Medicines referred to", "Medication", lambda r: r.get("resourceType") == "Medication"),
    ("Care team and organisations", "Name", lambda r: r.get("resourceType") in _INVOLVED),
    ("Sources", "Source", lambda r: r.get("resourceType") == "Provenance"),
    ("Other records", "Item", lambda r: r.get("resourceType") not in ("Patient", "DocumentReference")),
)  # fmt: skip


def collection_rows(bundle: Mapping[str, Any]) -> list[Section]:
    """Every resource of the Bundle but the Patient and DocumentReferences, grouped into sections that have rows."""
    by_url: dict[str, Mapping[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("fullUrl"), str) and isinstance(entry.get("resource"), Mapping):
            by_url[entry["fullUrl"]] = entry["resource"]
            rid, rtype = entry["resource"].get("id"), entry["resource"].get("resourceType")
            by_url[f"{rtype}/{rid}"] = entry["resource"]

    def lookup(reference: str) -> dict[str, Any] | None:
        found = by_url.get(reference)
        return dict(found) if found is not None else None

    taken: set[int] = set()
    out: list[Section] = []
    everything = [(entry.get("fullUrl"), entry["resource"]) for entry in bundle.get("entry") or []
                  if isinstance(entry, Mapping) and isinstance(entry.get("resource"), Mapping)]  # fmt: skip
    origins = sources_by_target(bundle)
    for title, item, fits in _GROUPS:
        rows = []
        for url, resource in everything:
            if id(resource) not in taken and fits(resource):
                taken.add(id(resource))
                rows.append(replace(describe(resource, lookup), source=origins.get(str(url), "")))
        if rows:
            out.append((title, item, rows, None))
    return out


def summary_rows(bundle: Mapping[str, Any]) -> list[Section]:
    """The sections of a shared Bundle of either kind: an IPS document's own, or a collection's groups."""
    from .ips import section_rows

    if bundle.get("type") == "document":
        return section_rows(bundle)
    return collection_rows(bundle)

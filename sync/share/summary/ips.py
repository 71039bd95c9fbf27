"""The International Patient Summary (IPS 2.0.0) as a FHIR document Bundle: built from what the patient picked,
and checked against the rules of the IPS that code can check.

Facts used here come from HL7 IPS 2.0.0 (Bundle-uv-ips, Composition-uv-ips, the invariants bdl-ips-1, ips-comp-1,
ips-1, ips-2/3, ips-pat-1) and FHIR R4. Validation against the R4B models goes through sync.fhir.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from ...fhir import validation_error
from ...fhir.references import literal_key, literal_references, references
from .describe import Row, describe, patient_name
from ..errors import IPSError
from .provenance import provenances, sources_by_target
from .story import PatientNote, note_document

__all__ = [
    "EMPTY_REASONS",
    "SECTIONS",
    "Section",
    "build_ips",
    "check_ips",
    "section_rows",
]

LOINC = "http://loinc.org"
EMPTY_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
XHTML = "http://www.w3.org/1999/xhtml"


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # Carry's name for it, as used by `carry share` and the UI
    code: str  # LOINC
    display: str  # the LOINC display
    title: str  # what a reader sees
    required: bool
    types: frozenset[str]  # resource types an entry may have (DocumentReference is allowed everywhere)
    item: str  # column heading for the item in narrative and PDF


def _section(name: str, code: str, display: str, title: str, required: bool, types: str, item: str) -> Section:
    return Section(name, code, display, title, required, frozenset(types.split()), item)


# Order is the order of sections in the document: required ones first, as the IPS lists them.
SECTIONS: Mapping[str, Section] = {
    s.name: s
    for s in (
        _section("problems", "11450-4", "Problem list - Reported", "Active problems", True, "Condition", "Problem"),
        _section("allergies", "48765-2", "Allergies and adverse reactions Document", "Allergies and intolerances",
                 True, "AllergyIntolerance", "Substance"),
        _section("medications", "10160-0", "History of Medication use Narrative", "Medications", True,
                 "MedicationStatement MedicationRequest MedicationAdministration MedicationDispense", "Medication"),
        _section("immunizations", "11369-6", "History of Immunization Narrative", "Immunizations", False,
                 "Immunization", "Vaccine"),
        _section("results", "30954-2", "Relevant diagnostic tests/laboratory data Narrative", "Results", False,
                 "Observation DiagnosticReport", "Test"),
        _section("procedures", "47519-4", "History of Procedures Document", "Procedures", False, "Procedure",
                 "Procedure"),
        _section("devices", "46264-8", "History of medical device use", "Medical devices", False,
                 "DeviceUseStatement Device", "Device"),
        _section("vital-signs", "8716-3", "Vital signs", "Vital signs", False, "Observation", "Measurement"),
        _section("past-problems", "11348-0", "History of Past illness Narrative", "Past problems", False,
                 "Condition", "Problem"),
        _section("social-history", "29762-2", "Social history Narrative", "Social history", False, "Observation",
                 "Observation"),
    )
}
_BY_CODE = {s.code: s for s in SECTIONS.values()}
REQUIRED = tuple(s for s in SECTIONS.values() if s.required)

# list-empty-reason codes that fit a patient-made summary, with what the narrative says about them.
EMPTY_REASONS: Mapping[str, tuple[str, str]] = {
    "unavailable": ("Unavailable", "No information available."),
    "nilknown": ("Nil Known", "None known."),
    "notasked": ("Not Asked", "Not asked."),
    "withheld": ("Information Withheld", "Not shared by the patient."),
}

# Resource types that may join the Bundle because a section entry points at them (IPS Bundle-uv-ips entries).
_SUPPORTING = frozenset(
    "Medication Practitioner PractitionerRole Organization Observation Specimen Device Location DiagnosticReport "
    "ImagingStudy DocumentReference".split()
)
# References that are 1..1 in R4: when their target is not in the Bundle they keep a display instead of vanishing.
_REQUIRED_REFERENCES = frozenset(
    {"medicationReference", "device", "subject", "patient", "beneficiary", "individual", "actor"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def build_ips(
    patient: Mapping[str, Any],
    sections: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    supporting: Sequence[Mapping[str, Any]] = (),
    author: Mapping[str, Any] | None = None,
    organization: Mapping[str, Any] | None = None,
    empty_reasons: Mapping[str, str] | None = None,
    title: str = "International Patient Summary",
    now: datetime | None = None,
    sources: Mapping[tuple[str, str], str] | None = None,
    notes: Sequence[PatientNote] = (),
) -> dict[str, Any]:
    """Assemble an IPS document Bundle from the resources the patient picked, per section.

    `sections` maps a section name (see SECTIONS) to the FHIR resources to show in it, as Carry stores them (R4
    JSON). The required sections (problems, allergies, medications) are always present: empty ones carry an
    emptyReason, `unavailable` unless `empty_reasons` says otherwise (`nilknown` when the patient confirmed they
    have none, `withheld` when they chose not to share it). `supporting` resources (Medication, Practitioner,
    Organization, member Observations, ...) are added only when an entry refers to them. References to anything
    else are reduced to their display text, so every reference in the Bundle resolves inside it.

    `author` (Practitioner, Organization, Device, ... resource) defaults to a Device standing for Carry, which is
    how IPS marks a software-assembled summary; `organization` becomes the custodian. `sources` maps
    (resourceType, id) of a picked or supporting resource to the name of the source it came from: each source
    becomes a Provenance entry naming it (see provenance.py). `notes` (the patient's corrections and context on
    picked items) each become a patient-authored Patient Note in the section of the item they are about.
    """
    moment = _aware(now)
    stamp = moment.isoformat(timespec="seconds")
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise IPSError(f"Carry does not know the summary section {unknown[0]!r}.")
    reasons = dict(empty_reasons or {})
    for name, code in reasons.items():
        if code not in EMPTY_REASONS:
            raise IPSError(f"{code!r} is not a reason Carry can give for an empty section.")
        if name not in SECTIONS:
            raise IPSError(f"Carry does not know the summary section {name!r}.")
    if patient.get("resourceType") != "Patient":
        raise IPSError("The summary needs the patient's own Patient resource.")

    entries = _Entries()
    patient_url = entries.add(patient)
    author_resource = dict(author) if author is not None else _carry_device()
    author_url = entries.add(author_resource)
    custodian_url = entries.add(organization) if organization is not None else None

    picked: list[tuple[Section, list[str]]] = []
    for section in SECTIONS.values():
        resources = sections.get(section.name)
        if resources is None and not section.required:
            continue
        urls = []
        for resource in resources or ():
            rtype = resource.get("resourceType")
            if rtype not in section.types and rtype != "DocumentReference":
                raise IPSError(f"A {rtype} cannot go into the {section.title.lower()} section of the summary.")
            urls.append(entries.add(resource))
        picked.append((section, list(dict.fromkeys(urls))))

    entries.add_referenced(supporting)
    entries.rewrite_references(patient_url)
    picked = [(section, _with_notes(entries, urls, notes, patient_url, stamp)) for section, urls in picked]
    entries.add_provenance(sources or {}, stamp)
    lookup = entries.lookup

    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "subject": {"reference": patient_url, "display": patient_name(patient)},
        "date": stamp,
        "author": [{"reference": author_url}],
        "title": title,
        "attester": [{"mode": "personal", "time": stamp, "party": {"reference": patient_url}}],
        "section": [],
    }
    if custodian_url is not None:
        composition["custodian"] = {"reference": custodian_url}
    for section, urls in picked:
        block: dict[str, Any] = {
            "title": section.title,
            "code": {"coding": [{"system": LOINC, "code": section.code, "display": section.display}]},
        }
        if urls:
            rows = [describe(entries.resource(url), lookup) for url in urls]
            block["text"] = {"status": "generated", "div": _table(section, rows)}
            block["entry"] = [{"reference": url} for url in urls]
        else:
            code = reasons.get(section.name, "unavailable")
            display, sentence = EMPTY_REASONS[code]
            block["text"] = {"status": "generated", "div": _paragraph(sentence)}
            block["emptyReason"] = {"coding": [{"system": EMPTY_REASON_SYSTEM, "code": code, "display": display}]}
        composition["section"].append(block)

    bundle_id = str(uuid.uuid4())
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
        "type": "document",
        "timestamp": stamp,
        "entry": [{"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition}]
        + [{"fullUrl": url, "resource": resource} for url, resource in entries.items()],
    }


def _with_notes(
    entries: _Entries, urls: list[str], notes: Sequence[PatientNote], patient_url: str, stamp: str
) -> list[str]:
    """A section's entries with the patient's note on an item right after that item."""
    out = []
    for url in urls:
        out.append(url)
        for note in notes:
            if entries.url_of(note.about) != url:
                continue
            data = note.text.encode("utf-8")
            out.append(entries.add(note_document(
                subject={"reference": patient_url}, related=[{"reference": url}], data=data,
                content_type="text/plain; charset=utf-8", title="Note from the patient", description=note.sentence(),
                date=note.written or stamp,
            )))  # fmt: skip
    return out


def section_rows(bundle: Mapping[str, Any]) -> list[tuple[str, str, list[Row], str | None]]:
    """For each Composition section: (title, item heading, rows, empty-reason sentence or None).

    Works on any IPS document Bundle (Carry's or another system's): the PDF and the viewer use it.
    """
    index = _BundleIndex(bundle)
    composition = index.composition
    if composition is None:
        return []
    out: list[tuple[str, str, list[Row], str | None]] = []
    origins = sources_by_target(bundle)
    for block in composition.get("section") or []:
        if not isinstance(block, Mapping):
            continue
        code = _loinc(block.get("code"))
        known = _BY_CODE.get(code or "")
        title = block.get("title") if isinstance(block.get("title"), str) else (known.title if known else "Section")
        rows = []
        for entry in block.get("entry") or []:
            target = index.resolve(entry.get("reference"), None) if isinstance(entry, Mapping) else None
            if target is not None:
                row = describe(target, lambda ref: index.resolve(ref, None))
                rows.append(replace(row, source=origins.get(str(entry.get("reference")), "")))
        empty = None
        if not rows:
            reason = block.get("emptyReason")
            codes = [c.get("code") for c in (reason or {}).get("coding") or [] if isinstance(c, Mapping)]
            known_reason = next((EMPTY_REASONS[c][1] for c in codes if isinstance(c, str) and c in EMPTY_REASONS),
                                None)
            empty = known_reason or (reason or {}).get("text") or "No information available."
        out.append((str(title), known.item if known else "Item", rows, empty))
    return out


# --- building ----------------------------------------------------------------------------------------------------


class _Entries:
    """The resources going into the Bundle, each under a fresh urn:uuid, and the references between them."""

    def __init__(self) -> None:
        self._by_url: dict[str, dict[str, Any]] = {}
        self._by_key: dict[tuple[str, str], str] = {}

    def add(self, resource: Mapping[str, Any]) -> str:
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            raise IPSError("One of the selected items is not a FHIR resource.")
        rid = resource.get("id")
        key = (rtype, rid) if isinstance(rid, str) and rid else None
        if key is not None and key in self._by_key:
            return self._by_key[key]
        url = f"urn:uuid:{uuid.uuid4()}"
        copy = deepcopy(dict(resource))
        if key is None:
            copy["id"] = url[len("urn:uuid:") :]
        self._by_url[url] = copy
        if key is not None:
            self._by_key[key] = url
        return url

    def add_referenced(self, supporting: Sequence[Mapping[str, Any]]) -> None:
        pool: dict[tuple[str, str], Mapping[str, Any]] = {}
        for resource in supporting:
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and rtype in _SUPPORTING and isinstance(rid, str):
                pool.setdefault((rtype, rid), resource)
        pending = list(self._by_url.values())
        while pending and pool:
            found = []
            for resource in pending:
                for key in literal_references(resource):
                    if key in pool and key not in self._by_key:
                        self.add(pool.pop(key))
                        found.append(self._by_url[self._by_key[key]])
            pending = found

    def rewrite_references(self, patient_url: str) -> None:
        by_id = {key[1]: url for key, url in self._by_key.items()}

        def target(reference: str) -> str | None:
            if reference.startswith("#"):
                return reference
            if reference.startswith("urn:uuid:"):
                return reference if reference in self._by_url else by_id.get(reference[len("urn:uuid:") :])
            key = literal_key(reference)
            if key is None:
                return None
            if key[0] == "Patient":
                return patient_url  # the summary is about one patient, whichever portal's id a resource uses
            return self._by_key.get(key)

        for url, resource in self._by_url.items():
            self._by_url[url] = _rewrite(resource, target, None)

    def add_provenance(self, sources: Mapping[tuple[str, str], str], recorded: str) -> None:
        """A Provenance per source naming where the entries came from; `sources` maps (resourceType, id) as
        received to the source's name."""
        targets: dict[str, list[str]] = {}
        for key, name in sources.items():
            url = self._by_key.get(key)
            if url is not None:
                targets.setdefault(name, []).append(url)
        for provenance in provenances(targets, recorded):
            self.add(provenance)

    def resource(self, url: str) -> dict[str, Any]:
        return self._by_url[url]

    def url_of(self, key: tuple[str, str]) -> str | None:
        """Where a resource picked by (resourceType, id) as received is in the Bundle."""
        return self._by_key.get(key)

    def lookup(self, reference: str) -> dict[str, Any] | None:
        return self._by_url.get(reference)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(self._by_url.items())


_DROP = object()


def _rewrite(node: Any, target: Any, key: str | None) -> Any:
    if isinstance(node, list):
        kept = [_rewrite(item, target, key) for item in node]
        return [item for item in kept if item is not _DROP]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for name, value in node.items():
        if name == "reference" and isinstance(value, str):
            resolved = target(value)
            if resolved is not None:
                out[name] = resolved
            continue
        if name in ("text",) and isinstance(value, Mapping) and "div" in value:
            out[name] = value  # narrative: never rewritten
            continue
        new = _rewrite(value, target, name)
        if new is _DROP or new == []:
            continue
        out[name] = new
    if isinstance(node.get("reference"), str) and "reference" not in out:
        # The target is not in the Bundle: keep what a reader can use, or drop the reference entirely.
        if "display" not in out and "identifier" not in out:
            if key not in _REQUIRED_REFERENCES:
                return _DROP
            kind = literal_key(node["reference"])
            out["display"] = f"{kind[0] if kind else 'Item'} not included in this summary"
    return out


def _carry_device() -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": str(uuid.uuid4()),
        "deviceName": [{"name": "Carry personal health record", "type": "user-friendly-name"}],
        "type": {"text": "Personal health record application"},
    }


def _aware(now: datetime | None) -> datetime:
    moment = now or datetime.now(timezone.utc)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _clean(text: str) -> str:
    return html.escape(_CONTROL.sub("", text), quote=True)


def _paragraph(sentence: str) -> str:
    return f'<div xmlns="{XHTML}"><p>{_clean(sentence)}</p></div>'


def _table(section: Section, rows: Sequence[Row]) -> str:
    head = "".join(f"<th>{_clean(h)}</th>" for h in (section.item, "Details", "Status", "Date"))
    body = "".join(
        "<tr>" + "".join(f"<td>{_clean(cell)}</td>" for cell in (r.item, r.details, r.status, r.date)) + "</tr>"
        for r in rows
    )
    return f'<div xmlns="{XHTML}"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


# --- checking ----------------------------------------------------------------------------------------------------


class _BundleIndex:
    """Resolves references inside a Bundle the way FHIR does for documents: by fullUrl, and `Type/id` against
    entries whose fullUrl ends so or whose resource has that type and id."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.entries = [e for e in bundle.get("entry") or [] if isinstance(e, Mapping)]
        self.by_url: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in self.entries:
            resource = entry.get("resource")
            if not isinstance(resource, dict):
                continue
            url = entry.get("fullUrl")
            if isinstance(url, str):
                self.by_url.setdefault(url, resource)
                key = literal_key(url)
                if key is not None:
                    self.by_key.setdefault(key, resource)
            if isinstance(resource.get("resourceType"), str) and isinstance(resource.get("id"), str):
                self.by_key.setdefault((resource["resourceType"], resource["id"]), resource)
        first = self.entries[0].get("resource") if self.entries else None
        self.composition = first if isinstance(first, dict) and first.get("resourceType") == "Composition" else None

    def resolve(self, reference: Any, holder: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not isinstance(reference, str):
            return None
        if reference.startswith("#"):
            contained = (holder or {}).get("contained") or []
            wanted = reference[1:]
            if not wanted:
                return dict(holder) if holder is not None else None
            return next((c for c in contained if isinstance(c, dict) and c.get("id") == wanted), None)
        if reference in self.by_url:
            return self.by_url[reference]
        key = literal_key(reference)
        return self.by_key.get(key) if key is not None and not reference.startswith("urn:") else None


def check_ips(bundle: Mapping[str, Any]) -> list[str]:
    """The problems found in an IPS document Bundle (an empty list when none): the R4B model, the IPS Bundle and
    Composition rules, required sections, narratives, references that must resolve inside the Bundle, and the IPS
    invariants that can be checked in code. Works on any system's IPS, not only Carry's."""
    problems: list[str] = []
    if bundle.get("resourceType") != "Bundle":
        return ["This is not a FHIR Bundle."]
    error = validation_error(dict(bundle))
    if error:
        problems.append(f"The Bundle does not match the FHIR R4B model: {error}")
    if bundle.get("type") != "document":
        problems.append(f"The Bundle type is {bundle.get('type')!r}, not 'document'.")
    identifier = bundle.get("identifier")
    if not isinstance(identifier, Mapping) or not identifier.get("value"):
        problems.append("The Bundle has no identifier (IPS requires one).")
    if not bundle.get("timestamp"):
        problems.append("The Bundle has no timestamp (IPS requires one).")

    index = _BundleIndex(bundle)
    if not index.entries:
        return problems + ["The Bundle has no entries."]
    types = [e.get("resource", {}).get("resourceType") if isinstance(e.get("resource"), Mapping) else None
             for e in index.entries]
    if types[0] != "Composition":
        problems.append("The first entry is not the Composition (bdl-ips-1).")
    if types.count("Composition") != 1:
        problems.append(f"The Bundle has {types.count('Composition')} Compositions; an IPS has exactly one.")
    if types.count("Patient") != 1:
        problems.append(f"The Bundle has {types.count('Patient')} Patients; an IPS has exactly one.")

    seen: set[str] = set()
    for number, entry in enumerate(index.entries, start=1):
        url = entry.get("fullUrl")
        if not isinstance(url, str) or not url:
            problems.append(f"Entry {number} has no fullUrl.")
        elif url in seen:
            problems.append(f"Entry {number} repeats the fullUrl {url}.")
        else:
            seen.add(url)
        for forbidden in ("search", "request", "response"):
            if forbidden in entry:
                problems.append(f"Entry {number} has '{forbidden}', which a document Bundle must not have.")
        resource = entry.get("resource")
        if isinstance(resource, Mapping):
            where = f"Entry {number} ({resource.get('resourceType')}/{resource.get('id')})"
            problems.extend(f"{where}: {p}" for p in _resource_invariants(resource))
            for ref in references(resource):
                if index.resolve(ref["reference"], resource) is None:
                    problems.append(f"{where}: the reference {ref['reference']} does not resolve inside the Bundle.")

    if index.composition is not None:
        problems.extend(_composition_problems(index.composition, index))
    return problems


def _composition_problems(composition: Mapping[str, Any], index: _BundleIndex) -> list[str]:
    problems = []
    if _loinc(composition.get("type")) != "60591-5":
        problems.append("The Composition type is not LOINC 60591-5 (Patient summary Document).")
    subject = composition.get("subject")
    target = index.resolve(subject.get("reference"), composition) if isinstance(subject, Mapping) else None
    if target is None or target.get("resourceType") != "Patient":
        problems.append("The Composition subject does not point at the Patient in the Bundle.")
    for name in ("status", "date", "title"):
        if not composition.get(name):
            problems.append(f"The Composition has no {name}.")
    if not composition.get("author"):
        problems.append("The Composition has no author.")
    sections = [s for s in composition.get("section") or [] if isinstance(s, Mapping)]
    if not sections:
        problems.append("The Composition has no sections.")
    present = {_loinc(s.get("code")) for s in sections}
    for required in REQUIRED:
        if required.code not in present:
            problems.append(f"The required section {required.title} ({required.code}) is missing.")
    for block in sections:
        code = _loinc(block.get("code"))
        known = _BY_CODE.get(code or "")
        label = f"Section {block.get('title') or code or '(no code)'}"
        if code is None:
            problems.append(f"{label} has no LOINC code.")
        text = block.get("text")
        if not isinstance(text, Mapping) or not str(text.get("div") or "").strip():
            problems.append(f"{label} has no narrative text.")
        entries = [e for e in block.get("entry") or [] if isinstance(e, Mapping)]
        if known is not None and known.required and not entries and not block.get("emptyReason"):
            problems.append(f"{label} is required but has neither entries nor an emptyReason (ips-comp-1).")
        if entries and block.get("emptyReason"):
            problems.append(f"{label} has entries and an emptyReason; an emptyReason is only for empty sections.")
        for entry in entries:
            resource = index.resolve(entry.get("reference"), composition)
            if resource is None:
                problems.append(f"{label}: the entry {entry.get('reference')} does not resolve inside the Bundle.")
            elif known is not None:
                rtype = resource.get("resourceType")
                if rtype not in known.types and rtype != "DocumentReference":
                    problems.append(f"{label}: a {rtype} does not belong in this section.")
    return problems


def _resource_invariants(resource: Mapping[str, Any]) -> list[str]:
    problems = []
    rtype = resource.get("resourceType")
    if rtype == "Composition" and isinstance(resource.get("date"), str) and len(resource["date"]) < 10:
        problems.append("the Composition date is not precise to the day.")
    if rtype == "Observation":
        # ips-1 binds effective[x] of IPS result Observations; the IG's own examples give Condition onsets
        # to the year, so it is not applied to other dates.
        effective = resource.get("effectiveDateTime")
        if isinstance(effective, str) and len(effective) < 10:
            problems.append(f"effectiveDateTime {effective!r} is not precise to the day (ips-1).")
        has_value = any(k.startswith("value") for k in resource)
        if not (has_value or resource.get("dataAbsentReason") or resource.get("hasMember")
                or resource.get("component")):
            problems.append("the Observation has no value, dataAbsentReason, hasMember or component (ips-2).")
        for component in resource.get("component") or []:
            if isinstance(component, Mapping) and not (
                any(k.startswith("value") for k in component) or component.get("dataAbsentReason")
            ):
                problems.append("an Observation component has neither a value nor a dataAbsentReason (ips-3).")
                break
    if rtype == "Patient":
        names = [n for n in resource.get("name") or [] if isinstance(n, Mapping)]
        if not any(n.get("family") or n.get("given") or n.get("text") for n in names):
            problems.append("the Patient has no name with a family name, given name or text (ips-pat-1).")
    return problems


def _loinc(concept: Any) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping) and coding.get("system") == LOINC and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None

"""The patient's own entries: readings, symptoms, diary notes, medicines and allergies they add themselves.

Each entry is a FHIR R4 resource authored by the patient, tagged patient-supplied (US Core us-core-tags) and marked
patient-asserted (PATAST in meta.security), so a share carries that mark with the resource as it is. The choices:

* a reading: a US Core vital-sign Observation (LOINC code, UCUM unit; blood pressure as the panel with systolic
  and diastolic components), built by sync.share.writeback as a write-back to a portal is; blood glucose is an
  Observation of category laboratory (it is not a vital sign in US Core);
* a symptom: a Condition of category health-concern (US Core "Problems and Health Concerns"): a symptom lasts,
  starts and ends (onset, abatement, clinical status) and has a severity, which a Condition states and an
  Observation does not; it groups with a portal's problem of the same code, and it is not mixed into results;
* a diary note: an Observation of LOINC 51855-5 "Patient Note" with the text as its value: dated, on the timeline,
  found by search, with no file to keep (a DocumentReference needs an attachment and sits among clinic papers);
* a medicine: a MedicationStatement whose informationSource is the Patient (over-the-counter ones included);
* an allergy or intolerance: an AllergyIntolerance whose recorder and asserter are the Patient, verification
  "unconfirmed" (the patient's word, not a test's).

All entries live in one source, "Your own entries"; whose an entry is, is its subject: the stand-in Patient of the
chosen person in that source (app.record.people.stand_in, as a file that names no patient gets), so one source
serves every person of a family record and an entry is in exactly one person's record.

History: every version is kept in `entry_version` (schema 11). The current version is also the source's resource,
read like any other (lists, facts, timeline, charts, shares); an edit stores the next version (meta.versionId) in
its place; a delete takes the resource out of everything and keeps its versions, so the history stays readable; a
restore (schema 15) puts the deleted version back as the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Union

from sync.errors import Action, CarryError
from sync.fhir import dumps, loads
from sync.fhir.parse import validation_error
from sync.importers import parsed
from sync.share.summary.story import PATAST
from sync.share.summary.writeback import BLOOD_PRESSURE, PATIENT_SUPPLIED, READINGS, blood_pressure, reading

from .errors import EntryRefused
from .facts import FactNotFound, confirm, fact_for, facts, find_fact
from .people import Person, choose_person, people, stand_in
from .store import Record, ResourceRow, Source, UpsertCounts, _now

__all__ = [
    "ADDED_BY_YOU",
    "KINDS",
    "OWN_SOURCE",
    "PATIENT_NOTE",
    "READING_KINDS",
    "Allergy",
    "Draft",
    "Entry",
    "EntryVersion",
    "Medicine",
    "Note",
    "Reading",
    "Symptom",
    "add_entry",
    "delete_entry",
    "draft_of",
    "edit_entry",
    "entry_history",
    "is_own",
    "own_entries",
    "own_source_id",
    "restore_entry",
    "save_entry",
]

OWN_SOURCE = "Your own entries"
ADDED_BY_YOU = "Added by you"
KINDS = ("reading", "symptom", "note", "medicine", "allergy")
READING_KINDS = ("blood-pressure", *READINGS)
PATIENT_NOTE = ("51855-5", "Patient Note")
SEVERITIES = {"mild": "255604002", "moderate": "6736007", "severe": "24484000"}
CRITICALITIES = ("low", "high", "unable-to-assess")
_SNOMED = "http://snomed.info/sct"
_LOINC = "http://loinc.org"
_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_NAME_LIMIT = 200
_TEXT_LIMIT = 5000
# The resource types of each kind, and which kinds a fact of another source may be "the same" as.
_TYPE_OF = {"symptom": "Condition", "medicine": "MedicationStatement", "allergy": "AllergyIntolerance"}
_SAME_TYPES = {"symptom": ("Condition",), "medicine": ("MedicationRequest", "MedicationStatement"),
               "allergy": ("AllergyIntolerance",)}  # fmt: skip


# --- what the patient gives ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    kind: str  # "blood-pressure" or a key of sync.share.writeback.READINGS
    value: str  # "120/80" for blood pressure
    unit: str | None = None  # one of the reading's UCUM units; its first when None
    when: str | None = None  # ISO date or date and time; now when None
    note: str = ""


@dataclass(frozen=True)
class Symptom:
    text: str
    onset: str | None = None  # ISO date; today when None
    severity: str | None = None  # mild, moderate, severe
    ended: str | None = None  # ISO date it went away
    note: str = ""
    same_as: str | None = None  # a fact id of a problem already in the record that this is


@dataclass(frozen=True)
class Note:
    text: str
    when: str | None = None


@dataclass(frozen=True)
class Medicine:
    name: str
    dose: str = ""  # as the patient says it: "200 mg when needed"
    since: str | None = None
    until: str | None = None
    note: str = ""
    same_as: str | None = None  # a fact id of a medication already in the record that this is


@dataclass(frozen=True)
class Allergy:
    substance: str
    reaction: str = ""
    kind: str = "allergy"  # or "intolerance"
    criticality: str | None = None  # low, high, unable-to-assess
    note: str = ""
    same_as: str | None = None


Draft = Union[Reading, Symptom, Note, Medicine, Allergy]


# --- what lists show ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    resource_type: str
    id: str
    kind: str
    display: str
    date: str | None
    version: int
    saved_at: str
    deleted: bool = False

    @property
    def ref(self) -> str:
        return f"{self.resource_type}/{self.id}"

    def as_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "display": self.display, "date": self.date,
                "version": self.version, "saved_at": self.saved_at, "deleted": self.deleted}  # fmt: skip


@dataclass(frozen=True)
class EntryVersion:
    version: int
    action: str  # added, edited, deleted, restored
    saved_at: str
    resource: dict[str, Any]

    @property
    def draft(self) -> Draft:
        return draft_of(self.resource)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "action": self.action, "saved_at": self.saved_at, "resource": self.resource}


def is_own(source_name: str | None) -> bool:
    """Whether a resource of this source is one the patient added (shown as "Added by you")."""
    return source_name == OWN_SOURCE


# --- writing -------------------------------------------------------------------------------------------------------


def add_entry(record: Record, draft: Draft, *, person: str | None = None) -> Entry:
    """Store a new entry in the record of `person` (a number or name; the only person when None; a new, unnamed
    person when the record holds nobody). Raises EntryRefused with one sentence, changing nothing, when the
    draft cannot be saved; PersonNeeded when the record holds several persons and none is named."""
    return save_entry(record, draft, person=person)


def edit_entry(record: Record, ref: str, **changes: Any) -> Entry:
    """Store the next version of an entry, with these fields of its draft changed (the rest as they were)."""
    current = _current(record, ref)
    try:
        draft = replace(draft_of(current), **changes)
    except TypeError:
        raise EntryRefused(f"{', '.join(sorted(changes))} cannot be changed on this kind of entry.") from None
    return save_entry(record, draft, entry=ref)


def save_entry(record: Record, draft: Draft, *, person: str | None = None, entry: str | None = None) -> Entry:
    """Add `draft` as a new entry, or (`entry`: its "Type/id") store it as the next version of that entry."""
    source = record.source(OWN_SOURCE, kind="file")
    old = _current(record, entry) if entry is not None else None
    same = _same_as(record, draft, person, old) if getattr(draft, "same_as", None) else None
    chosen: Person | None = None
    if old is None:
        chosen = choose_person(record, person, people(record))
    with record._transaction() as cur:
        now = _now()
        stored: list[dict[str, Any]] = []
        if old is None:
            reference, patient = stand_in(cur.raw, source, chosen)
            if patient is not None:
                stored.append(patient)
            rid, version = str(uuid.uuid4()), 1
        else:
            reference = _subject(old)
            rid, version = old["id"], _version(old) + 1
        resource = _build(draft, reference, now)
        if same is not None:
            _take_codes(resource, same)
        resource["id"] = rid
        resource.setdefault("meta", {})
        resource["meta"] = {"versionId": str(version), "lastUpdated": now, **resource["meta"]}
        resource["meta"]["security"] = [{"system": PATAST[0], "code": PATAST[1], "display": "patient asserted"}]
        resource = loads(dumps(resource))
        problem = validation_error(resource)
        if problem is not None:
            raise EntryRefused(f"This entry cannot be saved as given ({problem}); nothing was changed.")
        _keep(record, cur, source.id, [*stored, resource], "added" if old is None else "edited", now)
        record._audit_in(cur, "entry-add" if old is None else "entry-edit", type=resource["resourceType"], id=rid,
                         version=version)  # fmt: skip
    if same is not None:
        mine = fact_for(record, resource["resourceType"], rid, source.id)
        if mine is not None and same.fact_id != mine.fact_id:
            confirm(record, mine, same)
    return _entry(resource, version, now)


def _keep(record: Record, cur: Any, source_id: int, resources: list[dict[str, Any]], action: str, now: str) -> None:
    """Store an entry's version (the last of `resources`; a stand-in Patient may come first) as its source's
    resource, in a run of its own, and in the entry's history."""
    counts = UpsertCounts()
    cur.execute("INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, 'entry', ?, ?)",
                (source_id, ADDED_BY_YOU, now))  # fmt: skip
    run_id = cur.lastrowid
    record._upsert(cur, source_id, run_id, [_checked(r) for r in resources], now, counts)
    entry = resources[-1]
    cur.execute(
        "INSERT INTO entry_version (type, id, version, action, raw, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
        (entry["resourceType"], entry["id"], _version(entry), action, dumps(entry).decode(), now),
    )
    record._finish_run(cur, run_id, counts)


def restore_entry(record: Record, ref: str) -> Entry:
    """Bring a deleted entry back as it was when it was deleted: its next version ("restored") is the source's
    resource again (lists, facts, charts, shares), and its history keeps every version, the deletion too."""
    rtype, rid = _split(record, ref)
    rows = record._query("SELECT version, action, raw FROM entry_version WHERE type = ? AND id = ? "
                         "ORDER BY version DESC LIMIT 1", [rtype, rid])  # fmt: skip
    if not rows:
        raise EntryRefused(f"{_shown(ref)} is not one of your own entries.", action=Action.SEE_ENTRIES)
    version, action, raw = int(rows[0][0]), rows[0][1], rows[0][2]
    if action != "deleted":
        raise EntryRefused(f"{_shown(ref)} is not deleted; there is nothing to restore.")
    resource: dict[str, Any] = loads(raw)
    source = record.source(OWN_SOURCE, kind="file")
    if record.get("Patient", _subject(resource).partition("/")[2], source.id) is None:
        raise EntryRefused("The person this entry was about is no longer in the record, so it cannot be restored.")
    now = _now()
    resource["meta"] = {**resource.get("meta", {}), "versionId": str(version + 1), "lastUpdated": now}
    with record._transaction() as cur:
        latest = cur.execute("SELECT max(version) FROM entry_version WHERE type = ? AND id = ?", (rtype, rid)).fetchone()
        if latest is None or latest[0] != version:
            raise EntryRefused(f"{_shown(ref)} was changed at the same time; look at it again.")
        _keep(record, cur, source.id, [resource], "restored", now)
        record._audit_in(cur, "entry-restore", type=rtype, id=rid, version=version + 1)
    return _entry(resource, version + 1, now)


def delete_entry(record: Record, ref: str) -> Entry:
    """Take an entry out of the record (lists, facts, shares); its versions stay readable in its history."""
    current = _current(record, ref)
    source = record.source(OWN_SOURCE, kind="file")
    rtype, rid, version = current["resourceType"], current["id"], _version(current) + 1
    with record._transaction() as cur:
        now = _now()
        rowid = cur.execute("SELECT rowid FROM resource WHERE source_id = ? AND type = ? AND id = ?",
                            (source.id, rtype, rid)).fetchone()[0]  # fmt: skip
        cur.execute("DELETE FROM resource_fts WHERE rowid = ?", (rowid,))
        cur.execute("DELETE FROM identifier WHERE resource = ?", (rowid,))
        cur.execute("DELETE FROM resource WHERE rowid = ?", (rowid,))
        cur.execute(
            "INSERT INTO entry_version (type, id, version, action, raw, saved_at) VALUES (?, ?, ?, 'deleted', ?, ?)",
            (rtype, rid, version, dumps(current).decode(), now),
        )
        record._audit_in(cur, "entry-delete", type=rtype, id=rid, version=version)
    return replace(_entry(current, version, now), deleted=True)


# --- reading -------------------------------------------------------------------------------------------------------


def own_entries(record: Record, person: Person | None = None, *, deleted: bool = False) -> list[Entry]:
    """The patient's entries (of one person when given), newest first; with `deleted`, the deleted ones instead."""
    source = _source(record)
    if source is None:
        return []
    rows = record._query(
        "SELECT v.type, v.id, v.version, v.action, v.raw, v.saved_at FROM entry_version v "
        "WHERE v.version = (SELECT max(version) FROM entry_version w WHERE w.type = v.type AND w.id = v.id) "
        "ORDER BY v.saved_at DESC, v.id"
    )
    subjects = {s for sid, s in person.subjects if sid == source.id} if person is not None else None
    found = []
    for _rtype, _rid, version, action, raw, saved_at in rows:
        if (action == "deleted") != deleted:
            continue
        resource = loads(raw)
        if subjects is not None and _subject(resource) not in subjects:
            continue
        found.append(replace(_entry(resource, version, saved_at), deleted=action == "deleted"))
    found.sort(key=lambda e: (e.date or "", e.saved_at), reverse=True)
    return found


def entry_history(record: Record, ref: str) -> list[EntryVersion]:
    """Every version of an entry, the first first (a deleted entry's too)."""
    rtype, rid = _split(record, ref)
    rows = record._query(
        "SELECT version, action, saved_at, raw FROM entry_version WHERE type = ? AND id = ? ORDER BY version", [rtype, rid]
    )
    if not rows:
        raise EntryRefused(f"{_shown(ref)} is not one of your own entries.", action=Action.SEE_ENTRIES)
    return [EntryVersion(int(v), action, at, loads(raw)) for v, action, at, raw in rows]


def draft_of(resource: Mapping[str, Any]) -> Draft:
    """The draft an entry was made from (to edit it: change some fields, save it again)."""
    rtype = resource.get("resourceType")
    note = _note(resource)
    if rtype == "Observation":
        codes = {c.get("code") for c in resource.get("code", {}).get("coding", [])}
        when = resource.get("effectiveDateTime")
        if PATIENT_NOTE[0] in codes:
            return Note(str(resource.get("valueString", "")), when)
        if BLOOD_PRESSURE["panel"][0] in codes:
            parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in resource.get("component", [])}
            value = f"{parts[BLOOD_PRESSURE['systolic'][0]]}/{parts[BLOOD_PRESSURE['diastolic'][0]]}"
            return Reading("blood-pressure", value, None, when, note)
        quantity = resource.get("valueQuantity", {})
        for key, sign in READINGS.items():
            if codes & {sign.code, *(o[3] for o in sign.others if o[3])}:
                return Reading(key, str(quantity.get("value")), quantity.get("code"), when, note)
    elif rtype == "Condition":
        severity = next((k for k, v in SEVERITIES.items() if v in _codes(resource.get("severity"))), None)
        return Symptom(_text(resource.get("code")), resource.get("onsetDateTime"), severity,
                       resource.get("abatementDateTime"), note)  # fmt: skip
    elif rtype == "MedicationStatement":
        period = resource.get("effectivePeriod") or {}
        dose = " ".join(str(d.get("text", "")) for d in resource.get("dosage", []) if isinstance(d, dict))
        return Medicine(_text(resource.get("medicationCodeableConcept")), dose, period.get("start"), period.get("end"), note)
    elif rtype == "AllergyIntolerance":
        reaction = "; ".join(_text(m) for r in resource.get("reaction", []) for m in r.get("manifestation", []))
        return Allergy(_text(resource.get("code")), reaction, resource.get("type", "allergy"),
                       resource.get("criticality"), note)  # fmt: skip
    raise EntryRefused("This is not one of your own entries.")


# --- building the resources ----------------------------------------------------------------------------------------


def _build(draft: Draft, reference: str, now: str) -> dict[str, Any]:
    patient = {"reference": reference}
    pid = reference.partition("/")[2]
    resource: dict[str, Any]
    if isinstance(draft, Reading):
        when = _moment(draft.when, "when")
        try:
            if draft.kind == "blood-pressure":
                systolic, slash, diastolic = draft.value.partition("/")
                if not slash:
                    raise EntryRefused("Give a blood pressure as systolic/diastolic, for example 120/80.")
                resource = blood_pressure(systolic, diastolic, pid, when=when)
            elif draft.kind in READINGS:
                resource = reading(draft.kind, draft.value, pid, unit=draft.unit, when=when)
            else:
                raise EntryRefused(f"{_shown(draft.kind)} is not a reading Carry knows; choose from {', '.join(READING_KINDS)}.")
        except CarryError as exc:
            if isinstance(exc, EntryRefused):
                raise
            raise EntryRefused(str(exc)) from None
    elif isinstance(draft, Note):
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": _LOINC, "code": PATIENT_NOTE[0], "display": PATIENT_NOTE[1]}],
                     "text": "Diary note"},  # fmt: skip
            "subject": patient,
            "performer": [patient],
            "effectiveDateTime": _stamp(_moment(draft.when, "when")),
            "valueString": _words(draft.text, "The note", _TEXT_LIMIT),
        }
    elif isinstance(draft, Symptom):
        onset = _day(draft.onset, "onset") or date.today().isoformat()
        ended = _day(draft.ended, "end")
        if ended is not None and ended < onset:
            raise EntryRefused("A symptom cannot end before it started.")
        if draft.severity is not None and draft.severity not in SEVERITIES:
            raise EntryRefused(f"Severity is one of {', '.join(SEVERITIES)}.")
        status = "resolved" if ended else "active"
        resource = {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": status}]},
            "category": [{"coding": [{"system": _CONDITION_CATEGORY, "code": "health-concern",
                                      "display": "Health Concern"}]}],  # fmt: skip
            "code": {"text": _words(draft.text, "The symptom", _NAME_LIMIT)},
            "subject": patient,
            "onsetDateTime": onset,
            "recordedDate": now,
            "recorder": patient,
            "asserter": patient,
        }
        if ended:
            resource["abatementDateTime"] = ended
        if draft.severity:
            resource["severity"] = {"coding": [{"system": _SNOMED, "code": SEVERITIES[draft.severity],
                                                "display": draft.severity.title()}], "text": draft.severity}  # fmt: skip
    elif isinstance(draft, Medicine):
        since, until = _day(draft.since, "start"), _day(draft.until, "end")
        if since and until and until < since:
            raise EntryRefused("A medicine cannot be stopped before it was started.")
        resource = {
            "resourceType": "MedicationStatement",
            "status": "completed" if until else "active",
            "medicationCodeableConcept": {"text": _words(draft.name, "The medicine's name", _NAME_LIMIT)},
            "subject": patient,
            "informationSource": patient,
            "dateAsserted": now,
        }
        if since or until:
            resource["effectivePeriod"] = {k: v for k, v in (("start", since), ("end", until)) if v}
        if draft.dose.strip():
            resource["dosage"] = [{"text": _words(draft.dose, "The dose", _NAME_LIMIT)}]
    elif isinstance(draft, Allergy):
        if draft.kind not in ("allergy", "intolerance"):
            raise EntryRefused("Say whether it is an allergy or an intolerance.")
        if draft.criticality is not None and draft.criticality not in CRITICALITIES:
            raise EntryRefused(f"How serious it is is one of {', '.join(CRITICALITIES)}.")
        resource = {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"system": _ALLERGY_CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": _ALLERGY_VERIFICATION, "code": "unconfirmed"}]},
            "type": draft.kind,
            "code": {"text": _words(draft.substance, "What you are allergic to", _NAME_LIMIT)},
            "patient": patient,
            "recordedDate": now,
            "recorder": patient,
            "asserter": patient,
        }
        if draft.criticality:
            resource["criticality"] = draft.criticality
        if draft.reaction.strip():
            resource["reaction"] = [{"manifestation": [{"text": _words(draft.reaction, "The reaction", _NAME_LIMIT)}]}]
    else:  # pragma: no cover - the Draft union is closed
        raise EntryRefused("Carry does not know this kind of entry.")
    note = getattr(draft, "note", "")
    if note.strip():
        resource["note"] = [{"text": _words(note, "The note", _TEXT_LIMIT)}]
    resource["meta"] = {"tag": [PATIENT_SUPPLIED]}
    return resource


def _same_as(record: Record, draft: Draft, person: str | None, old: Mapping[str, Any] | None) -> Any:
    """The fact (of the same person, of a kind this draft may be) the patient said this entry is."""
    kind = {Symptom: "symptom", Medicine: "medicine", Allergy: "allergy"}.get(type(draft))
    if kind is None:
        raise EntryRefused("Only a symptom, a medicine or an allergy can be said to be the same as another item.")
    if old is not None:
        whose = next((p for p in people(record) if p.admits(_source_id(record), _subject(old))), None)
    else:
        whose = choose_person(record, person, people(record))
    scope = whose.subjects if whose is not None else ()
    try:
        return find_fact(record, str(getattr(draft, "same_as")), within=facts(record, _SAME_TYPES[kind], subjects=scope))
    except FactNotFound:
        raise EntryRefused(
            f"{_shown(str(getattr(draft, 'same_as')))} is not a {kind.replace('symptom', 'problem')} in this person's "
            "record.",
            action=Action.SEE_FACTS,
        ) from None


def _take_codes(resource: dict[str, Any], fact: Any) -> None:
    """Give the entry the codings of the item the patient said it is, so it is coded as that item is."""
    member = fact.newest
    row: ResourceRow = member.row
    if row.code_system and row.code:
        element = "medicationCodeableConcept" if resource["resourceType"] == "MedicationStatement" else "code"
        resource[element]["coding"] = [{"system": row.code_system, "code": row.code,
                                        **({"display": row.code_display} if row.code_display else {})}]  # fmt: skip


def _checked(resource: dict[str, Any]) -> Any:
    return replace(parsed(resource), error=None, checked=True)


def _current(record: Record, ref: str | None) -> dict[str, Any]:
    rtype, rid = _split(record, ref or "")
    source = _source(record)
    stored = record.get(rtype, rid, source.id) if source is not None else None
    if stored is None:
        raise EntryRefused(f"{_shown(ref or '')} is not one of your own entries.", action=Action.SEE_ENTRIES)
    resource: dict[str, Any] = stored.json()
    return resource


def _source(record: Record) -> Source | None:
    found = [s for s in record.sources() if s.kind == "file" and s.name == OWN_SOURCE]
    return found[0] if found else None


def own_source_id(record: Record) -> int | None:
    """The id of the source that holds the patient's own entries (None before the first entry)."""
    source = _source(record)
    return source.id if source is not None else None


def _source_id(record: Record) -> int:
    return own_source_id(record) or -1


def _split(record: Record, ref: str) -> tuple[str, str]:
    """(type, id) of an entry named "Type/id" or by its id alone."""
    rtype, slash, rid = ref.strip().partition("/")
    if slash:
        return rtype, rid
    rows = record._query("SELECT DISTINCT type FROM entry_version WHERE id = ?", [rtype]) if rtype else []
    return (str(rows[0][0]) if len(rows) == 1 else ""), rtype


def _entry(resource: Mapping[str, Any], version: int, saved_at: str) -> Entry:
    draft = draft_of(resource)
    kind = {Reading: "reading", Symptom: "symptom", Note: "note", Medicine: "medicine", Allergy: "allergy"}[type(draft)]
    return Entry(resource["resourceType"], resource["id"], kind, describe(draft), _date_of(resource), version, saved_at)


def describe(draft: Draft) -> str:
    """One line for an entry: "Blood pressure 120/80 mm[Hg]", "Symptom: headache (mild)"."""
    if isinstance(draft, Reading):
        if draft.kind == "blood-pressure":
            return f"Blood pressure {draft.value} mm[Hg]"
        sign = READINGS[draft.kind]
        return f"{sign.display} {draft.value} {draft.unit or sign.unit}"
    if isinstance(draft, Symptom):
        return f"Symptom: {draft.text}" + (f" ({draft.severity})" if draft.severity else "")
    if isinstance(draft, Note):
        first = draft.text.strip().splitlines()[0] if draft.text.strip() else ""
        return f"Note: {first[:80]}"
    if isinstance(draft, Medicine):
        return f"Medicine: {draft.name}" + (f", {draft.dose}" if draft.dose else "")
    return f"{draft.kind.title()}: {draft.substance}" + (f" ({draft.reaction})" if draft.reaction else "")


def _date_of(resource: Mapping[str, Any]) -> str | None:
    for key in ("effectiveDateTime", "onsetDateTime", "recordedDate", "dateAsserted"):
        if isinstance(resource.get(key), str):
            return str(resource[key])
    period = resource.get("effectivePeriod")
    return period.get("start") if isinstance(period, Mapping) else None


def _subject(resource: Mapping[str, Any]) -> str:
    holder = resource.get("patient") if resource.get("resourceType") == "AllergyIntolerance" else resource.get("subject")
    return str(holder.get("reference")) if isinstance(holder, Mapping) else ""


def _version(resource: Mapping[str, Any]) -> int:
    meta = resource.get("meta")
    try:
        return int(meta.get("versionId", 1)) if isinstance(meta, Mapping) else 1
    except (TypeError, ValueError):
        return 1


def _note(resource: Mapping[str, Any]) -> str:
    return "\n".join(str(n.get("text", "")) for n in resource.get("note", []) if isinstance(n, Mapping))


def _text(concept: Any) -> str:
    if not isinstance(concept, Mapping):
        return ""
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    return next((str(c["display"]) for c in concept.get("coding", []) if isinstance(c, Mapping) and c.get("display")), "")


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, Mapping):
        return set()
    return {str(c.get("code")) for c in concept.get("coding", []) if isinstance(c, Mapping)}


def _words(text: str, what: str, limit: int) -> str:
    cleaned = (text or "").replace("\x00", "").strip()
    if not cleaned:
        raise EntryRefused(f"{what} is empty; write something.")
    if len(cleaned) > limit:
        raise EntryRefused(f"{what} is longer than {limit} characters; shorten it.")
    return cleaned


def _moment(text: str | None, what: str) -> datetime | None:
    if text is None or not str(text).strip():
        return None
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise EntryRefused(f"{_shown(str(text))} is not a date; write it as 2026-03-14 or 2026-03-14T08:30.") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the patient's local time
    if moment > datetime.now(timezone.utc):
        raise EntryRefused(f"The {what} date {_shown(str(text))} is in the future.")
    return moment


def _day(text: str | None, what: str) -> str | None:
    if text is None or not str(text).strip():
        return None
    try:
        day = date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise EntryRefused(f"{_shown(str(text))} is not a date; write it as 2026-03-14.") from None
    if day > date.today():
        raise EntryRefused(f"The {what} date {day.isoformat()} is in the future.")
    return day.isoformat()


def _stamp(moment: datetime | None) -> str:
    return (moment or datetime.now(timezone.utc)).isoformat(timespec="seconds")


def _shown(text: str) -> str:
    from sync.untrusted import plain_text

    return repr(plain_text(text, limit=60))

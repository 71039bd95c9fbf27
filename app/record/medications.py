"""The reconciled medication list: every medication across all sources once, current apart from stopped.

Built on facts (copies of one order from several sources are one fact); the orders of one medication -- the same
code, or for uncoded ones the same name -- make one entry, whose status is that of its latest order. Two checks
use only data the record already holds:

* conflicts: current entries with the same ingredients at different strengths, stated by two or more sources;
* allergy flags: a current or stopped medication whose ingredient matches a recorded, not refuted allergy
  substance -- by equal code ("code"), or by the substance's name appearing in the ingredient's ("name", which is
  a prompt to check, not a finding).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .drugs import Drug, normalise_text, parse_drug
from .facts import Fact
from .view_cache import KeptHead, kept_copies, kept_heads_or_grouped, kept_or_grouped, newest_copies
from .people import Subjects
from .store import Record

__all__ = [
    "MEDICATION_INPUTS", "AllergyFlag", "MedicationConflict", "MedicationEntry", "MedicationList", "reconcile_medications",
]  # fmt: skip

_CURRENT = ("active", "on-hold", "intended")
_IGNORED = ("entered-in-error",)
_ORDER_TYPES = ("MedicationRequest", "MedicationStatement")
_NOT_AN_ALLERGY = ("inactive", "resolved")
# Every resource type the reconciled list is made from (the orders and statements, fills, allergies, and who
# prescribed): a change to none of them leaves it as it was (app.views.merged keeps it then).
MEDICATION_INPUTS = frozenset({
    "MedicationRequest", "MedicationStatement", "MedicationDispense", "AllergyIntolerance", "Practitioner",
    "Organization", "PractitionerRole", "Patient", "RelatedPerson",
})  # fmt: skip
_REFUTED = ("refuted", "entered-in-error")
# Words around an allergy's substance in its name ("Allergy to penicillin", "Latex allergy").
_ALLERGY_WORDS = frozenset({"allergy", "allergic", "to", "intolerance", "of", "reaction", "hypersensitivity"})
_MIN_SUBSTANCE = 4  # shorter names match too much by accident


@dataclass(frozen=True)
class MedicationEntry:
    display: str
    system: str | None
    code: str | None
    drug: Drug | None  # ingredients, strengths and form read from the name (None when it does not follow RxNorm's)
    status: str | None  # of the latest order
    current: bool
    last_ordered: str | None
    last_prescriber: str | None
    last_fill: str | None  # the latest MedicationDispense of the same code, where the record has one
    sources: tuple[str, ...]
    fact_ids: tuple[str, ...]  # newest first
    person: str

    def as_json(self) -> dict[str, Any]:
        return {
            "display": self.display,
            "code": {"system": self.system, "code": self.code},
            "ingredients": [
                {"name": n, "strength": s} for n, s in zip(self.drug.ingredients, self.drug.strengths, strict=True)
            ]
            if self.drug
            else [],
            "form": self.drug.form if self.drug else None,
            "status": self.status,
            "current": self.current,
            "last_ordered": self.last_ordered,
            "last_prescriber": self.last_prescriber,
            "last_fill": self.last_fill,
            "sources": list(self.sources),
            "fact_ids": list(self.fact_ids),
        }


@dataclass(frozen=True)
class MedicationConflict:
    ingredients: tuple[str, ...]
    entries: tuple[MedicationEntry, ...]
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "ingredients": list(self.ingredients),
            "message": self.message,
            "medications": [{"display": e.display, "sources": list(e.sources), "fact_ids": list(e.fact_ids)} for e in self.entries],
        }


@dataclass(frozen=True)
class AllergyFlag:
    medication: MedicationEntry
    allergy: str  # the allergy as recorded
    allergy_fact_id: str
    substance: str
    basis: str  # "code" | "name"
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "medication": self.medication.display,
            "medication_fact_ids": list(self.medication.fact_ids),
            "current": self.medication.current,
            "allergy": self.allergy,
            "allergy_fact_id": self.allergy_fact_id,
            "substance": self.substance,
            "basis": self.basis,
            "message": self.message,
        }


@dataclass(frozen=True)
class MedicationList:
    current: tuple[MedicationEntry, ...]
    stopped: tuple[MedicationEntry, ...]
    conflicts: tuple[MedicationConflict, ...]
    allergy_flags: tuple[AllergyFlag, ...]

    def as_json(self) -> dict[str, Any]:
        """The stable `carry meds --json` shape (documented in README.md)."""
        return {
            "current": [e.as_json() for e in self.current],
            "stopped": [e.as_json() for e in self.stopped],
            "conflicts": [c.as_json() for c in self.conflicts],
            "allergy_flags": [f.as_json() for f in self.allergy_flags],
        }


# How many of an order's other copies are asked who prescribed it when its newest copy names nobody.
_COPIES_ASKED = 8
# Who a requester reference may name.
_PRESCRIBER_TYPES = frozenset({"Practitioner", "Organization", "PractitionerRole", "Patient", "RelatedPerson"})


def reconcile_medications(record: Record, *, subjects: Subjects | None = None) -> MedicationList:
    """Current and stopped medications of everyone in the record (or of one person's `subjects`: Person.subjects),
    with conflicts and flags; an allergy flags only the same person's medications."""
    scope = None if subjects is None else tuple(subjects)
    # What each order fact shows (its newest copy), not its every copy: a lifetime of refills is thousands.
    orders = [f for f in kept_heads_or_grouped(record, _ORDER_TYPES, subjects=scope) if f.status not in _IGNORED]
    grouped: dict[tuple[str, str], list[KeptHead]] = {}
    for fact in orders:  # newest first
        row = fact.row
        if row.code_system and row.code:
            key = f"code|{row.code_system}|{row.code}"
        else:
            drug = parse_drug(fact.display)
            key = f"name|{drug.key if drug else normalise_text(fact.display)}"
        grouped.setdefault((fact.person, key), []).append(fact)
    # Who prescribed an order is read from its JSON only when asked: the newest order of every medication first (it
    # usually names them), the rest of a medication's orders together the first time one of them is asked.
    group_of = {f.row.rowid: group for group in grouped.values() for f in group}
    newest = _order_details(record, [group[0].row.rowid for group in grouped.values()])
    read = {group[0].row.rowid for group in grouped.values()}
    older: list[dict[str, Fact]] = []
    details: dict[int, dict[str, Any]] = {}  # the other copies' prescribers, read an order at a time when asked

    def prescriber_of(order: KeptHead) -> str | None:
        if order.row.rowid not in read:
            same = [f.row.rowid for f in group_of.get(order.row.rowid, [order]) if f.row.rowid not in read]
            read.update(same)
            newest.update(_order_details(record, same))
        found: str | None = newest.get(order.row.rowid, {}).get("prescriber")
        if found:
            return found
        # The newest copy names nobody: the fact's other copies, the last stored first, up to _COPIES_ASKED of them
        # (a copy received again a thousand times is asked about a few times, not a thousand).
        copies = kept_copies(record, _ORDER_TYPES, order.fact_id, scope, _COPIES_ASKED) if not older else None
        if copies is None:
            if not older:
                older.append({f.fact_id: f for f in kept_or_grouped(record, _ORDER_TYPES, subjects=scope)})
            fact = older[0].get(order.fact_id)
            copies = newest_copies(fact, _COPIES_ASKED) if fact is not None else []
        unread = [r for r in copies if r not in read]  # a few, read together; the first that names someone, in order
        read.update(unread)
        details.update(_order_details(record, unread))
        return next((str(details[r]["prescriber"]) for r in copies if r in details), None)

    fills = _fills(record, scope)
    entries = [_entry(person, group, prescriber_of, fills) for (person, _), group in grouped.items()]
    entries.sort(key=lambda e: (e.person, e.display.lower(), e.fact_ids[0]))
    current = tuple(e for e in entries if e.current)
    stopped = tuple(e for e in entries if not e.current)
    return MedicationList(current, stopped, _conflicts(current), _allergy_flags(record, entries, scope))


def _entry(
    person: str, orders: list[KeptHead], prescriber_of: Callable[[KeptHead], str | None], fills: dict[Any, str]
) -> MedicationEntry:
    latest = orders[0]
    row = latest.row
    prescriber = None
    for fact in orders:  # the newest order's newest copy first, then its other copies, then the next order's
        prescriber = prescriber_of(fact)
        if prescriber:
            break
    sources = tuple(dict.fromkeys(s for f in orders for s in f.sources))
    fill = fills.get((row.code_system, row.code)) if row.code else fills.get(normalise_text(latest.display))
    return MedicationEntry(
        display=latest.display,
        system=row.code_system,
        code=row.code,
        drug=parse_drug(latest.display),
        status=latest.status,
        current=latest.status in _CURRENT,
        last_ordered=latest.date,
        last_prescriber=prescriber,
        last_fill=fill,
        sources=sources,
        fact_ids=tuple(f.fact_id for f in orders),
        person=person,
    )


def _order_details(record: Record, rowids: list[int]) -> dict[int, dict[str, Any]]:
    """Who prescribed each of these orders (copies of them): the requester's display, else the named Practitioner
    of the same source."""
    if not rowids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    refs: dict[tuple[int, str], list[int]] = {}
    for start in range(0, len(rowids), 500):
        some = rowids[start : start + 500]
        for rowid, sid, ref, display in record.read(
            "WITH r AS MATERIALIZED (SELECT rowid, source_id, resource_json(raw, type, id) AS json FROM resource "
            f"WHERE rowid IN ({', '.join('?' * len(some))})) "
            "SELECT rowid, source_id, COALESCE(json_extract(json, '$.requester.reference'), "
            "json_extract(json, '$.informationSource.reference')), COALESCE(json_extract(json, '$.requester.display'), "
            "json_extract(json, '$.informationSource.display')) FROM r",
            some,
        ):
            if isinstance(display, str) and display.strip():
                found[rowid] = {"prescriber": display.strip()}
            elif isinstance(ref, str) and "/" in ref:
                rtype, _, rid = ref.rstrip("/").rpartition("/")
                refs.setdefault((sid, f"{rtype.rsplit('/', 1)[-1]}/{rid}"), []).append(rowid)
    named: list[tuple[int, str, str]] = []
    for sid, ref in refs:
        rtype, _, rid = ref.partition("/")
        if rtype in _PRESCRIBER_TYPES:
            named.append((sid, rtype, rid))
    for chunk in range(0, len(named), 300):  # the people named, looked up by key (not every person in the record)
        part = named[chunk : chunk + 300]
        for sid, rtype, rid, display in record.read(
            "SELECT source_id, type, id, display FROM resource WHERE (source_id, type, id) IN "
            f"(VALUES {', '.join('(?, ?, ?)' for _ in part)})",
            [value for key in part for value in key],
        ):
            for rowid in refs.get((sid, f"{rtype}/{rid}"), ()):
                if display and display != rtype:
                    found[rowid] = {"prescriber": display}
    return found


def _fills(record: Record, subjects: Subjects | None) -> dict[Any, str]:
    """The latest dispense date per medication code (and per name for uncoded ones)."""
    latest: dict[Any, str] = {}
    for fact in kept_heads_or_grouped(record, ["MedicationDispense"], subjects=subjects):
        if not fact.date or fact.status in _IGNORED:
            continue
        row = fact.row
        for key in ((row.code_system, row.code) if row.code else None, normalise_text(fact.display)):
            if key and fact.date > latest.get(key, ""):
                latest[key] = fact.date
    return latest


def _conflicts(current: tuple[MedicationEntry, ...]) -> tuple[MedicationConflict, ...]:
    by_ingredients: dict[tuple[str, frozenset[str]], list[MedicationEntry]] = {}
    for entry in current:
        if entry.drug is not None:
            by_ingredients.setdefault((entry.person, entry.drug.ingredient_set), []).append(entry)
    found = []
    for (_, ingredients), entries in by_ingredients.items():
        strengths = {_strengths(e.drug) for e in entries if e.drug is not None}
        sources = {s for e in entries for s in e.sources}
        if len(strengths) > 1 and len(sources) > 1:
            names = tuple(sorted(ingredients))
            doses = "; ".join(f"{e.display} ({', '.join(e.sources)})" for e in entries)
            found.append(
                MedicationConflict(
                    names, tuple(entries), f"{' / '.join(names)} is current at different strengths: {doses}."
                )
            )
    return tuple(sorted(found, key=lambda c: c.ingredients))


def _strengths(drug: Drug) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(zip(drug.ingredients, drug.strengths, strict=True)))


def _allergy_flags(
    record: Record, entries: list[MedicationEntry], subjects: Subjects | None
) -> tuple[AllergyFlag, ...]:
    allergies = [
        f for f in kept_heads_or_grouped(record, ["AllergyIntolerance"], subjects=subjects) if f.status not in _NOT_AN_ALLERGY
    ]
    if not allergies or not entries:
        return ()
    rowids = [a.row.rowid for a in allergies]
    raw = {
        rowid: json.loads(text)
        for rowid, text in record.read(
            f"SELECT rowid, resource_json(raw, type, id) FROM resource WHERE rowid IN ({', '.join('?' * len(rowids))})", rowids
        )
    }
    flags = []
    for allergy in allergies:
        resource = raw.get(allergy.row.rowid, {})
        verification = _codes(resource.get("verificationStatus"))
        if any(code in _REFUTED for _, code in verification):
            continue
        concepts = [resource.get("code")] + [
            r.get("substance") for r in resource.get("reaction", []) or [] if isinstance(r, dict)
        ]
        codes = {c for concept in concepts for c in _codes(concept)}
        names = {_substance(n) for concept in concepts for n in _names(concept)} - {""}
        for entry in entries:
            if entry.person != allergy.person:
                continue
            if entry.system and entry.code and (entry.system, entry.code) in codes:
                flags.append(_flag(entry, allergy, entry.display, "code"))
                continue
            ingredients = entry.drug.ingredients if entry.drug else (normalise_text(entry.display),)
            hit = next((n for n in sorted(names) for i in ingredients if _contains(i, n) or _contains(n, i)), None)
            if hit:
                flags.append(_flag(entry, allergy, hit, "name"))
    return tuple(sorted(flags, key=lambda f: (not f.medication.current, f.medication.display, f.allergy)))


def _flag(entry: MedicationEntry, allergy: KeptHead, substance: str, basis: str) -> AllergyFlag:
    how = "has the same code as" if basis == "code" else "names the same substance as"
    state = "a current medication" if entry.current else "a past medication"
    message = f"{entry.display} ({state}) {how} your recorded allergy \"{allergy.display}\"; ask your doctor or pharmacist."
    return AllergyFlag(entry, allergy.display, allergy.fact_id, substance, basis, message)


def _codes(concept: Any) -> set[tuple[str, str]]:
    if not isinstance(concept, dict):
        return set()
    return {
        (str(c.get("system") or ""), str(c["code"]))
        for c in concept.get("coding", []) or []
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    }


def _names(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    found = [concept["text"]] if isinstance(concept.get("text"), str) else []
    found += [c["display"] for c in concept.get("coding", []) or [] if isinstance(c, dict) and isinstance(c.get("display"), str)]
    return found


def _substance(name: str) -> str:
    words = [w for w in normalise_text(name).split() if w not in _ALLERGY_WORDS]
    text = " ".join(words)
    return text if len(text) >= _MIN_SUBSTANCE else ""


def _contains(text: str, words: str) -> bool:
    """Whether `words` occurs in `text` as whole words ("penicillin" in "penicillin v potassium")."""
    if len(words) < _MIN_SUBSTANCE:
        return False
    return f" {words} " in f" {normalise_text(text)} "

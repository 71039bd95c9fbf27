"""Who the record is about: the one place Carry decides which person a resource belongs to.

A person is a set of (source, Patient reference) pairs, kept in `person_member`. A Patient of one source is never
the same person as a Patient of another source because their ids match (two clinics both call their first patient
`Patient/1`): every new (source, Patient) is placed in a person of its own. Patients from different sources with
the same name and birth date (case, accents and spacing ignored) are *proposed* as one person; only the patient's
merge makes them one, and a split keeps them apart (`person_apart`) so the proposal never comes back. Decisions are
keyed by the source key and the reference, so they survive forgetting a source and syncing it again.

A resource belongs to a person through its (source, subject): the subject must name one of the person's Patients
*in the same source*. Resources that name no subject (Practitioner, Medication, …) belong to nobody and are shown
only through a person's own resources; a subject Carry cannot place is "unassigned", never guessed.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sync.errors import Action
from sync.untrusted import plain_text

from .errors import RecordError
from .store import Record, ResourceRow, Source, audit_in

__all__ = [
    "Member",
    "Person",
    "PersonError",
    "PersonNeeded",
    "Proposal",
    "Subjects",
    "choose_person",
    "keep_apart",
    "merge_people",
    "owners",
    "people",
    "person_clause",
    "place_patients",
    "proposals",
    "rename_person",
    "source_key",
    "split_person",
    "stand_in",
    "subject_clause",
    "unassigned",
]

NAME_LIMIT = 80
UNNAMED = "Unnamed patient"
# (source id, subject reference as stored): what a person's resources are found by.
Subjects = tuple[tuple[int, str], ...]


class PersonError(RecordError):
    """A person named on the command line or in the app is not in the record, or a merge/split/rename is refused."""

    code = "record.person"
    default_message = "There is no such person in your record."


class PersonNeeded(PersonError):
    """The record holds more than one person and none was named: Carry says who there is instead of guessing."""

    code = "record.person-needed"
    default_message = "The record holds more than one person; say which one."
    default_action = Action.CHOOSE_PERSON

    def __init__(self, message: str | None = None, *, merge_pairs: Sequence[tuple[int, int]] = ()) -> None:
        self.merge_pairs = tuple(merge_pairs)  # persons (by number) that may be one: the renderers offer a merge
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"merge_pairs": self.merge_pairs}


@dataclass(frozen=True)
class Member:
    """One (source, Patient) pair of a person, as the record holds it now."""

    source_key: str
    patient: str  # "Patient/1"
    source_id: int
    source: str  # the source's name
    rowid: int | None  # the Patient resource, when the source sent one
    name: str | None
    birth_date: str | None
    gender: str | None
    decided: bool  # the patient merged or split it (not only placed automatically)

    @property
    def label(self) -> str:
        return f"{self.source}:{self.patient}"

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "patient": self.patient, "name": self.name, "birth_date": self.birth_date,
                "decided": self.decided}  # fmt: skip


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    birth_date: str | None
    gender: str | None
    members: tuple[Member, ...]
    subjects: Subjects  # every (source id, subject) a resource of this person may carry

    @property
    def key(self) -> str:
        return str(self.id)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.source for m in self.members))

    def admits(self, source_id: int, subject: str | None) -> bool:
        return subject is not None and (source_id, subject) in self.subjects

    def describe(self) -> str:
        born = f", born {self.birth_date}" if self.birth_date else ""
        return f"{self.id}. {self.name}{born} ({', '.join(self.sources)})"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "birth_date": self.birth_date, "gender": self.gender,
                "sources": list(self.sources), "records": [m.as_json() for m in self.members]}  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """Two persons from different sources with the same name and birth date: perhaps one person."""

    a: Person
    b: Person

    def as_json(self) -> dict[str, Any]:
        return {"a": self.a.id, "b": self.b.id, "reason": "same name and birth date"}


def source_key(kind: str, name: str, base_url: str | None) -> str:
    """How decisions name a source: a portal by its FHIR base (names may change), other sources by kind and name."""
    if kind == "portal" and base_url:
        return base_url.rstrip("/")
    return f"{kind}:{name}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def folded(name: str | None) -> str:
    """A name with case, accents, punctuation and spacing ignored ("ÉLVINA  Lemke" -> "elvina lemke")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", (name or "").casefold()) if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def match_key(name: str | None, birth_date: str | None) -> str | None:
    """Name and birth date with case, accents and spacing ignored; None when either is missing."""
    words = folded(name)
    return f"{words}|{birth_date[:10]}" if words and birth_date else None


# --- placing new Patients ------------------------------------------------------------------------------------------


def _patient_keys(rows: Iterable[Any], portals: Iterable[Any], keys: dict[int, str]) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for sid, rid in rows:
        found[(keys[sid], f"Patient/{rid}")] = None
    for sid, pid in portals:
        if sid in keys:
            found[(keys[sid], f"Patient/{pid}")] = None
    return list(found)


PEOPLE_VERSION = 8  # the schema version that brought the person tables (app.record.schema)


def place_patients(cur: Any) -> int:
    """Give every (source, Patient) the record holds and no person has yet a person of its own (inside the
    caller's transaction, on a raw cursor); returns how many were placed. The portal's own patient counts even
    before its Patient resource arrives."""
    keys = {sid: source_key(k, n, b) for sid, k, n, b in cur.execute("SELECT id, kind, name, base_url FROM source")}
    placed = set(cur.execute("SELECT source_key, patient FROM person_member").fetchall())
    wanted = _patient_keys(
        cur.execute("SELECT source_id, id FROM resource WHERE type = 'Patient' ORDER BY rowid").fetchall(),
        cur.execute("SELECT source_id, patient_id FROM portal ORDER BY source_id").fetchall(),
        keys,
    )
    new = [key for key in wanted if key not in placed]
    now = _now()
    for skey, patient in new:
        cur.execute("INSERT INTO person (name, created_at) VALUES (NULL, ?)", (now,))
        cur.execute(
            "INSERT INTO person_member (source_key, patient, person_id, placed_at) VALUES (?, ?, ?, ?)",
            (skey, patient, int(cur.lastrowid), now),
        )
    if new:
        audit_in(cur, "person-add", placed=len(new))
    return len(new)


def _ensure_placed(record: Record) -> None:
    keys = {sid: source_key(k, n, b) for sid, k, n, b in record.read("SELECT id, kind, name, base_url FROM source")}
    placed = set(record.read("SELECT source_key, patient FROM person_member"))
    wanted = _patient_keys(
        record.read("SELECT source_id, id FROM resource WHERE type = 'Patient'"),
        record.read("SELECT source_id, patient_id FROM portal"),
        keys,
    )
    # Writes place every new Patient as they store it; this catches what an older Carry stored unplaced, and
    # leaves a read-only record as it is (its unplaced Patients, if any, are shown once the file is writable).
    if not record.read_only and any(key not in placed for key in wanted):
        with record.write() as cur:
            place_patients(cur.raw)


# --- reading -------------------------------------------------------------------------------------------------------


def people(record: Record) -> list[Person]:
    """Everyone the record holds now, in the order they first arrived (the first is the one the record was made
    for). A person whose every source is forgotten is not listed, but kept: syncing the source again brings them
    back with the patient's decisions."""
    _ensure_placed(record)
    sources: dict[str, list[tuple[int, str, str | None]]] = {}
    for sid, kind, name, base in record.read("SELECT id, kind, name, base_url FROM source ORDER BY id"):
        sources.setdefault(source_key(kind, name, base), []).append((int(sid), name, base))
    patients: dict[tuple[int, str], tuple[Any, ...]] = {}
    for rowid, sid, rid, display, birth, gender, changed in record.read(
        "SELECT rowid, source_id, id, display, json_extract(resource_json(raw, type, id), '$.birthDate'), "
        "json_extract(resource_json(raw, type, id), '$.gender'), changed_at FROM resource WHERE type = 'Patient'"
    ):
        patients[(int(sid), f"Patient/{rid}")] = (int(rowid), display, birth, gender, changed)
    portal_patients = {(int(sid), f"Patient/{pid}") for sid, pid in record.read("SELECT source_id, patient_id FROM portal")}
    names = dict(record.read("SELECT id, name FROM person"))
    grouped: dict[int, list[tuple[Member, str, Subjects]]] = {}
    for person_id, skey, patient, decided in record.read(
        "SELECT person_id, source_key, patient, decided_at FROM person_member ORDER BY person_id, placed_at, patient"
    ):
        for sid, sname, base in sources.get(skey, []):
            info = patients.get((sid, patient))
            if info is None and (sid, patient) not in portal_patients:
                continue
            rowid, display, birth, gender, changed = info or (None, None, None, None, "")
            member = Member(skey, patient, sid, sname, rowid, display, birth, gender, decided is not None)
            subjects: Subjects = ((sid, patient),) + (((sid, f"{base.rstrip('/')}/{patient}"),) if base else ())
            grouped.setdefault(int(person_id), []).append((member, changed or "", subjects))
    out: list[Person] = []
    for person_id, found in grouped.items():
        members = tuple(m for m, _, _ in found)
        speaker = max(found, key=lambda f: (f[0].rowid is not None, f[1]))[0]  # the newest Patient resource
        own = names.get(person_id)
        out.append(Person(person_id, own or speaker.name or UNNAMED, speaker.birth_date, speaker.gender, members,
                          tuple(s for _, _, subjects in found for s in subjects)))  # fmt: skip
    return out


def owners(everyone: Sequence[Person]) -> dict[tuple[int, str], int]:
    """(source id, subject) -> person id, for every subject a person holds."""
    return {subject: person.id for person in everyone for subject in person.subjects}


def subject_clause(subjects: Subjects, alias: str = "r") -> tuple[str, tuple[Any, ...]]:
    """SQL that keeps only resources about these (source, subject) pairs (nothing, when there are none)."""
    if not subjects:
        return "0", ()
    marks = ", ".join("(?, ?)" for _ in subjects)
    return f"({alias}.source_id, {alias}.subject) IN (VALUES {marks})", tuple(v for pair in subjects for v in pair)


# A reference to a resource that names no patient (shared context: who treated, where, which drug), in raw JSON.
_CONTEXT_REFERENCE = re.compile(
    r'"reference"\s*:\s*"(?:[^"]*/)?(Practitioner|PractitionerRole|Organization|Location|Medication|Device|'
    r'Specimen|Substance|Binary)/([^"/]+)"'
)


def person_clause(record: Record, person: Person) -> tuple[str, tuple[Any, ...]]:
    """SQL over `r` for everything of one person: their resources, and the shared context (practitioners,
    organisations, medications, locations, …) those resources refer to in their own source; nothing else."""
    mine, params = subject_clause(person.subjects)
    wanted: set[tuple[int, str, str]] = set()
    for sid, raw in record.read(f"SELECT r.source_id, resource_json(r.raw, r.type, r.id) FROM resource r WHERE {mine}", params):
        wanted.update((int(sid), rtype, rid) for rtype, rid in _CONTEXT_REFERENCE.findall(raw))
    if not wanted:
        return mine, params
    marks = ", ".join("(?, ?, ?)" for _ in wanted)
    return (
        f"({mine}) OR (r.subject IS NULL AND (r.source_id, r.type, r.id) IN (VALUES {marks}))",
        (*params, *(v for triple in sorted(wanted) for v in triple)),
    )


def unassigned(record: Record, everyone: Sequence[Person] | None = None) -> list[ResourceRow]:
    """Resources that name a subject no person holds: kept, listed on their own, never shown as anyone's."""
    known = [s for p in (people(record) if everyone is None else everyone) for s in p.subjects]
    where, params = "r.subject IS NOT NULL AND r.type != 'Patient'", ()
    if known:
        clause, params = subject_clause(tuple(known))
        where += f" AND NOT {clause}"
    return record.rows(where=where, params=params)


def proposals(record: Record, everyone: Sequence[Person] | None = None) -> list[Proposal]:
    """Pairs of persons that may be one: from different sources, with the same name and birth date, and not kept
    apart by the patient."""
    pool = people(record) if everyone is None else list(everyone)
    apart = {
        frozenset({(a1, a2), (b1, b2)})
        for a1, a2, b1, b2 in record.read("SELECT a_source, a_patient, b_source, b_patient FROM person_apart")
    }
    keyed = [(p, {match_key(m.name, m.birth_date) for m in p.members} - {None}) for p in pool]
    out: list[Proposal] = []
    for n, (a, a_keys) in enumerate(keyed):
        for b, b_keys in keyed[n + 1 :]:
            if not a_keys & b_keys or {m.source_key for m in a.members} & {m.source_key for m in b.members}:
                continue
            if any(frozenset({(x.source_key, x.patient), (y.source_key, y.patient)}) in apart
                   for x in a.members for y in b.members):  # fmt: skip
                continue
            out.append(Proposal(a, b))
    return out


def choose_person(record: Record, text: str | None, everyone: Sequence[Person] | None = None) -> Person | None:
    """The person `text` names (their number, or their name or part of it); with no text, the only person the
    record holds (None when it holds nobody). Raises PersonNeeded when the record holds several and none is named,
    PersonError when the name fits nobody or more than one."""
    pool = people(record) if everyone is None else list(everyone)
    if text is None or not text.strip():
        if len(pool) > 1:
            pairs = [(m.a.id, m.b.id) for m in proposals(record, pool)]
            maybe = "".join(f" {a} and {b} may be one person." for a, b in pairs)
            raise PersonNeeded(
                f"Your record holds {len(pool)} persons: " + "; ".join(p.describe() for p in pool)
                + f".{maybe}",
                merge_pairs=pairs,
            )
        return pool[0] if pool else None
    wanted = text.strip()
    if wanted.isdigit():
        found = [p for p in pool if p.id == int(wanted)]
    else:
        name = folded(wanted)
        found = [p for p in pool if folded(p.name) == name]
        if not found:  # part of the name: "alice", "quarrington"
            found = [p for p in pool if name and name in folded(p.name)]
    if not found:
        raise PersonError(
            f"No person in your record is called {plain_text(wanted, limit=80)!r}.", action=Action.SEE_PEOPLE
        )
    if len(found) > 1:
        raise PersonError(
            f"{plain_text(wanted, limit=80)!r} fits {len(found)} persons ("
            + "; ".join(p.describe() for p in found) + "); give their number."
        )
    return found[0]


# --- the patient's decisions ---------------------------------------------------------------------------------------


def _apart_pair(x: tuple[str, str], y: tuple[str, str]) -> tuple[str, str, str, str]:
    a, b = sorted((x, y))
    return (*a, *b)


def merge_people(record: Record, keep: Person, other: Person) -> Person:
    """The patient says these two are one person: `other`'s records join `keep`, the decision is kept and audited."""
    if keep.id == other.id:
        raise PersonError(f"{keep.name} is already one person.")
    with record.write() as cur:
        raw = cur.raw
        now = _now()
        raw.execute("UPDATE person_member SET person_id = ?, decided_at = ? WHERE person_id IN (?, ?)",
                    (keep.id, now, keep.id, other.id))  # fmt: skip
        for x in keep.members:
            for y in other.members:
                raw.execute("DELETE FROM person_apart WHERE a_source = ? AND a_patient = ? AND b_source = ? AND "
                            "b_patient = ?", _apart_pair((x.source_key, x.patient), (y.source_key, y.patient)))  # fmt: skip
        raw.execute("DELETE FROM person WHERE id = ?", (other.id,))
        audit_in(raw, "person-merge", person=keep.id, merged=other.id, records=len(other.members))
    return _by_id(record, keep.id)


def _keep_apart(raw: Any, these: Sequence[Member], those: Sequence[Member], now: str) -> None:
    for x in these:
        for y in those:
            raw.execute("INSERT OR REPLACE INTO person_apart (a_source, a_patient, b_source, b_patient, decided_at) "
                        "VALUES (?, ?, ?, ?, ?)", (*_apart_pair((x.source_key, x.patient), (y.source_key, y.patient)), now))  # fmt: skip


def keep_apart(record: Record, a: Person, b: Person) -> None:
    """The patient says two proposed persons are not one: they are never proposed as one again."""
    if a.id == b.id:
        raise PersonError(f"{a.name} is one person; split them instead.")
    with record.write() as cur:
        now = _now()
        _keep_apart(cur.raw, a.members, b.members, now)
        cur.raw.execute("UPDATE person_member SET decided_at = ? WHERE person_id IN (?, ?)", (now, a.id, b.id))
        audit_in(cur, "person-apart", person=a.id, other=b.id)


def split_person(record: Record, person: Person, which: Sequence[str] = ()) -> tuple[Person, Person]:
    """The patient says some of this person's records are somebody else: those (by number in `carry people`, or
    as SOURCE:Patient/ID; the last one when none is named) become a new person, kept apart from the rest."""
    if len(person.members) < 2:
        raise PersonError(f"{person.name} comes from one record only; there is nothing to split.")
    moving = [_pick_member(person, ref) for ref in which] if which else [person.members[-1]]
    moving = list(dict.fromkeys(moving))
    staying = [m for m in person.members if m not in moving]
    if not staying:
        raise PersonError("Leave at least one record with the person; a split moves some of them, not all.")
    with record.write() as cur:
        raw = cur.raw
        now = _now()
        raw.execute("INSERT INTO person (name, created_at) VALUES (NULL, ?)", (now,))
        new_id = int(raw.lastrowid)
        for m in moving:
            raw.execute("UPDATE person_member SET person_id = ?, decided_at = ? WHERE source_key = ? AND patient = ?",
                        (new_id, now, m.source_key, m.patient))  # fmt: skip
        _keep_apart(raw, moving, staying, now)
        raw.execute("UPDATE person_member SET decided_at = ? WHERE person_id = ?", (now, person.id))
        audit_in(raw, "person-split", person=person.id, new_person=new_id, records=len(moving))
    return _by_id(record, person.id), _by_id(record, new_id)


def rename_person(record: Record, person: Person, name: str) -> Person:
    """The patient's own name for a person (shown everywhere instead of the portals' name); "" goes back to it."""
    clean = plain_text(name, limit=NAME_LIMIT + 1)
    if len(clean) > NAME_LIMIT:
        raise PersonError(f"A name may be at most {NAME_LIMIT} characters long.")
    with record.write() as cur:
        cur.execute("UPDATE person SET name = ? WHERE id = ?", (clean or None, person.id))
        audit_in(cur, "person-rename", person=person.id)
    return _by_id(record, person.id)


# --- files that name no patient ------------------------------------------------------------------------------------

# How Carry marks the Patient it writes to stand for a person in a file's source (an Apple Health export names no
# patient): the tag says so wherever the resource is read.
STAND_IN_TAG = {"system": "urn:carry:stand-in", "code": "person",
                "display": "Written by Carry for a file that names no patient"}  # fmt: skip


def stand_in(cur: Any, source: Source, person: Person | None, name: str = "") -> tuple[str, dict[str, Any] | None]:
    """The Patient reference in `source` that stands for `person` (None: a new person, called `name`), for the
    resources of a file that name no patient; inside the caller's transaction, on a raw cursor. Returns the
    reference and, when Carry must write one, the minimal Patient resource to store with it (name and birth date
    of the person). The placement is the patient's explicit decision: kept and audited like a merge."""
    skey = source_key(source.kind, source.name, source.base_url)
    if person is not None:
        here = [m for m in person.members if m.source_key == skey]
        if here:  # the person already has a Patient in this source (an earlier import for them): theirs again
            return min(here, key=lambda m: (not m.patient.startswith(f"Patient/{_STAND_IN_PREFIX}"), m.patient)).patient, None
    rid = f"{_STAND_IN_PREFIX}{uuid.uuid4()}"
    now = _now()
    if person is None:
        cur.execute("INSERT INTO person (name, created_at) VALUES (?, ?)", (plain_text(name, limit=NAME_LIMIT) or None, now))
        person_id = int(cur.lastrowid)
    else:
        person_id = person.id
    # Placed before the Patient is stored, so that storing it does not give it a person of its own.
    cur.execute("INSERT INTO person_member (source_key, patient, person_id, placed_at, decided_at) VALUES (?, ?, ?, ?, ?)",
                (skey, f"Patient/{rid}", person_id, now, now))  # fmt: skip
    audit_in(cur, "person-stand-in", person=person_id, new=person is None)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": rid, "meta": {"tag": [STAND_IN_TAG]}}
    patient["name"] = [{"text": (person.name if person is not None else plain_text(name, limit=NAME_LIMIT)) or UNNAMED}]
    if person is not None and person.birth_date:
        patient["birthDate"] = person.birth_date[:10]
    if person is not None and person.gender:
        patient["gender"] = person.gender
    return f"Patient/{rid}", patient


_STAND_IN_PREFIX = "carry-"


def _by_id(record: Record, person_id: int) -> Person:
    for p in people(record):
        if p.id == person_id:
            return p
    raise PersonError(f"There is no person {person_id} in your record.", action=Action.SEE_PEOPLE)


def _pick_member(person: Person, ref: str) -> Member:
    ref = ref.strip()
    if ref.isdigit():
        number = int(ref)
        if not 1 <= number <= len(person.members):
            raise PersonError(f"{person.name} has {len(person.members)} records; there is no number {ref}.")
        return person.members[number - 1]
    source, _, patient = ref.rpartition(":") if ":" in ref else ("", "", ref)
    found = [m for m in person.members if m.patient == patient and (not source or source in (m.source, m.source_key))]
    if len(found) != 1:
        raise PersonError(
            f"{plain_text(ref, limit=80)!r} is not one of {person.name}'s records.", action=Action.SEE_PEOPLE
        )
    return found[0]

"""One record across providers: resources from every source that describe the same thing, grouped into facts.

Nothing here changes a stored resource. A fact is a view: its members are the original resources, each with its
source; the newest member speaks for the fact. Resources are grouped

* by a shared identifier (system + value) of the same type, unless that identifier is not unique to one resource;
* by type-specific keys (see `_keys`): Condition code + onset within 30 days, AllergyIntolerance substance code,
  medication code + start within 2 days (or an overlapping period), Immunization code + day, Observation code +
  time + value, Procedure code + day, DiagnosticReport code + time, Encounter start + class + organisation,
  DocumentReference attachment hash or URL.

Codes match only when system and code are equal. Codes from different systems match only through an explicit
mapping: the source's own CodeableConcept listing both (a Condition coded in SNOMED CT *and* ICD-10 links a
SNOMED-only copy to an ICD-10-only copy). Nothing is translated by guesswork. Matches that rest on text alone
(a name, a drug name read as ingredient + strength + form) are offered as possible matches and never merged.

The patient's decisions ("these are the same", "this one is different") are stored in `fact_decision`, keyed by
(source key, type, id) so they survive every later sync, and override the automatic grouping.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gc
import hashlib
import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, NamedTuple, Protocol, TypeVar

from sync.errors import Action

from .drugs import normalise_text, parse_drug
from .errors import RecordError
from .grouping import Edge, Groups, Windowed, group, grouped_edges
from .people import Subjects, owners, people, source_key, subject_clause
from .store import Record, ResourceRow, audit_in

__all__ = [
    "Decision",
    "Fact",
    "FactMember",
    "FactNotFound",
    "Part",
    "PossibleMatch",
    "confirm",
    "decisions",
    "fact_for",
    "facts",
    "find_fact",
    "regroup_parts",
    "reset",
    "source_key",
    "split",
]

CONDITION_WINDOW_DAYS = 30
MEDICATION_WINDOW_DAYS = 2
_MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement")
# Where each coded type keeps the codings that say what it is.
_CODING_PATH = {
    "Condition": "$.code.coding",
    "AllergyIntolerance": "$.code.coding",
    "Procedure": "$.code.coding",
    "Immunization": "$.vaccineCode.coding",
    "MedicationRequest": "$.medicationCodeableConcept.coding",
    "MedicationStatement": "$.medicationCodeableConcept.coding",
}
# Every column here is in the covering index `resource_facts` (schema version 4; keyed by type, source and rowid since
# version 19): the scan never reads the JSON.
_COLUMNS = (
    "r.rowid, r.source_id, r.type, r.id, r.effective, r.category, r.code_system, r.code, r.code_display, r.status, "
    "r.display, r.subject, r.value_num, r.value_unit, r.valid, r.invalid_reason, r.first_seen, r.last_seen, "
    "r.changed_at, r.last_run"
)
(_ROWID, _SID, _TYPE, _ID, _EFFECTIVE, _CATEGORY, _SYSTEM, _CODE, _CODE_DISPLAY, _STATUS, _DISPLAY, _SUBJECT, _VALUE,
 _UNIT, _VALID, _REASON, _FIRST_SEEN, _LAST_SEEN, _CHANGED_AT, _LAST_RUN) = range(20)  # fmt: skip


class FactNotFound(RecordError):
    """No fact has that id (the record changed since it was listed, or the id is mistyped)."""

    code = "record.fact-not-found"
    default_message = "There is no such fact in the record."


# --- what callers get -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactMember:
    """One original resource of a fact, as its source sent it."""

    source: str  # the source's name, for people
    source_key: str  # what decisions are keyed by: the FHIR base of a portal, "kind:name" of other sources
    source_id: int
    resource_type: str
    id: str
    rowid: int
    last_seen: str
    changed_at: str  # when Carry last received a different version of it
    newest: bool
    _cols: tuple[Any, ...] = field(repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_key, self.resource_type, self.id)

    @property
    def row(self) -> ResourceRow:
        """The resource as the lists show it (built when asked for: most members are never shown one by one)."""
        return _row(self._cols, self.source)

    @property
    def date(self) -> str | None:
        date: str | None = self._cols[_EFFECTIVE]
        return date

    @property
    def status(self) -> str | None:
        status: str | None = self._cols[_STATUS]
        return status

    @property
    def display(self) -> str:
        return str(self._cols[_DISPLAY] or self.resource_type)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "resourceType": self.resource_type,
            "id": self.id,
            "date": self.date,
            "status": self.status,
            "display": self.display,
            "last_seen": self.last_seen,
            "changed_at": self.changed_at,
            "newest": self.newest,
        }


# A FactMember made without its generated __init__ (which sets each of its ten fields through object.__setattr__, as
# a frozen dataclass must): the fields' slots set directly. Half the time, for the 100,000 members of a full
# regroup, and the same object: still frozen after (the kept facts, made the usual way, are compared with grouped
# ones in tests/record/test_view_cache_properties.py).
(_PUT_SOURCE, _PUT_SOURCE_KEY, _PUT_SOURCE_ID, _PUT_TYPE, _PUT_ID, _PUT_ROWID, _PUT_LAST_SEEN, _PUT_CHANGED_AT,
 _PUT_NEWEST, _PUT_COLS) = (getattr(FactMember, name).__set__ for name in FactMember.__slots__)  # fmt: skip
_new_object = object.__new__


def _member(
    source: str, skey: str, source_id: int, rtype: str, rid: str, rowid: int, last_seen: str, changed_at: str,
    newest: bool, cols: tuple[Any, ...],
) -> FactMember:
    member = _new_object(FactMember)
    _PUT_SOURCE(member, source)
    _PUT_SOURCE_KEY(member, skey)
    _PUT_SOURCE_ID(member, source_id)
    _PUT_TYPE(member, rtype)
    _PUT_ID(member, rid)
    _PUT_ROWID(member, rowid)
    _PUT_LAST_SEEN(member, last_seen)
    _PUT_CHANGED_AT(member, changed_at)
    _PUT_NEWEST(member, newest)
    _PUT_COLS(member, cols)
    return member


@dataclass(frozen=True, slots=True)
class PossibleMatch:
    """Another fact that may be the same thing, on evidence too weak to merge (text only, or far-apart dates)."""

    fact_id: str
    display: str
    date: str | None
    reason: str  # "same name", "same drug name", "same code, both active", "same time and class"

    def as_json(self) -> dict[str, Any]:
        return {"fact_id": self.fact_id, "display": self.display, "date": self.date, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Fact:
    """One clinical fact, with every resource (from every source) that states it.

    `confidence` is "single" (one resource), "same" (grouped on identifiers or codes) or "confirmed" (the patient
    said so). `reasons` say what the grouping rests on: identifier, code, code+date, code+time+value, attachment,
    encounter, confirmed.
    """

    fact_id: str
    resource_type: str
    display: str
    date: str | None
    status: str | None
    person: str  # who it is about: the person's number (app.record.people), or "" for resources about no patient
    members: tuple[FactMember, ...]
    confidence: str
    reasons: tuple[str, ...]
    possible_matches: tuple[PossibleMatch, ...] = field(default=())

    @property
    def newest(self) -> FactMember:
        return next(m for m in self.members if m.newest)

    @property
    def row(self) -> ResourceRow:
        """The newest member's row: what a list shows for the fact."""
        return self.newest.row

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.source for m in self.members))

    def as_json(self) -> dict[str, Any]:
        """The stable `carry list --merged --json` shape (documented in README.md)."""
        return {
            "fact_id": self.fact_id,
            "resourceType": self.resource_type,
            "display": self.display,
            "date": self.date,
            "status": self.status,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "sources": [m.as_json() for m in self.members],
            "possible_matches": [p.as_json() for p in self.possible_matches],
        }


@dataclass(frozen=True)
class Decision:
    decision: str  # "same" | "different"
    a: tuple[str, str, str]  # (source key, type, id)
    b: tuple[str, str, str]
    decided_at: str


# --- reading -----------------------------------------------------------------------------------------------------


def facts(
    record: Record,
    types: Iterable[str] | str | None = None,
    *,
    subjects: Subjects | None = None,
    since: str | None = None,
) -> list[Fact]:
    """Every fact of these resource types (all types when None), newest first (undated last).

    `subjects` narrows to resources about these (source id, reference) pairs: one person's (Person.subjects).
    Resources of two persons never join one fact, whatever their codes say.
    Types are grouped independently, so asking for fewer types is faster and gives the same facts for them.
    `since` (a date or dateTime) groups only resources dated on or after it: what "recent" lists need, at a
    fraction of the cost; undated resources are left out then.
    """
    wanted = [types] if isinstance(types, str) else (sorted(set(types)) if types is not None else None)
    builder = _Builder(record, wanted, None if subjects is None else tuple(subjects), since)
    with paused_collection():
        return builder.build()


def regroup(record: Record, rowids: Sequence[int] | None = None) -> tuple[list[Fact], dict[int, set[int]]]:
    """The facts of these resources (all, when None) grouped among themselves, and each member's match keys.

    For app.record.view_cache: given every resource that shares a match key or a decision with another of them,
    the facts are exactly those a grouping of the whole record makes for them."""
    builder = _Builder(record, None, None, rowids=rowids, collect=True)
    with paused_collection():
        return builder.build(), builder.match_keys


# How many resources a part of a full regroup holds (`regroup_parts`): grouping keeps about 2 KB per resource while it
# runs, so a part costs about 120 MB however large the record.
PART_SIZE = 60_000


class Part(NamedTuple):
    """One part of a full regroup (`regroup_parts`): its facts and its members' match keys (as `regroup` gives them),
    the types it groups, and whether it holds every resource of them (or some of one large type's groups)."""

    facts: list[Fact]
    keys: dict[int, set[int]]
    types: tuple[str, ...]
    whole: bool


def regroup_parts(record: Record, size: int | None = None) -> Iterator[Part]:
    """`regroup(record, None)` in parts of at most about `size` resources (more only when that many share match
    keys), each part's facts and match keys as `regroup` gives them: together, exactly what `regroup(record, None)`
    gives, but a part at a time, so a full regroup's memory does not grow with the record.

    Types group independently (except where the patient said a resource of one type is the same as, or different
    from, one of another: those types go together), so small types are grouped a few together in one scan. A type
    larger than a part is split where nothing links: its members' match keys are read a part at a time (numbers
    only), the members that share a key or a decision are put together (union-find over positions), and each part
    of whole groups is then regrouped on its own (`regroup(record, rowids)`: a closed part groups as the whole
    record does, see app.record.view_cache)."""
    size = size or PART_SIZE
    # How many of each type, counted in the narrowest index by type (what was removed at its source counted too:
    # the counts only decide which types share a part); the grouping index is ten times wider.
    counts = dict(record.read("SELECT type, count(*) FROM resource INDEXED BY resource_type_effective GROUP BY type"))
    unit_of = {rtype: rtype for rtype in counts}  # type -> the first type of its unit (joined by decisions)
    found = decisions(record)
    for d in found:
        a, b = unit_of.get(d.a[1]), unit_of.get(d.b[1])
        if a is not None and b is not None and a != b:
            low, high = min(a, b), max(a, b)
            unit_of.update({t: low for t, u in unit_of.items() if u == high})
    units: dict[str, list[str]] = {}
    for rtype in sorted(counts):
        units.setdefault(unit_of[rtype], []).append(rtype)
    batch: list[str] = []
    held = 0
    for types in units.values():
        count = sum(counts[t] for t in types)
        if count > size:
            yield from _split_parts(record, types, size, found)
            continue
        if batch and held + count > size:
            yield _whole_part(record, batch)
            batch, held = [], 0
        batch.extend(types)
        held += count
    if batch:
        yield _whole_part(record, batch)


def _whole_part(record: Record, types: list[str]) -> Part:
    builder = _Builder(record, sorted(types), None, collect=True)
    with paused_collection():
        return Part(builder.build(), builder.match_keys, tuple(sorted(types)), True)


def _split_parts(record: Record, types: list[str], size: int, said: list[Decision]) -> Iterator[Part]:
    """The facts of these types (more than `size` resources) in parts of whole groups (see `regroup_parts`)."""
    rowids = array("q")
    with record._snapshot() as db:
        rowids.extend(r for (r,) in db.execute(
            f"SELECT r.rowid FROM resource r INDEXED BY resource_facts WHERE r.type IN ({', '.join('?' for _ in types)}) "
            "AND r.removed_at IS NULL", types,
        ))  # fmt: skip
    n = len(rowids)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    first: dict[int, int] = {}  # match key number -> the first member (position) seen in its bucket
    for start in range(0, n, size):
        chunk = rowids[start : start + size]
        builder = _Builder(record, types, None, rowids=chunk.tolist(), collect=True, keys_only=True)
        with paused_collection():
            builder.build()
        position = {rowid: start + i for i, rowid in enumerate(chunk)}
        for rowid, numbers in builder.match_keys.items():
            i = position[rowid]
            for number in numbers:
                j = first.setdefault(number, i)
                if j != i:
                    union(i, j)
        del builder, position
    del first
    # The patient's decisions join (or keep apart: the pair must be grouped together to be kept apart) members.
    wanted = {(rtype, rid) for d in said for _, rtype, rid in (d.a, d.b) if rtype in types}
    if wanted:
        skeys = {sid: source_key(kind, name, base) for sid, kind, name, base in record.read(
            "SELECT id, kind, name, base_url FROM source"
        )}  # fmt: skip
        named: dict[tuple[str, str, str], list[int]] = {}
        for rtype, rid in wanted:
            for sid, skey in skeys.items():
                for (rowid,) in record.read(
                    "SELECT rowid FROM resource WHERE source_id = ? AND type = ? AND id = ?", [sid, rtype, rid]
                ):
                    named.setdefault((skey, rtype, rid), []).append(rowid)
        decided = {rowid for found in named.values() for rowid in found}
        at = {rowid: i for i, rowid in enumerate(rowids) if rowid in decided}
        for d in said:
            ends = [[at[r] for r in named.get(end, ()) if r in at] for end in (d.a, d.b)]
            for i in ends[0]:
                for j in ends[1]:
                    union(i, j)
    roots = [find(i) for i in range(n)]
    del parent
    order = sorted(range(n), key=roots.__getitem__)
    parts: list[array[int]] = []
    part = array("q")
    group: list[int] = []
    for k, i in enumerate(order):
        group.append(rowids[i])
        if k + 1 == n or roots[order[k + 1]] != roots[i]:  # the end of a group
            if part and len(part) + len(group) > size:
                parts.append(part)
                part = array("q")
            part.extend(group)
            group = []
    if part:
        parts.append(part)
    del roots, order, rowids
    while parts:
        part = parts.pop(0)
        # Its types named too: what reads the JSON of other types is not run.
        builder = _Builder(record, types, None, rowids=sorted(part), collect=True)
        del part
        with paused_collection():
            found = builder.build()
        yield Part(found, builder.match_keys, tuple(types), False)
        del builder, found


def identifier_is_unique(members: Iterable[tuple[Any, Any, str, Any]]) -> bool:
    """Whether an identifier that these members (code system, code, source key, run: one per time a member states
    it) share says they are one thing. An identifier that joins resources coded differently in one system (an order
    number on every result of a panel) says nothing about sameness; nor does one that several resources of one source
    carried in the same run (a claim-group number). One source with one identifier in two runs is a re-issued id:
    the same thing. One more member never makes a shared identifier unique again."""
    return IdentifierUse().add_all(members)


class IdentifierUse:
    """`identifier_is_unique`, told one member's statement at a time: a reader can stop at the first that shows
    the identifier is not unique (one more member never makes it unique again)."""

    __slots__ = ("codes", "runs")

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.runs: set[tuple[str, Any]] = set()

    def add(self, system: Any, code: Any, skey: str, run: Any) -> bool:
        """Whether the identifier is still unique to one thing with this statement counted."""
        return self.add_all(((system, code, skey, run),))

    def add_all(self, members: Iterable[tuple[Any, Any, str, Any]]) -> bool:
        """Whether it is still unique with these statements counted (stops at the first that says not)."""
        codes, runs = self.codes, self.runs
        for system, code, skey, run in members:
            if system and code and codes.setdefault(system, code) != code:
                return False
            if (skey, run) in runs:
                return False
            runs.add((skey, run))
        return True


# What a match key's bucket does (`regroup_kinds`): links its members by an identifier, links them exactly (every
# member to the first), links them by a time window, or only offers them as possible matches.
IDENTIFIER, EXACT, WINDOWED, POSSIBLE = "identifier", "exact", "windowed", "possible"
POSSIBLE_WINDOWED = "possible by a time window"
_MIXED = "mixed"  # two kinds of bucket under one number (a collision): treated as neither


def regroup_kinds(
    record: Record, rowids: Sequence[int]
) -> tuple[list[Fact], dict[int, set[int]], dict[int, tuple[str, str]]]:
    """`regroup(record, rowids)`, with what each match key's bucket does: key number -> (IDENTIFIER, EXACT,
    WINDOWED, POSSIBLE, POSSIBLE_WINDOWED or another word for a number two kinds share; the reason its edges or
    possible matches give). For app.record.view_cache, which adds a new resource to the one fact it joins without regrouping
    that fact when the buckets say nothing else can change."""
    builder = _Builder(record, None, None, rowids=rowids, collect=True)
    with paused_collection():
        found = builder.build()
    return found, builder.match_keys, builder.key_kinds


@contextlib.contextmanager
def paused_collection() -> Iterator[None]:
    """No cycle collection while the block runs (and as before after it). Grouping, and writing what it found,
    allocate hundreds of thousands of small, acyclic objects: the collector would walk them, and every fact already
    made, again and again while they are made, for nothing (a fifth of a full regroup's time at 100,000)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def fact_for(record: Record, resource_type: str, resource_id: str, source_id: int | None = None) -> Fact | None:
    """The fact a stored resource belongs to (for a detail view: "also from ...")."""
    for fact in facts(record, [resource_type]):
        for member in fact.members:
            if member.id == resource_id and (source_id is None or member.source_id == source_id):
                return fact
    return None


def find_fact(record: Record, fact_id: str, *, within: Sequence[Fact] | None = None) -> Fact:
    pool = within if within is not None else facts(record)
    for fact in pool:
        if fact.fact_id == fact_id:
            return fact
    raise FactNotFound(f"There is no fact {fact_id!r} in the record.", action=Action.SEE_FACTS)


def decisions(record: Record) -> list[Decision]:
    rows = record.read(
        "SELECT decision, a_source, a_type, a_id, b_source, b_type, b_id, decided_at FROM fact_decision ORDER BY id"
    )
    return [Decision(d, (a1, a2, a3), (b1, b2, b3), at) for d, a1, a2, a3, b1, b2, b3, at in rows]


# --- the patient's decisions ---------------------------------------------------------------------------------------


def confirm(record: Record, *targets: Fact | str) -> Fact:
    """The patient says these facts (one: its members; several: all their members) are one and the same thing.

    The decision is kept in the record and holds over every later sync. Returns the resulting fact.
    """
    chosen = _resolve(record, targets)
    keys = sorted({m.key for fact in chosen for m in fact.members})
    if len(keys) < 2:
        raise RecordError("A fact with one resource has nothing to confirm; give two or more facts to merge them.")
    anchor = keys[0]
    now = _now()
    with record.write() as cur:
        for i, a in enumerate(keys):  # an old "different" between any two of them would keep them apart
            for b in keys[i + 1 :]:
                cur.execute(_DELETE_PAIR, (*a, *b))
        for other in keys[1:]:
            cur.execute(_UPSERT, ("same", *anchor, *other, now))
        audit_in(cur, "fact-confirm", facts=[f.fact_id for f in chosen], resources=len(keys))
    types = sorted({k[1] for k in keys})
    result = _containing(facts(record, types), anchor)
    assert result is not None
    return result


def split(record: Record, target: Fact | str, members: Sequence[FactMember | str] | None = None) -> list[Fact]:
    """The patient says these members are not the same thing as the rest of the fact (no members: none of them are).

    `members` are FactMember objects or strings: a 1-based position in the fact, "Type/id", or "Source:Type/id".
    Kept in the record; a later sync never puts them back together. Returns the facts the members now belong to.
    """
    fact = _resolve(record, [target])[0]
    if len(fact.members) < 2:
        raise RecordError("This fact has only one resource; there is nothing to split.")
    picked = list(fact.members) if not members else _pick(fact, members)
    rest = [m for m in fact.members if m not in picked]
    if members and not rest:
        raise RecordError("Leave at least one resource in the fact: name only the ones that are different.")
    pairs = (
        [(a.key, b.key) for i, a in enumerate(picked) for b in picked[i + 1 :]]
        if not members
        else [(a.key, b.key) for a in picked for b in rest]
    )
    now = _now()
    with record.write() as cur:
        for a, b in pairs:
            first, second = sorted((a, b))
            cur.execute(_UPSERT, ("different", *first, *second, now))
        if len(rest) >= 2 and fact.confidence == "confirmed":  # the rest stay confirmed among themselves
            keys = sorted(m.key for m in rest)
            for other in keys[1:]:
                cur.execute(_UPSERT, ("same", *keys[0], *other, now))
        audit_in(cur, "fact-split", fact=fact.fact_id, resources=len(picked))
    after = facts(record, sorted({m.resource_type for m in fact.members}))
    found: dict[str, Fact] = {}
    for member in fact.members:
        result = _containing(after, member.key)
        if result is not None:
            found.setdefault(result.fact_id, result)
    return list(found.values())


def reset(record: Record, target: Fact | str) -> Fact | None:
    """Forget every decision the patient made about this fact's members; the automatic grouping applies again."""
    fact = _resolve(record, [target])[0]
    keys = sorted(m.key for m in fact.members)
    with record.write() as cur:
        for key in keys:
            cur.execute(
                "DELETE FROM fact_decision WHERE (a_source = ? AND a_type = ? AND a_id = ?) "
                "OR (b_source = ? AND b_type = ? AND b_id = ?)",
                (*key, *key),
            )
        audit_in(cur, "fact-reset", fact=fact.fact_id, resources=len(keys))
    return _containing(facts(record, sorted({k[1] for k in keys})), keys[0])


_UPSERT = (
    "INSERT INTO fact_decision (decision, a_source, a_type, a_id, b_source, b_type, b_id, decided_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (a_source, a_type, a_id, b_source, b_type, b_id) "
    "DO UPDATE SET decision = excluded.decision, decided_at = excluded.decided_at"
)
_DELETE_PAIR = (
    "DELETE FROM fact_decision WHERE a_source = ? AND a_type = ? AND a_id = ? AND b_source = ? AND b_type = ? "
    "AND b_id = ?"
)


def _resolve(record: Record, targets: Sequence[Fact | str]) -> list[Fact]:
    if not targets:
        raise RecordError("Name at least one fact.")
    pool: list[Fact] | None = None
    chosen: list[Fact] = []
    for target in targets:
        if isinstance(target, Fact):
            chosen.append(target)
            continue
        if pool is None:
            pool = facts(record)
        chosen.append(find_fact(record, target, within=pool))
    return list({f.fact_id: f for f in chosen}.values())


def _pick(fact: Fact, refs: Sequence[FactMember | str]) -> list[FactMember]:
    picked: list[FactMember] = []
    for ref in refs:
        if isinstance(ref, FactMember):
            if ref not in fact.members:
                raise RecordError(f"{ref.resource_type}/{ref.id} from {ref.source} is not part of fact {fact.fact_id}.")
            found = [ref]
        elif ref.isdigit():
            position = int(ref)
            if not 1 <= position <= len(fact.members):
                raise RecordError(f"Fact {fact.fact_id} has {len(fact.members)} resources; there is no number {ref}.")
            found = [fact.members[position - 1]]
        else:
            source, _, local = ref.rpartition(":") if "/" in ref.rpartition(":")[2] else ("", "", ref)
            found = [
                m
                for m in fact.members
                if f"{m.resource_type}/{m.id}" == local and (not source or source in (m.source, m.source_key))
            ]
            if not found:
                raise RecordError(f"{ref} is not part of fact {fact.fact_id}.", action=Action.SEE_FACTS)
            if len(found) > 1:
                raise RecordError(f"{ref} is in the fact from more than one source; write it as SOURCE:{local}.")
        picked.extend(m for m in found if m not in picked)
    return picked


def _containing(pool: Sequence[Fact], key: tuple[str, str, str]) -> Fact | None:
    for fact in pool:
        if any(m.key == key for m in fact.members):
            return fact
    return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- grouping --------------------------------------------------------------------------------------------------------


class _Builder:
    """Reads the extracted columns (and a few JSON fields, in SQL), computes match keys, groups, builds facts.

    Members are kept in parallel lists indexed by position; 100,000 of them must group in well under two seconds.
    """

    def __init__(
        self,
        record: Record,
        types: list[str] | None,
        subjects: Subjects | None,
        since: str | None = None,
        *,
        rowids: Sequence[int] | None = None,
        collect: bool = False,
        keys_only: bool = False,
    ) -> None:
        self.record = record
        self.types = types
        self.subjects = subjects
        self.since = since
        self.rowids = rowids  # only these resources (app.record.view_cache regroups the part a change touched)
        self.collect = collect  # keep every member's match keys (without the person) in `match_keys`
        self.keys_only = keys_only  # only the match keys: `build` groups nothing and returns no facts
        self.match_keys: dict[int, set[int]] = {}  # rowid -> the keys of the buckets it is in (see _key_number)
        self.key_kinds: dict[int, tuple[str, str]] = {}  # key number -> what its bucket does (see `regroup_kinds`)
        self.cols: list[tuple[Any, ...]] = []
        self.keys: list[tuple[str, str, str]] = []
        self.persons: list[str] = []
        self.names: dict[int, str] = {}
        self.by_rowid: dict[int, int] = {}

    # reading

    def _where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = ["r.removed_at IS NULL"]  # what a portal no longer serves is not shown as current
        args: list[Any] = []
        if self.types is not None:
            # With rowids, `+r.type` keeps SQLite looking them up instead of scanning every resource of the types.
            column = "+r.type" if self.rowids is not None else "r.type"
            clauses.append(f"{column} IN ({', '.join('?' for _ in self.types)})")
            args.extend(self.types)
        if self.subjects is not None:
            clause, params = subject_clause(self.subjects)
            clauses.append(clause)
            args.extend(params)
        if self.since is not None:
            clauses.append("r.effective >= ?")
            args.append(self.since)
        if self.rowids is not None:
            clauses.append("r.rowid IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(self.rowids)))
        return (" AND ".join(clauses), args)

    def _load(self) -> None:
        query = self.record.read
        skeys: dict[int, str] = {}
        for sid, kind, name, base_url in query("SELECT id, kind, name, base_url FROM source"):
            skeys[sid] = source_key(kind, name, base_url)
            self.names[sid] = name
        # Who each resource is about, from the one home of people: a person's number, or the source and subject
        # when no person holds it (unassigned), so resources of two persons (or of nobody known) never group.
        owner = {subject: str(pid) for subject, pid in owners(people(self.record)).items()}
        where, args = self._where()
        if self.rowids is None:
            rows = query(f"SELECT {_COLUMNS} FROM resource r INDEXED BY resource_facts" + (f" WHERE {where}" if where else ""), args)
        else:
            # A few rows, looked up by rowid, then put in the covering index's order (type, source, rowid), the order
            # a grouping of everything meets them in (what facts come of them does not depend on it: `_representative`).
            rows = sorted(query(f"SELECT {_COLUMNS} FROM resource r WHERE {where}", args),
                          key=lambda c: (c[_TYPE], c[_SID], c[_ROWID]))  # fmt: skip
        keys, persons, by_rowid = self.keys, self.persons, self.by_rowid
        for index, cols in enumerate(rows):
            skey = skeys[cols[_SID]]
            keys.append((skey, cols[_TYPE], cols[_ID]))
            subject = cols[_SUBJECT]
            persons.append(owner.get((cols[_SID], subject), f"{skey}|{subject}") if subject else "")
            by_rowid[cols[_ROWID]] = index
        self.cols = rows

    def _json_rows(self, sql: str, types: Sequence[str]) -> list[Any]:
        wanted = [t for t in types if self.types is None or t in self.types]
        if not wanted:
            return []
        where, args = self._where()
        # A few rows by rowid: `+r.type` keeps SQLite from scanning every resource of the type instead.
        column = "+r.type" if self.rowids is not None else "r.type"
        clause = f"{column} IN ({', '.join('?' for _ in wanted)})" + (f" AND {where}" if where else "")
        return self.record.read(sql.format(where=clause), [*wanted, *args])

    # keys

    def build(self) -> list[Fact]:
        self._load()
        rows, keys, persons = self.cols, self.keys, self.persons
        exact: dict[tuple[Any, ...], list[int]] = {}
        windowed: dict[tuple[Any, ...], list[Windowed]] = {}
        possible: dict[tuple[Any, ...], list[int]] = {}
        possible_windowed: dict[tuple[Any, ...], list[Windowed]] = {}
        identifiers: dict[tuple[Any, ...], list[int]] = {}
        for rowid, system, value in self._identifier_rows():
            index = self.by_rowid.get(rowid)
            if index is not None and system:
                identifiers.setdefault((persons[index], keys[index][1], system, value), []).append(index)
        codings = self._codings()
        extras = self._extras()
        text = normalise_text

        for index, c in enumerate(rows):
            rtype, effective, system, code = c[_TYPE], c[_EFFECTIVE], c[_SYSTEM], c[_CODE]
            person = persons[index]
            if rtype == "Observation":
                if code:
                    value = f"{c[_VALUE]:.6g}|{(c[_UNIT] or '').lower()}" if c[_VALUE] is not None else text(c[_DISPLAY])
                    exact.setdefault(
                        (person, rtype, "code+time+value", system, code, effective and effective[:16], value), []
                    ).append(index)
            elif rtype in _CODING_PATH:
                rowid = c[_ROWID]
                extra = extras.get(rowid, _NONE)
                codes = codings.get(rowid) or extra.get("codes") or ({(system, code)} if system and code else ())
                day = effective and effective[:10]
                if rtype == "AllergyIntolerance":
                    for sc in codes:
                        exact.setdefault((person, rtype, "code", *sc), []).append(index)
                    name = text(c[_DISPLAY])
                    if name:
                        possible.setdefault((person, rtype, "same name", name), []).append(index)
                elif rtype == "Condition" or rtype in _MEDICATION_TYPES:
                    medication = rtype != "Condition"
                    window = MEDICATION_WINDOW_DAYS if medication else CONDITION_WINDOW_DAYS
                    start, end = _day(effective), _day(extra.get("end"))
                    order = "\x1f".join(keys[index])
                    for sc in codes:
                        exact.setdefault((person, rtype, "code+date", *sc, day), []).append(index)
                        if start is not None:
                            windowed.setdefault((person, rtype, "code+date", window, *sc), []).append(
                                Windowed(start, end, order, index, keys[index][0])
                            )
                    if medication:
                        drug = parse_drug(extra.get("name") or c[_DISPLAY])
                        name = drug.key if drug else text(c[_DISPLAY])
                        reason = "same drug name"
                    else:
                        name, reason = text(c[_DISPLAY]), "same name"
                        if c[_STATUS] in _ACTIVE_CONDITION:
                            for sc in codes:
                                possible.setdefault((person, rtype, "same code, both active", *sc), []).append(index)
                    if start is not None and name:
                        possible_windowed.setdefault((person, rtype, reason, window, name), []).append(
                            Windowed(start, end, order, index, keys[index][0])
                        )
                else:  # Immunization, Procedure: the same code on the same day
                    for sc in codes:
                        exact.setdefault((person, rtype, "code+date", *sc, day), []).append(index)
                    name = text(c[_DISPLAY])
                    if name:
                        possible.setdefault((person, rtype, "same name", name, day), []).append(index)
            elif rtype == "DiagnosticReport":
                if code and effective:
                    exact.setdefault((person, rtype, "code+time", system, code, effective[:16]), []).append(index)
            elif rtype == "Encounter":
                if effective:
                    organisation = extras.get(c[_ROWID], _NONE).get("organisation")
                    if organisation:
                        exact.setdefault(
                            (person, rtype, "encounter", effective[:16], c[_CATEGORY], organisation), []
                        ).append(index)
                    possible.setdefault((person, rtype, "same time and class", effective[:16], c[_CATEGORY]), []).append(
                        index
                    )
            elif rtype == "DocumentReference":
                for attachment in extras.get(c[_ROWID], _NONE).get("attachments", ()):
                    exact.setdefault((person, rtype, "attachment", attachment), []).append(index)
            elif rtype == "Patient":
                # One person's Patients (the patient merged them) are one Patient fact.
                exact.setdefault((person, rtype, "name+birth date"), []).append(index)
            elif rtype in ("Organization", "Practitioner", "Location"):
                name = text(c[_DISPLAY])
                if name:
                    possible.setdefault((person, rtype, "same name", name), []).append(index)
            elif effective:
                # Types without a rule of their own (claims, care plans, ...) merge on identifiers only; the same
                # code, time and text is offered as a possible match.
                possible.setdefault(
                    (person, rtype, "same code and time", system, code, effective[:16], text(c[_DISPLAY])), []
                ).append(index)

        if self.collect:
            self._collect(identifiers, exact, windowed, possible, possible_windowed)
        if self.keys_only:
            return []
        same, different = self._decisions()
        # A bucket's members are linked to its first: which one that is decides which facts a possible match names,
        # and, where the patient split a group, which edges are replayed. It is the first by type, source and id,
        # whatever order the rows were read in (as app.record.view_cache also takes it).
        _first_by_key(rows, possible)
        if different:
            _first_by_key(rows, identifiers)
            _first_by_key(rows, exact)
        edges: list[Edge] = []
        for members in identifiers.values():
            if len(members) > 1 and self._identifier_is_unique(members):
                first = members[0]
                edges.extend((first, m, "identifier") for m in members[1:])
        edges.extend(grouped_edges(exact, windowed))
        candidates = grouped_edges(possible, possible_windowed)

        if different:
            # A split is replayed edge by edge; order the edges by content so the outcome never depends on rowids.
            edges.sort(key=lambda e: (keys[e[0]], keys[e[1]]))
        return self._facts(group(len(rows), edges, same, different), candidates, different)

    def _collect(
        self,
        identifiers: dict[tuple[Any, ...], list[int]],
        exact: dict[tuple[Any, ...], list[int]],
        windowed: dict[tuple[Any, ...], list[Windowed]],
        possible: dict[tuple[Any, ...], list[int]],
        possible_windowed: dict[tuple[Any, ...], list[Windowed]],
    ) -> None:
        """Every member's bucket keys, as numbers: what app.record.view_cache follows to find the members a change
        can regroup. The person is left out (a people decision moves resources between persons, not between
        buckets), so a bucket here holds every person's members of it: more than grouping joins, never less."""
        rowid_of = [c[_ROWID] for c in self.cols]
        found, kinds = self.match_keys, self.key_kinds
        for table, tag, kind in ((identifiers, 1, IDENTIFIER), (exact, 0, EXACT), (possible, 0, POSSIBLE)):
            for key, indexes in table.items():
                number = _key_number(key[1:], tag)
                said = (kind, "identifier" if kind == IDENTIFIER else key[2])
                kinds[number] = said if kinds.get(number, said) == said else (_MIXED, "")
                for i in indexes:
                    found.setdefault(rowid_of[i], set()).add(number)
        for wtable, kind in ((windowed, WINDOWED), (possible_windowed, POSSIBLE_WINDOWED)):
            for key, entries in wtable.items():
                number = _key_number(key[1:], 0)
                said = (kind, key[2])
                kinds[number] = said if kinds.get(number, said) == said else (_MIXED, "")
                for entry in entries:
                    found.setdefault(rowid_of[entry.index], set()).add(number)

    def _identifier_is_unique(self, members: list[int]) -> bool:
        cols, keys = self.cols, self.keys
        return identifier_is_unique((cols[m][_SYSTEM], cols[m][_CODE], keys[m][0], cols[m][_LAST_RUN]) for m in members)

    def _identifier_rows(self) -> list[Any]:
        sql = "SELECT i.resource, i.system, i.value FROM identifier i"
        if self.rowids is not None:
            # These resources' (through the index by resource); `build` leaves out what `by_rowid` does not hold.
            return self.record.read(sql + " WHERE i.resource IN (SELECT value FROM json_each(?))",
                                    [json.dumps(list(self.rowids))])  # fmt: skip
        if (self.types, self.subjects, self.since) == (None, None, None):
            # Every resource's: the table in its own order (the join's order too); what was removed at its source
            # is not in `by_rowid`, so `build` leaves it out without a join.
            return self.record.read(sql)
        where, args = self._where()
        if where:
            sql += f" JOIN resource r ON r.rowid = i.resource WHERE {where}"
        return self.record.read(sql, args)

    def _codings(self) -> dict[int, set[tuple[str, str]]]:
        found: dict[int, set[tuple[str, str]]] = {}
        cases = " ".join(f"WHEN '{t}' THEN '{p}'" for t, p in _CODING_PATH.items())
        rows = self._json_rows(
            "SELECT r.rowid, json_extract(j.value, '$.system'), json_extract(j.value, '$.code') FROM resource r, "
            f"json_each(resource_json(r.raw, r.type, r.id), CASE r.type {cases} END) j WHERE {{where}} AND json_type(j.value) = 'object'",
            list(_CODING_PATH),
        )
        for rowid, system, code in rows:
            if isinstance(system, str) and isinstance(code, str) and system and code:
                found.setdefault(rowid, set()).add((system, code))
        return found

    def _extras(self) -> dict[int, dict[str, Any]]:
        extras: dict[int, dict[str, Any]] = {}
        # Medications: the end of a stated period; a referenced Medication's code and name.
        rows = self._json_rows(
            "WITH m AS MATERIALIZED (SELECT r.rowid, r.source_id, resource_json(r.raw, r.type, r.id) AS json FROM resource r "
            "WHERE {where}) SELECT rowid, source_id, COALESCE(json_extract(json, '$.dispenseRequest.validityPeriod.end'), "
            "json_extract(json, '$.effectivePeriod.end')), json_extract(json, '$.medicationReference.reference') FROM m",
            _MEDICATION_TYPES,
        )
        medications: dict[tuple[int, str], tuple[str | None, str | None, str | None]] = {}
        refs = {(sid, ref.rsplit("/", 1)[-1]) for _, sid, _, ref in rows if isinstance(ref, str)}
        for sid, rid, system, code, display in self._referenced("Medication", "code_system, code, display", refs):
            medications[(sid, rid)] = (system, code, display)
        for rowid, sid, end, ref in rows:
            extra: dict[str, Any] = {}
            if isinstance(end, str):
                extra["end"] = end
            if isinstance(ref, str):
                med = medications.get((sid, ref.rsplit("/", 1)[-1]))
                if med:
                    extra["codes"] = {(med[0], med[1])} if med[0] and med[1] else set()
                    extra["name"] = med[2]
            if extra:
                extras[rowid] = extra
        # Encounters: the organisation by name, since each source has its own id for it.
        rows = self._json_rows(  # each JSON inflated once (MATERIALIZED), though two of its values are read
            "WITH e AS MATERIALIZED (SELECT r.rowid, r.source_id, resource_json(r.raw, r.type, r.id) AS json FROM resource r "
            "WHERE {where}) SELECT rowid, source_id, json_extract(json, '$.serviceProvider.reference'), "
            "json_extract(json, '$.serviceProvider.display') FROM e",
            ["Encounter"],
        )
        if rows:
            refs = {(sid, ref.rsplit("/", 1)[-1]) for _, sid, ref, _ in rows if isinstance(ref, str)}
            names = {(sid, rid): display for sid, rid, display in self._referenced("Organization", "display", refs)}
            for rowid, sid, ref, display in rows:
                name = names.get((sid, ref.rsplit("/", 1)[-1])) if isinstance(ref, str) else None
                name = normalise_text(name or (display if isinstance(display, str) else None))
                if name:
                    extras[rowid] = {"organisation": name}
        # Documents: the attachment's SHA-1 (as Attachment.hash states it), or its URL made absolute.
        rows = self._json_rows(
            "SELECT r.rowid, json_extract(c.value, '$.attachment.hash'), json_extract(c.value, '$.attachment.url'), "
            "json_extract(c.value, '$.attachment.data') FROM resource r, json_each(resource_json(r.raw, r.type, r.id), '$.content') c "
            "WHERE {where} AND json_type(c.value) = 'object'",
            ["DocumentReference"],
        )
        for rowid, digest, url, data in rows:
            index = self.by_rowid.get(rowid)
            if index is None:
                continue
            found = extras.setdefault(rowid, {}).setdefault("attachments", [])
            if isinstance(digest, str) and digest:
                found.append(f"sha1:{digest}")
            elif isinstance(data, str) and data:
                found.append(f"sha1:{_sha1(data)}")
            if isinstance(url, str) and url:
                absolute = url if ":" in url.split("/", 1)[0] else f"{self.keys[index][0]}/{url.lstrip('/')}"
                found.append(f"url:{absolute}")
        return extras

    def _referenced(self, rtype: str, columns: str, refs: set[tuple[int, str]]) -> list[Any]:
        """(source id, id, *columns) of the resources of a type that `refs` (source id, id) name: every one of the
        type when the whole record is grouped (one pass), only those named when a part is (as many lookups as the
        part names, however many the record holds)."""
        if not refs:
            return []
        if self.rowids is None:
            return self.record.read(f"SELECT source_id, id, {columns} FROM resource WHERE type = ?", [rtype])
        return self.record.read(
            f"SELECT source_id, id, {columns} FROM resource WHERE (source_id, type, id) IN "
            "(SELECT json_extract(value, '$[0]'), ?, json_extract(value, '$[1]') FROM json_each(?))",
            [rtype, json.dumps(sorted(refs))],
        )

    def _decisions(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        found = decisions(self.record)
        if not found:
            return [], []
        index = {key: i for i, key in enumerate(self.keys)}
        same: list[tuple[int, int]] = []
        different: list[tuple[int, int]] = []
        for d in found:
            a, b = index.get(d.a), index.get(d.b)
            if a is not None and b is not None:
                (same if d.decision == "same" else different).append((a, b))
        return same, different

    # facts

    def _facts(self, groups: Groups, candidates: list[Edge], different: list[tuple[int, int]]) -> list[Fact]:
        root = groups.root
        members_of: dict[int, list[int]] = {}
        for i, r in enumerate(root):
            members_of.setdefault(r, []).append(i)
        links: dict[int, dict[int, str]] = {}
        if candidates:
            apart = {frozenset((root[a], root[b])) for a, b in different}
            for a, b, reason in candidates:
                ra, rb = root[a], root[b]
                if ra == rb or (apart and frozenset((ra, rb)) in apart):
                    continue
                links.setdefault(ra, {}).setdefault(rb, reason)
                links.setdefault(rb, {}).setdefault(ra, reason)
        by_key = self.keys.__getitem__
        for ix in members_of.values():
            if len(ix) > 1:
                ix.sort(key=by_key)  # members are listed the same way every time; the first names the fact
        ids = {r: _fact_id(self.keys[ix[0]]) for r, ix in members_of.items()}
        rows = self.cols
        result = []
        for r, indexes in members_of.items():
            matches: tuple[PossibleMatch, ...] = ()
            if r in links:
                found = []
                for other, why in links[r].items():
                    c = rows[_representative(rows, members_of[other])]  # stands for the other fact in the hint
                    found.append(PossibleMatch(ids[other], c[_DISPLAY] or c[_TYPE], c[_EFFECTIVE], why))
                found.sort(key=lambda p: p.fact_id)
                matches = tuple(found[:_MAX_POSSIBLE])
            result.append(self._fact(indexes, groups, r, ids[r], matches))
        return newest_first(result)

    def _fact(
        self, indexes: list[int], groups: Groups, r: int, fact_id: str, matches: tuple[PossibleMatch, ...]
    ) -> Fact:
        rows, keys, names = self.cols, self.keys, self.names
        if len(indexes) == 1:
            i = indexes[0]
            c = rows[i]
            member = _member(
                names[c[_SID]], keys[i][0], c[_SID], c[_TYPE], c[_ID], c[_ROWID], c[_LAST_SEEN], c[_CHANGED_AT], True, c
            )
            return Fact(
                fact_id, c[_TYPE], c[_DISPLAY] or c[_TYPE], c[_EFFECTIVE], c[_STATUS], self.persons[i], (member,),
                "single", (), matches,
            )  # fmt: skip
        # `indexes` are sorted by member key (`_facts`)
        newest = max(indexes, key=lambda i: (rows[i][_CHANGED_AT], rows[i][_LAST_SEEN], rows[i][_ROWID]))
        members = []
        for i in indexes:
            c = rows[i]
            members.append(
                _member(
                    names[c[_SID]], keys[i][0], c[_SID], c[_TYPE], c[_ID], c[_ROWID], c[_LAST_SEEN], c[_CHANGED_AT],
                    i == newest, c,
                )  # fmt: skip
            )
        top = rows[newest]
        date = top[_EFFECTIVE] or min((rows[i][_EFFECTIVE] for i in indexes if rows[i][_EFFECTIVE]), default=None)
        return Fact(
            fact_id=fact_id,
            resource_type=top[_TYPE],
            display=top[_DISPLAY] or top[_TYPE],
            date=date,
            status=top[_STATUS],
            person=self.persons[newest],
            members=tuple(members),
            confidence="confirmed" if r in groups.confirmed else "same",
            reasons=tuple(sorted(groups.reasons.get(r, ()))),
            possible_matches=matches,
        )


def _representative(rows: Sequence[tuple[Any, ...]], indexes: list[int]) -> int:
    """The member that stands for a fact in another's hint of a possible match: the first by type, source and id,
    so the hint is the same whatever order the rows were read in (the grouping index's is the order of storing)."""
    return min(indexes, key=lambda i: (rows[i][_TYPE], rows[i][_SID], rows[i][_ID]))


def _first_by_key(rows: Sequence[tuple[Any, ...]], buckets: dict[Any, list[int]]) -> None:
    """Each bucket of several members with its first by type, source and id put first (the rest as they were)."""
    for members in buckets.values():
        if len(members) > 1:
            first = _representative(rows, members)
            if first != members[0]:
                members.remove(first)
                members.insert(0, first)


_NONE: dict[str, Any] = {}
_MAX_POSSIBLE = 20
_ACTIVE_CONDITION = ("active", "recurrence", "relapse")


def _key_number(key: tuple[Any, ...], tag: int) -> int:
    """A bucket key as a signed 64-bit number whose lowest bit says whether it is an identifier's (1) or not (0).
    Two keys that collide only make a bucket larger: the regrouping then covers more members, never fewer."""
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=8).digest()
    return (int.from_bytes(digest, "big", signed=True) & ~1) | tag


class _Dated(Protocol):
    @property
    def date(self) -> str | None: ...
    @property
    def fact_id(self) -> str: ...


_D = TypeVar("_D", bound=_Dated)


def newest_first(found: list[_D]) -> list[_D]:
    """Facts (or what a list shows of them) newest first, undated last (as Record.rows lists them); the order every
    reader of facts gets."""
    found.sort(key=lambda f: (f.date or "", f.fact_id), reverse=True)
    undated = sum(1 for f in found if not f.date)
    return found[: len(found) - undated] + found[len(found) - undated :][::-1] if undated else found


def _fact_id(anchor: tuple[str, str, str]) -> str:
    # The smallest member key names the fact: stable across runs, and across syncs that add copies to it.
    return "f" + hashlib.sha256("\x1f".join(anchor).encode("utf-8")).hexdigest()[:15]


def _row(cols: Sequence[Any], source: str) -> ResourceRow:
    return ResourceRow(
        cols[_ROWID], cols[_SID], source, cols[_TYPE], cols[_ID], cols[_EFFECTIVE], cols[_CATEGORY], cols[_SYSTEM],
        cols[_CODE], cols[_CODE_DISPLAY], cols[_STATUS], cols[_DISPLAY] or cols[_TYPE], cols[_SUBJECT], cols[_VALUE],
        cols[_UNIT], bool(cols[_VALID]), cols[_REASON], cols[_FIRST_SEEN], cols[_LAST_SEEN],
    )  # fmt: skip


def _day(value: str | None) -> int | None:
    if not value or len(value) < 4 or not value[:4].isdigit():
        return None
    text = value[:10]
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


def _sha1(data: str) -> str:
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raw = data.encode("utf-8")
    return base64.b64encode(hashlib.sha1(raw, usedforsecurity=False).digest()).decode("ascii")

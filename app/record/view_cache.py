"""Facts kept in the record, brought up to date as the record changes: what the summary, timeline and lists read.

Grouping a 100,000-resource record into facts takes a second or more; the lists need it on every unlock. So the
outcome is kept in the record (schema 12): which fact each resource is in (`view_member`), what grouping found
for each fact (`view_fact`: confidence, reasons, possible matches) and every resource's match keys (`view_key`).
A fact's display, date, status and newest member are read from its members' columns when it is shown, so a sync
that only sees a resource again changes nothing here.

Triggers on the resource table note every resource that arrives, changes, is removed at its source or deleted
(`view_dirty`); triggers on the decisions, people, sources and portals flag those changes (`view_state`).
`refresh` then regroups only what a change can reach: the changed resources and every resource that shares a
match key, a decision or a person change with them, followed key by key until nothing new is reached. Grouping
is per bucket of match keys, so the facts of that closed part are exactly what a grouping of the whole record
makes for them (tests/record/test_view_cache_properties.py checks it after random changes). When a change
reaches most of the record (a first import), or the sources' keys change, everything is regrouped once, a part at a
time (`regroup_parts`: whole groups, about 60,000 resources a part, each written and dropped before the next is
grouped), so that its memory does not grow with the record (tests/record/test_view_cache_parts.py). A new resource that a
sync brings as one more copy of a kept fact (or as a fact of its own) is added without regrouping that fact's
members, when its buckets show that nothing else can change (`_join_arrivals`): a sync of 50 resources then costs
what 50 resources cost, however many copies the facts they join already have (tests/record/
test_view_cache_arrivals.py traces what a refresh grouped).

Every read first calls `refresh` (cheap when nothing changed: one query). A read-only record cannot be brought up
to date: when it is behind, the readers group from scratch as before (`current` says which).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from .facts import _COLUMNS, _CHANGED_AT, _EFFECTIVE, _LAST_SEEN, _ROWID, Fact, FactMember, PossibleMatch, regroup
from .facts import _CODE, _LAST_RUN, _MAX_POSSIBLE, _SYSTEM, EXACT, IDENTIFIER, POSSIBLE, POSSIBLE_WINDOWED, WINDOWED
from .facts import IdentifierUse, _day, _fact_id, _key_number, identifier_is_unique, paused_collection, regroup_kinds
from .facts import _DISPLAY, _ID, _SID, _STATUS, _TYPE, Part, _row, decisions, facts, newest_first, regroup_parts
from .errors import RecordBusy, RecordFull, RecordReadOnly
from .people import Subjects, owners, people, source_key
from .store import Record, ResourceRow, _Tx
from .view_labs import refresh_labs

__all__ = [
    "VIEW_VERSION", "KeptHead", "KeptSlot", "current", "epoch", "head_of", "kept_copies", "kept_facts", "kept_heads",
    "kept_heads_or_grouped",
    "kept_months", "kept_newest_recent_slots", "kept_or_grouped", "kept_page", "kept_recent_slots", "kept_slots",
    "newest_copies", "person_of", "refresh",
]  # fmt: skip

# The views as this code keeps and reads them: the facts (schema 12) and each fact's timeline slot (schema 16).
VIEW_VERSION = 16
# A change that reaches more than this share of the record regroups all of it (one pass beats many lookups).
_FULL_SHARE = 0.5
_CONTENT, _SEEN = 1, 2
_MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement")


@dataclass(frozen=True, slots=True)
class KeptSlot:
    """One dated fact, as the timeline sorts and pages it (app.views.merged.Slot is made from it)."""

    date: str
    rowid: int
    fact_id: str
    resource_type: str
    source_ids: tuple[int, ...]
    newest_source_id: int


@dataclass(frozen=True, slots=True)
class KeptHead:
    """A fact as a list shows it, without its members: what `Fact` gives a list (its newest member's row, its date,
    status, display and sources), read from one kept row per fact (app.record.view_cache.kept_heads)."""

    fact_id: str
    resource_type: str
    display: str
    date: str | None
    status: str | None
    person: str
    row: ResourceRow
    sources: tuple[str, ...]


def head_of(fact: Fact) -> KeptHead:
    """What a list shows of a fact grouped in full (the same as `kept_heads` reads for it)."""
    return KeptHead(fact.fact_id, fact.resource_type, fact.display, fact.date, fact.status, fact.person, fact.row,
                    fact.sources)  # fmt: skip


def _flags(record: Record) -> tuple[bool, set[str]]:
    (dirty, flags) = record._query(
        "SELECT EXISTS (SELECT 1 FROM view_dirty), (SELECT group_concat(name) FROM view_state WHERE value = '1')"
    )[0]
    return bool(dirty), set(flags.split(",")) if flags else set()


def current(record: Record) -> bool:
    """Whether the kept views can be read: brought up to date now when the record is writable."""
    if record.schema_version < VIEW_VERSION:
        return False
    if not record.read_only:
        refresh(record)
    dirty, flags = _flags(record)
    return not dirty and not flags


def refresh(record: Record) -> frozenset[str] | None:
    """Regroup what changed since the views were last brought up to date (nothing, when nothing did). Returns the
    types whose facts may have changed (empty when nothing was to be done), or None when that is not known: all
    of them may have (a decision, people or sources changed, everything regrouped, or the views stay behind)."""
    if record.read_only or record.schema_version < VIEW_VERSION:
        return None
    refresh_labs(record)
    dirty, flags = _flags(record)
    if not dirty and not flags:
        return frozenset()
    try:
        everyone = people(record)  # places unplaced Patients (a write) before the transaction below begins
        with record._transaction() as cur, paused_collection():
            return _refresh(record, cur, owners(everyone))
    except (RecordFull, RecordBusy, RecordReadOnly):
        # Reading must not fail for want of a write (a full disk, another window's write): the views stay behind,
        # nothing is half-written (the transaction rolled back), and readers group from scratch until it works.
        return None


def epoch(record: Record) -> int:
    """How many times the views were brought up to date (a cache that saw every refresh knows what changed)."""
    if record.schema_version < VIEW_VERSION:
        return 0
    found = record._query("SELECT value FROM view_state WHERE name = 'epoch'")
    return int(str(found[0][0])[1:]) if found else 0


def _state(record: Record) -> dict[str, str]:
    return dict(record._query("SELECT name, value FROM view_state"))


def _refresh(record: Record, cur: _Tx, owner: dict[tuple[int, str], int]) -> frozenset[str] | None:
    state = _state(record)
    # The types of what changed: as it is now, and as the kept facts had it (a deleted resource has only that).
    changed: set[str] | None = {t for (t,) in record._query(
        "SELECT type FROM resource WHERE rowid IN (SELECT member FROM view_dirty) "
        "UNION SELECT type FROM view_member WHERE rowid IN (SELECT member FROM view_dirty)"
    )}  # fmt: skip
    sources = _source_keys(record)
    before = json.loads(state.get("sources", "{}"))
    owners_now = sorted([sid, subject, pid] for (sid, subject), pid in owner.items())
    seen_decisions = sorted([d.decision, *d.a, *d.b] for d in decisions(record))
    snapshot = {
        "sources": json.dumps(sources, sort_keys=True),
        "owners": json.dumps(owners_now),
        "decisions_seen": json.dumps(seen_decisions),
    }
    moved_sources = any(sources.get(sid, key) != key for sid, key in before.items())
    if any(state.get(flag) == "1" for flag in ("full", "people", "decisions")):
        changed = None  # facts of any type may have moved
    refill: list[int] = []  # or only these facts changed
    if state.get("full") == "1" or moved_sources or _mostly_changed(record):
        _write(cur, regroup_parts(record))
        changed = None
    else:
        seeds = _seeds(record, state, owners_now, seen_decisions, sources)
        # New resources that join one fact (or none) as a copy: added to it without regrouping its members, after
        # the rest of the change is regrouped (so the facts they join are as a grouping of the rest makes them).
        arrived = _arrivals(record, seeds, state) if seeds else set()
        regrouped = _regroup_part(record, cur, seeds - arrived, sources, changed) if seeds - arrived else []
        if regrouped is not None and arrived and seeds - arrived:
            # The rest's regrouping may have reached arrivals (an Organization or a Medication regroups every
            # encounter or order of its source, new ones too): those are placed, keys and all; the others join.
            arrived = _arrivals(record, arrived, state)
        if regrouped is not None and arrived:
            joined, grown = _join_arrivals(record, cur, arrived)
            regrouped.extend(grown)
            if arrived - joined:  # what does not simply join a fact: regrouped, now that the rest is in place
                more = _regroup_part(record, cur, arrived - joined, sources, changed)
                regrouped = None if more is None else regrouped + more
        if regrouped is None:  # a change that reached most of the record regrouped all of it
            changed = None
        else:
            refill = regrouped
    # Seen again by a sync: the kept copy of last_seen (which member of a fact is the newest) follows.
    cur.execute(
        "UPDATE view_member SET last_seen = (SELECT r.last_seen FROM resource r WHERE r.rowid = view_member.rowid) "
        "WHERE rowid IN (SELECT member FROM view_dirty WHERE kind = ?)",
        (_SEEN,),
    )
    if state.get("slots") == "1":  # a record from before schema 16: every fact's slot, once
        _fill_slots(cur, "1")
    else:  # the facts written now, and those whose member seen again may be their newest now
        if refill:
            _fill_slots(cur, "id IN (SELECT value FROM json_each(?))", (json.dumps(refill),))
        _fill_slots(cur, "id IN (SELECT m.fid FROM view_dirty d JOIN view_member m ON m.rowid = d.member "
                         "WHERE d.kind = ?)", (_SEEN,))  # fmt: skip
    cur.execute("DELETE FROM view_dirty")
    snapshot["epoch"] = f"e{int(state.get('epoch', 'e0')[1:]) + 1}"  # never '1', the value that flags a change
    cur.execute("DELETE FROM view_state")
    cur.execute_rows("INSERT INTO view_state (name, value) VALUES {rows}", list(snapshot.items()))
    return None if changed is None else frozenset(changed)


def _mostly_changed(record: Record) -> bool:
    """Whether most of the record changed (a first import into an empty record): then everything is regrouped at
    once, a part at a time, instead of following the change's reach (which would group all of it in one piece)."""
    (changed, total) = record._query(
        "SELECT (SELECT count(*) FROM view_dirty WHERE kind = ?), (SELECT COALESCE(max(rowid), 0) FROM resource)",
        [_CONTENT],
    )[0]
    return bool(changed > _FULL_SHARE * max(total, 1))


def _regroup_part(
    record: Record, cur: _Tx, seeds: set[int], sources: dict[str, str], changed: set[str] | None
) -> list[int] | None:
    """Regroup every resource a change to `seeds` can reach (all of them, when that is most of the record: then
    None). Adds to `changed` the types of the facts regrouped; returns the numbers of the facts whose members
    changed."""
    # The record's size only decides between two ways to the same facts: the highest rowid, read from the end of
    # the table's b-tree, stands for it (count(*) reads the whole table).
    total = int(record._query("SELECT COALESCE(max(rowid), 0) FROM resource")[0][0])
    reach = _closure(record, seeds, sources)
    if len(reach) > _FULL_SHARE * max(total, 1):
        _write(cur, regroup_parts(record))
        return None
    if changed is not None:  # the facts regrouped, as they were kept and as they are now
        changed.update(t for (t,) in record._query(
            "SELECT DISTINCT type FROM view_member WHERE rowid IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(reach))],
        ))  # fmt: skip
    found, keys = regroup(record, sorted(reach))
    if changed is not None:
        changed.update(fact.resource_type for fact in found)
    return _write_changes(cur, reach, found, keys)


# Types whose arrival changes more than their own fact: a Patient moves people, an Organization or a Medication gives
# other resources their keys, and practitioners and locations are only ever possible matches.
_NOT_JOINED = ("Patient", "Organization", "Medication", "Practitioner", "Location")


def _arrivals(record: Record, seeds: set[int], state: dict[str, str]) -> set[int]:
    """The seeds that may join a fact without regrouping it: resources new to the views (no member row, no keys),
    of a type that changes only its own fact and that no decision of the patient names, in a change that moves no
    person and undoes no decision."""
    if any(flag in state for flag in ("full", "people", "decisions")) or not {"owners", "decisions_seen"} <= set(state):
        return set()
    decided = {end[1] for d in decisions(record) for end in (d.a, d.b)}
    shut = sorted({*_NOT_JOINED, *decided})
    return {rowid for (rowid,) in record._query(
        "SELECT r.rowid FROM resource r WHERE r.rowid IN (SELECT value FROM json_each(?)) AND r.removed_at IS NULL "
        f"AND r.type NOT IN ({', '.join('?' for _ in shut)}) "
        "AND NOT EXISTS (SELECT 1 FROM view_member m WHERE m.rowid = r.rowid) "
        "AND NOT EXISTS (SELECT 1 FROM view_key k INDEXED BY view_key_member WHERE k.member = r.rowid)",
        [json.dumps(sorted(seeds)), *shut],
    )}  # fmt: skip


def _join_arrivals(record: Record, cur: _Tx, arrived: set[int]) -> tuple[set[int], list[int]]:
    """Add each new resource that a grouping of the whole record would only add to one kept fact (or make a fact of
    its own), without regrouping that fact's members. Returns the resources placed and the numbers of the facts
    written (their slots are filled again); the others are left to a regrouping.

    A new resource X joins fact F alone when every bucket it shares with a kept member of its person links exactly
    (a code, time and value; an identifier that stays unique to one thing), by a time window only through the
    members of X's own day that already have X's source (a Condition: `_day_unit`; otherwise X could re-route the
    window's chain), or only offers possible matches, and every kept member of those buckets is in F. Then the
    buckets' edges join X to F and change nothing else: F keeps its members, gains X and the reasons of the buckets X links
    through; possible matches stay inside F (F must have none to others, as its first member, which names it in
    them, could become X); F's name is its smallest member key, X's when that is smaller. X that links to no kept
    fact is a fact of its own, offered as a possible match to the facts of the first members of the possible
    buckets it shares (as grouping links every member of such a bucket to its first: X must not come first), and
    those facts to it. Two arrivals sharing a bucket, a fact the patient confirmed or of another type or person
    than X: regrouped."""
    found, keys, kinds = regroup_kinds(record, sorted(arrived))
    owners_of: dict[int, set[int]] = {}
    for rowid, numbers in keys.items():
        for number in numbers:
            owners_of.setdefault(number, set()).add(rowid)
    wanted = sorted({(number, fact.person, _read_for(kinds.get(number, ("", ""))[0], fact.resource_type))
                     for fact in found for m in fact.members for number in keys.get(m.rowid, ())})  # fmt: skip
    kept = _kept_buckets(record, wanted)
    skeys = {int(sid): key for sid, key in _source_keys(record).items()}
    joins: dict[int, list[tuple[Fact, set[str]]]] = {}  # fact number -> the arrivals that join it, with reasons
    singles: list[tuple[Fact, dict[int, str]]] = []  # facts of their own, with the kept facts they may match
    for fact in found:
        if len(fact.members) > 1:  # arrivals grouped with each other
            continue
        (x,) = fact.members
        target: set[int] = set()
        reasons: set[str] = set()
        possible: list[tuple[int, str, str, int | None]] = []
        ok = True
        for number in keys.get(x.rowid, ()):
            held, one = kept.get((number, fact.person), (False, None))
            kind, reason = kinds.get(number, ("", ""))
            if len(owners_of[number]) > 1 and (kind != POSSIBLE or not held):  # another arrival in the bucket
                ok = False
            elif not held:
                continue
            elif kind == IDENTIFIER:
                joins_by = _identifier_join(record, number, fact, skeys)
                if joins_by is False:
                    ok = False
                elif joins_by is not True:
                    target.add(joins_by)
                    reasons.add(reason)
            elif kind == EXACT and one is not None:
                target.add(one)
                reasons.add(reason)
            elif kind in (POSSIBLE, POSSIBLE_WINDOWED):
                possible.append((number, kind, reason, one))
            elif kind == WINDOWED and fact.resource_type == "Condition":
                unit = _day_unit(record, number, fact)
                if unit is None:
                    ok = False
                else:
                    target.add(unit)
                    reasons.add(reason)
            else:
                ok = False
            if not ok:
                break
        if not ok or len(target) > 1:
            continue
        if target:
            (fid,) = target
            if all(
                one == fid
                or (kind == POSSIBLE_WINDOWED and fact.resource_type == "Condition" and _day_unit(record, n, fact) == fid)
                for n, kind, _, one in possible
            ):
                joins.setdefault(fid, []).append((fact, reasons))
            continue
        links = _possible_links(record, fact, possible, {n for n in keys.get(x.rowid, ()) if len(owners_of[n]) > 1})
        if links is not None:
            singles.append((fact, links))
    joined_rows, member_rows = _joined_rows(record, joins, skeys)
    grown = {row[0] for row in joined_rows}  # a fact that gains a member cannot also gain a possible match here
    # The facts joined with their slots brought up to date (from their kept slot: a fact of thousands of copies is
    # not read again); the rest (facts of their own, possible matches) without, as `_fill_slots` fills them.
    slotted = [row for row in joined_rows if len(row) == len(_FACT_COLUMNS)]
    fact_rows = [row for row in joined_rows if len(row) < len(_FACT_COLUMNS)]
    fact_rows.extend(_single_rows(record, [(f, links) for f, links in singles if not grown & set(links)], member_rows))
    placed = {row[0] for row in member_rows}
    fresh = sorted((key, rowid) for rowid in placed for key in keys.get(rowid, ()))
    member_rows.sort()
    _apply(cur, (), (), fact_rows, member_rows, (), fresh)
    if slotted:
        _apply(cur, (), (), slotted, (), (), ())
    written = {row[1] for row in member_rows}
    return placed, [row[0] for row in fact_rows if row[0] in written]


# What `_kept_buckets` reads of a bucket (`_read_for`): whether kept members have it, the fact of one of a person's
# members, or the one fact all of its members are in.
_HELD, _PERSON_FACT, _ONE_FACT = 0, 1, 2


def _read_for(kind: str, resource_type: str) -> int:
    """What a bucket of this kind must say of its kept members for an arrival of this type to join (`_join_arrivals`):

    * exact: grouping links every member of one person to its first (the types a decision of the patient names
      never get here: `_arrivals`), so one kept member of the arrival's person says which fact all of them are in,
      and only they matter to the arrival (another person's copies are grouped apart);
    * possible matches: every member of one person is offered to its first, so when one of them is in the fact X
      joins, all of them are unless that fact has possible matches, which keep X out anyway (`_joined_rows`);
    * possible by a time window: a Condition's is decided by the members of X's day (`_day_unit`); another type's
      needs every kept member in one fact;
    * an identifier's or a time window's: their own checks read what they need (`_identifier_join`, `_day_unit`)."""
    if kind in (EXACT, POSSIBLE):
        return _PERSON_FACT
    if kind == POSSIBLE_WINDOWED and resource_type != "Condition":
        return _ONE_FACT
    return _HELD


def _kept_buckets(
    record: Record, wanted: Sequence[tuple[int, str, int]]
) -> dict[tuple[int, str], tuple[bool, int | None]]:
    """For each (match key, person, what to read: `_read_for`): whether kept members (of that person, when their
    fact is asked for) share the key with the arrival, and their fact: the fact of the person's first kept member,
    or the one fact every kept member is in (None when they are in several, or one has no fact, which a kept member
    never lacks, or when that was not asked). Read from the keys' and the facts' indexes: the fact of every member
    only when it must be (each looked up among the first one's fact's members, view_member_fact: that fact's few
    pages, not the member table)."""
    kept: dict[tuple[int, str], tuple[bool, int | None]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for key, person, held, fid, together in record._query(
            "WITH b AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS key, json_extract(value, '$[1]') AS person, "
            "json_extract(value, '$[2]') AS read FROM json_each(?)), "
            "f AS MATERIALIZED (SELECT key, person, read, CASE read WHEN ? THEN (SELECT m.fid FROM view_key k "
            "CROSS JOIN view_member m ON m.rowid = k.member WHERE k.key = b.key AND m.person = b.person "
            "ORDER BY k.member LIMIT 1) WHEN ? THEN (SELECT m.fid FROM view_key k CROSS JOIN view_member m "
            "ON m.rowid = k.member WHERE k.key = b.key ORDER BY k.member LIMIT 1) END AS fid, "
            "EXISTS (SELECT 1 FROM view_key k WHERE k.key = b.key) AS held FROM b) "
            "SELECT key, person, CASE read WHEN ? THEN fid IS NOT NULL ELSE held END, fid, "
            "fid IS NOT NULL AND (read = ? OR NOT EXISTS (SELECT 1 FROM view_key k WHERE k.key = f.key "
            "AND NOT EXISTS (SELECT 1 FROM view_member m INDEXED BY view_member_fact "
            "WHERE m.fid = f.fid AND m.rowid = k.member))) FROM f",
            [json.dumps(chunk), _PERSON_FACT, _ONE_FACT, _PERSON_FACT, _PERSON_FACT],
        ):
            kept[(key, person)] = (bool(held), fid if together else None)
    return kept


def _day_unit(record: Record, number: int, arrival: Fact) -> int | None:
    """The kept fact an arrival joins through a bucket matched by time, when that is all it does: grouping makes the
    members of one day (and person) one unit, and X, of a source that unit already has, joins it without changing
    its sources or its end (a Condition states none), so the chain of the bucket's units keeps every link it had
    (with X in place of the unit's first member, when X sorts first). The number of the fact the unit's members
    are in (a unit is linked, so that is one fact: the types a decision names never get here), read from the
    first member of the unit with X's source; None when X would start a unit or bring it a new source (the chain
    could change)."""
    (x,) = arrival.members
    day = _day(x.date)
    if day is None or not x.date:
        return None
    skeys = _source_keys(record)
    mine = [int(sid) for sid, key in skeys.items() if key == x.source_key]
    # The bucket's members of X's person and source key in that year, read until one is of X's day: copies of one
    # event, however many, answer in their first row.
    with record._snapshot() as db:
        found = db.execute(
            "SELECT m.fid, m.effective FROM view_key k CROSS JOIN view_member m ON m.rowid = k.member "
            "WHERE k.key = ? AND m.person = ? AND m.type = ? AND substr(m.effective, 1, 4) = ? "
            "AND m.source_id IN (SELECT value FROM json_each(?))",
            (number, arrival.person, x.resource_type, x.date[:4], json.dumps(mine)),
        )
        try:
            return next((int(fid) for fid, effective in found if _day(effective) == day), None)
        finally:
            found.close()


def _possible_links(
    record: Record, arrival: Fact, possible: Sequence[tuple[int, str, str, int | None]], shared: set[int]
) -> dict[int, str] | None:
    """The kept facts (number -> reason) that `arrival`, a fact of its own, is a possible match for through the
    possible buckets it shares with kept members: the fact of each bucket's first member of its person (grouping
    links every member of such a bucket to its first). None when that is not all it changes: a bucket by a time
    window, `arrival` first in a bucket (it would take over every link; so might another arrival in a bucket of
    `shared` that has no kept member of its person), or two reasons for one fact."""
    (x,) = arrival.members
    links: dict[int, str] = {}
    for number, kind, reason, _ in possible:
        if kind != POSSIBLE:
            return None
        first = record._query(
            "SELECT m.fid, r.source_id, r.id FROM view_key k CROSS JOIN view_member m ON m.rowid = k.member "
            "CROSS JOIN resource r ON r.rowid = k.member WHERE k.key = ? AND m.person = ? AND r.type = ? "
            "AND r.removed_at IS NULL ORDER BY r.source_id, r.id LIMIT 1",
            [number, arrival.person, x.resource_type],
        )
        if not first:  # only other persons' members share the number
            if number in shared:
                return None
            continue
        fid, sid, rid = first[0]
        # Every member of such a bucket is linked to its first, so X must come after a kept member (another
        # arrival in the bucket comes after one too: the same query ran for it).
        if (x.source_id, x.id) < (sid, rid) or links.setdefault(fid, reason) != reason:
            return None
    return links


def _joined_rows(
    record: Record, joins: dict[int, list[tuple[Fact, set[str]]]], skeys: dict[int, str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The fact and member rows of the kept facts that arrivals join (those whose kept row allows it)."""
    fact_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[Any, ...]] = []
    if not joins:
        return fact_rows, member_rows
    facts_kept = {row[0]: row[1:] for row in record._query(
        "SELECT f.id, f.fact, f.type, f.person, f.confidence, f.reasons, f.matches, f.date, f.sources, "
        "t.rowid, t.source_id, t.effective, t.changed_at, t.last_seen FROM view_fact f "
        "LEFT JOIN view_member t ON t.rowid = f.top WHERE f.id IN (SELECT value FROM json_each(?))",
        [json.dumps(sorted(joins))],
    )}  # fmt: skip
    for fid, joining in sorted(joins.items()):
        kept_row = facts_kept.get(fid)
        if kept_row is None:
            continue
        fact_id, rtype, person, confidence, reasons_text, matches = kept_row[:6]
        if matches or confidence not in ("single", "same") or any(
            f.resource_type != rtype or f.person != person for f, _ in joining
        ):
            continue
        reasons = set(reasons_text.split("\x1f")) if reasons_text else set()
        for _, more in joining:
            reasons |= more
        smallest = min(f.members[0].key for f, _ in joining)
        if not _has_smaller_member(record, fid, smallest, skeys):
            fact_id = _fact_id(smallest)
        added = [f.members[0] for f, _ in joining]
        slot = _grown_slot(kept_row[6:], [(m.rowid, m.source_id, m.date, m.changed_at, m.last_seen) for m in added])
        fact_rows.append((fid, fact_id, rtype, person, "same", "\x1f".join(sorted(reasons)), "", *slot))
        for m in added:
            member_rows.append((m.rowid, fid, rtype, person, m.source_id, m.date, m.changed_at, m.last_seen))
    return fact_rows, member_rows


def _grown_slot(kept: Sequence[Any], added: Sequence[tuple[int, int, str | None, str, str]]) -> tuple[Any, ...]:
    """The slot (`_slot_of`: date, newest member, its source, sources) of a kept fact that gains these members
    (rowid, source id, date, changed at, last seen), from its kept slot (date, sources) and its newest member's
    row (rowid, source id, date, changed at, last seen), never from its other members: the newest of the newest
    and the new, the sources with theirs, the newest's date, else the earliest of the others (the kept date, when
    the kept newest has none). Empty when the kept slot cannot say (no kept slot, or a new undated newest after a
    dated one): `_fill_slots` reads the members then."""
    date, sources, *top = kept
    if top[0] is None or sources is None:
        return ()
    newest = max([tuple(top), *added], key=lambda m: (m[3], m[4], m[0]))
    every = sorted({int(sid) for sid in sources.split(",")} | {m[1] for m in added})
    if newest[2]:
        when = newest[2]
    elif top[2]:  # the kept date is the kept newest's: the earliest of the rest is not kept
        return ()
    else:
        when = min((d for d in (date, *(m[2] for m in added)) if d), default=None)
    return (when, newest[0], newest[1], ",".join(map(str, every)))


def _single_rows(
    record: Record, singles: list[tuple[Fact, dict[int, str]]], member_rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows of arrivals that are facts of their own (their member rows added to `member_rows`), and of the kept
    facts whose possible matches now name them."""
    if not singles:
        return []
    linked = sorted({fid for _, links in singles for fid in links})
    others = {row[0]: list(row[1:]) for row in record._query(
        "SELECT id, fact, type, person, confidence, reasons, matches FROM view_fact "
        "WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(linked)]
    )}  # fmt: skip
    if len(others) < len(linked):
        return []
    # What names a fact in a possible match: its first member (the smallest type, source and id), as grouping's root.
    named = {fid: PossibleMatch(others[fid][0], display or rtype, date, "") for fid, display, rtype, date in (
        (fid, *record._query(
            "SELECT r.display, r.type, r.effective FROM view_member m INDEXED BY view_member_fact CROSS JOIN resource r "
            "ON r.rowid = m.rowid "
            "WHERE m.fid = ? ORDER BY r.type, r.source_id, r.id LIMIT 1", [fid]
        )[0]) for fid in linked
    )}  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    next_id = int(record._query("SELECT COALESCE(MAX(id), 0) + 1 FROM view_fact")[0][0])
    added: dict[int, list[list[Any]]] = {}
    for fact, links in singles:
        m = fact.members[0]
        matches = sorted((replace(named[fid], reason=why) for fid, why in links.items()), key=lambda p: p.fact_id)
        rows.append((next_id, *_fact_row(replace(fact, possible_matches=tuple(matches[:_MAX_POSSIBLE])))))
        member_rows.append((m.rowid, next_id, fact.resource_type, fact.person, m.source_id, m.date, m.changed_at,
                            m.last_seen))  # fmt: skip
        for fid, why in links.items():
            added.setdefault(fid, []).append([fact.fact_id, fact.display, fact.date, why])
        next_id += 1
    for fid, more in added.items():
        fact_id, rtype, person, confidence, reasons, matches = others[fid]
        every = sorted([*(json.loads(matches) if matches else []), *more], key=lambda p: str(p[0]))[:_MAX_POSSIBLE]
        rows.append((fid, fact_id, rtype, person, confidence, reasons, json.dumps(every)))
    return rows


def _identifier_join(record: Record, number: int, arrival: Fact, skeys: dict[int, str]) -> int | bool:
    """What an identifier bucket does when `arrival` (a fact of one new resource) joins it: nothing (True: its kept
    members of that person were not linked by it, which one more member never changes, or there are none), link it
    to the one fact they are all in (that fact's number), or something a regrouping must find (False: the identifier
    stops being unique to one thing, the members are in several facts, or the number is not the arrival's)."""
    (x,) = arrival.members
    stated = [(system, value) for system, value in record._query(
        "SELECT system, value FROM identifier WHERE resource = ?", [x.rowid]
    ) if system and _key_number((x.resource_type, system, value), 1) == number]  # fmt: skip
    if len(set(stated)) != 1:
        return False
    system, value = stated[0]
    # One row per time a member states it, as grouping counts them (a resource listing it twice is two), read only
    # until the kept members show it is not unique to one thing (then X changes nothing by it): copies that one run
    # stated show it in their first two rows, however many there are.
    rows: list[tuple[Any, str, Any, Any]] = []
    fids: set[int] = set()
    use = IdentifierUse()
    with record._snapshot() as db:
        found = db.execute(
            "SELECT m.fid, r.code_system, r.code, r.source_id, r.last_run FROM identifier i "
            "INDEXED BY identifier_lookup CROSS JOIN view_member m ON m.rowid = i.resource "
            "CROSS JOIN resource r ON r.rowid = i.resource "
            "WHERE i.value = ? AND i.system = ? AND r.type = ? AND m.person = ? AND r.removed_at IS NULL",
            (value, system, x.resource_type, arrival.person),
        )
        try:
            for fid, code_system, code, sid, run in found:
                if not use.add(code_system, code, skeys[sid], run):
                    return True
                rows.append((code_system, code, skeys[sid], run))
                fids.add(fid)
        finally:
            found.close()
    if not rows:
        return True
    mine = (x._cols[_SYSTEM], x._cols[_CODE], x.source_key, x._cols[_LAST_RUN])
    if not identifier_is_unique([*rows, *(mine for _ in stated)]):
        return False
    return fids.pop() if len(fids) == 1 else False


def _source_keys(record: Record) -> dict[str, str]:
    return {
        str(sid): source_key(kind, name, base)
        for sid, kind, name, base in record._query("SELECT id, kind, name, base_url FROM source")
    }


def _has_smaller_member(record: Record, fid: int, key: tuple[str, str, str], skeys: dict[int, str]) -> bool:
    """Whether a kept member of fact `fid` has a smaller member key (source key, type, id) than `key`: stops at the
    first one found."""
    lower = [sid for sid, skey in skeys.items() if skey < key[0]]
    same = [sid for sid, skey in skeys.items() if skey == key[0]]
    (found,) = record._query(
        "SELECT EXISTS (SELECT 1 FROM view_member m INDEXED BY view_member_fact CROSS JOIN resource r "
        "ON r.rowid = m.rowid WHERE m.fid = ? AND "
        "(m.source_id IN (SELECT value FROM json_each(?)) OR (m.source_id IN (SELECT value FROM json_each(?)) "
        "AND (r.type, r.id) < (?, ?))))",
        [fid, json.dumps(lower), json.dumps(same), key[1], key[2]],
    )[0]
    return bool(found)


def _seeds(
    record: Record, state: dict[str, str], owners_now: list[list[Any]], seen: list[list[str]], sources: dict[str, str]
) -> set[int]:
    """The resources whose grouping may have changed: changed content, a run that matters to an identifier, a
    person moved, a decision made or undone."""
    query = record._query
    seeds = {member for (member,) in query("SELECT member FROM view_dirty WHERE kind = ?", [_CONTENT])}
    # Seen again by a sync: only the run changed, and a run matters only to an identifier another resource shares.
    seeds.update(
        member
        for (member,) in query(
            "SELECT DISTINCT k.member FROM view_dirty d CROSS JOIN view_key k INDEXED BY view_key_member "
            "ON k.member = d.member "
            "WHERE d.kind = ? AND (k.key & 1) = 1 AND EXISTS "
            "(SELECT 1 FROM view_key o WHERE o.key = k.key AND o.member != k.member)",
            [_SEEN],
        )
    )
    if "people" in state or "owners" not in state:
        old = {(sid, subject): pid for sid, subject, pid in json.loads(state.get("owners", "[]"))}
        new = {(sid, subject): pid for sid, subject, pid in owners_now}
        moved = [key for key in old.keys() | new.keys() if old.get(key) != new.get(key)]
        for start in range(0, len(moved), 400):
            chunk = moved[start : start + 400]
            marks = ", ".join("(?, ?)" for _ in chunk)
            seeds.update(
                rowid
                for (rowid,) in query(
                    f"SELECT rowid FROM resource WHERE (source_id, subject) IN (VALUES {marks})",
                    [v for pair in chunk for v in pair],
                )
            )
    if "decisions" in state or "decisions_seen" not in state:
        old_d = {tuple(d) for d in json.loads(state.get("decisions_seen", "[]"))}
        changed = old_d ^ {tuple(d) for d in seen}
        ends = {(d[1], d[2], d[3]) for d in changed} | {(d[4], d[5], d[6]) for d in changed}
        seeds.update(_rowids_of(record, ends, sources))
    return seeds


def _rowids_of(record: Record, keys: Iterable[tuple[str, str, str]], sources: dict[str, str]) -> set[int]:
    """The rowids of resources named by (source key, type, id)."""
    by_key: dict[str, list[int]] = {}
    for text_id, key in sources.items():
        by_key.setdefault(key, []).append(int(text_id))
    found: set[int] = set()
    for skey, rtype, rid in keys:
        for source_id in by_key.get(skey, ()):
            found.update(r for (r,) in record._query(
                "SELECT rowid FROM resource WHERE source_id = ? AND type = ? AND id = ?", [source_id, rtype, rid]
            ))  # fmt: skip
    return found


def _closure(record: Record, seeds: set[int], sources: dict[str, str]) -> set[int]:
    """Every resource a change to `seeds` can regroup: followed through shared match keys (old and new), the
    patient's decisions, the facts they were in, and the references that give encounters and orders their keys."""
    query = record._query
    reach = set(seeds)
    # An Organization or Medication gives the encounters and orders of its source their keys.
    for rtype, sid in query(
        "SELECT DISTINCT type, source_id FROM resource WHERE rowid IN (SELECT value FROM json_each(?)) "
        "AND type IN ('Organization', 'Medication')",
        [json.dumps(sorted(seeds))],
    ):
        users = ("Encounter",) if rtype == "Organization" else _MEDICATION_TYPES
        marks = ", ".join("?" for _ in users)
        reach.update(r for (r,) in query(f"SELECT rowid FROM resource WHERE source_id = ? AND type IN ({marks})",
                                         [sid, *users]))  # fmt: skip
    # Their keys now (the kept ones are from before the change): old keys reach what they left, new ones what
    # they join.
    _, new_keys = regroup(record, sorted(reach))
    links: dict[int, set[int]] = {}
    for d in decisions(record):
        pair = [_rowids_of(record, [end], sources) for end in (d.a, d.b)]
        for a in pair[0]:
            for b in pair[1]:
                links.setdefault(a, set()).add(b)
                links.setdefault(b, set()).add(a)
    keys_seen: set[int] = set()
    frontier = set(reach)
    pending_keys = {k for numbers in new_keys.values() for k in numbers}
    while frontier:
        members = json.dumps(sorted(frontier))
        pending_keys.update(k for (k,) in query(
            "SELECT key FROM view_key WHERE member IN (SELECT value FROM json_each(?))", [members]
        ))  # fmt: skip
        # The other members of the facts they were in (a member whose keys changed may have left their buckets).
        found = {r for (r,) in query(
            "SELECT m.rowid FROM view_member m WHERE m.fid IN (SELECT fid FROM view_member WHERE rowid IN "
            "(SELECT value FROM json_each(?)))", [members]
        )}  # fmt: skip
        for rowid in frontier:
            found |= links.get(rowid, set())
        fresh_keys = pending_keys - keys_seen
        keys_seen |= fresh_keys
        pending_keys = set()
        if fresh_keys:
            found.update(m for (m,) in query(
                "SELECT member FROM view_key WHERE key IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(fresh_keys))],
            ))  # fmt: skip
        frontier = found - reach
        reach |= frontier
    return reach


def _fact_row(fact: Fact) -> tuple[Any, ...]:
    """What view_fact keeps of a fact (after its id): fact id, type, person, confidence, reasons, possible matches."""
    matches = json.dumps([[p.fact_id, p.display, p.date, p.reason] for p in fact.possible_matches]) if (
        fact.possible_matches
    ) else ""  # fmt: skip
    return (fact.fact_id, fact.resource_type, fact.person, fact.confidence, "\x1f".join(fact.reasons), matches)


def _write_changes(cur: _Tx, reach: set[int], found: list[Fact], keys: dict[int, set[int]]) -> list[int]:
    """Bring the kept facts of `reach` to `found` (what regrouping `reach` made), writing only what differs: a fact
    keeps its number when its fact id stays (a sync that adds a copy to a fact rewrites one member row, not every
    member of the facts it reaches), members and keys are written only where they changed. Returns the numbers of
    the facts whose members changed (their slots are filled again)."""
    changes = _changes(cur, reach, found, keys)
    _apply(cur, changes.gone_facts, changes.gone_members, changes.fact_rows, changes.member_rows, changes.stale,
           changes.fresh)  # fmt: skip
    return changes.refill


class _Changes(NamedTuple):
    """What `_write_changes` writes: facts and members gone, fact and member rows new or changed, keys gone and new;
    and the facts whose members changed (`refill`)."""

    gone_facts: list[int]
    gone_members: list[int]
    fact_rows: list[tuple[Any, ...]]
    member_rows: list[tuple[Any, ...]]
    stale: list[tuple[int, int]]
    fresh: list[tuple[int, int]]
    refill: list[int]

    def rows(self) -> int:
        """How many rows they write or delete."""
        return (len(self.gone_facts) + len(self.gone_members) + len(self.fact_rows) + len(self.member_rows)
                + len(self.stale) + len(self.fresh))  # fmt: skip


def _changes(
    cur: _Tx, reach: set[int], found: list[Fact], keys: dict[int, set[int]], types: Sequence[str] | None = None
) -> _Changes:
    """What differs between the kept facts of `reach` and `found` (see `_write_changes`). `types`: `reach` is every
    resource of these types (a part of a full regroup), whose kept members and facts are read by type then."""
    member_columns = "rowid, fid, type, person, source_id, effective, changed_at, last_seen"
    fact_columns = "id, fact, type, person, confidence, reasons, matches"
    old_keys: dict[int, set[int]] = {}
    (top,) = cur.execute("SELECT COALESCE(max(rowid), 0) FROM resource").fetchone()
    members = json.dumps(sorted(reach))
    if types is not None:
        # Every resource of these types: the kept facts of the types and their members, read by type (through the
        # index of the members by type). A member kept in a fact of another type (one the patient confirmed across
        # types) is not read: it is written again, as one that changed.
        marks = ", ".join("?" for _ in types)
        old_members = {row[0]: row[1:] for row in cur.execute(
            f"SELECT {member_columns} FROM view_member INDEXED BY view_member_type WHERE type IN ({marks})", types
        ) if row[0] in reach}  # fmt: skip
        fids = {row[0] for row in old_members.values()}
        old_facts = {row[1]: (row[0], row[1:]) for row in cur.execute(
            f"SELECT {fact_columns} FROM view_fact WHERE type IN ({marks})", types
        ) if row[0] in fids}  # fmt: skip
    else:
        old_members = {row[0]: row[1:] for row in cur.execute(
            f"SELECT {member_columns} FROM view_member WHERE rowid IN (SELECT value FROM json_each(?))", (members,)
        ).fetchall()}  # fmt: skip
        old_facts = {row[1]: (row[0], row[1:]) for row in cur.execute(
            f"SELECT {fact_columns} FROM view_fact "
            "WHERE id IN (SELECT fid FROM view_member WHERE rowid IN (SELECT value FROM json_each(?)))", (members,)
        ).fetchall()}  # fmt: skip
    if len(reach) > _SCAN_SHARE * top:
        # Keys of a large part of the record: the table read front to back, keeping those of `reach` (tens of
        # thousands of lookups cost more than a scan).
        for key, member in cur.execute("SELECT key, member FROM view_key"):
            if member in reach:
                old_keys.setdefault(member, set()).add(key)
    else:
        for key, member in cur.execute(
            "SELECT key, member FROM view_key WHERE member IN (SELECT value FROM json_each(?))", (members,)
        ).fetchall():
            old_keys.setdefault(member, set()).add(key)
    next_id = int(cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM view_fact").fetchone()[0])
    old_counts: dict[int, int] = {}  # members each fact had, counted once (not once per fact: quadratic at 300k)
    for row in old_members.values():
        old_counts[row[0]] = old_counts.get(row[0], 0) + 1
    used: set[int] = set()
    refill: list[int] = []
    fact_rows: list[tuple[Any, ...]] = []
    member_rows: list[tuple[Any, ...]] = []
    for fact in found:
        row = _fact_row(fact)
        fid, kept = old_facts.get(fact.fact_id, (None, None))
        if fid is None:
            fid, next_id = next_id, next_id + 1
        if kept != row:
            fact_rows.append((fid, *row))
        used.add(fid)
        moved = kept is None
        rtype, person = fact.resource_type, fact.person
        for m in fact.members:
            new = (fid, rtype, person, m.source_id, m._cols[_EFFECTIVE], m.changed_at, m.last_seen)  # m.date
            if old_members.get(m.rowid) != new:
                member_rows.append((m.rowid, *new))
                moved = True
        if moved or len(fact.members) != old_counts.get(fid, 0):
            refill.append(fid)
    gone_facts = [fid for fid, _ in old_facts.values() if fid not in used]
    placed = {m.rowid for fact in found for m in fact.members}
    gone_members = sorted(reach.intersection(old_members) - placed)
    stale: list[tuple[int, int]] = []
    fresh: list[tuple[int, int]] = []
    none: set[int] = set()
    for rowid in reach:
        was, now = old_keys.get(rowid, none), keys.get(rowid, none)
        if was != now:  # most members keep their keys: two sets compared, none made
            stale.extend((key, rowid) for key in was - now)
            fresh.extend((key, rowid) for key in now - was)
    return _Changes(gone_facts, gone_members, fact_rows, member_rows, stale, fresh, refill)


def _apply(
    cur: _Tx,
    gone_facts: Sequence[int],
    gone_members: Sequence[int],
    fact_rows: Sequence[tuple[Any, ...]],
    member_rows: Sequence[tuple[Any, ...]],
    stale: Sequence[tuple[int, int]],
    fresh: Sequence[tuple[int, int]],
) -> None:
    """Write what differs: facts and members gone, facts and members new or changed (a fact row with its slot, or
    without: `_fill_slots` fills it then), match keys gone and new."""
    if gone_facts:
        cur.execute_rows("DELETE FROM view_fact WHERE id IN ({rows})", gone_facts)
    if gone_members:
        cur.execute_rows("DELETE FROM view_member WHERE rowid IN ({rows})", gone_members)
    if fact_rows:
        columns = _FACT_COLUMNS[: len(fact_rows[0])]
        cur.execute_rows(
            f"INSERT INTO view_fact ({', '.join(columns)}) VALUES {{rows}} ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]),
            fact_rows,
        )
    if member_rows:
        cur.execute_rows(
            "INSERT INTO view_member (rowid, fid, type, person, source_id, effective, changed_at, last_seen) "
            "VALUES {rows} ON CONFLICT (rowid) DO UPDATE SET fid = excluded.fid, type = excluded.type, "
            "person = excluded.person, source_id = excluded.source_id, effective = excluded.effective, "
            "changed_at = excluded.changed_at, last_seen = excluded.last_seen",
            member_rows,
        )
    if stale:
        cur.execute_rows("DELETE FROM view_key WHERE (key, member) IN (VALUES {rows})", stale)
    if fresh:
        cur.execute_rows("INSERT INTO view_key (key, member) VALUES {rows}", fresh)


# A kept fact's row: its number, what grouping found (`_fact_row`) and its timeline slot (`_slot_of`).
_FACT_COLUMNS = ("id", "fact", "type", "person", "confidence", "reasons", "matches", "date", "top", "top_source", "sources")
# A full regroup that finds more than this share of the kept rows changed writes everything anew.
# A part regrouped that holds more than this share of the record reads the kept rows by scanning their tables.
_SCAN_SHARE = 0.1
_REWRITE_SHARE = 0.25


def _write(cur: _Tx, parts: Iterable[Part]) -> None:
    """Bring all the kept facts to what grouping the whole record makes, given a part at a time (`regroup_parts`:
    each part's facts and match keys; a part is written and dropped before the next is grouped, so the memory this
    takes does not grow with the record). What is kept is compared first, on the first part: a regroup that finds
    mostly the same facts (a record of an older Carry, many new resources that join few facts) writes only what
    differs, part by part as `_write_changes` does, every fact keeping its number when its fact id stays, and fills
    the slots of the facts whose members changed; one that changed much (or fills empty views) writes anew, slots
    and all."""
    parts = iter(parts)
    if cur.execute("SELECT EXISTS (SELECT 1 FROM view_fact)").fetchone()[0]:
        first = next(parts, None)
        if first is not None:
            found, keys = first.facts, first.keys
            placed, changes = _part_changes(cur, first)
            if changes.rows() <= _REWRITE_SHARE * (len(found) + len(placed) + sum(map(len, keys.values()))):
                del first, found, keys  # dropped before the next part is grouped
                _write_parts(cur, changes, placed, parts)
                return
            parts = itertools.chain([first], parts)
            del found, keys, placed, changes
        del first
    _rewrite(cur, parts)


def _part_changes(cur: _Tx, part: Part) -> tuple[set[int], _Changes]:
    """The resources a part of a full regroup placed, and what differs between their kept facts and the part's."""
    placed = {m.rowid for fact in part.facts for m in fact.members}
    return placed, _changes(cur, placed, part.facts, part.keys, part.types if part.whole else None)


def _write_parts(cur: _Tx, changes: _Changes, placed: set[int], parts: Iterator[Part]) -> None:
    """`_write`, comparing with the kept facts: the first part's changes, then every other part's, each written
    before the next is grouped. A fact that no part keeps, and the members (and their keys) that no part placed
    (resources deleted or removed at their source), are deleted after the last part: a kept fact may have had
    members in several parts, and the part that keeps its number may come after one that leaves it."""
    top = int(cur.execute("SELECT COALESCE(max(rowid), 0) FROM resource").fetchone()[0])
    seen = bytearray(top + 1)  # the resources some part placed, by rowid
    left: set[int] = set()  # the kept facts a part left (another may keep them)
    while True:
        for rowid in placed:
            seen[rowid] = 1
        left.update(changes.gone_facts)
        _apply(cur, (), changes.gone_members, changes.fact_rows, changes.member_rows, changes.stale, changes.fresh)
        if changes.refill:
            _fill_slots(cur, "id IN (SELECT value FROM json_each(?))", (json.dumps(changes.refill),))
        part = next(parts, None)
        if part is None:
            break
        placed, changes = _part_changes(cur, part)
        del part
    gone = [(rowid, fid) for rowid, fid in cur.execute("SELECT rowid, fid FROM view_member")
            if rowid > top or not seen[rowid]]  # fmt: skip
    if gone:
        gone_members = [rowid for rowid, _ in gone]
        cur.execute_rows("DELETE FROM view_key WHERE member IN ({rows})", gone_members)
        cur.execute_rows("DELETE FROM view_member WHERE rowid IN ({rows})", gone_members)
        left.update(fid for _, fid in gone)  # a fact of such members alone is gone with them
    if not left:
        return
    # Every member a part placed is written under the fact it is in now: a fact left by one part that still has
    # members was kept by another (its slot is filled again, all its members in place); one without is gone.
    kept = {fid for (fid,) in cur.execute(
        "SELECT DISTINCT fid FROM view_member WHERE fid IN (SELECT value FROM json_each(?))", (json.dumps(sorted(left)),)
    )}  # fmt: skip
    _apply(cur, sorted(left - kept), (), (), (), (), ())
    if kept:
        _fill_slots(cur, "id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(kept)),))


def _rewrite(cur: _Tx, parts: Iterable[Part]) -> None:
    """Replace all the kept facts with the facts of `parts`, numbered from 1. A bulk write: the tables' indexes are
    dropped and made again after (one sort beats 100,000 inserts into each), and each part's rows go in in key
    order."""
    cur.execute("DELETE FROM view_member")
    cur.execute("DELETE FROM view_fact")
    cur.execute("DELETE FROM view_key")
    indexes = cur.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('view_fact', 'view_member', 'view_key') ORDER BY name"
    ).fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    fid = 0
    for found, keys, _, _ in parts:
        fact_rows: list[tuple[Any, ...]] = []
        member_rows: list[tuple[Any, ...]] = []
        for fact in found:
            fid += 1
            fact_rows.append((fid, *_fact_row(fact), *_slot_of(fact)))
            rtype, person = fact.resource_type, fact.person
            member_rows.extend(
                (m.rowid, fid, rtype, person, m.source_id, m.date, m.changed_at, m.last_seen) for m in fact.members
            )
        del found
        if fact_rows:
            cur.execute_rows(f"INSERT INTO view_fact ({', '.join(_FACT_COLUMNS)}) VALUES {{rows}}", fact_rows)
        del fact_rows
        member_rows.sort()
        if member_rows:
            cur.execute_rows(
                "INSERT INTO view_member (rowid, fid, type, person, source_id, effective, changed_at, last_seen) "
                "VALUES {rows}",
                member_rows,
            )
        del member_rows
        key_rows = sorted((key, rowid) for rowid, numbers in keys.items() for key in numbers)
        del keys
        if key_rows:
            cur.execute_rows("INSERT INTO view_key (key, member) VALUES {rows}", key_rows)
        del key_rows
    for _, sql in indexes:
        cur.execute(sql)


def _slot_of(fact: Fact) -> tuple[str | None, int, int, str]:
    """A fact's slot as `_fill_slots` computes it from its member rows: date, newest member, its source, sources.
    The newest member is the one grouping marked (last changed, last seen, last stored: the same order), and the
    date the newest member's, else the earliest of the others (`fact.date`, an empty one read as none)."""
    top = fact.newest
    return (fact.date or None, top.rowid, top.source_id, ",".join(map(str, sorted({m.source_id for m in fact.members}))))


# A fact's slot (schema 16), from its members as kept: the newest member (last changed, last seen, last stored), its
# source, the fact's date (the newest member's, else the earliest of the others) and its members' sources.
_FILL_TOP = (
    "UPDATE view_fact SET top = (SELECT m.rowid FROM view_member m WHERE m.fid = view_fact.id "
    "ORDER BY m.changed_at DESC, m.last_seen DESC, m.rowid DESC LIMIT 1) WHERE {which}"
)
_FILL_REST = (
    "UPDATE view_fact SET top_source = (SELECT m.source_id FROM view_member m WHERE m.rowid = view_fact.top), "
    "date = coalesce(nullif((SELECT m.effective FROM view_member m WHERE m.rowid = view_fact.top), ''), "
    "(SELECT min(m.effective) FROM view_member m WHERE m.fid = view_fact.id AND m.effective != '')), "
    "sources = (SELECT group_concat(source_id) FROM (SELECT DISTINCT m.source_id FROM view_member m "
    "WHERE m.fid = view_fact.id ORDER BY m.source_id)) WHERE {which}"
)


def _fill_slots(cur: _Tx, which: str, params: Sequence[Any] = ()) -> None:
    """Bring the slots of the facts `which` (a condition on view_fact) up to date with their members."""
    cur.execute(_FILL_TOP.format(which=which), params)
    cur.execute(_FILL_REST.format(which=which), params)


# --- reading ---------------------------------------------------------------------------------------------------------


def person_of(record: Record, subjects: Sequence[tuple[int, str]]) -> str | None:
    """The person number whose subjects these are exactly (what the kept facts are filed under), or None."""
    wanted = set(subjects)
    for person in people(record):
        if set(person.subjects) == wanted:
            return str(person.id)
    return None


def _member_rows(record: Record, resource_type: str, person: str | None) -> dict[int, list[int]]:
    """fid -> member rowids of the kept facts of a type (about one person)."""
    sql, args = "SELECT rowid, fid FROM view_member WHERE type = ?", [resource_type]
    if person is not None:
        sql += " AND person = ?"
        args.append(person)
    out: dict[int, list[int]] = {}
    for rowid, fid in record._query(sql, args):
        out.setdefault(fid, []).append(rowid)
    return out


def kept_facts(record: Record, resource_type: str, person: str | None = None) -> list[Fact]:
    """The facts of a type (about one person: the number `person_of` gives), as `facts()` makes them, from the
    kept grouping and the members' columns (read from the covering index, never the JSON). Call `current` first."""
    fids = _member_rows(record, resource_type, person)
    if not fids:
        return []
    cols = {
        c[_ROWID]: c
        for c in record._query(
            f"SELECT {_COLUMNS} FROM resource r INDEXED BY resource_facts WHERE r.type = ? AND r.removed_at IS NULL",
            [resource_type],
        )
    }
    # A fact may hold members of another type (the patient's MedicationStatement confirmed as the clinic's
    # MedicationRequest): those are read by rowid.
    missing = [r for rowids in fids.values() for r in rowids if r not in cols]
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        cols.update(
            (c[_ROWID], c)
            for c in record._query(
                f"SELECT {_COLUMNS} FROM resource r WHERE r.rowid IN ({', '.join('?' for _ in chunk)}) "
                "AND r.removed_at IS NULL",
                chunk,
            )
        )
    info = {
        fid: rest
        for fid, *rest in record._query(
            "SELECT id, fact, person, confidence, reasons, matches FROM view_fact WHERE type = ?"
            + (" AND person = ?" if person is not None else ""),
            [resource_type, *([person] if person is not None else [])],
        )
    }
    names: dict[int, str] = {}
    skeys: dict[int, str] = {}
    for sid, kind, name, base in record._query("SELECT id, kind, name, base_url FROM source"):
        names[sid], skeys[sid] = name, source_key(kind, name, base)
    result: list[Fact] = []
    for fid, rowids in fids.items():
        fact_id, who, confidence, reasons, matches = info[fid]
        rows = [cols[r] for r in rowids if r in cols]
        if not rows:
            continue
        if len(rows) == 1:
            c = rows[0]
            member = FactMember(names[c[_SID]], skeys[c[_SID]], c[_SID], c[_TYPE], c[_ID], c[_ROWID], c[_LAST_SEEN],
                                c[_CHANGED_AT], True, c)  # fmt: skip
            members: tuple[FactMember, ...] = (member,)
            top = c
            date = c[_EFFECTIVE]
        else:
            rows.sort(key=lambda c: (skeys[c[_SID]], c[_TYPE], c[_ID]))
            top = max(rows, key=lambda c: (c[_CHANGED_AT], c[_LAST_SEEN], c[_ROWID]))
            members = tuple(
                FactMember(names[c[_SID]], skeys[c[_SID]], c[_SID], c[_TYPE], c[_ID], c[_ROWID], c[_LAST_SEEN],
                           c[_CHANGED_AT], c is top, c)  # fmt: skip
                for c in rows
            )
            date = top[_EFFECTIVE] or min((c[_EFFECTIVE] for c in rows if c[_EFFECTIVE]), default=None)
        possible = tuple(PossibleMatch(*p) for p in json.loads(matches)) if matches else ()
        result.append(Fact(fact_id, top[_TYPE], top[_DISPLAY] or top[_TYPE], date, top[_STATUS], who, members,
                           confidence, tuple(reasons.split("\x1f")) if reasons else (), possible))  # fmt: skip
    return newest_first(result)


def kept_heads(record: Record, resource_type: str, person: str | None = None) -> list[KeptHead]:
    """`[head_of(f) for f in kept_facts(record, resource_type, person)]`, read from one row per fact (its slot,
    schema 16, and its newest member's columns) instead of every member's: what the summary's lists need. Call
    `current` first. The newest members' columns come from the grouping index (schema 19: type, source, rowid
    first), where a type's rows lie together, not from the table's rows spread over the file: a cold summary of
    a million resources reads a few hundred pages instead of thousands."""
    where, args = "f.type = ?", [resource_type]
    if person is not None:
        where += " AND f.person = ?"
        args.append(person)
    found = record._query(
        f"SELECT f.id, f.fact, f.person, f.date, f.sources, {_COLUMNS} FROM view_fact f "
        "JOIN resource r INDEXED BY resource_facts ON r.type = f.type AND r.source_id = f.top_source "
        f"AND r.rowid = f.top WHERE {where} AND r.removed_at IS NULL",
        args,
    )
    if not found:
        return []
    names: dict[int, str] = {}
    skeys: dict[int, str] = {}
    for sid, kind, name, base in record._query("SELECT id, kind, name, base_url FROM source"):
        names[sid], skeys[sid] = name, source_key(kind, name, base)
    orders: dict[str, tuple[str, ...]] = {}  # a fact's sources in its members' order (by source key, type, id)
    result: list[KeptHead] = []
    for fid, fact_id, who, date, sources, *cols in found:
        named = orders.get(sources)
        if named is None:
            sids = sorted({int(sid) for sid in sources.split(",")}, key=lambda sid: skeys[sid])
            if len({skeys[sid] for sid in sids}) < len(sids):  # two sources of one key: their members decide
                named = _member_sources(record, fid, names, skeys)
            else:
                named = orders[sources] = tuple(dict.fromkeys(names[sid] for sid in sids))
        result.append(KeptHead(fact_id, cols[_TYPE], cols[_DISPLAY] or cols[_TYPE], date or cols[_EFFECTIVE],
                               cols[_STATUS], who, _row(cols, names[cols[_SID]]), named))  # fmt: skip
    return newest_first(result)


def _member_sources(record: Record, fid: int, names: dict[int, str], skeys: dict[int, str]) -> tuple[str, ...]:
    """The sources of one kept fact in its members' order (by source key, type and id), read from its members."""
    members = record._query(
        "SELECT r.source_id, r.type, r.id FROM view_member m JOIN resource r ON r.rowid = m.rowid "
        "WHERE m.fid = ? AND r.removed_at IS NULL",
        [fid],
    )
    members.sort(key=lambda c: (skeys[c[0]], c[1], c[2]))
    return tuple(dict.fromkeys(names[sid] for sid, _, _ in members))


def kept_or_grouped(record: Record, types: Iterable[str] | str, subjects: Subjects | None = None) -> list[Fact]:
    """`facts(record, types, subjects=subjects)`: read as kept in the record when the views are up to date and
    `subjects` are everyone's (None) or one person's, grouped from scratch otherwise (a read-only record behind
    its changes, an arbitrary set of subjects)."""
    wanted = [types] if isinstance(types, str) else sorted(set(types))
    served, person = _served(record, subjects)
    if served:
        found = [fact for rtype in wanted for fact in kept_facts(record, rtype, person)]
        return newest_first(found) if len(wanted) > 1 else found
    return facts(record, wanted, subjects=subjects)


def kept_copies(
    record: Record, types: Sequence[str], fact_id: str, subjects: Subjects | None = None, limit: int = 40
) -> list[int] | None:
    """The rowids of up to `limit` of a fact's members other than its newest, the last stored first, as
    `newest_copies` gives them from `kept_or_grouped(record, types, subjects)`'s fact of that id (an empty list for
    a fact it does not have). Read from the index of the members by fact alone (the rowid is in it), so a fact of
    thousands of copies costs what one of a few does. None when the kept views do not serve these subjects."""
    served, _ = _served(record, subjects)
    if not served:
        return None
    found = record._query(
        "SELECT m.rowid FROM view_fact f INDEXED BY view_fact_type CROSS JOIN view_member m INDEXED BY view_member_fact "
        f"ON m.fid = f.id WHERE f.type IN ({', '.join('?' for _ in types)}) AND f.fact = ? AND m.rowid != f.top "
        "ORDER BY m.rowid DESC LIMIT ?",
        [*types, fact_id, limit],
    )
    return [rowid for (rowid,) in found]


def newest_copies(fact: Fact, limit: int = 40) -> list[int]:
    """What kept_copies reads, from a fact grouped in memory: up to `limit` of its other members' rowids, the last
    stored first."""
    return sorted((m.rowid for m in fact.members if not m.newest), reverse=True)[:limit]


def _served(record: Record, subjects: Subjects | None) -> tuple[bool, str | None]:
    """Whether the kept views serve these subjects (up to date, and everyone's or one person's), and whose."""
    if current(record):
        person = None if subjects is None else person_of(record, subjects)
        if subjects is None or person is not None:
            return True, person
    return False, None


def kept_heads_or_grouped(
    record: Record, types: Iterable[str] | str, subjects: Subjects | None = None
) -> list[KeptHead]:
    """`[head_of(f) for f in kept_or_grouped(record, types, subjects)]`, read from one kept row per fact when the
    views serve these subjects (`kept_heads`)."""
    wanted = [types] if isinstance(types, str) else sorted(set(types))
    served, person = _served(record, subjects)
    if served:
        found = [head for rtype in wanted for head in kept_heads(record, rtype, person)]
        return newest_first(found) if len(wanted) > 1 else found
    return [head_of(fact) for fact in facts(record, wanted, subjects=subjects)]


def kept_slots(record: Record, resource_type: str, person: str | None = None) -> list[KeptSlot]:
    """The dated facts of a type (about one person), newest first, with only what the timeline sorts and counts:
    one row per fact, read from the index of the facts' slots (schema 16). Call `current` first."""
    where, args = "type = ?", [resource_type]
    if person is not None:
        where += " AND person = ?"
        args.append(person)
    return _slots(record, resource_type, where, args)


def kept_recent_slots(record: Record, resource_type: str, person: str | None, since: str) -> list[KeptSlot]:
    """`kept_slots`, only of the facts with a member dated on or after `since` (what the summary's "recent"
    lists show): found through the type's date index, so a year of a large record costs what a year costs."""
    # The facts are found from the members dated in the window (CROSS JOIN keeps that order: the planner would
    # rather walk every dated fact of the type in its slot index and test each).
    where = "type = ?"
    args: list[Any] = [resource_type, since, resource_type]
    if person is not None:
        where += " AND person = ?"
        args.append(person)
    source = (
        "(SELECT DISTINCT m.fid AS fid FROM resource r INDEXED BY resource_type_effective CROSS JOIN view_member m "
        "ON m.rowid = r.rowid WHERE r.type = ? AND r.effective >= ?) AS s CROSS JOIN view_fact ON view_fact.id = s.fid"
    )
    return _slots(record, resource_type, where, args, source=source)


def kept_newest_recent_slots(
    record: Record, resource_type: str, person: str | None, since: str, limit: int
) -> list[KeptSlot]:
    """The first `limit` of `kept_recent_slots(record, resource_type, person, since)` when there are that many facts
    dated on or after `since` (with a member of the type dated then: they are the list's head, in its order), read
    newest first from the index of the facts' slots, so it costs what `limit` rows cost however many the window
    holds; fewer when there are not (then only the whole list says which come next)."""
    where, args = "type = ? AND date >= ?", [resource_type, since]
    if person is not None:
        where += " AND person = ?"
        args.append(person)
    # The facts dated in the window, newest first from the slot index (its rows alone: copies of one day, however
    # many, are sorted there), each checked for a member of the type dated then only until `limit` have one.
    made: list[KeptSlot] = []
    shared: dict[str, tuple[int, ...]] = {}
    with record._snapshot() as db:
        found = db.execute(
            f"SELECT date, fact, top, sources, top_source, id FROM view_fact WHERE {where} AND date IS NOT NULL "
            "ORDER BY date DESC, fact DESC",
            args,
        )
        try:
            for date, fact_id, top, sources, top_source, fid in found:
                if not db.execute(
                    "SELECT EXISTS (SELECT 1 FROM view_member m INDEXED BY view_member_fact CROSS JOIN resource r "
                    "ON r.rowid = m.rowid WHERE m.fid = ? AND r.type = ? AND r.effective >= ?)",
                    (fid, resource_type, since),
                ).fetchone()[0]:
                    continue
                made.append(KeptSlot(date, top, fact_id, resource_type, _source_ids(shared, sources), top_source))
                if len(made) == limit:
                    break
        finally:
            found.close()
    return made


def kept_page(
    record: Record, types: Sequence[str], person: str | None, before: tuple[str, int] | tuple[str], limit: int
) -> list[KeptSlot]:
    """The `limit` newest dated facts of these types (about one person) whose (date, newest member's rowid) sorts
    before `before` (a cursor, or a date alone), newest first: a keyed read of each type's slot index, so a page
    costs what its own rows cost, however large the record. Call `current` first."""
    where = "AND (date, top) < (?, ?)" if len(before) == 2 else "AND date < ?"
    found: list[KeptSlot] = []
    for rtype in types:
        mine, args = ("AND person = ?", [person]) if person is not None else ("", [])
        found.extend(_slots(record, rtype, f"type = ? {mine} {where}", [rtype, *args, *before],
                            "ORDER BY date DESC, top DESC LIMIT ?", [limit]))  # fmt: skip
    found.sort(key=lambda s: (s.date, s.rowid), reverse=True)
    return found[:limit]


def kept_months(record: Record, types: Sequence[str], person: str | None) -> list[tuple[str, int]]:
    """(YYYY-MM, dated facts) of these types (about one person) for every month that has any, newest first, counted
    in the slot index. Call `current` first."""
    counts: dict[str, int] = {}
    for rtype in types:
        mine, args = ("AND person = ?", [person]) if person is not None else ("", [])
        for month, n in record._query(
            f"SELECT substr(date, 1, 7), count(*) FROM view_fact WHERE type = ? {mine} AND date IS NOT NULL GROUP BY 1",
            [rtype, *args],
        ):
            counts[month] = counts.get(month, 0) + n
    return sorted(counts.items(), reverse=True)


def _slots(
    record: Record, resource_type: str, where: str, args: list[Any], order: str = "ORDER BY date DESC, fact DESC",
    tail: Sequence[Any] = (), source: str = "view_fact",
) -> list[KeptSlot]:
    """Slots of the kept facts `where` says (a condition on view_fact), in `order` (newest first), read from
    `source` (view_fact, or a join that ends in it)."""
    shared: dict[str, tuple[int, ...]] = {}  # most facts share one of a few source tuples
    made = []
    for date, fact_id, top, sources, top_source in record._query(
        f"SELECT date, fact, top, sources, top_source FROM {source} WHERE {where} AND date IS NOT NULL {order}",
        [*args, *tail],
    ):
        made.append(KeptSlot(date, top, fact_id, resource_type, _source_ids(shared, sources), top_source))
    return made


def _source_ids(shared: dict[str, tuple[int, ...]], sources: str) -> tuple[int, ...]:
    """A kept fact's sources (comma-separated ids) as a sorted tuple, made once for the facts that share them."""
    sids = shared.get(sources)
    if sids is None:
        sids = shared[sources] = tuple(sorted(int(sid) for sid in sources.split(",")))
    return sids

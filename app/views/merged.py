"""Facts for the screens, kept between calls until the record changes.

The grouping itself is kept in the record (app.record.view_cache, schema 12) and brought up to date incrementally
before every read, so a first look after an unlock or a sync reads prepared facts instead of regrouping the
record; only a read-only record that is behind its changes, or a set of subjects that is not one person's, is
grouped from scratch (`app.record.facts`). On top of that, the screens ask for the same facts again and again --
each timeline page, each return to the summary -- so what was read is kept here per open Record until the record
changes: an import, a sync page, a decision (confirm/split/reset), from this window or another. The test for
"changed" is SQLite's own (`total_changes()` counts this connection's writes, `PRAGMA data_version` moves when
another connection commits), so it costs two tiny queries and cannot miss a write. When the kept facts' refresh
says which types it regrouped (and no other reader caught them up first), only what those types made is dropped
(a sync of conditions keeps the results and the lab-tests list); a decision, a change of people or sources, or a
refresh this cache did not see drops everything.

The timeline keeps, per type, one small tuple per fact instead of the facts themselves: 100,000 facts as tuples
take a few megabytes, as `Fact` objects (with every member's columns) a hundred.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.record import MEDICATION_INPUTS, Fact, MedicationList, Record, facts, reconcile_medications, subject_clause
from app.record.view_cache import KeptSlot as Slot
from app.record.view_cache import KeptHead, current, epoch, head_of, kept_heads, kept_months, kept_or_grouped, kept_page
from app.record.view_cache import kept_newest_recent_slots, kept_recent_slots, kept_slots
from app.record.view_cache import person_of, refresh
from app.record.view_queries import newest_date

__all__ = [
    "Slot",
    "SlotList",
    "cached_facts",
    "caught_up",
    "cached_heads",
    "cached_list",
    "cached_medications",
    "forget",
    "months",
    "newest_recent_slots",
    "recent_slots",
    "slots",
    "slots_before",
    "type_slots",
    "warm",
]

# "Recent" lists group only this far back from a type's newest date, so a cold summary stays fast.
RECENT_DAYS = 400

# Fact lists kept per record, counted in members: beyond this the least recently used type is dropped
# (and rebuilt when asked for again). Around 1 kB a member.
_MEMBER_BUDGET = 60_000
_FILTERED_KEPT = 6

Subjects = tuple[tuple[int, str], ...] | None  # one person's (source id, subject) pairs, or the whole record


@dataclass
class SlotList:
    """Slots of a filter, oldest first (so `bisect` finds a cursor), and their month counts."""

    slots: list[Slot]
    keys: list[tuple[str, int]]
    months: list[tuple[str, int]]

    def before(self, key: tuple[str, int] | tuple[str], limit: int) -> list[Slot]:
        """Up to `limit` slots that sort before `key`, newest first."""
        end = bisect.bisect_left(self.keys, key)
        return self.slots[max(0, end - limit) : end][::-1]


@dataclass
class _Cache:
    generation: tuple[Any, ...]
    epoch: int = -1  # app.record.view_cache.epoch when this cache last caught up (-1: it cannot follow changes)
    facts: OrderedDict[tuple[str, Subjects], list[Fact]] = field(default_factory=OrderedDict)
    members: int = 0
    slots: dict[tuple[Any, ...], list[Slot]] = field(default_factory=dict)
    heads: dict[tuple[str, Subjects], list[KeptHead]] = field(default_factory=dict)
    filtered: OrderedDict[tuple[Any, ...], SlotList] = field(default_factory=OrderedDict)
    medications: dict[Subjects, MedicationList] = field(default_factory=dict)
    lists: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    list_types: dict[tuple[Any, ...], frozenset[str] | None] = field(default_factory=dict)

    def without(self, changed: frozenset[str], generation: tuple[Any, ...]) -> _Cache:
        """A cache for `generation` that keeps what the facts of other types made (still what the record says).
        A new one, so that a list made before the change and stored after it lands in this one, never the next."""
        kept = _Cache(generation)
        for key, found in self.facts.items():
            if key[0] not in changed:
                kept.facts[key] = found
                kept.members += sum(len(f.members) for f in found)
        kept.slots = {k: v for k, v in self.slots.items() if (k[1] if k[0] in ("recent", "newest") else k[0]) not in changed}
        kept.heads = {k: v for k, v in self.heads.items() if k[0] not in changed}
        kept.filtered = OrderedDict((k, v) for k, v in self.filtered.items() if not changed & set(k[0]))
        if not changed & MEDICATION_INPUTS:  # reconciled from several types (orders, fills, allergies, prescribers)
            kept.medications = dict(self.medications)
        for key, found in self.lists.items():
            types = self.list_types.get(key)
            if types is not None and not types & changed:
                kept.lists[key], kept.list_types[key] = found, types
        return kept


_caches: weakref.WeakKeyDictionary[Record, _Cache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cache(record: Record) -> _Cache:
    seen = epoch(record)
    # The facts kept in the record catch up with any change first (app.record.view_cache), saying which types
    # changed: when nothing else caught them up since this cache last did, only those types are dropped here.
    changed = refresh(record)
    generation = record.generation()
    now = epoch(record)
    followed = changed is not None and not record.read_only and now == seen + (1 if changed else 0)
    with _lock:
        cache = _caches.get(record)
        if cache is None or cache.generation != generation:
            if cache is not None and changed is not None and followed and cache.epoch == seen:
                cache = cache.without(changed, generation)
            else:
                cache = _Cache(generation)
            _caches[record] = cache
        cache.epoch = now if followed else -1
        return cache


def forget(record: Record) -> None:
    """Drop what is kept for this record (tests use it to measure the first, uncached call)."""
    with _lock:
        _caches.pop(record, None)


def _kept(table: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    """What `table` keeps under `key`, made (outside the lock, so other screens are not held up) and kept if absent."""
    with _lock:
        found = table.get(key)
    if found is None:
        found = make()
        with _lock:
            table[key] = found
    return found


def _subjects(subjects: Iterable[tuple[int, str]] | None) -> Subjects:
    return None if subjects is None else tuple(sorted(subjects))


def cached_facts(record: Record, resource_type: str, subjects: Iterable[tuple[int, str]] | None = None) -> list[Fact]:
    """`facts(record, resource_type, subjects=…)`, kept until the record changes. Do not modify the list."""
    key = (resource_type, _subjects(subjects))
    cache = _cache(record)
    with _lock:
        found = cache.facts.get(key)
        if found is not None:
            cache.facts.move_to_end(key)
            return found
    found = kept_or_grouped(record, resource_type, key[1])
    size = sum(len(f.members) for f in found)
    with _lock:
        if key not in cache.facts:
            cache.facts[key] = found
            cache.members += size
            while cache.members > _MEMBER_BUDGET and len(cache.facts) > 1:
                _, dropped = cache.facts.popitem(last=False)
                cache.members -= sum(len(f.members) for f in dropped)
    return found


def cached_heads(
    record: Record, resource_type: str, subjects: Iterable[tuple[int, str]] | None = None
) -> list[KeptHead]:
    """What a list shows of each fact of a type (`head_of` each of `cached_facts(...)`, in the same order), kept
    until the record changes: read from one kept row per fact, not every member (the summary's lists). Do not
    modify the list."""
    key = (resource_type, _subjects(subjects))
    cache = _cache(record)

    def make() -> list[KeptHead]:
        with _lock:
            whole = cache.facts.get(key)  # grouped in full already (another screen asked for the facts)
        if whole is not None:
            return [head_of(f) for f in whole]
        served, person = _kept_person(record, key[1])
        if served:
            return kept_heads(record, resource_type, person)
        return [head_of(f) for f in facts(record, resource_type, subjects=key[1])]

    found: list[KeptHead] = _kept(cache.heads, key, make)
    return found


def _kept_person(record: Record, subjects: Subjects) -> tuple[bool, str | None]:
    """Whether the facts kept in the record serve these subjects, and the person they are filed under."""
    if not current(record):
        return False, None
    if subjects is None:
        return True, None
    person = person_of(record, subjects)
    return person is not None, person


def cached_medications(record: Record, subjects: Iterable[tuple[int, str]] | None = None) -> MedicationList:
    key = _subjects(subjects)
    found: MedicationList = _kept(_cache(record).medications, key, lambda: reconcile_medications(record, subjects=key))
    return found


def cached_list(
    record: Record, key: tuple[Any, ...], make: Callable[[], Any], types: Iterable[str] | None = None
) -> Any:
    """What `make()` returns for this record, kept under `key` until the record changes: for lists a screen
    reads on every visit that are neither facts nor slots (the lab tests, a few hundred milliseconds at 100,000
    resources). `key` names the list and everything it depends on besides the record (scope, filters); `types`,
    when given, the only resource types it is made from (a change to others keeps it)."""
    cache = _cache(record)
    found = _kept(cache.lists, key, make)
    with _lock:
        cache.list_types[key] = None if types is None else frozenset(types)
    return found


def type_slots(record: Record, resource_type: str, subjects: Iterable[tuple[int, str]] | None = None) -> list[Slot]:
    """The dated facts of one type, newest first, as slots (what the summary's "recent" lists need)."""
    return _type_slots(record, _cache(record), resource_type, _subjects(subjects))


def _type_slots(record: Record, cache: _Cache, resource_type: str, subjects: Subjects) -> list[Slot]:
    key = (resource_type, subjects)

    def make() -> list[Slot]:
        with _lock:
            kept = cache.facts.get(key)  # the timeline's facts, when it grouped this type already
        if kept is not None:
            return _as_slots(kept)
        served, person = _kept_person(record, subjects)
        if served:
            return kept_slots(record, resource_type, person)
        return _as_slots(facts(record, resource_type, subjects=subjects))

    found: list[Slot] = _kept(cache.slots, key, make)
    return found


def _as_slots(pool: Iterable[Fact]) -> list[Slot]:
    made = []
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}  # most facts share one of a few source tuples
    for fact in pool:
        if not fact.date:
            continue
        newest = fact.newest
        sids = tuple(sorted({m.source_id for m in fact.members}))
        made.append(Slot(fact.date, newest.rowid, fact.fact_id, fact.resource_type, shared.setdefault(sids, sids),
                         newest.source_id))  # fmt: skip
    return made


def recent_slots(
    record: Record, resource_type: str, subjects: Iterable[tuple[int, str]] | None = None, *, category: str | None = None
) -> list[Slot]:
    """The newest facts of one type, newest first, grouped over the last RECENT_DAYS before its newest date.

    What the summary's "recent results" and "recent visits" need: on a cold cache, grouping a year of a 100,000-
    resource record's observations takes a fraction of grouping all of them. When the whole type is already
    grouped (the timeline did it), that is used instead. `category`, when given, picks the newest date.
    """
    subj = _subjects(subjects)
    cache = _cache(record)
    with _lock:
        full = cache.slots.get((resource_type, subj))
    if full is not None:
        return full
    newest = newest_date(record, resource_type, subj, category=category)
    if not newest:
        return []
    try:
        since = (date.fromisoformat(str(newest)[:10]) - timedelta(days=RECENT_DAYS)).isoformat()
    except ValueError:
        return _type_slots(record, cache, resource_type, subj)
    served, person = _kept_person(record, subj)
    if served:  # the facts are kept in the record: read the ones of the last RECENT_DAYS, no grouping
        kept: list[Slot] = _kept(cache.slots, ("recent", resource_type, subj, since),
                                 lambda: kept_recent_slots(record, resource_type, person, since))  # fmt: skip
        return kept
    made: list[Slot] = _kept(
        cache.slots, ("recent", resource_type, subj, since),
        lambda: _as_slots(facts(record, resource_type, subjects=subj, since=since)),
    )  # fmt: skip
    return made


def newest_recent_slots(
    record: Record, resource_type: str, subjects: Iterable[tuple[int, str]] | None, count: int, *,
    category: str | None = None,
) -> list[Slot]:
    """`recent_slots(...)[:count]`, read from the kept facts' slot index by date when they serve these subjects (the
    newest `count` facts of a large record's last RECENT_DAYS cost what `count` rows cost, not the whole window)."""
    subj = _subjects(subjects)
    cache = _cache(record)
    with _lock:
        full = cache.slots.get((resource_type, subj))
    served, person = _kept_person(record, subj) if full is None else (False, None)
    newest = newest_date(record, resource_type, subj, category=category) if served else None
    if not served or not newest:
        return recent_slots(record, resource_type, subjects, category=category)[:count]
    try:
        since = (date.fromisoformat(str(newest)[:10]) - timedelta(days=RECENT_DAYS)).isoformat()
    except ValueError:
        return recent_slots(record, resource_type, subjects, category=category)[:count]
    with _lock:
        whole = cache.slots.get(("recent", resource_type, subj, since))
    if whole is not None:
        return whole[:count]
    head: list[Slot] = _kept(cache.slots, ("newest", resource_type, subj, since, count),
                             lambda: kept_newest_recent_slots(record, resource_type, person, since, count))  # fmt: skip
    if len(head) < count:  # fewer facts dated in the window than asked for: the whole list says what follows
        return recent_slots(record, resource_type, subjects, category=category)[:count]
    return head


def slots(record: Record, types: Sequence[str], subjects: Iterable[tuple[int, str]] | None, source_id: int | None) -> SlotList:
    """The dated facts of these types (about these subjects; stated by this source, when given), oldest first."""
    subj = _subjects(subjects)
    key = (tuple(sorted(types)), subj, source_id)
    cache = _cache(record)
    with _lock:
        found = cache.filtered.get(key)
        if found is not None:
            cache.filtered.move_to_end(key)
            return found
    chosen: list[Slot] = []
    for rtype in key[0]:
        per_type = _type_slots(record, cache, rtype, subj)
        chosen.extend(per_type if source_id is None else (s for s in per_type if source_id in s.source_ids))
    chosen.sort(key=lambda s: (s.date, s.rowid))
    months = sorted(Counter(s.date[:7] for s in chosen).items(), reverse=True)
    found = SlotList(chosen, [(s.date, s.rowid) for s in chosen], months)
    with _lock:
        cache.filtered[key] = found
        while len(cache.filtered) > _FILTERED_KEPT:
            cache.filtered.popitem(last=False)
    return found


def slots_before(
    record: Record, types: Sequence[str], subjects: Iterable[tuple[int, str]] | None, source_id: int | None,
    key: tuple[str, int] | tuple[str], limit: int,
) -> list[Slot]:
    """Up to `limit` of `slots(...)` that sort before `key`, newest first: from the slots kept here when this
    filter's are, else read by key from the facts kept in the record (a first page after an unlock reads its own
    rows, not every fact), else from `slots`."""
    subj = _subjects(subjects)
    cache = _cache(record)
    with _lock:
        found = cache.filtered.get((tuple(sorted(types)), subj, source_id))
    if found is None and source_id is None:
        served, person = _kept_person(record, subj)
        if served:
            return kept_page(record, sorted(types), person, key, limit)
    return (found or slots(record, types, subjects, source_id)).before(key, limit)


def months(
    record: Record, types: Sequence[str], subjects: Iterable[tuple[int, str]] | None, source_id: int | None
) -> list[tuple[str, int]]:
    """(YYYY-MM, facts) of `slots(...)` for every month that has any, newest first: counted in the facts kept in
    the record when they serve (and kept here until one of these types changes), else from `slots`."""
    subj = _subjects(subjects)
    wanted = tuple(sorted(types))
    cache = _cache(record)
    with _lock:
        found = cache.filtered.get((wanted, subj, source_id))
    if found is None and source_id is None:
        served, person = _kept_person(record, subj)
        if served:
            counted: list[tuple[str, int]] = cached_list(
                record, ("months", wanted, subj), lambda: kept_months(record, wanted, person), wanted
            )
            return list(counted)
    return list((found or slots(record, types, subjects, source_id)).months)


def caught_up(record: Record) -> None:
    """Bring the facts kept in the record up to date now, as this module's caches follow them (so that they drop only
    what changed): before reading something made from the record's state as it is now (app.views.dashboard reads
    the record's change count after this)."""
    _cache(record)


def warm(record: Record, types: Sequence[str], subjects: Iterable[tuple[int, str]] | None) -> None:
    """Group these types now (off the UI loop), so the screen that needs them next opens at once; nothing when the
    facts kept in the record serve them (its pages are keyed reads then)."""
    if not _kept_person(record, _subjects(subjects))[0]:
        slots(record, types, subjects, None)
